"""``POST /ask``: an answer quoted from the documents, with verbatim citations, or a plain "no answer"."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from answering.extractive import NO_ANSWER, answer_question
from answering.generative import NotConfigured, generate_answer
from answering.highlight import query_terms
from index.timing import Stopwatch
from service.deps import CollectionDep, SettingsDep, check_query_length
from service.outputs import AskResponse, error_responses
from service.routers.search import filter_values
from service.schemas import AskRequest
from service.serializers import citations_out, context_out, hit_out, items_out, record_out

router = APIRouter(tags=["answers"])


@router.post("/ask", response_model=AskResponse, responses=error_responses(400, 422, 502))
def ask(body: AskRequest, collection: CollectionDep, settings: SettingsDep) -> dict[str, Any]:
    """Trả lời câu hỏi bằng chính câu trong văn bản, kèm trích dẫn nguyên văn và vị trí."""
    check_query_length(body.question, settings, "question")
    started = time.perf_counter()
    searcher = collection.searcher()
    watch = Stopwatch()
    query = searcher.parse(body.question)  # parsed once: search, place and year checks all read it
    hits = searcher.search(query, max(body.k, 10), filter_values(body.filters), watch=watch)
    dropped: tuple[dict[str, object], ...] = ()
    if body.mode == "generative":
        if not settings.llm_base_url:
            raise NotConfigured("generative mode needs TRACUU_LLM_BASE_URL (an OpenAI-compatible endpoint)")
        generated = generate_answer(body.question, hits[: body.k], settings.llm_base_url, settings.llm_model,
                                    settings.llm_api_key, settings.llm_timeout_s)
        answer, dropped = generated.answer, generated.dropped
    else:
        with watch.stage("answer"):
            answer = answer_question(searcher, query, hits)
    with watch.stage("serialise"):
        terms = query_terms(query.restored or query.normalized)
        passages = [hit_out(h, terms) for h in hits[: body.k]]
    return {
        "question": body.question,
        "mode": body.mode,
        "dropped_citations": list(dropped),
        "answer": answer.text,
        "message": answer.message or (None if answer.text else NO_ANSWER),
        "reason": answer.reason,
        "context": context_out(answer.context),
        "items": items_out(answer),
        "confidence": answer.confidence,
        "indicator": record_out(answer.record) if answer.record else None,
        "citations": citations_out(answer),
        "passages": passages,
        "took_ms": round((time.perf_counter() - started) * 1000, 3),
        "timings_ms": watch.milliseconds(),
    }
