"""Hostile requests: the API answers or refuses cleanly ({"error": {"code", "message"}}, 4xx), never a 5xx.

Schemathesis generates requests from the app's own OpenAPI schema, in-process: reads go to the
session's sample index, writes to a private copy of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from service.app import create_app
from service.routers.documents import upload_body_limit
from service.schemas import MAX_QUERY_CHARS
from service.settings import Settings
from tests.files import writable_copy

SCHEMA = schemathesis.openapi.from_dict(create_app(Settings(index_dir=Path("unused"))).openapi())
WRITES = {"POST /documents", "DELETE /documents/{document_id}"}
EXAMPLES_PER_OPERATION = 25


def _fuzz_cases() -> list[tuple[str, GenerationMode]]:
    """Every operation with valid data; those with a body or query parameters also with invalid data."""
    cases = []
    for result in SCHEMA.get_all_operations():
        operation = result.ok()
        cases.append((operation.label, GenerationMode.POSITIVE))
        raw = operation.definition.raw
        if "requestBody" in raw or any(p.get("in") == "query" for p in raw.get("parameters", [])):
            cases.append((operation.label, GenerationMode.NEGATIVE))
    return cases


def assert_clean(response: Any, request: str = "") -> None:
    """2xx, or 4xx with the documented error body; never 5xx."""
    assert response.status_code < 500, f"{response.status_code} for {request}: {response.text[:300]}"
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, f"{response.status_code} body {body} for {request}"
        assert isinstance(body["error"].get("code"), str) and isinstance(body["error"].get("message"), str)


def _send(client: TestClient, case: Any) -> Any:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    if not kwargs.get("cookies"):
        kwargs.pop("cookies", None)
    if isinstance(kwargs.get("data"), bytes | str):  # a raw body (invalid JSON, broken multipart)
        kwargs["content"] = kwargs.pop("data")
    response = client.request(**kwargs)
    assert_clean(response, case.as_curl_command())
    return response


@pytest.fixture(scope="module")
def private_client(tmp_path_factory: pytest.TempPathFactory, sample_index: Path) -> Iterator[TestClient]:
    directory = writable_copy(sample_index, tmp_path_factory.mktemp("hostile-api"))
    with TestClient(create_app(Settings(index_dir=directory, max_upload_bytes=200_000))) as test_client:
        yield test_client


@pytest.mark.parametrize(("label", "mode"), _fuzz_cases(), ids=lambda v: str(v).replace(" ", "-"))
def test_generated_requests_get_clean_answers(label: str, mode: GenerationMode, client: TestClient,
                                              private_client: TestClient) -> None:
    method, path = label.split(" ", 1)
    operation = SCHEMA[path][method]
    target = private_client if label in WRITES else client

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        _send(target, case)

    check()
    assert target.get("/health").status_code == 200


def test_unknown_routes_methods_and_broken_bodies_get_the_error_shape(client: TestClient) -> None:
    # Starlette raised these as {"detail": …} before the handler was registered for its HTTPException.
    for response in (client.get("/khong-co"), client.put("/search"),
                     client.post("/search", content=b"\xb8\x0b\x97", headers={"content-type": "application/json"}),
                     client.post("/documents", content=b"--x\r\nrac", headers={"content-type": "multipart/form-data"})):
        assert 400 <= response.status_code < 500
        assert_clean(response)
    assert client.put("/search").headers["allow"] == "POST"  # the 405 keeps its Allow header


# --- explicit hostile queries -------------------------------------------------------

HOSTILE_QUERIES = {
    "limit": "hộ nghèo " * (MAX_QUERY_CHARS // 9) + "x" * (MAX_QUERY_CHARS % 9),
    "control": "\x00\x01\x1b[31mhộ nghèo\x7f\u202e\ufeff\u200b",
    "mixed-scripts": "hộ nghèo 贫困 бедность فقر गरीबी ยากจน",
    "emoji": "🏠 hộ nghèo 🇻🇳 👨‍👩‍👧 ❤️",
    "quote": '"', "star": "*", "near": "NEAR", "or": "OR", "and-or": "hộ nghèo AND OR NOT",
    "sql": "'; DROP TABLE documents; --", "fts-near": 'NEAR("hộ nghèo" "Bình Lục", 5)', "fts-column": "text:hộ*",
    "quotes-unbalanced": '"hộ nghèo', "percent": "%_%", "backslash": "\\\\\\", "rtl": "\u202ehộ nghèo",
    "combining-only": "\u0300\u0301\u0323" * 10, "nfd": "ho\u0323 ngho\u0300e",
}


def _searches(client: TestClient, query: str) -> list[Any]:
    return [
        client.post("/search", json={"query": query, "k": 5}),
        client.get("/search", params={"q": query, "k": 5}),
        client.post("/ask", json={"question": query}),
        client.post("/similar", json={"text": query, "k": 3}),
        client.get("/indicators", params={"q": query[:200]}),
    ]


@pytest.mark.parametrize("query", HOSTILE_QUERIES.values(), ids=HOSTILE_QUERIES.keys())
def test_hostile_queries_are_answered_or_refused_cleanly(client: TestClient, query: str) -> None:
    for response in _searches(client, query):
        assert_clean(response, repr(query))
    search = client.post("/search", json={"query": query})
    if query.strip():
        assert search.status_code == 200, search.text  # these are all valid queries, odd as they are


def test_query_length_limit_is_exact(client: TestClient) -> None:
    at_limit = "a" * MAX_QUERY_CHARS
    over = at_limit + "a"
    assert client.post("/search", json={"query": at_limit}).status_code == 200
    assert client.get("/search", params={"q": at_limit}).status_code == 200
    assert client.post("/ask", json={"question": at_limit}).status_code == 200
    for response in (client.post("/search", json={"query": over}), client.get("/search", params={"q": over}),
                     client.post("/ask", json={"question": over})):
        assert response.status_code == 422
        assert_clean(response)


@pytest.mark.parametrize("path", ["/search", "/ask"])
def test_lone_surrogates_in_json_are_refused(client: TestClient, path: str) -> None:
    field = "query" if path == "/search" else "question"
    body = f'{{"{field}": "h\\ud800 ngh\\udfff"}}'.encode()  # valid JSON, not valid Unicode
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert_clean(response)


def test_lone_surrogate_in_similar_text_is_refused(client: TestClient) -> None:
    response = client.post("/similar", content=b'{"text": "h\\ud800 ngh\\udfff"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert_clean(response)


def test_index_still_serves_after_hostile_queries(client: TestClient) -> None:
    for query in HOSTILE_QUERIES.values():
        _searches(client, query)
    assert client.get("/health").json()["documents"] == 5
    body = client.post("/search", json={"query": "chỉ tiêu hộ nghèo 2023 của Bình Lục?", "k": 3}).json()
    assert body["results"][0]["document"]["locality"] == "Bình Lục"


# --- access -------------------------------------------------------------------------

UPLOAD = [("files", ("thong-bao.txt", "Thông báo kết luận của Chủ tịch UBND huyện về công tác phòng chống lụt bão"
                     .encode(), "text/plain"))]


def test_api_key_never_reaches_the_logs(index_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    key, wrong = "khoa-that-9f8e7d6c5b4a", "khoa-sai-1a2b3c4d5e6f"
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(Settings(index_dir=index_copy, api_key=key))) as client:
        answers = [
            client.post("/documents", files=UPLOAD, headers={"Authorization": f"Bearer {wrong}"}),
            client.post("/documents", files=UPLOAD, headers={"Authorization": wrong}),
            client.delete("/documents/khong-co", headers={"Authorization": f"Bearer {wrong}"}),
            client.post("/documents", files=UPLOAD, headers={"Authorization": f"Bearer {key}"}),
            client.delete("/documents/khong-co", headers={"Authorization": f"Bearer {key}"}),
        ]
    assert [a.status_code for a in answers] == [401, 401, 401, 200, 404]
    assert caplog.records, "nothing was logged: the capture is not working"
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert wrong not in logged and key not in logged
    assert all(wrong not in a.text for a in answers)


def test_writes_from_another_machine_without_a_key_are_forbidden(index_copy: Path) -> None:
    app = create_app(Settings(index_dir=index_copy))
    with TestClient(app, client=("10.1.2.3", 50000)) as remote:
        assert remote.get("/health").status_code == 200  # reading stays open
        for response in (remote.post("/documents", files=UPLOAD), remote.delete("/documents/khong-co")):
            assert response.status_code == 403
            assert_clean(response)
        assert remote.get("/health").json()["documents"] == 5
    with TestClient(app, client=("::1", 50000)) as local:  # IPv6 loopback may write
        assert local.post("/documents", files=UPLOAD).status_code == 200


def test_writes_from_another_machine_with_the_key(index_copy: Path) -> None:
    app = create_app(Settings(index_dir=index_copy, api_key="khoa-may-chu-2024"))
    with TestClient(app, client=("10.1.2.3", 50000)) as remote:
        assert remote.post("/documents", files=UPLOAD).status_code == 401
        ok = remote.post("/documents", files=UPLOAD, headers={"Authorization": "Bearer khoa-may-chu-2024"})
        assert ok.status_code == 200


EVIL = "https://tran-lua-dao.example"
ALLOWED = "https://tracuu.example.vn"


def _cors(client: TestClient, origin: str) -> tuple[Any, Any]:
    simple = client.get("/search", params={"q": "hộ nghèo"}, headers={"Origin": origin})
    preflight = client.options("/documents", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    return simple, preflight


def test_cors_is_closed_by_default(client: TestClient) -> None:
    simple, preflight = _cors(client, EVIL)
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-origin" not in preflight.headers
    assert_clean(preflight)


def test_cors_opens_only_for_listed_origins(index_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACUU_CORS_ORIGINS", json.dumps([ALLOWED]))
    assert Settings().cors_origins == [ALLOWED]
    with TestClient(create_app(Settings(index_dir=index_copy, cors_origins=[ALLOWED]))) as client:
        simple, preflight = _cors(client, ALLOWED)
        assert simple.headers["access-control-allow-origin"] == ALLOWED
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == ALLOWED
        simple, preflight = _cors(client, EVIL)
        assert "access-control-allow-origin" not in simple.headers
        assert "access-control-allow-origin" not in preflight.headers


# --- upload size --------------------------------------------------------------------

def test_fifty_megabyte_upload_is_refused_with_413(index_copy: Path) -> None:
    with TestClient(create_app(Settings(index_dir=index_copy, max_upload_bytes=200_000))) as client:
        response = client.post("/documents", files=[("files", ("lon.txt", b"a" * 50_000_000, "text/plain"))])
        assert response.status_code == 413
        assert_clean(response)
        assert client.get("/health").json()["documents"] == 5


PART_HEAD = (b'--ranh-gioi\r\nContent-Disposition: form-data; name="files"; filename="lon.txt"\r\n'
             b"Content-Type: text/plain\r\n\r\n")


def _post_streamed(app: Any, chunks: int, chunk: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """POST one file part of ``chunks`` × ``chunk`` straight to the ASGI app, a chunk per receive().

    Returns the status and how many chunks the app read.
    """
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read == chunks:
            return {"type": "http.disconnect"}
        read += 1
        body = (PART_HEAD if read == 1 else b"") + chunk + (b"\r\n--ranh-gioi--\r\n" if read == chunks else b"")
        return {"type": "http.request", "body": body, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/documents", "raw_path": b"/documents", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 5000),
             "server": ("testserver", 80), "app": app}
    anyio.run(app, scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), read


def test_upload_body_is_refused_while_it_streams(index_copy: Path) -> None:
    settings_ = Settings(index_dir=index_copy, max_upload_bytes=200_000)
    app = create_app(settings_)
    megabyte = b"a" * 1_000_000
    boundary = [(b"content-type", b"multipart/form-data; boundary=ranh-gioi")]
    with TestClient(app):  # runs the lifespan
        status, read = _post_streamed(app, 50, megabyte, boundary)
        assert status == 413
        assert read <= upload_body_limit(settings_) // len(megabyte) + 1  # about 3 of the 50 megabytes
        declared = [*boundary, (b"content-length", b"50000000")]
        assert _post_streamed(app, 50, megabyte, declared) == (413, 0)  # refused from its Content-Length
