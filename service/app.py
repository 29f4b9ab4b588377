"""The FastAPI application factory: settings and collection resolved once in the lifespan, routers mounted.

Routes reach both through dependencies (:mod:`service.deps`); domain exceptions
become HTTP errors in :mod:`service.errors` and nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from index.textnorm import query_tokens
from service.deps import open_collection
from service.errors import install_error_handlers
from service.outputs import error_responses
from service.responses import UTF8JSONResponse
from service.routers import ask, docs, documents, health, indicators, search, similar, web
from service.settings import Settings, get_settings

log = logging.getLogger("tracuu")
TAGS = [
    {"name": "search", "description": "Tìm đoạn văn bản theo truy vấn, kèm vị trí trích dẫn chính xác"},
    {"name": "answers", "description": "Hỏi đáp có trích dẫn; quyết định tương tự ở địa phương khác"},
    {"name": "indicators", "description": "Chỉ tiêu và kết quả dạng số, so sánh giữa các địa phương"},
    {"name": "documents", "description": "Danh sách, nội dung, tải lên và xóa văn bản (ghi cần khóa API)"},
    {"name": "service", "description": "Tình trạng dịch vụ và tổng quan bộ văn bản"},
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the index and load the models once, before the first request; close the store after the last."""
    active: Settings = app.dependency_overrides.get(get_settings, get_settings)()
    logging.getLogger("tracuu").setLevel(active.log_level.upper())
    app.state.settings = active  # the upload body limit (an ASGI middleware) reads it outside any route
    app.state.collection = open_collection(active)
    app.state.collection.searcher()
    query_tokens("khởi động")  # pyvi loads its CRF model on first use; pay that here, not in a request
    if app.state.collection.embedder is not None:  # and the query encoder (the torch copy loads on first use)
        app.state.collection.embedder.encode_queries(["khởi động"])
    log.info("index %s loaded; dense leg: %s", active.index_dir, app.state.collection.searcher().dense_status)
    yield
    app.state.collection.close()  # after a merge under way has published


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; ``settings`` replaces the environment's (the same as overriding :func:`get_settings`)."""
    app = FastAPI(
        title="tracuu",
        summary="Tìm kiếm và hỏi đáp trên văn bản của chính quyền địa phương Việt Nam, có trích dẫn.",
        version="0.1.0",
        lifespan=lifespan,
        responses=error_responses(400, 422),
        default_response_class=UTF8JSONResponse,
        docs_url=None,  # served by service.routers.docs from installed files: a CDN is out of reach offline
        redoc_url=None,
        openapi_tags=TAGS,
    )
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings
    install_error_handlers(app)
    app.add_middleware(documents.UploadBodyLimit)
    cors_origins = (settings or get_settings()).cors_origins
    if cors_origins:  # closed unless origins are listed: a page elsewhere cannot call the API from a browser
        app.add_middleware(CORSMiddleware, allow_origins=cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    for module in (search, ask, similar, indicators, documents, health, web, docs):
        app.include_router(module.router)
    docs.mount_assets(app)
    web.mount_static(app)
    health.install_metrics(app)
    return app
