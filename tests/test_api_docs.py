"""The API's documentation on a network with no Internet: /docs and /redoc load everything from the app, and the
OpenAPI schema describes every field, the bearer key and the errors each route can answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import pytest
from fastapi.testclient import TestClient

from service import schemas
from tests.live import chromium, served

LOCAL_HOSTS = {"127.0.0.1", "testserver"}
URL = re.compile(r"""https?://[^\s"'<>)]+""")
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture(scope="module")
def openapi(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


# --- the pages and their files ------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_reference_only_local_urls(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    outside = [u for u in URL.findall(html) if urlparse(u).hostname not in LOCAL_HOSTS]
    assert outside == [], f"{page} points outside the app: {outside}"
    assert "cdn" not in html.lower() and "fonts.googleapis" not in html
    references = REFERENCE.findall(html)
    assert references, f"{page} loads no script or style"
    assert all(ref.startswith("/") and not ref.startswith("//") for ref in references), references


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_assets_are_served_with_their_types(client: TestClient, page: str) -> None:
    references = REFERENCE.findall(client.get(page).text)
    assert any(ref.endswith(".js") for ref in references)
    for ref in references:
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 0
        expected = CONTENT_TYPES[Path(urlparse(ref).path).suffix]
        assert expected in asset.headers["content-type"], (ref, asset.headers["content-type"])
    assert "openapi.json" in client.get(page).text


def test_swagger_and_redoc_bundles_are_the_real_ones(client: TestClient) -> None:
    assert b"SwaggerUIBundle" in client.get("/docs-assets/swagger-ui-bundle.js").content
    assert b"Redoc" in client.get("/docs-assets/redoc.standalone.js").content
    assert b".swagger-ui" in client.get("/docs-assets/swagger-ui.css").content


def test_doc_pages_are_not_operations_of_the_api(openapi: dict[str, Any]) -> None:
    assert not {"/docs", "/redoc", "/docs-assets"} & set(openapi["paths"])


# --- the schema ---------------------------------------------------------------------


def test_every_property_of_every_schema_is_described(openapi: dict[str, Any]) -> None:
    missing = [f"{name}.{prop}" for name, schema in openapi["components"]["schemas"].items()
               for prop, spec in schema.get("properties", {}).items() if not spec.get("description")]
    assert missing == []


def test_every_model_of_service_schemas_is_described(openapi: dict[str, Any]) -> None:
    published = openapi["components"]["schemas"]
    ours = [name for name, value in vars(schemas).items()
            if isinstance(value, type) and issubclass(value, schemas.BaseModel) and value is not schemas.BaseModel
            and value.__module__ == schemas.__name__]
    for name in ours:
        fields = getattr(schemas, name).model_fields
        assert all(f.description for f in fields.values()), name
        if name in published:
            assert published[name].get("description"), name
    for name in ("SearchRequest", "SearchResponse", "AskResponse", "UploadResponse", "IndicatorOut", "Overview"):
        assert name in published


def test_examples_are_vietnamese(openapi: dict[str, Any]) -> None:
    published = openapi["components"]["schemas"]
    assert published["SearchRequest"]["properties"]["query"]["examples"] == ["chỉ tiêu hộ nghèo 2023 của Bình Lục?"]
    assert published["Filters"]["properties"]["locality"]["examples"] == ["Bình Lục"]
    assert "hộ nghèo" in published["CitationOut"]["properties"]["quote"]["examples"][0]


def test_ask_indicator_and_upload_are_typed(openapi: dict[str, Any]) -> None:
    published = openapi["components"]["schemas"]
    indicator = published["AskResponse"]["properties"]["indicator"]
    assert {"$ref": "#/components/schemas/IndicatorOut"} in indicator["anyOf"]
    assert {"value", "unit", "quote", "start", "end", "document"} <= set(published["IndicatorOut"]["properties"])
    rejected = published["UploadResponse"]["properties"]["rejected"]
    assert rejected["items"] == {"$ref": "#/components/schemas/RejectedUpload"}


def test_writes_declare_the_bearer_scheme(openapi: dict[str, Any]) -> None:
    security = openapi["components"]["securitySchemes"]
    bearer = [name for name, scheme in security.items() if scheme == {**scheme, "type": "http", "scheme": "bearer"}]
    assert len(bearer) == 1 and security[bearer[0]].get("description")
    paths = openapi["paths"]
    for path, method in (("/documents", "post"), ("/documents/{document_id}", "delete")):
        assert paths[path][method]["security"] == [{bearer[0]: []}], (method, path)
    for path, operations in paths.items():
        for method, operation in operations.items():
            if (path, method) not in (("/documents", "post"), ("/documents/{document_id}", "delete")):
                assert "security" not in operation, (method, path)  # reading stays open


ERRORS = {
    ("/documents", "post"): {401, 403, 413, 415, 422},
    ("/documents/{document_id}", "delete"): {401, 403, 404},
    ("/documents/{document_id}", "get"): {404},
    ("/similar", "post"): {404, 422},
    ("/ask", "post"): {422},
    ("/search", "post"): {422},
    ("/search", "get"): {422},
}


@pytest.mark.parametrize(("path", "method"), ERRORS, ids=[f"{m}-{p}" for p, m in ERRORS])
def test_4xx_answers_are_documented_with_the_error_body(openapi: dict[str, Any], path: str, method: str) -> None:
    responses = openapi["paths"][path][method]["responses"]
    for status in ERRORS[(path, method)]:
        documented = responses.get(str(status))
        assert documented, f"{method} {path}: {status} is not documented"
        assert documented.get("description")
        (content,) = documented["content"].values()
        assert content["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, status)


def test_documented_errors_are_what_the_routes_answer(client: TestClient) -> None:
    assert client.get("/documents/khong-co").status_code == 404
    assert client.post("/similar", json={"chunk_id": "khong-co"}).status_code == 404
    assert client.post("/search", json={"query": ""}).status_code == 422


# --- in a real browser, offline -----------------------------------------------------------

@pytest.fixture(scope="module")
def server(sample_index: Path) -> Iterator[str]:
    with served(sample_index) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


class Requests:
    """What a tab asked for: served locally, sent outside (refused here, as on an offline network), or stopped by
    the page's Content-Security-Policy before it left the browser."""

    def __init__(self) -> None:
        self.local: list[str] = []
        self.outside: list[str] = []
        self.attempted: list[str] = []
        self.blocked_by_policy: list[str] = []


VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def _offline_tab(browser: Any, server: str, size: str = "desktop") -> tuple[Any, Requests]:
    context = browser.new_context(viewport=VIEWPORTS[size])
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    seen = Requests()
    local, outside = seen.local, seen.outside
    tab.on("request", lambda r: None if r.url.startswith(server + "/") else seen.attempted.append(r.url))
    tab.on("requestfailed", lambda r: seen.blocked_by_policy.append(r.url) if r.failure == "csp" else None)

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(server + "/") or url.startswith("data:") or url.startswith("blob:"):
            local.append(url)
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    tab.route("**/*", route)
    return tab, seen


@pytest.mark.slow
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_swagger_ui_renders_the_operations_offline(browser: Any, server: str, client: TestClient, size: str) -> None:
    tab, seen = _offline_tab(browser, server, size)
    tab.goto(server + "/docs")
    tab.locator(".opblock").first.wait_for()
    operations = sum(len(ops) for ops in client.get("/openapi.json").json()["paths"].values())
    assert tab.locator(".opblock").count() == operations
    assert tab.locator(".opblock-summary-path", has_text="/documents").count() >= 1
    assert tab.locator(".authorize").count() == 1  # the bearer scheme gives the "Authorize" button
    assert urljoin(server, "/openapi.json") in seen.local
    assert seen.outside == [] and seen.attempted == []  # Swagger UI asks for nothing outside the app
    tab.context.close()


@pytest.mark.slow
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_redoc_renders_offline(browser: Any, server: str, size: str) -> None:
    tab, seen = _offline_tab(browser, server, size)
    tab.goto(server + "/redoc")
    tab.get_by_text("Tổng quan bộ văn bản", exact=False).first.wait_for()
    tab.get_by_text("chỉ tiêu hộ nghèo 2023 của Bình Lục?", exact=False).first.wait_for()  # an example, rendered
    assert urljoin(server, "/docs-assets/redoc.standalone.js") in seen.local
    assert seen.outside == []
    # ReDoc's sidebar asks its maker's CDN for a logo; the page's policy stops that inside the browser.
    assert sorted(seen.attempted) == sorted(seen.blocked_by_policy), seen.attempted
    tab.context.close()


@pytest.mark.slow
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_the_search_page_works_offline(browser: Any, server: str, size: str) -> None:
    tab, seen = _offline_tab(browser, server, size)
    tab.goto(server + "/#tim?q=hộ nghèo")
    tab.locator(".result").first.wait_for()
    tab.goto(server + "/#chi-tieu?key=tỷ lệ hộ nghèo")
    tab.locator(".indicator-row").first.wait_for()
    assert urljoin(server, "/static/app.js") in seen.local
    assert seen.outside == [] and seen.attempted == []
    tab.context.close()
