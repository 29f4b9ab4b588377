"""The web page at ``/``: an HTML shell, a script and a stylesheet from the package, no build step, no CDN.

The page routes with the URL's fragment (``#van-ban/…``), so every view has its own address, the back button
works and a link can be shared; the server only ever serves this one page.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(tags=["service"])
STATIC_URL = "/static"
# The page talks to this app only: nothing it loads or calls may leave an offline network.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
               "connect-src 'self'; frame-ancestors 'self'; form-action 'self'")


def static_dir() -> Path:
    return Path(str(resources.files("service") / "static"))


@cache
def _page_html() -> str:
    """Read once: the page is a file of the installed package and does not change while serving."""
    return (static_dir() / "index.html").read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    return HTMLResponse(_page_html(), headers={"Content-Security-Policy": PAGE_POLICY})


def mount_static(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=static_dir()), name="static")
