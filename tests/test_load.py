"""corpus.load: every way a file is refused names the file and the reason; good files decode."""

from __future__ import annotations

import io
import random
import unicodedata
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter

from corpus import load
from corpus.clean import clean_text
from corpus.errors import RejectedFile
from corpus.load import read_bytes, read_path
from corpus.pipeline import parse_bytes
from tests.files import declare_size

# Real lines from the seed documents.
HEADING = "NGHỊ QUYẾT"
TITLE = "Về nhiệm vụ phát triển kinh tế - xã hội 6 tháng cuối năm 2024 tỉnh Bắc Giang"
BODY = (
    "Điều 1. Hội đồng nhân dân tỉnh tán thành với nhận định: Sáu tháng đầu năm 2024, dù đối mặt với nhiều "
    "khó khăn, thách thức từ diễn biến nhanh, khó lường của tình hình thế giới.\n"
    "Điều 3. Giao Uỷ ban nhân dân tỉnh tổ chức thực hiện Nghị quyết."
)
DOCUMENT = f"{HEADING}\n{TITLE}\n{BODY}\n"

# cp1258 leaves these bytes unassigned; each is also invalid as a UTF-8 start byte.
CP1258_UNDEFINED = bytes([0x81, 0x8A, 0x8D, 0x8E, 0x8F, 0x90, 0x9A, 0x9D, 0x9E])
_TONES = "\u0300\u0301\u0303\u0309\u0323"


def _rejected(data: bytes, source: str, **kwargs: int) -> RejectedFile:
    with pytest.raises(RejectedFile) as caught:
        read_bytes(data, source, **kwargs)
    error = caught.value
    assert error.source == source
    assert str(error) == f"{source}: {error.reason}"  # the message names the file, then the reason
    return error


def _to_cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: precomposed base letters, tone marks as combining characters."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
        out += (base + "".join(c for c in decomposed if c in _TONES)).encode("cp1258")
    return bytes(out)


def _docx_bytes(extra: dict[str, bytes] | None = None) -> bytes:
    document = docx.Document()
    document.add_paragraph(HEADING)
    document.add_paragraph(TITLE)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Tỷ lệ hộ nghèo (theo chuẩn mới)"
    table.cell(0, 1).text = "giảm còn 3,7%"
    table.cell(1, 0).text = "Số lao động được giải quyết việc làm mới"
    table.cell(1, 1).text = "trên 3.830 lao động"
    buffer = io.BytesIO()
    document.save(buffer)
    if not extra:
        return buffer.getvalue()
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in extra.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _pdf_bytes(password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if password:
        writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- refused ---------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", "\u00a0\n".encode()])
def test_empty_or_blank_file_is_rejected(data: bytes) -> None:
    error = _rejected(data, "nghi-quyet.txt")
    assert error.kind == "invalid"
    assert "empty" in error.reason


def test_too_little_text_is_rejected() -> None:
    assert "empty" in _rejected("Số: 140 /NQ-HĐND".encode(), "so.txt").reason


def test_binary_with_nul_bytes_is_rejected() -> None:
    error = _rejected(DOCUMENT.encode() + b"\x00\x01\x02" + DOCUMENT.encode(), "lan-nul.txt")
    assert error.reason == "binary file (contains NUL bytes), not text"


def test_binary_image_named_txt_is_rejected() -> None:
    # So many NULs that it passes for UTF-16; the decoded control characters give it away.
    png_header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00"
    error = _rejected(png_header * 20, "anh-chup.txt")
    assert error.kind == "invalid"
    assert "binary" in error.reason


def test_random_bytes_are_rejected() -> None:
    noise = random.Random(1258).randbytes(8192)
    assert b"\x00" in noise
    assert "binary" in _rejected(noise, "nhieu.txt").reason


def test_random_bytes_without_nul_are_rejected() -> None:
    noise = random.Random(2024).randbytes(8192).replace(b"\x00", b"")
    error = _rejected(noise, "nhieu.md")
    assert error.kind == "invalid"
    assert "decodes as none of UTF-8, UTF-16 or cp1258" in error.reason


def test_bytes_no_supported_encoding_decodes_are_rejected() -> None:
    for byte in CP1258_UNDEFINED:
        with pytest.raises(UnicodeDecodeError):
            bytes([byte]).decode("cp1258")
        with pytest.raises(UnicodeDecodeError):
            bytes([byte]).decode("utf-8")
    data = _to_cp1258(DOCUMENT) + CP1258_UNDEFINED
    error = _rejected(data, "ma-la.txt")
    assert error.reason == "text decodes as none of UTF-8, UTF-16 or cp1258"


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe" + DOCUMENT.encode("utf-16-le") + b"\x41",  # BOM says UTF-16, odd length
        b"\xff\xfe" + b"\x00\xd8\x41\x00" * 20,  # BOM says UTF-16, lone surrogate
        b"\xef\xbb\xbf" + _to_cp1258(DOCUMENT),  # BOM says UTF-8, bytes are cp1258
        b"\x00N" * 600 + b"\x00",  # NUL pattern says UTF-16 BE, odd length
    ],
)
def test_text_that_does_not_match_its_bom_or_nul_pattern_is_rejected(data: bytes) -> None:
    error = _rejected(data, "sai-ma.txt")
    assert error.kind == "invalid"
    assert "does not decode" in error.reason


def test_scanned_pdf_without_text_is_rejected() -> None:
    error = _rejected(_pdf_bytes(), "ban-scan.pdf")
    assert "scanned PDF" in error.reason and "OCR" in error.reason


