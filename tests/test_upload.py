"""Batch uploads: the good files go in, each bad one is reported with its reason; a status error only when no file
could be taken at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.outputs import UploadResponse
from service.settings import Settings
from tests.conftest import DOCUMENTS

LIMIT = 200_000
SEED = (DOCUMENTS / "001_17c5f32e7502a0cf.txt").read_bytes()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _txt(name: str, data: bytes) -> tuple[str, tuple[str, bytes, str]]:
    return ("files", (name, data, "text/plain"))


@pytest.fixture()
def client(index_copy: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(index_dir=index_copy, max_upload_bytes=LIMIT))) as test_client:
        yield test_client


def test_a_batch_with_one_unsupported_file_takes_the_good_ones(client: TestClient) -> None:
    files = [_txt("binh-luc-a.txt", SEED.replace(b"3,7%", b"3,1%")),
             ("files", ("bang-so-lieu.xlsx", b"PK\x03\x04 not really a workbook", XLSX)),
             _txt("binh-luc-b.txt", SEED.replace(b"3,7%", b"2,9%"))]
    response = client.post("/documents", files=files)
    assert response.status_code == 200, response.text
    body = response.json()
    UploadResponse.model_validate(body)  # the documented shape
    assert [a["source"] for a in body["added"]] == ["binh-luc-a.txt", "binh-luc-b.txt"]
    assert all(a["id"] for a in body["added"])
    assert body["rejected"] == [{"source": "bang-so-lieu.xlsx", "kind": "unsupported_type",
                                 "reason": "unsupported file type; use one of .txt, .md, .docx, .pdf"}]
    assert client.get("/health").json()["documents"] == 7
    found = client.get("/search", params={"q": "hộ nghèo 2,9%", "k": 3}).json()["results"]
    assert any(r["document"]["source"] == "binh-luc-b.txt" for r in found)


def test_unchanged_files_and_an_unsupported_one_answer_200(client: TestClient) -> None:
    files = [_txt("001_17c5f32e7502a0cf.txt", SEED), ("files", ("ghi-chu.rtf", b"{\\rtf1 x}", "application/rtf"))]
    response = client.post("/documents", files=files)
    assert response.status_code == 200
    assert response.json()["unchanged"] == ["001_17c5f32e7502a0cf.txt"]
    assert [r["source"] for r in response.json()["rejected"]] == ["ghi-chu.rtf"]


def test_every_reason_is_reported_in_upload_order(client: TestClient) -> None:
    files = [_txt("rong.txt", b"   "),
             _txt("lon.txt", b"a" * (LIMIT + 1)),
             ("files", ("bang.xlsx", b"PK", XLSX)),
             _txt("tot.txt", SEED.replace(b"3,7%", b"3,3%"))]
    body = client.post("/documents", files=files).json()
    assert [a["source"] for a in body["added"]] == ["tot.txt"]
    assert [(r["source"], r["kind"]) for r in body["rejected"]] == [
        ("rong.txt", "invalid"), ("lon.txt", "too_large"), ("bang.xlsx", "unsupported_type")]
    assert all(r["reason"] for r in body["rejected"])
    assert str(LIMIT) in body["rejected"][1]["reason"]


def test_415_only_when_every_file_is_of_an_unsupported_type(client: TestClient) -> None:
    files = [("files", ("bang.xlsx", b"PK", XLSX)), ("files", ("chay.exe", b"MZ", "application/octet-stream"))]
    response = client.post("/documents", files=files)
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_type"
    assert "bang.xlsx" in error["message"] and "chay.exe" in error["message"]
    assert client.get("/health").json()["documents"] == 5


def test_413_when_nothing_is_left_but_files_over_the_limit(client: TestClient) -> None:
    alone = client.post("/documents", files=[_txt("lon.txt", b"a" * (LIMIT + 1))])
    assert alone.status_code == 413 and alone.json()["error"]["code"] == "too_large"
    mixed = client.post("/documents", files=[_txt("lon.txt", b"a" * (LIMIT + 1)), ("files", ("b.xlsx", b"PK", XLSX))])
    assert mixed.status_code == 413
    assert "lon.txt" in mixed.json()["error"]["message"] and "b.xlsx" in mixed.json()["error"]["message"]
    assert client.get("/health").json()["documents"] == 5


def test_a_batch_of_only_invalid_supported_files_is_a_200_report(client: TestClient) -> None:
    response = client.post("/documents", files=[_txt("rong.txt", b"  \n ")])
    assert response.status_code == 200
    assert response.json()["added"] == [] and response.json()["rejected"][0]["kind"] == "invalid"


def test_the_upload_response_is_documented(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/documents"]["post"]
    ok = operation["responses"]["200"]["content"]
    assert next(iter(ok.values()))["schema"] == {"$ref": "#/components/schemas/UploadResponse"}
    assert {"401", "403", "413", "415", "422"} <= set(operation["responses"])


def test_other_requests_are_answered_while_an_upload_is_ingested(sample_index: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingestion (parsing, encoding, the write) runs in the threadpool: the event loop keeps serving meanwhile."""
    import threading

    import httpx

    from index.collection import Collection
    from tests.files import writable_copy
    from tests.live import served

    started, release = threading.Event(), threading.Event()
    ingest = Collection.ingest

    def held(self: Collection, files: Any) -> Any:
        started.set()
        release.wait(30)
        return ingest(self, files)

    monkeypatch.setattr(Collection, "ingest", held)
    with served(writable_copy(sample_index, tmp_path), embed_model="none") as url:
        outcome: list[int] = []
        upload = threading.Thread(target=lambda: outcome.append(httpx.post(
            f"{url}/documents", files=[("files", ("cho.txt", "Nghị quyết chờ.\nChỉ tiêu 1%.".encode(), "text/plain"))],
            timeout=60).status_code))
        upload.start()
        try:
            assert started.wait(30)
            assert httpx.get(f"{url}/health", timeout=5).status_code == 200  # while the upload is held
        finally:
            release.set()
            upload.join(60)
        assert outcome == [200]
