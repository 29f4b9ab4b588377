"""Request and response shapes of the HTTP API (pydantic), with Vietnamese examples for the OpenAPI page."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from index.search import Mode

MAX_QUERY_CHARS = 1000  # the schema's cap; TRACUU_MAX_QUERY_CHARS may lower it for a deployment
SearchMode = Mode


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("empty or whitespace only")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate cannot be stored, segmented or answered
        raise ValueError("not valid Unicode text (lone surrogate)") from exc
    return value


NonBlank = Annotated[str, AfterValidator(_not_blank)]


class Filters(BaseModel):
    """Metadata constraints; an unknown field is a 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    locality: str | None = Field(None, examples=["Bình Lục"])
    province: str | None = Field(None, examples=["Hà Nam"])
    level: Literal["tỉnh", "huyện", "xã"] | None = None
    doc_type: str | None = Field(None, examples=["Nghị quyết"])
    year: int | None = Field(None, ge=1900, le=2100, examples=[2023])
    year_from: int | None = Field(None, ge=1900, le=2100)
    year_to: int | None = Field(None, ge=1900, le=2100)
    document_id: str | None = None


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: NonBlank = Field(..., min_length=1, max_length=MAX_QUERY_CHARS,
                            examples=["chỉ tiêu hộ nghèo 2023 của Bình Lục?"])
    k: int = Field(10, ge=1, le=100)
    filters: Filters = Field(default_factory=lambda: Filters())
    mode: SearchMode = "hybrid"
    collapse: Literal["document"] | None = Field(
        None, description="'document': the best passage of each document, ranked by document (which places "
                          "decided X), each with the number of its other matching passages")


class DocumentOut(BaseModel):
    id: str
    source: str
    title: str | None
    number: str | None
    doc_type: str | None
    issuer: str | None
    level: str | None
    locality: str | None
    province: str | None
    province_current: str | None
    issued_date: str | None
    years: list[int]
    signer: str | None


class SearchResult(BaseModel):
    chunk_id: str
    score: float
    text: str
    section: str
    start: int
    end: int
    legs: list[str]
    document: DocumentOut
    more_in_document: int | None = Field(None, description="with collapse: other matching passages of the document")


TIMINGS_DOC = "milliseconds per stage: filters, tokenize, lexical, encode, vector, fusion, answer, serialise"


class SearchResponse(BaseModel):
    query: str
    understood_as: str | None = Field(None, description="the query with diacritics restored, when typed without")
    took_ms: float
    timings_ms: dict[str, float] = Field(default_factory=dict, description=TIMINGS_DOC)
    mode: str
    results: list[SearchResult]


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: NonBlank = Field(..., min_length=1, max_length=MAX_QUERY_CHARS,
                          examples=["chỉ tiêu hộ nghèo 2023 của Bình Lục?"])
    k: int = Field(5, ge=1, le=50)
    filters: Filters = Field(default_factory=lambda: Filters())
    mode: Literal["extractive", "generative"] = "extractive"


class CitationOut(BaseModel):
    chunk_id: str
    document: DocumentOut
    section: str
    quote: str
    start: int
    end: int


class AskResponse(BaseModel):
    question: str
    mode: str
    answer: str | None
    message: str | None
    confidence: float
    indicator: dict[str, Any] | None = None  # the indicator record the answer was read from, if any
    citations: list[CitationOut]
    dropped_citations: list[dict[str, Any]] = []
    passages: list[SearchResult]
    took_ms: float
    timings_ms: dict[str, float] = Field(default_factory=dict, description=TIMINGS_DOC)


class SimilarRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chunk_id: str | None = Field(None, max_length=64)
    text: NonBlank | None = Field(None, max_length=20_000, examples=["phân loại rác thải tại nguồn"])
    k: int = Field(10, ge=1, le=100)
    filters: Filters = Field(default_factory=lambda: Filters())
    exclude_same_document: bool = True
    exclude_same_locality: bool = True


class SimilarGroup(BaseModel):
    province: str | None
    locality: str | None
    results: list[SearchResult]


class SimilarResponse(BaseModel):
    results: list[SearchResult]
    groups: list[SimilarGroup]
    took_ms: float
