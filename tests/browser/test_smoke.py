"""The browser tests' infrastructure works: Chromium reaches the served app over HTTP, and
axe-core passes a clean page and fails a page with a real accessibility defect."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from tests.browser.conftest import BROWSER, Site, axe, describe, serious

pytestmark = BROWSER

CLEAN = (
    "<!doctype html><html lang='en'><head><title>t</title></head>"
    "<body><main><h1>ok</h1></main></body></html>"
)
NO_ALT = (
    "<!doctype html><html lang='en'><head><title>t</title></head>"
    "<body><main><h1>ok</h1><img src='data:image/gif;base64,R0lGODlhAQABAAAAACw='></main>"
    "</body></html>"
)


def test_chromium_reaches_the_served_app(site: Site, page: Any) -> None:
    answer = page.goto(site.url("/healthz"))
    assert answer is not None
    assert answer.status == 200
    assert json.loads(page.locator("body").inner_text()) == {"status": "ok"}

    page.goto(site.url("/openapi.json"))
    assert json.loads(page.locator("body").inner_text())["info"]["title"] == "riskflag"


def test_the_site_has_its_store_and_users(site: Site, page: Any) -> None:
    queue = page.request.get(site.url("/v1/flags?limit=1"), headers=site.headers("cw"))
    assert queue.status == 200, queue.text()
    assert queue.json()["batch"] is not None
    refused = page.request.get(site.url("/v1/flags?limit=1"))
    assert refused.status == 401


def test_axe_passes_a_clean_page(page: Any) -> None:
    page.set_content(CLEAN)
    found = serious(axe(page))
    assert not found, describe(found)


def test_axe_fails_an_image_without_alt_text(page: Any) -> None:
    page.set_content(NO_ALT)
    found = serious(axe(page))
    assert "image-alt" in {v["id"] for v in found}, describe(found)


def test_axe_runs_under_a_strict_content_security_policy(serve: Any, page: Any) -> None:
    """A page that forbids every script still gets axe (injected over DevTools), and axe
    is injected again after a navigation."""
    app = FastAPI()
    policy = {"Content-Security-Policy": "default-src 'none'"}

    @app.get("/clean")
    def clean() -> HTMLResponse:
        return HTMLResponse(CLEAN, headers=policy)

    @app.get("/no-alt")
    def no_alt() -> HTMLResponse:
        return HTMLResponse(NO_ALT, headers=policy)

    base_url = serve(app)
    page.goto(base_url + "/clean")
    assert not serious(axe(page))
    page.goto(base_url + "/no-alt")
    assert "image-alt" in {v["id"] for v in serious(axe(page))}
