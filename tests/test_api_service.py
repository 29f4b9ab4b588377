"""/ask, /similar, /documents, /metrics and the page: the service contract beyond /search."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import DOCUMENTS


def _stored_text(client: TestClient, document_id: str) -> str:
    response = client.get(f"/documents/{document_id}")
    assert response.status_code == 200
    return str(response.json()["text"])


def _assert_verbatim(client: TestClient, citations: list[dict]) -> None:
    for citation in citations:
        text = _stored_text(client, citation["document"]["id"])
        assert text[citation["start"]:citation["end"]] == citation["quote"]


@pytest.mark.parametrize(
    ("question", "answer", "locality"),
    [
        ("chỉ tiêu hộ nghèo 2023 của Bình Lục?", "3,7%", "Bình Lục"),
        ("chi tieu ho ngheo 2023 cua binh luc", "3,7%", "Bình Lục"),
        ("Thu NSNN 6 tháng đầu năm 2024 của Bình Giang ước đạt bao nhiêu?", "478 tỷ 528 triệu đồng", "Bình Giang"),
        ("Năng suất lúa cả năm 2023 của huyện Vĩnh Bảo đạt bao nhiêu?", "13,26 tấn/ha", "Vĩnh Bảo"),
        ("Ai ký Nghị quyết 140/NQ-HĐND của HĐND huyện Bình Giang?", "Nguyễn Hữu Nam", "Bình Giang"),
    ],
)
def test_ask_answers_with_a_verbatim_citation(client: TestClient, question: str, answer: str, locality: str) -> None:
    body = client.post("/ask", json={"question": question}).json()
    assert body["answer"] is not None and answer in body["answer"]
    assert body["citations"], "an answer always cites its source"
    assert body["citations"][0]["document"]["locality"] == locality
    assert answer in body["citations"][0]["quote"]
    _assert_verbatim(client, body["citations"])
    assert 0 < body["confidence"] <= 1


@pytest.mark.parametrize(("question", "reason", "says"), [
    ("chỉ tiêu hộ nghèo 2023 của Hà Giang?", "unknown_place", "Chưa có văn bản nào về tỉnh Hà Giang"),
    ("giá vàng hôm nay bao nhiêu?", None, "Không tìm thấy"),
    ("tỷ lệ hộ nghèo năm 2023 của tỉnh Cà Mau là bao nhiêu?", "unknown_place", "Chưa có văn bản nào về tỉnh Cà Mau"),
    ("Thu nhập bình quân đầu người huyện Bình Lộc năm 2023 là bao nhiêu?", "did_you_mean", "Bình Lục"),
])
def test_ask_says_plainly_when_nothing_answers(client: TestClient, question: str, reason: str | None,
                                               says: str) -> None:
    body = client.post("/ask", json={"question": question}).json()
    assert body["answer"] is None and body["citations"] == []
    assert says in body["message"]
    if reason is not None:
        assert body["reason"] == reason


def test_ask_answers_with_its_context(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Chỉ tiêu tỷ lệ hộ nghèo năm 2023 của huyện Bình Lục?"}).json()
    context = body["context"]
    assert "3,7%" in body["answer"] and (context["place"], context["year"], context["kind"]) == (
        "Bình Lục", 2023, "target")
    assert context["text"].startswith("Bình Lục · chỉ tiêu năm 2023 · ") and "3,7%" in context["text"]


def test_ask_rejects_bad_input(client: TestClient) -> None:
    assert client.post("/ask", json={"question": " "}).status_code == 422
    assert client.post("/ask", json={"question": "a", "k": 0}).status_code == 422
    assert client.post("/ask", json={"question": "a", "bogus": 1}).status_code == 422


def test_similar_finds_other_localities_grouped(client: TestClient) -> None:
    start = client.post("/search", json={"query": "phân loại rác thải tại nguồn Bình Giang", "k": 1}).json()
    source = start["results"][0]
    body = client.post("/similar", json={"chunk_id": source["chunk_id"], "k": 10}).json()
    assert body["results"]
    localities = {r["document"]["locality"] for r in body["results"]}
    assert source["document"]["locality"] not in localities
    assert all(r["document"]["id"] != source["document"]["id"] for r in body["results"])
    grouped = [r["chunk_id"] for g in body["groups"] for r in g["results"]]
    assert sorted(grouped) == sorted(r["chunk_id"] for r in body["results"])


def test_similar_by_text_and_bad_requests(client: TestClient) -> None:
    body = client.post("/similar", json={"text": "xóa nhà tạm, nhà dột nát", "k": 5}).json()
    assert body["results"]
    assert client.post("/similar", json={"k": 5}).status_code == 422
    assert client.post("/similar", json={"chunk_id": "x", "text": "y"}).status_code == 422
    missing = client.post("/similar", json={"chunk_id": "no-such-chunk"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_documents_list_filter_and_page(client: TestClient) -> None:
    body = client.get("/documents", params={"limit": 2}).json()
    assert body["total"] == 5 and len(body["documents"]) == 2
    rest = client.get("/documents", params={"limit": 10, "offset": 2}).json()["documents"]
    assert len(rest) == 3
    tinh = client.get("/documents", params={"level": "tỉnh"}).json()
    assert tinh["total"] == 1 and tinh["documents"][0]["locality"] == "Bắc Giang"
    assert client.get("/documents", params={"limit": 0}).status_code == 422


def test_document_view_has_text_sections_and_chunks(client: TestClient) -> None:
    doc_id = client.get("/documents", params={"locality": "Bình Lục"}).json()["documents"][0]["id"]
    body = client.get(f"/documents/{doc_id}").json()
    text = body["text"]
    assert "Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%" in text
    assert any(s["label"] == "Điều 2" for s in body["sections"])
    assert all(0 <= c["start"] < c["end"] <= len(text) for c in body["chunks"])
    assert client.get("/documents/nope").status_code == 404


@pytest.fixture()
def writable(index_copy: Path):
    """Clients over a private copy of the sample index, so writes do not disturb the shared one."""
    directory = index_copy

    def make(api_key: str | None = None) -> TestClient:
        return TestClient(create_app(Settings(index_dir=directory, api_key=api_key, max_upload_bytes=200_000)))

    return make


def test_upload_replace_skip_reject_and_delete(writable) -> None:
    with writable() as client:
        seed = (DOCUMENTS / "001_17c5f32e7502a0cf.txt").read_bytes()
        files = [("files", ("moi.txt", seed.replace(b"3,7%", b"3,1%"), "text/plain")),
                 ("files", ("001_17c5f32e7502a0cf.txt", seed, "text/plain")),
                 ("files", ("rong.txt", b"   ", "text/plain"))]
        body = client.post("/documents", files=files).json()
        assert [a["source"] for a in body["added"]] == ["moi.txt"]
        assert body["unchanged"] == ["001_17c5f32e7502a0cf.txt"]
        assert body["rejected"][0]["source"] == "rong.txt"
        new_id = body["added"][0]["id"]
        assert client.get("/health").json()["documents"] == 6
        assert client.delete(f"/documents/{new_id}").status_code == 200
        assert client.get("/health").json()["documents"] == 5
        assert client.delete(f"/documents/{new_id}").status_code == 404


def test_upload_limits_and_types(writable) -> None:
    with writable() as client:
        big = client.post("/documents", files=[("files", ("lon.txt", b"a" * 300_000, "text/plain"))])
        assert big.status_code == 413
        exe = client.post("/documents", files=[("files", ("x.exe", b"MZ", "application/octet-stream"))])
        assert exe.status_code == 415
        sneaky = client.post("/documents", files=[("files", ("../../etc/passwd.txt", io.BytesIO(
            "Nghị quyết về nhiệm vụ phát triển kinh tế - xã hội năm 2025 của huyện".encode()), "text/plain"))])
        assert sneaky.status_code == 200
        assert sneaky.json()["added"][0]["source"] == "passwd.txt"


def test_writes_need_the_key_when_one_is_set(writable) -> None:
    with writable(api_key="khoa-bi-mat-123") as client:
        files = [("files", ("a.txt", "Thông báo kết luận của Chủ tịch UBND huyện về công tác".encode(), "text/plain"))]
        assert client.post("/documents", files=files).status_code == 401
        wrong = {"Authorization": "Bearer sai"}
        assert client.post("/documents", files=files, headers=wrong).status_code == 401
        right = {"Authorization": "Bearer khoa-bi-mat-123"}
        assert client.post("/documents", files=files, headers=right).status_code == 200


def test_metrics_and_page(client: TestClient) -> None:
    client.get("/search", params={"q": "hộ nghèo"})
    metrics = client.get("/metrics").text
    assert 'tracuu_requests_total{endpoint="/search",method="GET",status="200"}' in metrics
    assert "tracuu_request_seconds_bucket" in metrics
    page = client.get("/")
    assert page.status_code == 200 and 'id="panel-upload"' in page.text
    assert "Tương tự ở địa phương khác" in client.get("/static/app.js").text


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/search", "/ask", "/similar", "/documents", "/documents/{document_id}", "/health"} <= set(paths)
