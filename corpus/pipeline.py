"""One file in, one :class:`ParsedDocument` out: load → clean → structure → metadata → chunks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from corpus.chunk import ChunkSettings, chunk_document, estimate_tokens
from corpus.clean import clean_text, emphasised_lines
from corpus.indicators import extract_indicators
from corpus.load import DEFAULT_MAX_BYTES, read_bytes
from corpus.metadata import extract_metadata
from corpus.models import DocumentMeta, ParsedDocument, Section
from corpus.structure import parse_sections


def document_id(source: str) -> str:
    """Ids follow the source name, so re-ingesting a changed file replaces its document."""
    return hashlib.sha256(Path(source).name.encode("utf-8")).hexdigest()[:16]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def structure_and_metadata(text: str, raw: str) -> tuple[list[Section], DocumentMeta]:
    """The section tree of the cleaned text (the raw text's bold lines hint at headings), then the metadata,
    which reads the years a document is about from its article and part headings."""
    sections = parse_sections(text, emphasised_lines(raw))
    headings = [text[s.start : s.body_end].split("\n", 1)[0] for s in sections
                if s.kind in ("dieu", "roman", "chuong", "phan", "muc")]
    return sections, extract_metadata(text, headings)


Stage = Callable[[str], AbstractContextManager[object]]


def _untimed(_: str) -> AbstractContextManager[object]:
    return nullcontext()


def parse_text(
    raw: str,
    source: str,
    settings: ChunkSettings | None = None,
    count_tokens: Callable[[str], int] = estimate_tokens,
    stage: Stage = _untimed,
) -> ParsedDocument:
    """Parse already-decoded text; the stored, served and cited text is the cleaned one.

    ``stage`` (a stopwatch's ``stage`` method) lets the ingestion benchmark time each step of this very code.
    """
    with stage("clean"):
        text = clean_text(raw)
    with stage("structure + metadata"):
        sections, meta = structure_and_metadata(text, raw)
    with stage("chunking + indicators"):
        digest = content_hash(text)
        doc_id = document_id(source)
        chunks = chunk_document(doc_id, digest, text, sections, meta, settings or ChunkSettings(), count_tokens)
        indicators = tuple(extract_indicators(text, sections, meta))
    return ParsedDocument(id=doc_id, source=Path(source).name, content_hash=digest, text=text, meta=meta,
                          sections=tuple(sections), chunks=tuple(chunks), indicators=indicators)


def parse_bytes(
    data: bytes,
    source: str,
    settings: ChunkSettings | None = None,
    count_tokens: Callable[[str], int] = estimate_tokens,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedDocument:
    """Parse a file's bytes, raising :class:`corpus.errors.RejectedFile` when it cannot be ingested."""
    return parse_text(read_bytes(data, source, max_bytes), source, settings, count_tokens)


def parse_path(
    path: Path,
    settings: ChunkSettings | None = None,
    count_tokens: Callable[[str], int] = estimate_tokens,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedDocument:
    from corpus.load import read_path

    return parse_text(read_path(path, max_bytes), path.name, settings, count_tokens)
