"""Questions about a document itself — who signed it, its number, the date it was issued, the body that issued it,
the session of the council that adopted it.

These are answered from the document's metadata, not from whichever sentence
shares the most words with the question (the conclusion line shares all of
them and names none). The citation is the line that states the value: the
signature, the "Số: …" header, the place-and-date line (or the adoption
sentence that gives the date), the issuer's header. A question about another
instrument the document cites ("căn cứ báo cáo số mấy", "tờ trình … số hiệu
gì", "chỉ thị 26-CT/TU ban hành ngày nào") is not about the document itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from answering.asked import INSTRUMENT_CODES
from corpus.gazetteer import fold
from corpus.models import Chunk
from index.query import THING_NUMBERED, number_key
from index.store import StoredDocument

# "ai ký", and "ai là chủ tịch HĐND … ký nghị quyết …" (the signer named by office first)
_SIGNER = re.compile(r"\b(ai ky|nguoi ky|ky boi|who signed|signed by|signatory)\b|\bai\b.{0,80}?\bky (?:nghi quyet|"
                     r"quyet dinh|thong bao|van ban|ban hanh|ke hoach|chi thi|bao cao|to trinh|nq|qd|tb)\b")
_NUMBER = re.compile(r"\b(so hieu|so ky hieu|mang so|what number|number of the)\b"
                     r"|^\s*so (nghi quyet|thong bao|quyet dinh|van ban)\b"
                     r"|\b(nghi quyet|thong bao|quyet dinh|van ban)(?: \w+){0,2} so (may|gi|bao nhieu|nao)\b")
_ISSUED_ON = re.compile(r"\b(ban hanh|thong qua|ky|phat hanh)(?: vao)? ngay nao\b|\bwhen was .* (adopted|issued)")
_WHICH_DAY = re.compile(r"\bngay nao\b|\bwhat date\b")
_EVENT = re.compile(r"\b(to chuc|hop|dien ra|so ket|hoi nghi)\b")
_ISSUER = re.compile(r"\b(co quan nao|ai|don vi nao|cap nao) (ban hanh|ra|thong qua)\b|\bwhich (body|authority)\b"
                     r"|\bwho issued\b")
_INSTRUMENT = re.compile(rf"\b({'|'.join([*INSTRUMENT_CODES, 'cong van', *INSTRUMENT_CODES.values()])})\b")
_ABBREVIATED = {code: name for name, code in INSTRUMENT_CODES.items()}
_DOC_NUMBER = re.compile(r"\b\d+[\w.]*(?:\s*[-/]\s*[\wĐđ.]+)+")
_SESSION = re.compile(r"\bky hop (?:nao|thu may|thu bao nhieu)\b|\b(?:which|what) (?:council )?session\b")
# "KỲ HỌP THỨ MƯỜI BA", "Kỳ họp thứ tám (Kỳ họp thường lệ …)", "kỳ họp thứ 13"
_SESSION_IN_TEXT = re.compile(r"kỳ\s+họp\s+thứ\s+(?:\d+|(?:một|hai|ba|bốn|tư|năm|lăm|sáu|bảy|tám|chín|mười|mươi|mốt)"
                              r"(?:\s+(?:một|hai|ba|bốn|tư|năm|lăm|sáu|bảy|tám|chín|mươi|mốt))*)(?!\w)", re.IGNORECASE)
_HEADER_BODY = re.compile(r"hoi dong nhan dan|uy ban nhan dan|huyen uy|tinh uy|thanh uy|dang bo|hdnd|ubnd")
FIELDS = ("signer", "number", "issued_date", "issuer", "session")


@dataclass(frozen=True)
class FieldAnswer:
    """A metadata value and the verbatim line of the document that states it."""

    field: str
    value: str
    chunk: Chunk
    start: int  # offsets of the cited line in the document's cleaned text
    end: int
    quote: str


def asked_field(question: str) -> str | None:
    """Which metadata field a question asks for, if any."""
    folded = fold(question)
    if _SESSION.search(folded):
        return "session"
    if _SIGNER.search(folded):
        return "signer"
    if _ISSUER.search(folded):
        return "issuer"
    if _NUMBER.search(folded) and not THING_NUMBERED.search(folded):
        return "number"
    if _ISSUED_ON.search(folded) or (_WHICH_DAY.search(folded) and not _EVENT.search(folded)):
        return "issued_date"
    return None


def about_itself(question: str, doc: StoredDocument) -> bool:
    """Whether the question is about ``doc`` rather than another instrument it cites."""
    folded = fold(question)
    named = {_ABBREVIATED.get(m, m) for m in _INSTRUMENT.findall(folded)}
    own = fold(doc.meta.doc_type or "")
    if named - {own, "ket luan"}:
        return False
    numbers = [number_key(m.group(0)) for m in _DOC_NUMBER.finditer(question)]
    return not numbers or (doc.meta.number is not None and number_key(doc.meta.number) in numbers)


def field_answer(field: str, doc: StoredDocument, chunks: list[Chunk]) -> FieldAnswer | None:
    """The value of ``field`` for ``doc`` with the line that states it; None when the text does not."""
    meta = doc.meta
    value = {"signer": meta.signer, "number": meta.number, "issued_date": meta.issued_date,
             "issuer": meta.issuer, "session": "kỳ họp"}.get(field)
    if not value:
        return None
    finder = {"signer": _signer_line, "number": _number_line, "issued_date": _date_line, "issuer": _issuer_line,
              "session": _session_line}[field]
    for chunk, start, end, span in finder(value, doc, chunks):
        line = chunk.text[start:end]
        shown = span if field != "issuer" else value
        return FieldAnswer(field, shown, chunk, chunk.start + start, chunk.start + end, line)
    return None


def _lines(chunk: Chunk) -> Iterator[tuple[int, int, str]]:
    start = 0
    for line in chunk.text.split("\n"):
        stripped = line.strip()
        if stripped:
            lead = line.index(stripped[0])
            yield start + lead, start + lead + len(stripped), stripped
        start += len(line) + 1


def _pattern_lines(pattern: re.Pattern[str], chunks: list[Chunk]) -> Iterator[tuple[Chunk, int, int, str]]:
    for chunk in chunks:
        for start, end, line in _lines(chunk):
            match = pattern.search(line)
            if match:
                yield chunk, start, end, match.group(0)


def _signer_line(value: str, doc: StoredDocument, chunks: list[Chunk]) -> Iterator[tuple[Chunk, int, int, str]]:
    """The signature comes last: the last line that holds the name."""
    found = list(_pattern_lines(re.compile(re.escape(value)), chunks))
    yield from reversed(found)


def _number_line(value: str, doc: StoredDocument, chunks: list[Chunk]) -> Iterator[tuple[Chunk, int, int, str]]:
    """The number as written ("140 /NQ-HĐND"), spaces allowed between its parts."""
    compact = re.sub(r"\s+", "", value)
    pattern = re.compile(r"\s*".join(re.escape(ch) for ch in compact))
    yield from _pattern_lines(pattern, chunks)


def _date_line(value: str, doc: StoredDocument, chunks: list[Chunk]) -> Iterator[tuple[Chunk, int, int, str]]:
    """ "ngày 16 tháng 7 năm 2024" first (the place-and-date line, or the adoption sentence), then "16/7/2024"."""
    year, month, day = (int(x) for x in value.split("-"))
    spelled = re.compile(rf"ngày\s+0?{day}\s+tháng\s+0?{month}\s+năm\s+{year}", re.IGNORECASE)
    numeric = re.compile(rf"(?<!\d)0?{day}\s*/\s*0?{month}\s*/\s*{year}(?!\d)")
    yield from _pattern_lines(spelled, chunks)
    yield from _pattern_lines(numeric, chunks)


def _session_line(value: str, doc: StoredDocument, chunks: list[Chunk]) -> Iterator[tuple[Chunk, int, int, str]]:
    """The adoption sentence at the end ("… Khoá XX, Kỳ họp thứ tám … thông qua ngày …"), else the header's
    "KHÓA XX, KỲ HỌP THỨ TÁM": the last line naming a numbered session. Not stated: nothing (no guess)."""
    yield from reversed(list(_pattern_lines(_SESSION_IN_TEXT, chunks)))


def _issuer_line(value: str, doc: StoredDocument, chunks: list[Chunk]) -> Iterator[tuple[Chunk, int, int, str]]:
    """The header line naming the issuing body ("HỘI ĐỒNG NHÂN DÂN TỈNH BẮC GIANG"), in the first lines."""
    place = fold(doc.meta.locality or doc.meta.province or "")
    for chunk in chunks[:2]:
        for start, end, line in list(_lines(chunk))[:15]:
            folded = fold(line)
            if _HEADER_BODY.search(folded) and (not place or place in folded) and len(line) < 120:
                yield chunk, start, end, line
