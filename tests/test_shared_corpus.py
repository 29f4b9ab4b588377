"""The 177 older documents (2004-2010) in ../shared/data all go through the pipeline intact.

The folder sits beside the repository, not in it; without it these tests skip.
Its INDEX.json, written with the data set, gives each file's type and title: an
oracle the metadata extractor never saw.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.clean import normalize_unicode
from corpus.models import ParsedDocument
from corpus.pipeline import parse_path
from eval.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # reads the shared corpus

GOV_DOCS = REPO_ROOT.parent / "shared" / "data" / "gov-docs-2004-2010"
EXPECTED_COUNT = 177


@pytest.fixture(scope="module")
def gov_docs_dir() -> Path:
    if not GOV_DOCS.is_dir():
        pytest.skip(f"shared corpus not found at {GOV_DOCS} (expected beside the repository as ../shared)")
    return GOV_DOCS


@pytest.fixture(scope="module")
def index_entries(gov_docs_dir: Path) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = json.loads((gov_docs_dir / "INDEX.json").read_text(encoding="utf-8"))
    return entries


@pytest.fixture(scope="module")
def parsed(gov_docs_dir: Path) -> dict[str, ParsedDocument]:
    documents: dict[str, ParsedDocument] = {}
    failures: list[str] = []
    for path in sorted(gov_docs_dir.glob("*.txt")):
        try:
            documents[path.name] = parse_path(path)
        except Exception as exc:  # report every file that fails, not just the first
            failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)
    return documents


def _same_text(value: str | None) -> str:
    return " ".join(normalize_unicode(value or "").lower().split())


def test_every_document_parses(gov_docs_dir: Path, parsed: dict[str, ParsedDocument]) -> None:
    assert len(parsed) == EXPECTED_COUNT
    assert all(doc.text and doc.chunks for doc in parsed.values())


def test_every_chunk_is_a_verbatim_span(parsed: dict[str, ParsedDocument]) -> None:
    broken = [
        f"{name} chunk {chunk.ordinal}"
        for name, doc in parsed.items()
        for chunk in doc.chunks
        if doc.text[chunk.start : chunk.end] != chunk.text or not chunk.text.strip()
    ]
    assert not broken, broken[:10]


def test_chunks_are_in_order_with_unique_ids(parsed: dict[str, ParsedDocument]) -> None:
    for name, doc in parsed.items():
        starts = [chunk.start for chunk in doc.chunks]
        assert starts == sorted(set(starts)), name
        assert len({chunk.id for chunk in doc.chunks}) == len(doc.chunks), name


def test_every_section_span_lies_in_its_parent(parsed: dict[str, ParsedDocument]) -> None:
    for name, doc in parsed.items():
        for section in doc.sections:
            assert 0 <= section.start < section.end <= len(doc.text), (name, section.label)
            if section.parent is not None:
                parent = doc.sections[section.parent]
                assert parent.start <= section.start and section.end <= parent.end, (name, section.label)


def test_index_lists_exactly_the_files(gov_docs_dir: Path, index_entries: list[dict[str, str]]) -> None:
    files = {path.name for path in gov_docs_dir.glob("*.txt")}
    assert len(files) == EXPECTED_COUNT
    assert {entry["file"] for entry in index_entries} == files


def test_doc_type_agrees_with_the_index(index_entries: list[dict[str, str]],
                                        parsed: dict[str, ParsedDocument]) -> None:
    wrong = [(e["file"], e["type"], parsed[e["file"]].meta.doc_type) for e in index_entries
             if parsed[e["file"]].meta.doc_type != e["type"]]
    assert not wrong, wrong[:10]


def test_title_agrees_with_the_index(index_entries: list[dict[str, str]], parsed: dict[str, ParsedDocument]) -> None:
    # These files put the title on the first line and the issuing body on the
    # second ("Ủy ban nhân dân tỉnh"); the two must not run together.
    wrong = [(e["file"], e["title"], parsed[e["file"]].meta.title) for e in index_entries
             if _same_text(parsed[e["file"]].meta.title) != _same_text(e["title"])]
    assert not wrong, wrong[:5]
