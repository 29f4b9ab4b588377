"""``POST /ask`` (extractive answers with verbatim citations) and ``POST /similar`` (other localities)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from index.answer import NO_ANSWER, answer_question
from index.errors import NotFound, SearchError
from index.search import SearchFilters, SearchHit
from index.timing import Stopwatch
from service.app import CollectionDep, document_out, hit_out
from service.generative import generate_answer
from service.indicators import record_out
from service.schemas import AskRequest, AskResponse, SimilarRequest, SimilarResponse

router = APIRouter(tags=["answers"])


def _elapsed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@router.post("/ask", response_model=AskResponse)
def ask(body: AskRequest, request: Request, collection: CollectionDep) -> dict[str, Any]:
    """Trả lời câu hỏi bằng chính câu trong văn bản, kèm trích dẫn nguyên văn và vị trí."""
    started = time.perf_counter()
    searcher = collection.searcher()
    watch = Stopwatch()
    hits = searcher.search(body.question, max(body.k, 10), SearchFilters(**body.filters.model_dump()), watch=watch)
    dropped: tuple[dict[str, object], ...] = ()
    if body.mode == "generative":
        settings = request.app.state.settings
        if not settings.llm_base_url:
            raise SearchError("generative mode needs TRACUU_LLM_BASE_URL (an OpenAI-compatible endpoint)")
        generated = generate_answer(body.question, hits[: body.k], settings.llm_base_url, settings.llm_model,
                                    settings.llm_api_key, settings.llm_timeout_s)
        answer, dropped = generated.answer, generated.dropped
    else:
        with watch.stage("answer"):
            answer = answer_question(searcher, body.question, hits)
    with watch.stage("serialise"):
        passages = [hit_out(h) for h in hits[: body.k]]
    return {
        "question": body.question,
        "mode": body.mode,
        "dropped_citations": list(dropped),
        "answer": answer.text,
        "message": None if answer.text else NO_ANSWER,
        "confidence": answer.confidence,
        "indicator": record_out(answer.record) if answer.record else None,
        "citations": [
            {"chunk_id": c.hit.chunk.id, "document": document_out(c.hit), "section": c.hit.chunk.section,
             "quote": c.quote, "start": c.start, "end": c.end}
            for c in answer.citations
        ],
        "passages": passages,
        "took_ms": _elapsed(started),
        "timings_ms": watch.milliseconds(),
    }


def _group(hits: list[SearchHit]) -> list[dict[str, Any]]:
    """Results grouped by province and locality, groups in the order of their best result."""
    groups: dict[tuple[str | None, str | None], list[SearchHit]] = {}
    for hit in hits:
        key = (hit.document.meta.province, hit.document.meta.locality)
        groups.setdefault(key, []).append(hit)
    return [{"province": p, "locality": loc, "results": [hit_out(h) for h in members]}
            for (p, loc), members in groups.items()]


@router.post("/similar", response_model=SimilarResponse)
def similar(body: SimilarRequest, collection: CollectionDep) -> dict[str, Any]:
    """Các quyết định tương tự ở địa phương khác, theo một đoạn (chunk_id) hoặc một đoạn văn bản."""
    started = time.perf_counter()
    if (body.chunk_id is None) == (body.text is None):
        from fastapi import HTTPException

        raise HTTPException(422, "give exactly one of chunk_id or text")
    searcher = collection.searcher()
    source = None
    if body.chunk_id is not None:
        source = searcher.hit_for_chunk(body.chunk_id)
        if source is None:
            raise NotFound(f"no chunk with id {body.chunk_id!r}")
    query = source.chunk.text if source else str(body.text)
    candidates = searcher.search(query, min(500, body.k * 10 + 20), SearchFilters(**body.filters.model_dump()))
    kept = []
    for hit in candidates:
        if source and hit.chunk.id == source.chunk.id:
            continue
        if source and body.exclude_same_document and hit.document.id == source.document.id:
            continue
        if (source and body.exclude_same_locality and hit.document.meta.locality
                and hit.document.meta.locality == source.document.meta.locality):
            continue
        kept.append(hit)
    kept = kept[: body.k]
    return {"results": [hit_out(h) for h in kept], "groups": _group(kept), "took_ms": _elapsed(started)}
