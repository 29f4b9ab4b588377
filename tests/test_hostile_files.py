"""Hostile files: zip and PDF bombs, XML entities, encrypted PDFs, and upload names that try to leave the index."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, NumberObject

from corpus import load
from corpus.errors import RejectedFile
from corpus.load import read_bytes
from service.app import create_app
from service.settings import Settings
from tests.files import declare_size, docx_from_paragraphs

TITLE = "Nghị quyết về nhiệm vụ phát triển kinh tế - xã hội năm 2024 của huyện Bình Lục"
BODY = "Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%"
FAST_S = 2.0  # a bomb is refused from its sizes, before the work it asks for


def _rejected(data: bytes, source: str) -> RejectedFile:
    started = time.perf_counter()
    with pytest.raises(RejectedFile) as caught:
        read_bytes(data, source)
    assert time.perf_counter() - started < FAST_S
    assert caught.value.source == source
    return caught.value


# --- .docx ------------------------------------------------------------------------

def _docx(paragraphs: tuple[str, ...] = (TITLE, BODY)) -> bytes:
    return docx_from_paragraphs(paragraphs)


def _with_entries(data: bytes, replace: dict[str, bytes | str], add: dict[str, bytes] | None = None) -> bytes:
    """A copy of a .docx with some entries replaced and others added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def _document_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("word/document.xml").decode("utf-8")


def _refused_unopened(data: bytes, source: str, monkeypatch: pytest.MonkeyPatch) -> RejectedFile:
    """Refused from the sizes the zip declares: opening any entry fails the test."""
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a zip entry was inflated")

    with monkeypatch.context() as patch:
        patch.setattr(zipfile.ZipFile, "open", refuse)
        return _rejected(data, source)


def test_docx_xml_bomb_is_refused_before_inflating(monkeypatch: pytest.MonkeyPatch) -> None:
    # 40 MB of paragraphs deflate to about 40 KB: under the 200 MB archive cap, over the XML cap.
    paragraph = f"<w:p><w:r><w:t>{BODY}</w:t></w:r></w:p>".encode()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", paragraph * (40_000_000 // len(paragraph)))
    assert len(bomb.getvalue()) < 1_000_000
    error = _refused_unopened(bomb.getvalue(), "bom-xml.docx", monkeypatch)
    assert f"limit {load.MAX_DOCX_XML}" in error.reason


