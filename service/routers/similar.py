"""``POST /similar``: what other localities decided on the matter of a passage, one entry per document, by place."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from index.errors import NotFound
from index.search import SearchHit
from service.deps import CollectionDep
from service.errors import InvalidRequest
from service.routers.search import filter_values
from service.schemas import SimilarRequest, SimilarResponse
from service.serializers import hit_out

router = APIRouter(tags=["answers"])


def _group(hits: list[SearchHit]) -> list[dict[str, Any]]:
    """Results grouped by province and locality, groups in the order of their best result."""
    groups: dict[tuple[str | None, str | None], list[SearchHit]] = {}
    for hit in hits:
        key = (hit.document.meta.province, hit.document.meta.locality)
        groups.setdefault(key, []).append(hit)
    return [{"province": p, "locality": loc, "results": [hit_out(h) for h in members]}
            for (p, loc), members in groups.items()]


def _kept(hit: SearchHit, source: SearchHit | None, body: SimilarRequest) -> bool:
    if source is None:
        return True
    if hit.chunk.id == source.chunk.id:
        return False
    if body.exclude_same_document and hit.document.id == source.document.id:
        return False
    locality = hit.document.meta.locality
    return not (body.exclude_same_locality and locality and locality == source.document.meta.locality)


@router.post("/similar", response_model=SimilarResponse)
def similar(body: SimilarRequest, collection: CollectionDep) -> dict[str, Any]:
    """Các quyết định tương tự ở địa phương khác, theo một đoạn (chunk_id) hoặc một đoạn văn bản."""
    started = time.perf_counter()
    if (body.chunk_id is None) == (body.text is None):
        raise InvalidRequest("give exactly one of chunk_id or text")
    searcher = collection.searcher()
    source = None
    if body.chunk_id is not None:
        source = searcher.hit_for_chunk(body.chunk_id)
        if source is None:
            raise NotFound(f"no chunk with id {body.chunk_id!r}")
    query = source.chunk.text if source else str(body.text)
    # One entry per other document, its best passage first: the same hybrid retrieval as /search, collapsed.
    candidates = searcher.search(query, min(200, body.k * 3 + 10), filter_values(body.filters), collapse=True)
    kept = [hit for hit in candidates if _kept(hit, source, body)][: body.k]
    return {"results": [hit_out(h) for h in kept], "groups": _group(kept),
            "took_ms": round((time.perf_counter() - started) * 1000, 3)}
