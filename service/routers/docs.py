"""The API's own pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), working on a network with no Internet.

FastAPI's built-in pages load their scripts and styles from a CDN. These load them from the app: the files ship
in the ``fastapi-offline`` package (Swagger UI and ReDoc's standalone bundles) and are served under
:data:`ASSETS_URL`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)
ASSETS_URL = "/docs-assets"
# Swagger UI would otherwise ask validator.swagger.io about the schema; "Thử" (try it out) stays available.
SWAGGER_PARAMETERS = {"validatorUrl": None, "displayRequestDuration": True, "docExpansion": "list"}
# The pages may load and call this app only. ReDoc's sidebar otherwise fetches its maker's logo from a CDN; under
# this policy the browser does not even try, so an offline network sees no request leave.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' blob:; style-src 'self' "
                           "'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
                           "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'self'")


def assets_dir() -> Path:
    """swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and favicon.png, as installed."""
    return Path(str(resources.files("fastapi_offline") / "static"))


def mount_assets(app: FastAPI) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def _local_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    return _local_only(get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} — API",
        swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    ))


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    return _local_only(get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} — API",
        redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    ))
