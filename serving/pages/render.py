"""Pages rendered from the templates (Jinja2) in the reader's language: every word from
the message catalogue (serving.i18n), dates and numbers in the locale's format, and the
headers that keep children's data out of caches and other sites' frames."""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from features.deployment import DEFAULT_TIMEZONE
from serving import i18n
from serving.access import Principal
from serving.pages import words

HEADERS: Final = {
    "Cache-Control": "no-store",  # children's data stays out of caches
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@cache
def _environment(language: str) -> Environment:
    env = Environment(
        loader=PackageLoader("serving", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["words"] = words.catalogue
    return env


def language_of(request: Request) -> i18n.Language:
    """The language remembered (the cookie), else the best of Accept-Language."""
    return i18n.choose(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


def here(request: Request) -> str:
    """This page's path and query (where to come back to)."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _zone_of(request: Request) -> str:
    """The deployment's time zone, from the app's service (the default before one is
    installed, as on the sign-in page of an app still starting)."""
    service = getattr(request.app.state, "service", None)
    return service.deployment.timezone if service is not None else DEFAULT_TIMEZONE


def render(
    request: Request,
    template: str,
    status: int = 200,
    user: Principal | None = None,
    csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    language = language_of(request)
    page = (
        _environment(language)
        .get_template(template)
        .render(
            lang=language,
            languages=i18n.NAMES,
            fmt=i18n.Formats(language, _zone_of(request)),
            user=user,
            csrf=csrf,
            path=here(request),
            **context,
        )
    )
    return HTMLResponse(page, status_code=status, headers=HEADERS)
