"""The HTTP API with an encoder loaded: hybrid results carry both legs, /health says which model, dense works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings

pytestmark = pytest.mark.slow  # builds an index with an encoder


@pytest.fixture(scope="module")
def dense_client(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[TestClient]:
    from index.collection import Collection
    from index.encoders import load_embedder
    from tests.conftest import DOCUMENTS

    directory = tmp_path_factory.mktemp("api-dense") / "index"
    embedder, status = load_embedder(str(tiny_model_dir))
    built = Collection.open(directory, embedder=embedder, dense_status=status)  # chunks sized by its tokenizer
    built.ingest_paths(sorted(DOCUMENTS.glob("*.txt")))
    built.store.close()
    settings = Settings(index_dir=directory, embed_model=str(tiny_model_dir))
    with TestClient(create_app(settings)) as client:
        yield client


def test_health_names_the_loaded_encoder(dense_client: TestClient, tiny_model_dir: Path) -> None:
    dense = dense_client.get("/health").json()["dense"]
    assert dense["status"] == "ok" and dense["model"] == str(tiny_model_dir)


def test_hybrid_search_fuses_both_legs_over_http(dense_client: TestClient) -> None:
    body = dense_client.post("/search", json={"query": "chỉ tiêu tỷ lệ hộ nghèo năm 2023", "k": 10}).json()
    assert body["mode"] == "hybrid"
    legs = {leg for result in body["results"] for leg in result["legs"]}
    assert legs == {"lexical", "dense"}
    assert {"encode", "vector", "lexical", "fusion"} <= set(body["timings_ms"])


def test_dense_mode_answers_from_vectors_alone(dense_client: TestClient) -> None:
    body = dense_client.get("/search", params={"q": "giải phóng mặt bằng", "mode": "dense", "k": 5}).json()
    assert body["mode"] == "dense" and len(body["results"]) == 5
    assert all(result["legs"] == ["dense"] for result in body["results"])
