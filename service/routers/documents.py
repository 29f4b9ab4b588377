"""``/documents``: list, read, upload and delete. Writes need the API key (or loopback when none is set)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Query, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corpus.load import SUPPORTED_SUFFIXES
from index.errors import NotFound
from index.filters import Filters
from service.deps import CollectionDep, SettingsDep, require_writer
from service.errors import TooLarge, UnsupportedType, error_response
from service.outputs import DeleteResponse, UploadResponse, error_responses
from service.serializers import meta_out
from service.settings import Settings

router = APIRouter(tags=["documents"])
UPLOAD_CHUNK = 1024 * 1024
# One upload request may carry this many files at the per-file limit (plus room for the multipart headers).
UPLOAD_BODY_FILES = 10
UPLOAD_BODY_OVERHEAD = 1024 * 1024


@router.get("/documents")
def list_documents(
    collection: CollectionDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Số văn bản mỗi trang")] = 50,
    offset: Annotated[int, Query(ge=0, description="Bỏ qua bao nhiêu văn bản đầu")] = 0,
    locality: Annotated[str | None, Query(description="Địa phương", examples=["Bình Lục"])] = None,
    province: Annotated[str | None, Query(description="Tỉnh (tên cũ hoặc tên mới)", examples=["Hà Nam"])] = None,
    level: Annotated[str | None, Query(description="Cấp: tỉnh, huyện, xã", examples=["huyện"])] = None,
    doc_type: Annotated[str | None, Query(description="Loại văn bản", examples=["Nghị quyết"])] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100, description="Năm kế hoạch hoặc báo cáo",
                                      examples=[2024])] = None,
) -> dict[str, Any]:
    """Danh sách văn bản, phân trang, lọc theo địa phương, tỉnh, cấp, loại, năm."""
    searcher = collection.searcher()
    allowed = searcher.document_mask(Filters(locality=locality or None, province=province or None,
                                             level=level or None, doc_type=doc_type or None, year=year))
    docs = [d for i, d in enumerate(searcher.documents) if allowed is None or allowed[i]]
    return {"total": len(docs), "documents": [meta_out(d) for d in docs[offset : offset + limit]]}


@router.get("/documents/{document_id}", responses=error_responses(404))
def get_document(document_id: str, collection: CollectionDep) -> dict[str, Any]:
    """Một văn bản: siêu dữ liệu, toàn văn đã làm sạch, các mục và các đoạn."""
    view = collection.store.document_view(document_id)  # text, sections and chunk offsets of one version
    if view is None:
        raise NotFound(f"no document with id {document_id!r}")
    return {
        "document": meta_out(view.document),
        "text": view.text,
        "sections": [asdict(s) for s in view.sections],
        "chunks": [asdict(c) for c in view.chunks],
    }


async def _read_capped(upload: UploadFile, name: str, limit: int) -> bytes:
    """Read an upload in pieces and stop as soon as it passes the limit, not after reading it all."""
    parts: list[bytes] = []
    size = 0
    while piece := await upload.read(UPLOAD_CHUNK):
        size += len(piece)
        if size > limit:
            raise TooLarge(f"{name}: over the upload limit of {limit} bytes")
        parts.append(piece)
    return b"".join(parts)


def upload_body_limit(settings: Settings) -> int:
    return settings.max_upload_bytes * UPLOAD_BODY_FILES + UPLOAD_BODY_OVERHEAD


class UploadBodyLimit:
    """Refuse a ``POST /documents`` body with 413 as soon as it passes :func:`upload_body_limit`.

    The form parser reads a multipart body whole (spooling files to disk) before the route's
    per-file check runs; without this a 50 MB body is received and written out, then refused.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/documents":
            await self.app(scope, receive, send)
            return
        limit = upload_body_limit(scope["app"].state.settings)
        message = f"upload body over the limit of {limit} bytes"
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await error_response(413, TooLarge.code, message)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            event = await receive()
            received += len(event.get("body", b""))
            if received > limit:
                raise HTTPException(413, message)  # FastAPI re-raises it from body parsing; the handler answers
            return event

        await self.app(scope, counted, send)


def _safe_name(name: str | None) -> str:
    """The base name only: a client's "../../etc/passwd" or "C:\\x\\y.txt" never names a path here.

    Control characters go too; a long name is cut before its suffix, which decides how it is read.
    """
    printable = "".join(ch for ch in (name or "") if ch >= " " and ch != "\x7f")
    base = PurePath(printable.replace("\\", "/")).name
    if len(base) > 200:
        suffix = PurePath(base).suffix[:16]
        base = base[: 200 - len(suffix)] + suffix
    return base or "upload.txt"


UNSUPPORTED = f"unsupported file type; use one of {', '.join(SUPPORTED_SUFFIXES)}"
UploadFiles = Annotated[list[UploadFile], File(description="Một hoặc nhiều tệp .txt, .md, .docx, .pdf (trường "
                                                           "multipart 'files', lặp lại cho mỗi tệp)")]


@router.post("/documents", dependencies=[Depends(require_writer)], response_model=UploadResponse,
             responses=error_responses(401, 403, 413, 415, 422))
async def upload_documents(files: UploadFiles, collection: CollectionDep, settings: SettingsDep) -> dict[str, Any]:
    """Tải lên một hoặc nhiều tệp (.txt, .md, .docx, .pdf).

    Tệp tốt được nhận; mỗi tệp hỏng (định dạng khác, quá lớn, rỗng, ảnh quét…) được liệt kê trong `rejected`
    với lý do. Trả 415 khi mọi tệp đều có định dạng không hỗ trợ, 413 khi không còn tệp nào sau khi bỏ tệp quá
    lớn; còn lại là 200.
    """
    limit = settings.max_upload_bytes
    received: list[tuple[str, bytes]] = []
    refused: list[dict[str, str]] = []  # at the edge, before ingestion: wrong type or too large
    for upload in files:
        name = _safe_name(upload.filename)
        if PurePath(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            refused.append({"source": name, "reason": UNSUPPORTED, "kind": UnsupportedType.code})
            continue
        try:
            received.append((name, await _read_capped(upload, name, limit)))
        except TooLarge:
            refused.append({"source": name, "reason": f"over the upload limit of {limit} bytes",
                            "kind": TooLarge.code})
    if not received:
        message = "; ".join(f"{r['source']}: {r['reason']}" for r in refused)
        if all(r["kind"] == UnsupportedType.code for r in refused):
            raise UnsupportedType(message)
        raise TooLarge(message)
    # parsing, encoding and the write take seconds: in the threadpool, so other requests go on meanwhile
    report = await run_in_threadpool(collection.ingest, received)
    ids = {d.source: d.id for d in report.documents}
    order = {_safe_name(u.filename): i for i, u in reversed(list(enumerate(files)))}  # rejections in upload order
    rejected = sorted([*refused, *report.rejected], key=lambda r: order.get(r["source"], len(order)))
    return {
        "added": [{"source": s, "id": ids.get(s)} for s in report.added],
        "replaced": [{"source": s, "id": ids.get(s)} for s in report.replaced],
        "unchanged": report.unchanged,
        "rejected": rejected,
    }


@router.delete("/documents/{document_id}", dependencies=[Depends(require_writer)], response_model=DeleteResponse,
               responses=error_responses(401, 403, 404))
def delete_document(document_id: str, collection: CollectionDep) -> dict[str, Any]:
    """Xóa một văn bản khỏi chỉ mục."""
    if not collection.remove([document_id]):
        raise NotFound(f"no document with id {document_id!r}")
    return {"deleted": document_id}
