"""Dependencies every route reaches through ``Depends``: the settings and the open collection.

``get_settings`` is a dependency, so a test replaces it with
``app.dependency_overrides[get_settings] = lambda: Settings(...)``; the
lifespan reads the same (possibly overridden) function.
"""

from __future__ import annotations

import hmac
import ipaddress
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from index.collection import BuildSettings, Collection
from index.encoders import BUNDLED, DISABLED, load_embedder
from service.errors import Forbidden, InvalidRequest, Unauthorized
from service.settings import Settings, get_settings


def open_collection(settings: Settings) -> Collection:
    """The index folder with the configured encoder (the bundled one by default), or lexical-only without one.

    Queries are encoded with ``encode_threads`` (requests already run side by side); a build encodes passages on
    every usable core.
    """
    if settings.embed_model and settings.embed_model.strip().lower() not in (BUNDLED, *DISABLED):
        import torch

        torch.set_num_threads(settings.encode_threads)  # sentence-transformers models run on torch
    if not settings.embed_model or settings.embed_model.strip().lower() not in DISABLED:
        import faiss

        # FAISS's OpenMP pool oversubscribes too: exact search over 100k vectors took 56 ms with 2 threads on a
        # busy 2-core machine, 10 ms with 1 (bench/vectors.py).
        faiss.omp_set_num_threads(settings.encode_threads)
    embedder, status = load_embedder(settings.embed_model, query_threads=settings.encode_threads)
    # A file the HTTP edge accepts is not refused by the ingest cap after it (TRACUU_MAX_UPLOAD_BYTES raises both).
    build = BuildSettings(max_file_bytes=settings.max_upload_bytes)
    return Collection.open(Path(settings.index_dir), build, embedder=embedder, dense_status=status)


def get_collection(request: Request) -> Collection:
    collection: Collection = request.app.state.collection
    return collection


SettingsDep = Annotated[Settings, Depends(get_settings)]
CollectionDep = Annotated[Collection, Depends(get_collection)]


def check_query_length(text: str, settings: Settings, field: str = "query") -> None:
    """``TRACUU_MAX_QUERY_CHARS`` for every query and question."""
    if len(text) > settings.max_query_chars:
        raise InvalidRequest(f"{field}: {len(text)} characters; at most {settings.max_query_chars} are allowed "
                             f"(TRACUU_MAX_QUERY_CHARS)")


def _is_loopback(host: str | None) -> bool:
    if host in ("testclient", "localhost"):
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Declared in OpenAPI on the write routes (the lock and the "Authorize" button of /docs); checked below, so a
# missing or malformed header gets this API's own 401 body rather than FastAPI's.
bearer = HTTPBearer(auto_error=False, scheme_name="bearerAuth",
                    description="TRACUU_API_KEY của máy chủ. Khi máy chủ không đặt khóa, chỉ máy cục bộ được ghi.")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def require_writer(request: Request, settings: SettingsDep, credentials: BearerDep) -> None:
    """Bearer key compared in constant time; with no key configured, only loopback clients may write."""
    if settings.api_key:
        token = credentials.credentials if credentials is not None else ""
        if credentials is None or not hmac.compare_digest(token.encode(), settings.api_key.encode()):
            raise Unauthorized("writes need 'Authorization: Bearer <TRACUU_API_KEY>'")
        return
    if not _is_loopback(request.client.host if request.client else None):
        raise Forbidden("writes are refused: no TRACUU_API_KEY is configured and the client is not local")
