"""``POST /similar``: what other localities decided on the matter of a passage, one entry per document, by place."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from answering.similar import SimilarQuery, group_by_place, similar
from index.errors import NotFound
from service.deps import CollectionDep
from service.errors import InvalidRequest
from service.outputs import SimilarResponse, error_responses
from service.routers.search import filter_values
from service.schemas import SimilarRequest
from service.serializers import hit_out

router = APIRouter(tags=["answers"])


@router.post("/similar", response_model=SimilarResponse, responses=error_responses(404, 422))
def similar_directives(body: SimilarRequest, collection: CollectionDep) -> dict[str, Any]:
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
    query = SimilarQuery(source.chunk.text if source else str(body.text), source, body.exclude_same_document,
                         body.exclude_same_locality)
    kept = similar(searcher, query, body.k, filter_values(body.filters))
    groups = [{"province": province, "locality": locality, "results": [hit_out(h) for h in members]}
              for province, locality, members in group_by_place(kept)]
    return {"results": [hit_out(h) for h in kept], "groups": groups,
            "took_ms": round((time.perf_counter() - started) * 1000, 3)}
