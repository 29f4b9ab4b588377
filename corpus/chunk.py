"""Chunking inside sections, sized in the embedding model's tokens.

A chunk never crosses a numbered heading, so every chunk has one section path,
and ``clean_text[start:end] == chunk.text`` holds by construction (offsets are
located in the text, then checked). e5 and bge models silently cut input past
their maximum length, so size is counted in the model's own tokens when its
tokenizer is at hand, and by a conservative estimate otherwise; the index
records which.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from corpus.models import Chunk, DocumentMeta, Section
from corpus.structure import section_path

PATH_SEPARATOR = " › "
_TOKEN_PIECES = re.compile(r"\w+|[^\w\s]")
_NEXT_TEXT = re.compile(r"\s*")
# Multilingual sentencepiece vocabularies (XLM-R, used by e5 and bge-m3) split a
# Vietnamese syllable into 1.1–1.4 pieces on these documents; 1.5 keeps an
# estimated chunk under the model's limit.
ESTIMATE_FACTOR = 1.5


def estimate_tokens(text: str) -> int:
    """Upper-bound token count used when no model tokenizer is installed."""
    return math.ceil(len(_TOKEN_PIECES.findall(text)) * ESTIMATE_FACTOR)


@dataclass(frozen=True)
class ChunkSettings:
    """How chunks are cut; recorded in the index manifest."""

    max_tokens: int = 200
    overlap_tokens: int = 24
    token_counter: str = "estimate"  # "estimate" or "tokenizer:<model name>"


def _blocks(text: str, sections: Sequence[Section]) -> list[tuple[int, int, str]]:
    """Spans between consecutive non-bullet headings, each with its section path."""
    cuts = [s for s in sections if s.kind != "bullet"]
    blocks: list[tuple[int, int, str]] = []
    first = cuts[0].start if cuts else len(text)
    if first > 0:
        blocks.append((0, first, ""))
    section_list = list(sections)
    for i, section in enumerate(cuts):
        end = cuts[i + 1].start if i + 1 < len(cuts) else len(text)
        blocks.append((section.start, end, PATH_SEPARATOR.join(section_path(section_list, section.id))))
    return blocks


def _locate(block: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Offsets of each split piece inside ``block``, in order.

    A piece starts after the previous piece's start and no later than the first
    character the previous piece left uncovered (overlap may start it earlier).
    Of the places in that window take the last: in repeated text ("Hội Hội
    Hội") the first one lags behind and leaves the block's tail unchunked.
    """
    spans: list[tuple[int, int]] = []
    prev_start, prev_end = -1, 0
    for piece in pieces:
        gap = _NEXT_TEXT.match(block, prev_end)  # always matches: \s* may be empty
        limit = gap.end() if gap else prev_end
        pos = block.rfind(piece, prev_start + 1, limit + len(piece))
        if pos < 0:
            pos = block.find(piece, prev_start + 1)
        if pos < 0:
            continue  # cannot happen for a substring splitter; the invariant test would catch it
        spans.append((pos, pos + len(piece)))
        prev_start, prev_end = pos, pos + len(piece)
    return spans


def context_header(meta: DocumentMeta, path: str) -> str:
    """What is indexed beside the chunk text so a one-line target keeps its document's identity."""
    identity = " ".join(x for x in (meta.doc_type, meta.number) if x)
    place = ", ".join(x for x in (meta.issuer, meta.locality, meta.province) if x)
    years = " ".join(f"năm {y}" for y in meta.years)
    parts = [identity, meta.title or "", place, meta.issued_date or "", years, path]
    return "\n".join(p for p in parts if p)


def chunk_document(
    document_id: str,
    content_hash: str,
    text: str,
    sections: Sequence[Section],
    meta: DocumentMeta,
    settings: ChunkSettings,
    count_tokens: Callable[[str], int] = estimate_tokens,
) -> list[Chunk]:
    """Cut a cleaned document into citable chunks, in document order."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.max_tokens,
        chunk_overlap=settings.overlap_tokens,
        length_function=count_tokens,
        separators=["\n\n", "\n", "; ", ". ", ", ", " ", ""],
        keep_separator="end",
        strip_whitespace=True,
    )
    chunks: list[Chunk] = []
    for block_start, block_end, path in _blocks(text, sections):
        block = text[block_start:block_end]
        if not block.strip():
            continue
        for start, end in _locate(block, splitter.split_text(block)):
            chunk_text = text[block_start + start : block_start + end]
            if not chunk_text.strip():
                continue
            abs_start = block_start + start
            # Same text under two file names is two documents: the id includes the document.
            key = f"{document_id}:{content_hash}:{abs_start}:{len(chunk_text)}"
            chunk_id = hashlib.sha256(key.encode()).hexdigest()[:20]
            chunks.append(Chunk(
                id=chunk_id, document_id=document_id, ordinal=len(chunks), section=path,
                start=abs_start, end=abs_start + len(chunk_text), text=chunk_text,
                header=context_header(meta, path), tokens=count_tokens(chunk_text),
            ))
    return chunks
