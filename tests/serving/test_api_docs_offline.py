"""/docs and /redoc on a network without internet: every script and style they load is
served by the app itself (FastAPI's defaults load them from a CDN: blank pages there)."""

from __future__ import annotations

import re

import pytest

from tests.serving.conftest import Api

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]
TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_docs_load_nothing_from_another_host(api: Api, page: str) -> None:
    answer = api.client.get(page)
    assert answer.status_code == 200
    urls = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', answer.text)
    urls += re.findall(r"url:\s*'([^']+)'", answer.text)  # Swagger UI's openapi url
    assert urls, "no script or style found in the page"
    assert not [url for url in urls if re.match(r"(https?:)?//", url)], urls
    for url in urls:
        if url.endswith(tuple(TYPES)):
            served = api.client.get(url)
            assert served.status_code == 200, url
            assert TYPES[url[url.rindex(".") :]] in served.headers["content-type"], url
            assert len(served.content) > 1000, url
