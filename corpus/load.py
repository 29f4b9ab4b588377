"""Bytes to text: format dispatch, encoding detection and the checks that reject a file.

Each check raises :class:`RejectedFile` naming the file and the reason, so a
batch ingest can report it and carry on with the other files.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from corpus.errors import RejectedFile

if TYPE_CHECKING:
    from pypdf import PdfReader

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".pdf")
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# A .docx is a zip: cap what it may unpack to and how many entries it may hold,
# so a zip bomb is refused before it is inflated. Its XML has a cap of its own:
# python-docx parses all of it (about 4 s per 10 MB), while images are only held.
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_DOCX_XML = 32 * 1024 * 1024
MAX_DOCX_ENTRIES = 2000
# pypdf reads about 1 MB of page content or 150,000 drawing operations a second,
# and a 60 KB PDF can unpack to 20 MB of content or draw one 100 KB form a
# thousand times. Pages and content are capped before extraction, operations
# (forms included) during it.
MAX_PDF_PAGES = 2000
MAX_PDF_CONTENT_BYTES = 16 * 1024 * 1024
MAX_PDF_OPERATIONS = 1_000_000
MIN_TEXT_CHARS = 20


def decode_text(data: bytes, source: str) -> str:
    """Decode plain text as UTF-8, UTF-16 (by BOM or NUL pattern) or cp1258, in that order."""
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8", errors="strict")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        if _looks_like_utf16(data):
            return data.decode("utf-16-le" if data[1:2] == b"\x00" else "utf-16-be")
    except UnicodeDecodeError as exc:
        # A BOM or a NUL pattern chose the encoding, so no other one is tried.
        raise RejectedFile(
            source, f"text looks like {exc.encoding} but does not decode as it ({exc.reason} at byte {exc.start})"
        ) from exc
    if b"\x00" in data:
        raise RejectedFile(source, "binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1258")
    except UnicodeDecodeError as exc:
        raise RejectedFile(source, "text decodes as none of UTF-8, UTF-16 or cp1258") from exc


def _looks_like_utf16(data: bytes) -> bool:
    sample = data[:2000]
    if len(sample) < 4:
        return False
    even_nul = sample[1::2].count(0) / max(1, len(sample) // 2)
    odd_nul = sample[0::2].count(0) / max(1, len(sample) // 2)
    return max(even_nul, odd_nul) > 0.3


# C0 controls other than \t \n \f \r: a text file has almost none, a binary file many.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


def _check_text(text: str, source: str) -> str:
    controls = len(_CONTROL_CHARS.findall(text[:20000]))
    if controls > max(8, len(text[:20000]) // 100):
        raise RejectedFile(source, "binary file (too many control characters), not text")
    if len(text.strip()) < MIN_TEXT_CHARS:
        raise RejectedFile(source, "empty file: no text to index")
    return text


def read_docx(data: bytes, source: str) -> str:
    """Paragraphs and table cells of a .docx, in document order."""
    import docx  # python-docx; imported here so plain-text ingestion does not pay for it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_DOCX_ENTRIES:
                raise RejectedFile(source, f"docx has {len(infos)} zip entries (limit {MAX_DOCX_ENTRIES})")
            total = sum(info.file_size for info in infos)
            if total > MAX_DOCX_UNCOMPRESSED:
                raise RejectedFile(source, f"docx unpacks to {total} bytes (limit {MAX_DOCX_UNCOMPRESSED})")
            xml = sum(info.file_size for info in infos if info.filename.endswith((".xml", ".rels")))
            if xml > MAX_DOCX_XML:
                raise RejectedFile(source, f"docx holds {xml} bytes of XML (limit {MAX_DOCX_XML})")
        document = docx.Document(io.BytesIO(data))
    except RejectedFile:
        raise
    except Exception as exc:  # python-docx raises many types for a broken file
        raise RejectedFile(source, f"not a readable .docx ({type(exc).__name__})") from exc
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


class _OverBudget(Exception):
    """Raised from pypdf's per-operation callback to stop a PDF that asks for too much work."""


def _check_pdf_size(reader: PdfReader, source: str) -> None:
    count = len(reader.pages)
    if count > MAX_PDF_PAGES:
        raise RejectedFile(source, f"PDF has {count} pages (limit {MAX_PDF_PAGES})")
    content = 0
    for page in reader.pages:
        stream = page.get_contents()
        content += len(stream.get_data()) if stream is not None else 0
        if content > MAX_PDF_CONTENT_BYTES:
            raise RejectedFile(source, f"PDF page content unpacks to over {MAX_PDF_CONTENT_BYTES} bytes")


def _pdf_page_texts(reader: PdfReader, source: str) -> list[str]:
    operations = 0

    def count(*_: object) -> None:
        nonlocal operations
        operations += 1
        if operations > MAX_PDF_OPERATIONS:
            raise _OverBudget  # inside a form pypdf logs it and goes on; the page's next operation stops it

    try:
        return [page.extract_text(visitor_operand_before=count) or "" for page in reader.pages]
    except _OverBudget:
        raise RejectedFile(source, f"PDF takes over {MAX_PDF_OPERATIONS} drawing operations to read") from None


def read_pdf(data: bytes, source: str) -> str:
    """The text layer of a PDF; a scanned PDF (no text layer) is rejected."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise RejectedFile(source, "encrypted PDF: remove the password before ingesting")
        _check_pdf_size(reader, source)
        pages = _pdf_page_texts(reader, source)
    except RejectedFile:
        raise
    except Exception as exc:  # pypdf raises many types for a broken or hostile file (LimitReachedError …)
        raise RejectedFile(source, f"not a readable PDF ({type(exc).__name__})") from exc
    text = "\n".join(pages)
    if len(text.strip()) < MIN_TEXT_CHARS:
        raise RejectedFile(source, "scanned PDF without a text layer: run OCR first")
    return text


def read_bytes(data: bytes, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Turn one uploaded or on-disk file into raw text, or raise :class:`RejectedFile`."""
    suffix = Path(source).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise RejectedFile(
            source, f"unsupported file type '{suffix or '(none)'}'; use one of {', '.join(SUPPORTED_SUFFIXES)}",
            kind="unsupported_type",
        )
    if len(data) > max_bytes:
        raise RejectedFile(source, f"file is {len(data)} bytes, over the limit of {max_bytes}", kind="too_large")
    if not data.strip():
        raise RejectedFile(source, "empty file: no text to index")
    if suffix == ".docx":
        text = read_docx(data, source)
    elif suffix == ".pdf":
        # A font's ToUnicode map can name half a surrogate pair; such text cannot be stored as UTF-8.
        text = read_pdf(data, source).encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    else:
        text = decode_text(data, source)
    return _check_text(text, source)


def read_path(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Read a file from disk, checking its size before reading it whole."""
    size = path.stat().st_size
    if size > max_bytes:
        raise RejectedFile(path.name, f"file is {size} bytes, over the limit of {max_bytes}", kind="too_large")
    return read_bytes(path.read_bytes(), path.name, max_bytes)
