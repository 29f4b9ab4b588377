"""Errors at the HTTP edge: the edge's own exceptions, and the one table from exception classes to status codes.

Every package raises its own :class:`~corpus.errors.TracuuError` subclasses; only
this module knows HTTP. Every error body has the shape
``{"error": {"code", "message"}}`` with a stable English ``code``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from answering.generative import GenerationError, NotConfigured
from corpus.errors import RejectedFile, TracuuError
from index.errors import IndexMismatch, NotFound, SearchError
from index.snapshot import SnapshotError
from service.responses import UTF8JSONResponse

log = logging.getLogger("tracuu")


class InvalidRequest(TracuuError):
    """A request whose parameters cannot be used (unknown parameter, two sources where one is allowed)."""

    code = "invalid_request"


class Unauthorized(TracuuError):
    code = "unauthorized"


class Forbidden(TracuuError):
    code = "forbidden"


class TooLarge(TracuuError):
    code = "too_large"


class UnsupportedType(TracuuError):
    code = "unsupported_type"


# Most specific first: the first class an exception is an instance of decides.
STATUS: tuple[tuple[type[TracuuError], int], ...] = (
    (InvalidRequest, 422), (Unauthorized, 401), (Forbidden, 403), (NotFound, 404), (IndexMismatch, 409),
    (TooLarge, 413), (UnsupportedType, 415), (RejectedFile, 422), (SnapshotError, 409), (SearchError, 400),
    (GenerationError, 502), (NotConfigured, 400), (TracuuError, 400),
)
HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
              415: "unsupported_type"}


def status_of(exc: TracuuError) -> int:
    return next(status for cls, status in STATUS if isinstance(exc, cls))


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return UTF8JSONResponse(status_code=status, content={"error": {"code": code, "message": message}},
                            headers=headers)


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
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), exc.headers)

    @app.exception_handler(TracuuError)
    async def on_domain(_: Request, exc: TracuuError) -> JSONResponse:
        return error_response(status_of(exc), exc.code, str(exc))

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "internal error; see the server log")
