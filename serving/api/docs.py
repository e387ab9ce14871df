"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), served from the
installed package's own copies of their scripts and styles (fastapi-offline ships them):
a government network often has no internet, and FastAPI's defaults load both from a CDN,
which left the pages blank there."""

from __future__ import annotations

from importlib import resources
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS: Final = "/api-docs"  # where the scripts and styles are served
FILES: Final = resources.files("fastapi_offline") / "static"


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc, and their files under ``ASSETS``, from this machine.
    The app must be created with ``docs_url=None, redoc_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=str(FILES)), name="api-docs")
    openapi, title = app.openapi_url or "/openapi.json", app.title

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
