"""The FastAPI application: the collection is opened once in the lifespan and reached through a dependency.

Domain exceptions become HTTP errors here and nowhere else; every error body
has the shape ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from corpus.errors import TracuuError
from index.collection import Collection
from index.dense import load_embedder
from index.errors import IndexMismatch, NotFound, SearchError
from index.search import SearchFilters, SearchHit
from index.textnorm import query_tokens
from index.timing import Stopwatch
from service.schemas import MAX_QUERY_CHARS, ErrorResponse, Filters, SearchRequest, SearchResponse
from service.settings import Settings, get_settings

log = logging.getLogger("tracuu")

_STATUS: dict[type[TracuuError], int] = {SearchError: 400, NotFound: 404, IndexMismatch: 409}


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}}, headers=headers)


def _validation_message(exc: RequestValidationError | ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _validation_message(exc))

    @app.exception_handler(ValidationError)
    async def on_model_validation(_: Request, exc: ValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _validation_message(exc))

    # Starlette's class, not FastAPI's subclass: routing (404, 405) and body parsing ("There was an error
    # parsing the body", 400) raise Starlette's, which would otherwise answer {"detail": …}.
    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "http_error", str(exc.detail), exc.headers)

    @app.exception_handler(TracuuError)
    async def on_domain(_: Request, exc: TracuuError) -> JSONResponse:
        from service.generative import GenerationError

        status = 502 if isinstance(exc, GenerationError) else next(
            (s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
        return error_response(status, exc.code, str(exc))

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "internal error; see the server log")


def open_collection(settings: Settings) -> Collection:
    """The index folder with the configured encoder, or lexical-only when it cannot be loaded."""
    if settings.embed_model:
        import faiss
        import torch

        # FAISS's OpenMP pool has the same problem: exact search over 100k vectors took 56 ms with 2 threads on a
        # busy 2-core machine, 10 ms with 1 (bench/vectors.py).
        torch.set_num_threads(settings.encode_threads)
        faiss.omp_set_num_threads(settings.encode_threads)
    embedder, status = load_embedder(settings.embed_model)
    return Collection.open(Path(settings.index_dir), embedder=embedder, dense_status=status)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; ``settings`` overrides the environment (tests pass their own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = settings or get_settings()
        app.state.settings = active
        app.state.collection = open_collection(active)
        app.state.collection.searcher()  # load once, before the first request
        query_tokens("khởi động")  # pyvi loads its CRF model on first use; pay that here, not in a request
        log.info("index %s loaded; dense leg: %s", active.index_dir, app.state.collection.searcher().dense_status)
        yield
        app.state.collection.store.close()

    app = FastAPI(
        title="tracuu",
        summary="Tìm kiếm và hỏi đáp trên văn bản của chính quyền địa phương Việt Nam, có trích dẫn.",
        version="0.1.0",
        lifespan=lifespan,
        responses={422: {"model": ErrorResponse}, 400: {"model": ErrorResponse}},
    )
    install_error_handlers(app)
    app.include_router(build_router())
    from service import answers, documents, indicators, web

    app.add_middleware(documents.UploadBodyLimit)
    cors_origins = (settings or get_settings()).cors_origins
    if cors_origins:  # closed unless origins are listed: a page elsewhere cannot call the API from a browser
        app.add_middleware(CORSMiddleware, allow_origins=cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])

    app.include_router(answers.router)
    app.include_router(indicators.router)
    app.include_router(documents.router)
    app.include_router(web.router)
    web.install_metrics(app)
    return app


def get_collection(request: Request) -> Collection:
    collection: Collection = request.app.state.collection
    return collection


CollectionDep = Annotated[Collection, Depends(get_collection)]


def document_out(hit: SearchHit) -> dict[str, Any]:
    meta = asdict(hit.document.meta)
    meta["years"] = list(meta["years"])
    return {"id": hit.document.id, "source": hit.document.source, **meta}


def hit_out(hit: SearchHit) -> dict[str, Any]:
    return {
        "chunk_id": hit.chunk.id, "score": round(hit.score, 6), "text": hit.chunk.text, "section": hit.chunk.section,
        "start": hit.chunk.start, "end": hit.chunk.end, "legs": list(hit.legs), "document": document_out(hit),
    }


def run_search(collection: Collection, request: SearchRequest) -> dict[str, Any]:
    started = time.perf_counter()
    watch = Stopwatch()
    searcher = collection.searcher()
    filters = SearchFilters(**request.filters.model_dump())
    hits = searcher.search(request.query, request.k, filters, request.mode, watch)
    with watch.stage("serialise"):
        results = [hit_out(h) for h in hits]
    return {
        "query": request.query,
        "took_ms": round((time.perf_counter() - started) * 1000, 3),
        "timings_ms": watch.milliseconds(),
        "mode": request.mode if searcher.dense is not None or request.mode == "lexical" else "lexical",
        "results": results,
    }


def build_router() -> Any:
    from fastapi import APIRouter

    router = APIRouter()

    @router.post("/search", response_model=SearchResponse, tags=["search"])
    def search_post(body: SearchRequest, collection: CollectionDep) -> dict[str, Any]:
        """Tìm các đoạn văn bản liên quan nhất, kèm vị trí trích dẫn chính xác."""
        return run_search(collection, body)

    @router.get("/search", response_model=SearchResponse, tags=["search"])
    def search_get(
        request: Request,
        collection: CollectionDep,
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, examples=["chỉ tiêu hộ nghèo 2023"])],
        k: Annotated[int, Query(ge=1, le=100)] = 10,
        mode: Annotated[str, Query(pattern="^(hybrid|lexical|dense)$")] = "hybrid",
    ) -> dict[str, Any]:
        """Như ``POST /search``; các bộ lọc là tham số truy vấn (``locality``, ``year``…)."""
        allowed = {"q", "k", "mode"} | set(Filters.model_fields)
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise HTTPException(422, f"unknown parameter(s): {', '.join(unknown)}")
        filters = {key: request.query_params[key] for key in Filters.model_fields if key in request.query_params}
        body = SearchRequest.model_validate({"query": q, "k": k, "mode": mode, "filters": filters})
        return run_search(collection, body)

    @router.get("/health", tags=["service"])
    def health(collection: CollectionDep) -> dict[str, Any]:
        """Trạng thái dịch vụ: số văn bản, số đoạn, trạng thái tìm kiếm ngữ nghĩa."""
        docs, chunks = collection.store.counts()
        manifest = collection.manifest() or {}
        return {
            "status": "ok",
            "documents": docs,
            "chunks": chunks,
            "dense": collection.searcher().dense_status,
            "index_built_at": manifest.get("built_at"),
        }

    return router