def test_docx_declaring_four_gigabytes_is_refused_before_inflating(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _with_entries(_docx(), {}, {"word/media/image1.png": b"\x89PNG" * 16})
    error = _refused_unopened(declare_size(data, "word/media/image1.png", 0xFFFF_FFFF), "bom-khai.docx", monkeypatch)
    assert "docx unpacks to" in error.reason


def test_docx_with_thousands_of_entries_is_refused_before_inflating(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {f"word/media/anh{n}.png": b"" for n in range(5000)}
    error = _refused_unopened(_with_entries(_docx(), {}, extra), "nhieu-tep.docx", monkeypatch)
    assert "zip entries" in error.reason


def test_docx_external_entity_is_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "bi-mat.txt"
    secret.write_text("KHOA-BI-MAT-XXE-2024", encoding="utf-8")
    data = _docx()
    head, body = _document_xml(data).split("?>", 1)
    doctype = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
    hostile = _with_entries(data, {"word/document.xml": head + "?>" + doctype + body.replace("3,7%", "3,7% &xxe;")})
    try:
        text = read_bytes(hostile, "xxe.docx")
    except RejectedFile:
        return  # refusing the file is as good as not resolving the entity
    assert "KHOA-BI-MAT-XXE" not in text
    assert BODY in text  # the document was read, only the entity was not


def test_docx_entity_expansion_bomb_is_refused_or_not_expanded() -> None:
    data = _docx()
    head, body = _document_xml(data).split("?>", 1)
    levels = ['<!ENTITY a0 "hahahahahahahahahaha">'] + [
        f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10)]
    doctype = f"<!DOCTYPE w:document [{''.join(levels)}]>"
    hostile = _with_entries(data, {"word/document.xml": head + "?>" + doctype + body.replace("3,7%", "3,7% &a9;")})
    started = time.perf_counter()
    try:
        text = read_bytes(hostile, "cuoi.docx")
    except RejectedFile:
        text = ""
    assert time.perf_counter() - started < FAST_S
    assert len(text) < 10_000  # 10^9 "ha"s were never built


# --- .pdf ---------------------------------------------------------------------------

def _pdf(content: bytes, pages: int = 1, forms: dict[str, bytes] | None = None, password: str | None = None) -> bytes:
    """PDF pages drawing ``content`` in Helvetica, with optional form XObjects; Flate-compressed."""
    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    fonts = DictionaryObject({NameObject("/F1"): font})
    xobjects = DictionaryObject()
    for name, form_content in (forms or {}).items():
        form = DecodedStreamObject()
        form.set_data(form_content)
        form.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                     NameObject("/BBox"): ArrayObject([NumberObject(v) for v in (0, 0, 595, 842)]),
                     NameObject("/Resources"): DictionaryObject({NameObject("/Font"): fonts})})
        xobjects[NameObject(name)] = writer._add_object(form.flate_encode())
    stream = DecodedStreamObject()
    stream.set_data(content)
    stream_ref = writer._add_object(stream.flate_encode(level=9))
    for _ in range(pages):
        page = writer.add_blank_page(width=595, height=842)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): fonts, NameObject("/XObject"): xobjects})
        page[NameObject("/Contents")] = stream_ref
    if password is not None:
        writer.encrypt(user_password=password, owner_password="chu-so-huu", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


TEXT_OP = b"BT /F1 12 Tf 72 700 Td (Ty le ho ngheo giam con 3,7%) Tj ET\n"


def test_plain_pdf_is_read() -> None:
    assert "3,7%" in read_bytes(_pdf(TEXT_OP), "thuong.pdf")


@pytest.mark.parametrize("password", ["mat-khau", ""], ids=["user-password", "owner-only"])
def test_encrypted_pdf_is_refused_clearly(password: str) -> None:
    error = _rejected(_pdf(TEXT_OP, password=password), "mat-khau.pdf")
    assert error.reason == "encrypted PDF: remove the password before ingesting"


def test_flate_bomb_page_is_refused_from_its_content_size() -> None:
    data = _pdf(TEXT_OP * (40_000_000 // len(TEXT_OP)))  # 40 MB of drawing in a small file
    assert len(data) < 500_000
    tracemalloc.start()
    try:
        error = _rejected(data, "bom-flate.pdf")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "page content unpacks to over" in error.reason
    assert peak < 200_000_000  # the page is decompressed once, never parsed


def test_pdf_with_thousands_of_pages_is_refused() -> None:
    data = _pdf(TEXT_OP, pages=load.MAX_PDF_PAGES + 1)
    error = _rejected(data, "nhieu-trang.pdf")
    assert f"{load.MAX_PDF_PAGES + 1} pages" in error.reason


def test_form_drawn_a_thousand_times_is_stopped_by_the_operation_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # One 1 KB form drawn 1,000 times from a 7 KB page: the page content cap never sees the forms.
    # At the real budget (1,000,000 operations) the same kind of file is refused in about 7 s.
    monkeypatch.setattr(load, "MAX_PDF_OPERATIONS", 20_000)
    data = _pdf(b"/X0 Do\n" * 1000, forms={"/X0": TEXT_OP * 20})
    assert len(data) < 10_000
    error = _rejected(data, "bom-form.pdf")
    assert "over 20000 drawing operations" in error.reason


# --- upload names -----------------------------------------------------------------

@pytest.fixture()
def private_app(index_copy: Path) -> Iterator[tuple[TestClient, Path]]:
    directory = index_copy
    with TestClient(create_app(Settings(index_dir=directory, max_upload_bytes=200_000))) as client:
        yield client, directory


def _outside(root: Path, index_dir: Path) -> set[str]:
    """Everything under ``root`` that is not the index folder or in it."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if not p.is_relative_to(index_dir)}


def _multipart(filename: str, content: bytes) -> tuple[bytes, dict[str, str]]:
    """A body with the file name exactly as given: httpx would percent-encode NUL, CR and LF."""
    boundary = "ranh-gioi-7f3a"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
            "Content-Type: text/plain\r\n\r\n").encode()
    body = head + content + f"\r\n--{boundary}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


HOSTILE_NAMES = {
    "parent": "../../../../tmp/tracuu-escape.txt",
    "absolute": "/etc/cron.d/tracuu.txt",
    "nul": "bao-cao\x00.sh.txt",
    "backslash": "..\\..\\windows\\win.ini.txt",
    "drive": "C:\\Users\\x\\nghi-quyet.txt",
    "long": "nghị-quyết-" + "a" * 290 + ".txt",
    "control": "bao-cao\x1b[2J\x7f\x08.txt",
}


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_upload_names_never_leave_the_index(private_app: tuple[TestClient, Path], tmp_path: Path,
                                            name: str) -> None:
    client, index_dir = private_app
    outside_before = _outside(tmp_path, index_dir)
    body, headers = _multipart(name, f"{TITLE}\n{BODY}\n".encode())
    response = client.post("/documents", content=body, headers=headers)
    assert response.status_code == 200, response.text
    stored = response.json()["added"][0]["source"]
    assert stored.endswith(".txt") and len(stored) <= 200
    assert stored.isprintable() and not any(ch in stored for ch in "/\\") and stored not in (".", "..")
    listed = {d["source"] for d in client.get("/documents", params={"limit": 500}).json()["documents"]}
    assert stored in listed
    assert _outside(tmp_path, index_dir) == outside_before
    assert not Path("/tmp/tracuu-escape.txt").exists() and not Path("/etc/cron.d/tracuu.txt").exists()
