"""The records that flow from ingestion to the index.

Plain frozen dataclasses: the store, the API and the CLI all serialise them with
:func:`dataclasses.asdict`, so a field added here shows up everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DocumentMeta:
    """What a document says about itself; every field is None when the text does not say."""

    number: str | None = None
    doc_type: str | None = None
    issuer: str | None = None
    level: str | None = None
    locality: str | None = None
    province: str | None = None
    province_current: str | None = None
    issued_date: str | None = None  # ISO YYYY-MM-DD
    years: tuple[int, ...] = ()
    title: str | None = None
    signer: str | None = None


@dataclass(frozen=True)
class Section:
    """One heading of the document's hierarchy and the text span it governs.

    ``start``/``end`` cover the heading line and everything up to the next
    heading of the same or a higher rank. ``label`` is the short form shown in
    section paths ("Điều 2", "2. Các chỉ tiêu kinh tế - xã hội chủ yếu năm 2023").
    """

    id: int
    kind: str
    label: str
    depth: int
    parent: int | None
    start: int
    end: int
    body_end: int


@dataclass(frozen=True)
class Chunk:
    """A citable span of a document: ``clean_text[start:end] == text`` always."""

    id: str
    document_id: str
    ordinal: int
    section: str
    start: int
    end: int
    text: str
    header: str  # indexed with the chunk, never quoted
    tokens: int


@dataclass(frozen=True)
class Indicator:
    """One figure of one indicator, cited by offsets: ``clean_text[start:end] == quote``."""

    indicator: str  # the name as written ("Tỷ lệ hộ nghèo (theo chuẩn mới)")
    key: str  # groups equivalent names across documents ("tỷ lệ hộ nghèo")
    value: float
    value_max: float | None  # set for ranges ("78-79 triệu đồng")
    unit: str
    comparator: str | None  # "giảm còn", "đạt", "trở lên", …
    kind: str  # "target" | "result"
    year: int | None
    section: str
    start: int
    end: int
    quote: str
    figure: str  # the comparator and figure as written ("giảm còn 3,7%")


@dataclass(frozen=True)
class ParsedDocument:
    """A document after ingestion: cleaned text, metadata, sections and chunks."""

    id: str
    source: str
    content_hash: str
    text: str
    meta: DocumentMeta
    sections: tuple[Section, ...] = field(default_factory=tuple)
    chunks: tuple[Chunk, ...] = field(default_factory=tuple)
    indicators: tuple[Indicator, ...] = field(default_factory=tuple)
