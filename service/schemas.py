"""Request shapes of the HTTP API (pydantic), described in Vietnamese for the OpenAPI page (``/docs``).

Field names stay English (they are the API); every field carries a description and, where it helps, a Vietnamese
example. The response shapes are in :mod:`service.outputs`.
"""

from __future__ import annotations

from typing import Annotated, Literal

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

QUESTION_EXAMPLE = "chỉ tiêu hộ nghèo 2023 của Bình Lục?"
TIMINGS_DOC = ("Thời gian từng bước, mili giây: filters, tokenize, lexical, encode, vector, fusion, answer, "
               "serialise")
MODE_DOC = ("Cách tìm: 'hybrid' (từ khóa BM25 kết hợp ngữ nghĩa), 'lexical' (chỉ từ khóa), 'dense' (chỉ ngữ "
            "nghĩa). Khi không có mô hình ngữ nghĩa, dịch vụ tìm theo từ khóa.")


# --- requests ------------------------------------------------------------------------


class Filters(BaseModel):
    """Bộ lọc theo siêu dữ liệu văn bản; trường lạ bị từ chối (422), không bị bỏ qua."""

    model_config = ConfigDict(extra="forbid")

    locality: str | None = Field(None, description="Địa phương ban hành (huyện, tỉnh, xã), không phân biệt dấu",
                                 examples=["Bình Lục"])
    province: str | None = Field(None, description="Tỉnh, theo tên lúc ban hành hoặc tên sau sắp xếp năm 2025",
                                 examples=["Hà Nam"])
    level: Literal["tỉnh", "huyện", "xã"] | None = Field(None, description="Cấp chính quyền ban hành",
                                                         examples=["huyện"])
    doc_type: str | None = Field(None, description="Loại văn bản", examples=["Nghị quyết"])
    year: int | None = Field(None, ge=1900, le=2100, description="Năm văn bản đặt kế hoạch hoặc báo cáo kết quả",
                             examples=[2023])
    year_from: int | None = Field(None, ge=1900, le=2100, description="Từ năm (tính cả năm này)",
                                  examples=[2022])
    year_to: int | None = Field(None, ge=1900, le=2100, description="Đến năm (tính cả năm này)", examples=[2024])
    document_id: str | None = Field(None, description="Chỉ tìm trong một văn bản (mã văn bản)",
                                    examples=["a4b0b10eb21e4ecd"])


class SearchRequest(BaseModel):
    """Một truy vấn tìm kiếm."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"query": QUESTION_EXAMPLE, "k": 5, "filters": {}, "mode": "hybrid"},
        {"query": "phân loại rác thải tại nguồn", "k": 10, "filters": {"province": "Hải Dương", "year": 2024},
         "collapse": "document"}]})

    query: NonBlank = Field(..., min_length=1, max_length=MAX_QUERY_CHARS,
                            description="Câu truy vấn, có dấu hoặc không dấu", examples=[QUESTION_EXAMPLE])
    k: int = Field(10, ge=1, le=100, description="Số kết quả trả về", examples=[10])
    filters: Filters = Field(default_factory=lambda: Filters(), description="Bộ lọc theo siêu dữ liệu")
    mode: SearchMode = Field("hybrid", description=MODE_DOC, examples=["hybrid"])
    collapse: Literal["document"] | None = Field(
        None, description="'document': mỗi văn bản chỉ một đoạn tốt nhất, xếp theo văn bản (những nơi nào đã "
                          "quyết định việc này), kèm số đoạn khớp khác của văn bản đó")


class AskRequest(BaseModel):
    """Một câu hỏi cần câu trả lời có trích dẫn."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": QUESTION_EXAMPLE, "k": 5, "filters": {}, "mode": "extractive"}]})

    question: NonBlank = Field(..., min_length=1, max_length=MAX_QUERY_CHARS, description="Câu hỏi",
                               examples=[QUESTION_EXAMPLE])
    k: int = Field(5, ge=1, le=50, description="Số đoạn văn bản trả về kèm câu trả lời", examples=[5])
    filters: Filters = Field(default_factory=lambda: Filters(), description="Bộ lọc theo siêu dữ liệu")
    mode: Literal["extractive", "generative"] = Field(
        "extractive", description="'extractive': câu trả lời lấy nguyên văn từ văn bản; 'generative': mô hình ngôn "
                                  "ngữ viết câu trả lời (cần TRACUU_LLM_BASE_URL), mọi trích dẫn được kiểm tra lại",
        examples=["extractive"])


class SimilarRequest(BaseModel):
    """Tìm quyết định tương tự ở nơi khác, theo một đoạn đã có (chunk_id) hoặc một đoạn văn bản (text)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"text": "phân loại rác thải tại nguồn", "k": 10}]})

    chunk_id: str | None = Field(None, max_length=64, description="Mã một đoạn trong chỉ mục (từ kết quả tìm kiếm)",
                                 examples=["6d3b35d99f4d3dbf9480"])
    text: NonBlank | None = Field(None, max_length=20_000, description="Hoặc một đoạn văn bản tự nhập",
                                  examples=["phân loại rác thải tại nguồn"])
    k: int = Field(10, ge=1, le=100, description="Số văn bản trả về", examples=[10])
    filters: Filters = Field(default_factory=lambda: Filters(), description="Bộ lọc theo siêu dữ liệu")
    exclude_same_document: bool = Field(True, description="Bỏ các đoạn cùng văn bản với đoạn gốc")
    exclude_same_locality: bool = Field(True, description="Bỏ các văn bản cùng địa phương với đoạn gốc")


# --- documents -------------------------------------------------------------------------
