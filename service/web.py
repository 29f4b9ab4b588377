"""The web page at ``/`` (one static file, no build step) and Prometheus metrics at ``/metrics``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from importlib import resources

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

router = APIRouter(tags=["service"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> str:
    return (resources.files("service") / "static" / "index.html").read_text(encoding="utf-8")


def install_metrics(app: FastAPI) -> None:
    """Request counts and latency by endpoint (the route template, so ids do not explode the labels)."""
    registry = CollectorRegistry()
    requests = Counter("tracuu_requests_total", "HTTP requests", ["endpoint", "method", "status"], registry=registry)
    latency = Histogram("tracuu_request_seconds", "HTTP request latency", ["endpoint"], registry=registry)

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        endpoint = getattr(route, "path", "unmatched")
        requests.labels(endpoint, request.method, str(response.status_code)).inc()
        latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
