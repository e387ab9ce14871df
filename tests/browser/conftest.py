"""Real-browser tests: Debian's headless Chromium driven by Playwright, the app served by
uvicorn on 127.0.0.1, and axe-core for accessibility.

Nothing is downloaded at test time: ``make browser`` installs /usr/bin/chromium (apt) and
axe-core's ``axe.min.js`` (npm registry, into the git-ignored ``.cache/axe``); without them
every browser test fails, loudly, naming ``make browser``. Playwright's own browser builds
(``playwright install``) are never used.

Mark browser test modules with ``pytestmark = BROWSER``: they then run on one xdist worker
(``--dist loadgroup``), which launches Chromium once. The model is ``trained`` of
tests/serving/conftest.py, imported: a worker that runs both folders trains it twice (two
definitions of one session fixture), until ``trained`` moves to a tests/conftest.py.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# the session fixture `trained` is defined there; importing it makes it a fixture here too
from tests.serving.conftest import (
    ROLE_USERS,
    Trained,
    associating,
    password_of,
    prepare,
    trained,
)

__all__ = ["associating", "trained"]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERIOUS = frozenset({"serious", "critical"})
BROWSER = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
STARTUP_SECONDS = 30.0


def _missing(what: str) -> None:
    pytest.fail(
        f"!!! {what} is missing: run `make browser` (installs Debian's chromium and "
        "axe-core's axe.min.js) before the browser tests",
        pytrace=False,
    )


# ---- a live server: an ASGI app under uvicorn in a background thread -----------------------


@contextmanager
def running(app: Any, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` on ``host`` and a free port; yields the base URL once it answers HTTP,
    and stops the server (its lifespan shutdown included) on exit."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))  # the port is ours from here on: no race for a "free" one
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,  # leave the test process's logging (and caplog) alone
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported in the test's thread below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    base_url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server at {base_url} did not start: {failure!r}")
            time.sleep(0.02)
        _wait_answering(base_url, deadline)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)


def _wait_answering(base_url: str, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(base_url + "/", timeout=5):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer (404 included) means it serves
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """``serve(app) -> base_url``: runs ``app`` (any ASGI app) for the rest of the test."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(running(app))


# ---- the riskflag site: the API with a loaded store, over real HTTP ------------------------


@dataclass
class Site:
    base_url: str
    tokens: dict[str, str]
    engine: Any
    trained: Trained
    passwords: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


@contextmanager
def site_of(tmp_path_factory: pytest.TempPathFactory, model: Trained) -> Iterator[Site]:
    """``model`` served as ``site`` serves its champion."""
    prepared = prepare(f"sqlite:///{tmp_path_factory.mktemp('site') / 'store.db'}", model)
    passwords = {name: password_of(name) for name in ROLE_USERS}
    try:
        with running(prepared.app) as base_url:
            yield Site(base_url, prepared.tokens, prepared.engine, model, passwords)
    finally:
        prepared.engine.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, trained: Trained) -> Iterator[Site]:
    """The app of ``serving.app.create_app`` served over HTTP on 127.0.0.1, on a SQLite store
    prepared as ``tests.serving.conftest.make_api`` prepares it: the synthetic export loaded,
    one user per role of ``ROLE_USERS`` (cw, cw_other, sup, sup_other, analyst, admin) with
    a bearer token each, and a batch scored on 2025-12-01.

    Every user signs in to the pages with ``password_of(name)``, kept in ``site.passwords``."""
    with site_of(tmp_path_factory, trained) as served:
        yield served


# ---- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, once per worker."""
    if not CHROMIUM.is_file():
        _missing(str(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A new page in a context of its own (no cookies shared between tests), en-US."""
    context = browser.new_context(locale="en-US")
    try:
        yield context.new_page()
    finally:
        context.close()


# ---- accessibility: axe-core ---------------------------------------------------------------


def axe(page: Any, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The violations that ``axe.run()`` finds on ``page`` now (``options`` as axe's own).

    axe.min.js is evaluated through the DevTools protocol, so a page's Content-Security-
    Policy does not keep it out; after a navigation it is injected again. Iframes are not
    followed (axe needs itself in each frame)."""
    if not AXE_JS.is_file():
        _missing(str(AXE_JS.relative_to(ROOT)))
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    violations: list[dict[str, Any]] = page.evaluate(
        "async options => (await window.axe.run(document, options)).violations",
        {"resultTypes": ["violations"], **(options or {})},
    )
    return violations


@functools.cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The violations of "serious" or "critical" impact."""
    return [v for v in violations if v.get("impact") in SERIOUS]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and element, for an assertion's message."""
    return "\n".join(
        f"{v['impact']} {v['id']}: {v['help']} at {', '.join(map(str, node['target']))}"
        for v in violations
        for node in v.get("nodes", [])
    )
