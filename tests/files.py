"""Builders for test files: a .docx from paragraphs, and a zip whose central directory lies about a size."""

from __future__ import annotations

import io
from pathlib import Path

import docx


def docx_from_paragraphs(paragraphs: list[str] | tuple[str, ...]) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size a zip's central directory declares for ``name`` (a lying zip bomb)."""
    buffer = bytearray(data)
    at = buffer.find(b"PK\x01\x02")
    while at >= 0:
        length = int.from_bytes(buffer[at + 28 : at + 30], "little")
        if buffer[at + 46 : at + 46 + length] == name.encode():
            buffer[at + 24 : at + 28] = size.to_bytes(4, "little")
            return bytes(buffer)
        at = buffer.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} is not in the archive")


def writable_copy(index_dir: Path, parent: Path) -> Path:
    """A private copy of an index folder under ``parent``, so a test's writes leave the shared one alone."""
    import shutil

    return Path(shutil.copytree(index_dir, parent / "index"))
