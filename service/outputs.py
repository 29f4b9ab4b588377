"""Response shapes of the HTTP API (pydantic), described in Vietnamese for the OpenAPI page (``/docs``).

Requests are in :mod:`service.schemas`; :func:`error_responses` documents the 4xx answers a route can give, all with
the :class:`ErrorResponse` body.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.schemas import QUESTION_EXAMPLE, TIMINGS_DOC


class DocumentOut(BaseModel):
    """Siêu dữ liệu đọc được từ chính văn bản; null khi văn bản không nói."""

    id: str = Field(description="Mã văn bản trong chỉ mục", examples=["a4b0b10eb21e4ecd"])
    source: str = Field(description="Tên tệp gốc", examples=["001_17c5f32e7502a0cf.txt"])
    title: str | None = Field(description="Trích yếu", examples=["Về nhiệm vụ phát triển kinh tế - xã hội năm 2023"])
    number: str | None = Field(description="Số, ký hiệu", examples=["140/NQ-HĐND"])
    doc_type: str | None = Field(description="Loại văn bản", examples=["Nghị quyết"])
    issuer: str | None = Field(description="Cơ quan ban hành", examples=["HĐND huyện Bình Lục"])
    level: str | None = Field(description="Cấp: tỉnh, huyện hoặc xã", examples=["huyện"])
    locality: str | None = Field(description="Địa phương ban hành", examples=["Bình Lục"])
    province: str | None = Field(description="Tỉnh lúc ban hành", examples=["Hà Nam"])
    province_current: str | None = Field(description="Tỉnh sau sắp xếp đơn vị hành chính năm 2025",
                                         examples=["Ninh Bình"])
    issued_date: str | None = Field(description="Ngày ban hành, YYYY-MM-DD", examples=["2022-12-16"])
    years: list[int] = Field(description="Các năm văn bản đặt kế hoạch hoặc báo cáo", examples=[[2022, 2023]])
    signer: str | None = Field(description="Người ký", examples=["Nguyễn Hữu Nam"])


class StoredDocumentOut(DocumentOut):
    """Siêu dữ liệu của văn bản và thời điểm đưa vào chỉ mục."""

    ingested_at: str = Field(description="Thời điểm đưa vào chỉ mục (UTC, ISO 8601)",
                             examples=["2026-11-21T08:30:00Z"])


class UploadedFile(BaseModel):
    """Một tệp đã được thêm hoặc thay thế."""

    source: str = Field(description="Tên tệp (chỉ tên, không có đường dẫn)", examples=["nghi-quyet-binh-luc.txt"])
    id: str | None = Field(description="Mã văn bản trong chỉ mục", examples=["a4b0b10eb21e4ecd"])


class RejectedUpload(BaseModel):
    """Một tệp không được nhận, kèm lý do."""

    source: str = Field(description="Tên tệp", examples=["bang-so-lieu.xlsx"])
    reason: str = Field(description="Lý do từ chối",
                        examples=["unsupported file type; use one of .txt, .md, .docx, .pdf"])
    kind: str = Field("invalid", description="Loại lỗi: 'unsupported_type' (định dạng không hỗ trợ), 'too_large' "
                                             "(quá giới hạn dung lượng) hoặc 'invalid' (rỗng, nhị phân, ảnh quét, "
                                             "không đọc được)",
                      examples=["unsupported_type"])


class UploadResponse(BaseModel):
    """Kết quả tải lên: các tệp tốt được nhận, mỗi tệp hỏng được báo riêng với lý do."""

    added: list[UploadedFile] = Field(description="Tệp mới được thêm")
    replaced: list[UploadedFile] = Field(description="Tệp đã có tên này, nội dung đổi: bản cũ được thay")
    unchanged: list[str] = Field(description="Tệp đã có, nội dung không đổi: bỏ qua",
                                 examples=[["001_17c5f32e7502a0cf.txt"]])
    rejected: list[RejectedUpload] = Field(description="Tệp bị từ chối, mỗi tệp một lý do")


class DeleteResponse(BaseModel):
    """Văn bản đã xóa."""

    deleted: str = Field(description="Mã văn bản đã xóa khỏi chỉ mục", examples=["a4b0b10eb21e4ecd"])


# --- search, answers, similar ----------------------------------------------------------


class Span(BaseModel):
    """Một khoảng ký tự trong toàn văn đã làm sạch."""

    start: int = Field(description="Vị trí bắt đầu", examples=[4632])
    end: int = Field(description="Vị trí kết thúc (không tính)", examples=[4681])


class SearchResult(BaseModel):
    """Một đoạn văn bản khớp với truy vấn, với vị trí chính xác trong văn bản đã làm sạch."""

    chunk_id: str = Field(description="Mã đoạn", examples=["6d3b35d99f4d3dbf9480"])
    score: float = Field(description="Điểm xếp hạng (chỉ để so sánh trong cùng một lần tìm)", examples=[0.8123])
    text: str = Field(description="Nội dung đoạn, nguyên văn",
                      examples=["- Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%."])
    section: str = Field(description="Đường dẫn mục chứa đoạn",
                         examples=["Điều 2 › 2. Các chỉ tiêu kinh tế - xã hội chủ yếu năm 2023"])
    start: int = Field(description="Vị trí bắt đầu (ký tự) trong toàn văn đã làm sạch", examples=[4632])
    end: int = Field(description="Vị trí kết thúc: toàn_văn[start:end] == text", examples=[4681])
    legs: list[str] = Field(description="Cách tìm đã thấy đoạn này: 'lexical', 'dense'", examples=[["lexical"]])
    document: DocumentOut = Field(description="Văn bản chứa đoạn")
    more_in_document: int | None = Field(None, description="Với collapse: số đoạn khớp khác của cùng văn bản",
                                         examples=[3])
    lead: Span | None = Field(None, description="Dòng của đoạn chứa nhiều từ của truy vấn nhất: dòng nên đọc trước")
    highlights: list[list[int]] | None = Field(
        None, description="Vị trí [đầu, cuối] các từ khớp thật với truy vấn (từ ghép nguyên vẹn, đúng dấu khi "
                          "truy vấn có dấu), tính trong toàn văn", examples=[[[4640, 4642], [4643, 4648]]])


class SearchResponse(BaseModel):
    """Các đoạn liên quan nhất, xếp theo điểm."""

    query: str = Field(description="Truy vấn như đã gửi", examples=[QUESTION_EXAMPLE])
    understood_as: str | None = Field(None, description="Truy vấn sau khi khôi phục dấu, khi gõ không dấu",
                                      examples=["chỉ tiêu hộ nghèo 2023 của Bình Lục"])
    also_read_as: str | None = Field(None, description="Thuật ngữ của văn bản được đọc thêm cho các từ thường "
                                     "ngày, viết tắt hoặc tiếng Anh trong truy vấn", examples=["gia cầm"])
    took_ms: float = Field(description="Thời gian xử lý, mili giây", examples=[12.5])
    timings_ms: dict[str, float] = Field(default_factory=dict, description=TIMINGS_DOC,
                                         examples=[{"tokenize": 0.4, "lexical": 3.1}])
    mode: str = Field(description="Cách tìm thực sự đã dùng", examples=["lexical"])
    results: list[SearchResult] = Field(description="Kết quả, tốt nhất trước")


class CitationOut(BaseModel):
    """Trích dẫn nguyên văn: toàn_văn[start:end] == quote."""

    chunk_id: str = Field(description="Mã đoạn chứa trích dẫn", examples=["6d3b35d99f4d3dbf9480"])
    document: DocumentOut = Field(description="Văn bản được trích")
    section: str = Field(description="Đường dẫn mục",
                         examples=["Điều 2 › 2. Các chỉ tiêu kinh tế - xã hội chủ yếu năm 2023"])
    quote: str = Field(description="Câu trích nguyên văn", examples=["Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%"])
    start: int = Field(description="Vị trí bắt đầu trong toàn văn đã làm sạch", examples=[4634])
    end: int = Field(description="Vị trí kết thúc trong toàn văn đã làm sạch", examples=[4679])


class IndicatorOut(BaseModel):
    """Một chỉ tiêu hoặc kết quả dạng số, kèm trích dẫn: toàn_văn[start:end] == quote."""

    indicator: str = Field(description="Tên chỉ tiêu như văn bản viết", examples=["Tỷ lệ hộ nghèo (theo chuẩn mới)"])
    key: str = Field(description="Khóa so sánh giữa các văn bản (các tên tương đương chung một khóa)",
                     examples=["tỷ lệ hộ nghèo"])
    value: float = Field(description="Giá trị (cận dưới khi là khoảng)", examples=[3.7])
    value_max: float | None = Field(description="Cận trên khi văn bản ghi một khoảng (\"78-79 triệu đồng\")",
                                    examples=[None])
    unit: str = Field(description="Đơn vị", examples=["%"])
    comparator: str | None = Field(description="Cách nói về con số", examples=["giảm còn"])
    kind: str = Field(description="target (chỉ tiêu), result (kết quả), estimate (ước thực hiện), plan (kế hoạch) "
                                  "hoặc growth (tốc độ tăng)", examples=["target"])
    status: str = Field(description="Như văn bản ghi khi lưu: 'target' hoặc 'result'", examples=["target"])
    period: str = Field(description="Kỳ của con số: year, half_first, half_second, five_year", examples=["year"])
    year: int | None = Field(description="Năm của con số", examples=[2023])
    section: str = Field(description="Đường dẫn mục chứa con số",
                         examples=["Điều 2 › 2. Các chỉ tiêu kinh tế - xã hội chủ yếu năm 2023"])
    start: int = Field(description="Vị trí bắt đầu của câu trích trong toàn văn", examples=[4634])
    end: int = Field(description="Vị trí kết thúc của câu trích trong toàn văn", examples=[4679])
    quote: str = Field(description="Câu trích nguyên văn", examples=["Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%"])
    figure: str = Field(description="Con số như văn bản viết", examples=["giảm còn 3,7%"])
    locality: str | None = Field(description="Địa phương của văn bản", examples=["Bình Lục"])
    province: str | None = Field(description="Tỉnh của văn bản (lúc ban hành)", examples=["Hà Nam"])
    document: StoredDocumentOut = Field(description="Văn bản chứa con số")


class IndicatorList(BaseModel):
    """Các chỉ tiêu và kết quả dạng số tìm được."""

    total: int = Field(description="Tổng số bản ghi khớp (trước giới hạn limit)", examples=[12])
    results: list[IndicatorOut] = Field(description="Các bản ghi, tối đa limit")


class DroppedCitation(BaseModel):
    """Một trích dẫn mô hình ngôn ngữ đưa ra nhưng bị loại vì không khớp nguyên văn."""

    model_config = ConfigDict(extra="allow")

    citation: Any = Field(description="Trích dẫn như mô hình trả về")
    reason: str = Field(description="Lý do loại", examples=["quote is not verbatim in the passage"])


class DocumentLabel(BaseModel):
    """Văn bản nguồn của câu trả lời, ở dạng đọc được."""

    doc_type: str | None = Field(description="Loại văn bản", examples=["Nghị quyết"])
    number: str | None = Field(description="Số, ký hiệu", examples=["140/NQ-HĐND"])
    issuer: str | None = Field(description="Cơ quan ban hành", examples=["HĐND huyện Bình Lục"])
    issued_date: str | None = Field(description="Ngày ban hành (ISO)", examples=["2022-12-16"])
    label: str = Field(description="Dòng mô tả văn bản", examples=["Nghị quyết ngày 16/12/2022 (HĐND huyện Bình Lục)"])


class AnswerContextOut(BaseModel):
    """Câu trả lời thuộc về đâu: địa phương, năm, loại con số, văn bản — và một dòng tóm tắt."""

    place: str | None = Field(description="Địa phương", examples=["Bình Lục"])
    province: str | None = Field(description="Tỉnh", examples=["Hà Nam"])
    year: int | None = Field(description="Năm của con số", examples=[2023])
    kind: str | None = Field(description="target | result | estimate | plan | growth", examples=["target"])
    kind_label: str | None = Field(description="Loại con số bằng tiếng Việt", examples=["chỉ tiêu"])
    period: str | None = Field(description="Kỳ: year, half_first, half_second, five_year", examples=["year"])
    document: DocumentLabel = Field(description="Văn bản nguồn")
    text: str = Field(description="Dòng ngữ cảnh hiển thị cùng câu trả lời",
                      examples=["Bình Lục · chỉ tiêu năm 2023 · Nghị quyết ngày 16/12/2022: "
                                "Tỷ lệ hộ nghèo giảm còn 3,7%"])


class AnswerItemOut(BaseModel):
    """Một mục của câu trả lời dạng danh sách ("huyện nào …")."""

    place: str | None = Field(description="Địa phương của mục", examples=["Vĩnh Bảo"])
    text: str = Field(description="Câu trích trả lời cho địa phương này")
    citation: CitationOut = Field(description="Trích dẫn nguyên văn của mục")
    context: AnswerContextOut = Field(description="Ngữ cảnh của mục")


class AskResponse(BaseModel):
    """Câu trả lời lấy từ văn bản, có trích dẫn; answer null kèm thông báo khi không có câu trả lời."""

    question: str = Field(description="Câu hỏi như đã gửi", examples=[QUESTION_EXAMPLE])
    mode: str = Field(description="'extractive' hoặc 'generative'", examples=["extractive"])
    answer: str | None = Field(description="Câu trả lời; null khi văn bản không trả lời được",
                               examples=["giảm còn 3,7%"])
    message: str | None = Field(description="Thông báo khi không có câu trả lời (vì sao), hoặc lưu ý kèm câu trả lời",
                                examples=["Chưa có văn bản nào về huyện Mường Khương."])
    reason: str | None = Field(None, description="Mã lý do khi không trả lời: unknown_place, did_you_mean, "
                                                 "year_not_covered, off_topic, not_stated, no_passage …",
                               examples=["unknown_place"])
    context: AnswerContextOut | None = Field(None, description="Địa phương, năm, loại và văn bản của câu trả lời")
    items: list[AnswerItemOut] = Field(default_factory=list, description="Câu trả lời dạng danh sách, mỗi mục có "
                                                                         "trích dẫn")
    confidence: float = Field(description="Độ tin cậy từ 0 đến 1", examples=[0.95])
    indicator: IndicatorOut | None = Field(None, description="Bản ghi chỉ tiêu mà câu trả lời được đọc ra, nếu có")
    citations: list[CitationOut] = Field(description="Trích dẫn nguyên văn làm căn cứ")
    dropped_citations: list[DroppedCitation] = Field(
        default_factory=list, description="Chế độ generative: trích dẫn bị loại vì không khớp nguyên văn")
    passages: list[SearchResult] = Field(description="Các đoạn đã đọc để trả lời")
    took_ms: float = Field(description="Thời gian xử lý, mili giây", examples=[15.2])
    timings_ms: dict[str, float] = Field(default_factory=dict, description=TIMINGS_DOC,
                                         examples=[{"lexical": 3.1, "answer": 1.2}])


class SimilarGroup(BaseModel):
    """Các kết quả của một địa phương."""

    province: str | None = Field(description="Tỉnh", examples=["Hải Dương"])
    locality: str | None = Field(description="Địa phương", examples=["Bình Giang"])
    results: list[SearchResult] = Field(description="Các đoạn của địa phương này")


class SimilarResponse(BaseModel):
    """Quyết định tương tự ở nơi khác, mỗi văn bản một đoạn, và cùng các đoạn đó nhóm theo địa phương."""

    results: list[SearchResult] = Field(description="Các đoạn tương tự, tốt nhất trước")
    groups: list[SimilarGroup] = Field(description="Cùng các kết quả, nhóm theo tỉnh và địa phương")
    took_ms: float = Field(description="Thời gian xử lý, mili giây", examples=[20.4])


# --- the collection --------------------------------------------------------------------


class ProvinceCount(BaseModel):
    """Số văn bản của một tỉnh."""

    province: str | None = Field(description="Tỉnh lúc ban hành; null khi văn bản không nói", examples=["Hà Nam"])
    province_current: str | None = Field(description="Tỉnh hiện nay (sau sắp xếp năm 2025) khi khác tên cũ",
                                         examples=["Ninh Bình"])
    documents: int = Field(description="Số văn bản", examples=[12])


class YearCount(BaseModel):
    """Số văn bản đặt kế hoạch hoặc báo cáo cho một năm."""

    year: int | None = Field(description="Năm; null: văn bản không nêu năm", examples=[2024])
    documents: int = Field(description="Số văn bản (một văn bản nhiều năm được đếm ở mỗi năm)", examples=[30])


class TypeCount(BaseModel):
    """Số văn bản của một loại."""

    doc_type: str | None = Field(description="Loại văn bản; null khi không xác định", examples=["Nghị quyết"])
    documents: int = Field(description="Số văn bản", examples=[40])


class LevelCount(BaseModel):
    """Số văn bản của một cấp chính quyền."""

    level: str | None = Field(description="Cấp: tỉnh, huyện, xã; null khi không xác định", examples=["huyện"])
    documents: int = Field(description="Số văn bản", examples=[80])


class LocalityCount(BaseModel):
    """Số văn bản của một địa phương ban hành."""

    locality: str = Field(description="Địa phương ban hành", examples=["Bình Lục"])
    level: str | None = Field(description="Cấp của địa phương", examples=["huyện"])
    province: str | None = Field(description="Tỉnh lúc ban hành", examples=["Hà Nam"])
    documents: int = Field(description="Số văn bản", examples=[2])


class Overview(BaseModel):
    """Tổng quan bộ văn bản: số lượng, phân bố theo tỉnh, năm, loại; bộ mã hóa; lần cập nhật cuối."""

    documents: int = Field(description="Số văn bản", examples=[182])
    chunks: int = Field(description="Số đoạn", examples=[9630])
    by_province: list[ProvinceCount] = Field(description="Theo tỉnh, nhiều văn bản trước")
    by_year: list[YearCount] = Field(description="Theo năm kế hoạch hoặc báo cáo, năm mới trước")
    by_doc_type: list[TypeCount] = Field(description="Theo loại văn bản, nhiều văn bản trước")
    by_level: list[LevelCount] = Field(description="Theo cấp chính quyền ban hành")
    by_locality: list[LocalityCount] = Field(description="Theo địa phương ban hành, xếp theo tỉnh rồi tên")
    encoder: str | None = Field(description="Mô hình ngữ nghĩa đã dùng khi xây chỉ mục; null: chỉ tìm từ khóa",
                                examples=["intfloat/multilingual-e5-small"])
    updated_at: str | None = Field(description="Lần cập nhật chỉ mục cuối (UTC, ISO 8601)",
                                   examples=["2026-11-21T08:30:00Z"])


# --- errors ----------------------------------------------------------------------------


class ErrorBody(BaseModel):
    """Mô tả lỗi."""

    code: str = Field(description="Mã lỗi ổn định, tiếng Anh", examples=["not_found"])
    message: str = Field(description="Thông báo cho người đọc", examples=["no document with id 'abc'"])


class ErrorResponse(BaseModel):
    """Thân mọi câu trả lỗi 4xx/5xx."""

    error: ErrorBody = Field(description="Lỗi")


ERRORS = {
    400: "Yêu cầu không thực hiện được như đã hỏi",
    401: "Thiếu hoặc sai khóa: cần 'Authorization: Bearer <TRACUU_API_KEY>'",
    403: "Chưa đặt TRACUU_API_KEY và máy gửi không phải máy cục bộ: không được ghi",
    404: "Không tìm thấy",
    413: "Tệp hoặc thân yêu cầu quá giới hạn dung lượng (TRACUU_MAX_UPLOAD_BYTES)",
    415: "Mọi tệp đều có định dạng không hỗ trợ (chỉ nhận .txt, .md, .docx, .pdf)",
    422: "Tham số hoặc thân yêu cầu không hợp lệ",
    502: "Mô hình ngôn ngữ (TRACUU_LLM_BASE_URL) không trả lời được",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with its meaning and the error body."""
    return {code: {"model": ErrorResponse, "description": ERRORS[code]} for code in codes}
