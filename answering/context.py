"""What an answer is about, as fields and as one line a reader can check at a glance.

"3,7 %" alone invites misuse; "Bình Lục · chỉ tiêu năm 2023 · Nghị quyết ngày
16/12/2022 (HĐND huyện Bình Lục): Tỷ lệ hộ nghèo giảm còn 3,7 %" says whose
figure it is, for which year, of which kind and from which document. Fields
the document does not state are left out rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.models import DocumentMeta

KIND_LABELS = {"target": "chỉ tiêu", "result": "kết quả", "estimate": "ước thực hiện", "plan": "kế hoạch",
               "growth": "tốc độ tăng"}
PERIOD_LABELS = {"year": "năm", "half_first": "6 tháng đầu năm", "half_second": "6 tháng cuối năm",
                 "half": "6 tháng", "five_year": "giai đoạn"}


@dataclass(frozen=True)
class DocumentRef:
    doc_type: str | None
    number: str | None
    issuer: str | None
    issued_date: str | None  # ISO

    @property
    def label(self) -> str:
        """"Nghị quyết 140/NQ-HĐND ngày 16/7/2024 (HĐND huyện Bình Giang)"."""
        parts = [self.doc_type or "Văn bản"]
        if self.number:
            parts.append(self.number)
        if self.issued_date:
            year, month, day = self.issued_date.split("-")
            parts.append(f"ngày {int(day)}/{int(month)}/{year}")
        if self.issuer:
            parts.append(f"({self.issuer})")
        return " ".join(parts)


@dataclass(frozen=True)
class AnswerContext:
    """Place, year, kind and source of an answer; ``text`` is the one-line summary shown with it."""

    place: str | None
    province: str | None
    year: int | None
    kind: str | None  # target | result | estimate | plan | growth (None: not a figure, or not stated)
    period: str | None
    document: DocumentRef
    text: str

    @property
    def kind_label(self) -> str | None:
        return KIND_LABELS.get(self.kind or "")


def document_ref(meta: DocumentMeta) -> DocumentRef:
    return DocumentRef(meta.doc_type, meta.number, meta.issuer, meta.issued_date)


def build_context(meta: DocumentMeta, year: int | None, kind: str | None, period: str | None,
                  statement: str) -> AnswerContext:
    """The context fields and the line "Bình Lục · chỉ tiêu năm 2023 · Nghị quyết …: <statement>"."""
    ref = document_ref(meta)
    pieces = [p for p in (meta.locality or meta.province, _when(year, kind, period)) if p]
    pieces.append(ref.label)
    text = " · ".join(pieces) + f": {statement.strip()}"
    return AnswerContext(meta.locality, meta.province, year, kind, period, ref, text)


def _when(year: int | None, kind: str | None, period: str | None) -> str | None:
    """"chỉ tiêu năm 2023", "kết quả 6 tháng đầu năm 2024", "năm 2024"."""
    label = KIND_LABELS.get(kind or "")
    span = PERIOD_LABELS.get(period or "year", "năm")
    if year is None:
        return label
    when = f"{span} {year}"
    return f"{label} {when}" if label else when
