"""``/search``: passages ranked for a query, with exact citations, as ``POST`` (JSON body) or ``GET`` (parameters)."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from answering.highlight import query_terms
from index.collection import Collection
from index.filters import Filters as FilterValues
from index.timing import Stopwatch
from service.deps import CollectionDep, SettingsDep, check_query_length
from service.errors import InvalidRequest
from service.outputs import SearchResponse
from service.schemas import MAX_QUERY_CHARS, Filters, SearchMode, SearchRequest
from service.serializers import hit_out

router = APIRouter(tags=["search"])


def filter_values(filters: Filters) -> FilterValues:
    """The HTTP filters schema as the value object the index applies."""
    return FilterValues(**filters.model_dump())


def run_search(collection: Collection, request: SearchRequest) -> dict[str, Any]:
    """One search as the API answers it (the CLI prints the same)."""
    started = time.perf_counter()
    watch = Stopwatch()
    searcher = collection.searcher()
    query = searcher.parse(request.query)
    hits = searcher.search(query, request.k, filter_values(request.filters), request.mode, watch,
                           collapse=request.collapse == "document")
    understood = query.restored if query.restored and query.restored != query.normalized else None
    with watch.stage("serialise"):
        terms = query_terms(understood or query.normalized)  # the restored words are marked, not their folds
        results = [hit_out(h, terms) for h in hits]
    return {
        "query": request.query,
        "understood_as": understood,
        "also_read_as": query.gloss or None,
        "took_ms": round((time.perf_counter() - started) * 1000, 3),
        "timings_ms": watch.milliseconds(),
        "mode": request.mode if searcher.dense is not None or request.mode == "lexical" else "lexical",
        "results": results,
    }


@router.post("/search", response_model=SearchResponse)
def search_post(body: SearchRequest, collection: CollectionDep, settings: SettingsDep) -> dict[str, Any]:
    """Tìm các đoạn văn bản liên quan nhất, kèm vị trí trích dẫn chính xác."""
    check_query_length(body.query, settings)
    return run_search(collection, body)


@router.get("/search", response_model=SearchResponse)
def search_get(
    request: Request,
    collection: CollectionDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="Câu truy vấn",
                            examples=["chỉ tiêu hộ nghèo 2023"])],
    k: Annotated[int, Query(ge=1, le=100, description="Số kết quả")] = 10,
    mode: Annotated[SearchMode, Query(description="hybrid, lexical hoặc dense")] = "hybrid",
    collapse: Annotated[Literal["document"] | None, Query(description="'document': mỗi văn bản một đoạn")] = None,
) -> dict[str, Any]:
    """Như ``POST /search``; các bộ lọc là tham số truy vấn (``locality``, ``year``…)."""
    allowed = {"q", "k", "mode", "collapse"} | set(Filters.model_fields)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise InvalidRequest(f"unknown parameter(s): {', '.join(unknown)}")
    filters = {key: request.query_params[key] for key in Filters.model_fields if key in request.query_params}
    body = SearchRequest.model_validate({"query": q, "k": k, "mode": mode, "filters": filters, "collapse": collapse})
    check_query_length(body.query, settings)
    return run_search(collection, body)