def test_encrypted_pdf_is_rejected() -> None:
    error = _rejected(_pdf_bytes(password="tracuu"), "mat-khau.pdf")
    assert "encrypted PDF" in error.reason


def test_broken_pdf_and_docx_are_rejected() -> None:
    assert "not a readable PDF" in _rejected(b"%PDF-1.7\n" + b"\x00garbage" * 20, "hong.pdf").reason
    assert "not a readable .docx" in _rejected(DOCUMENT.encode(), "hong.docx").reason


def test_file_over_the_size_limit_is_rejected() -> None:
    data = DOCUMENT.encode()
    error = _rejected(data, "lon.txt", max_bytes=len(data) - 1)
    assert error.kind == "too_large"
    assert error.reason == f"file is {len(data)} bytes, over the limit of {len(data) - 1}"
    assert read_bytes(data, "vua.txt", max_bytes=len(data)).startswith(HEADING)


def test_file_on_disk_over_the_size_limit_is_rejected_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "lon.txt"
    path.write_bytes(DOCUMENT.encode() * 10)
    with pytest.raises(RejectedFile) as caught:
        read_path(path, max_bytes=100)
    assert caught.value.kind == "too_large"
    assert caught.value.source == "lon.txt"


@pytest.mark.parametrize(("source", "suffix"), [("setup.exe", ".exe"), ("trang.html", ".html"),
                                                ("nghi-quyet", "(none)")])
def test_unsupported_suffix_is_rejected(source: str, suffix: str) -> None:
    error = _rejected(DOCUMENT.encode(), source)
    assert error.kind == "unsupported_type"
    assert f"unsupported file type '{suffix}'" in error.reason
    assert ".txt, .md, .docx, .pdf" in error.reason


def test_docx_zip_bomb_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    # A real bomb at a lowered cap: 2 MiB of zeros deflate to a few KiB.
    monkeypatch.setattr(load, "MAX_DOCX_UNCOMPRESSED", 1 << 20)
    data = _docx_bytes({"word/media/image1.bin": bytes(2 << 20)})
    assert len(data) < 64 << 10
    error = _rejected(data, "bom.docx")
    assert "docx unpacks to" in error.reason and f"limit {1 << 20}" in error.reason


def test_docx_declaring_more_than_the_cap_is_rejected_before_inflating() -> None:
    declared = load.MAX_DOCX_UNCOMPRESSED + 1
    data = declare_size(_docx_bytes({"word/media/image1.bin": b"\x00" * 64}), "word/media/image1.bin", declared)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo("word/media/image1.bin").file_size == declared
    error = _rejected(data, "bom.docx")
    assert "docx unpacks to" in error.reason


def test_docx_with_too_many_entries_is_rejected() -> None:
    extra = {f"word/media/{n}.bin": b"" for n in range(load.MAX_DOCX_ENTRIES)}
    error = _rejected(_docx_bytes(extra), "nhieu-tep.docx")
    assert "zip entries" in error.reason


# --- accepted ---------------------------------------------------------------------

def test_utf8_with_bom() -> None:
    text = read_bytes(b"\xef\xbb\xbf" + DOCUMENT.encode("utf-8"), "bom.txt")
    assert text == DOCUMENT


def test_utf16_le_with_bom() -> None:
    assert read_bytes(b"\xff\xfe" + DOCUMENT.encode("utf-16-le"), "utf16.txt") == DOCUMENT


def test_utf16_le_without_bom_is_recognised_by_its_nul_bytes() -> None:
    assert read_bytes(DOCUMENT.encode("utf-16-le"), "utf16.txt") == DOCUMENT


def test_cp1258_vietnamese() -> None:
    data = _to_cp1258(DOCUMENT)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # so the cp1258 branch is the one that reads it
    assert "\u0323" in data.decode("cp1258")  # tones travel as combining marks
    parsed = parse_bytes(data, "windows-1258.txt")
    assert parsed.text == clean_text(DOCUMENT)
    assert "Giao Ủy ban nhân dân tỉnh tổ chức thực hiện Nghị quyết." in parsed.text


def test_docx_paragraphs_and_table() -> None:
    text = read_bytes(_docx_bytes(), "nghi-quyet.docx")
    lines = text.split("\n")
    assert lines[:2] == [HEADING, TITLE]
    assert "Tỷ lệ hộ nghèo (theo chuẩn mới) | giảm còn 3,7%" in lines
    assert "Số lao động được giải quyết việc làm mới | trên 3.830 lao động" in lines


def test_markdown_emphasis_is_read_then_cleaned() -> None:
    raw = (
        "**NGHỊ QUYẾT**\n\n**Kết quả thực hiện kế hoạch phát triển kinh tế - xã hội 6 tháng đầu năm**\n\n"
        "**Điều 1.** Hội đồng nhân dân huyện nhất trí đánh giá về kết quả thực hiện kế hoạch.\n"
        "- *Về khách quan:* Tình hình thế giới và trong nước diễn biến phức tạp.\n"
    )
    assert read_bytes(raw.encode(), "nghi-quyet.md") == raw
    parsed = parse_bytes(raw.encode(), "nghi-quyet.md")
    assert "*" not in parsed.text
    assert parsed.text.startswith("NGHỊ QUYẾT\n\nKết quả thực hiện kế hoạch")
    assert "- Về khách quan: Tình hình thế giới" in parsed.text
    assert parsed.meta.doc_type == "Nghị quyết"
    assert [s.label for s in parsed.sections if s.kind == "dieu"] == ["Điều 1"]
