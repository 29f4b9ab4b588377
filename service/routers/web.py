"""The web page at ``/``: one static file, no build step."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["service"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> str:
    return (resources.files("service") / "static" / "index.html").read_text(encoding="utf-8")
