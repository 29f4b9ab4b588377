"""Shared fixtures: one index over the sample documents per test session.

The suite runs lexical-only unless a test asks for an encoder: the bundled one is the default for users, and the
tests that exercise it share one loaded copy (``bundled``) instead of paying for it in every app they start.
"""

from __future__ import annotations

import os

os.environ["TRACUU_EMBED_MODEL"] = "none"

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eval.paths import REPO_ROOT, SHARED_DATA
from index.collection import Collection
from service.app import create_app
from service.settings import Settings
from tests.files import writable_copy

DOCUMENTS = REPO_ROOT / "corpus" / "documents"



@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index folder built from corpus/documents, shared read-only by the session."""
    directory = tmp_path_factory.mktemp("index")
    collection = Collection.open(directory)
    report = collection.ingest_paths(sorted(DOCUMENTS.glob("*.txt")))
    assert not report.rejected
    collection.store.close()
    return directory


@pytest.fixture()
def index_copy(tmp_path: Path, sample_index: Path) -> Path:
    """A private, writable copy of the sample index for one test."""
    return writable_copy(sample_index, tmp_path)


@pytest.fixture(scope="session")
def client(sample_index: Path) -> Iterator[TestClient]:
    app = create_app(Settings(index_dir=sample_index))
    with TestClient(app) as test_client:  # the context manager runs the lifespan
        yield test_client


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is not on this machine")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sentence-transformers folder with random weights, built offline once per session."""
    from index.encoders.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def embedder(tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    """The tiny sentence-transformers model loaded through the product's own factory, once per session."""
    from index.encoders import load_embedder

    loaded, status = load_embedder(str(tiny_model_dir))
    assert loaded is not None, status
    return loaded


@pytest.fixture(scope="session")
def bundled():  # type: ignore[no-untyped-def]
    """The bundled multilingual encoder, loaded once for the session (it must load: it ships with tracuu)."""
    from index.encoders.bundled import BundledE5Embedder

    return BundledE5Embedder()
