"""Domain objects as the JSON the API, the page and the CLI show: one function per shape, used everywhere."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from answering.answer import Answer, Citation
from answering.context import AnswerContext
from answering.highlight import Terms, highlight_spans, lead_line
from answering.indicators import IndicatorHit
from index.search import SearchHit
from index.store import StoredDocument


def meta_out(doc: StoredDocument) -> dict[str, Any]:
    """A document's metadata, with when it was ingested (the /documents shape)."""
    return {**document_out(doc), "ingested_at": doc.ingested_at}


def document_out(doc: StoredDocument) -> dict[str, Any]:
    meta = asdict(doc.meta)
    meta["years"] = list(meta["years"])
    return {"id": doc.id, "source": doc.source, **meta}


def hit_out(hit: SearchHit, terms: Terms | None = None) -> dict[str, Any]:
    """A passage as the API returns it; with the query's ``terms``, also its marks and the line it leads with."""
    chunk = hit.chunk
    out = {
        "chunk_id": chunk.id, "score": round(hit.score, 6), "text": chunk.text, "section": chunk.section,
        "start": chunk.start, "end": chunk.end, "legs": list(hit.legs), "document": document_out(hit.document),
        "more_in_document": hit.more_in_document,
    }
    if terms is not None:
        lead_start, lead_end = lead_line(chunk.text, terms)
        out["lead"] = {"start": chunk.start + lead_start, "end": chunk.start + lead_end}
        out["highlights"] = [[chunk.start + s, chunk.start + e] for s, e in highlight_spans(chunk.text, terms)]
    return out


def record_out(hit: IndicatorHit) -> dict[str, Any]:
    meta = hit.document.meta
    return {**asdict(hit.record), "kind": hit.kind, "status": hit.record.kind, "period": hit.period,
            "locality": meta.locality, "province": meta.province, "document": meta_out(hit.document)}


def compare_row(hit: IndicatorHit) -> dict[str, Any]:
    record, meta = hit.record, hit.document.meta
    return {"locality": meta.locality, "province": meta.province, "year": record.year, "kind": hit.kind,
            "period": hit.period,
            "value": record.value, "value_max": record.value_max, "unit": record.unit,
            "comparator": record.comparator, "document_id": hit.document.id, "quote": record.quote,
            "start": record.start, "end": record.end}


def citation_out(c: Citation) -> dict[str, Any]:
    return {"chunk_id": c.hit.chunk.id, "document": document_out(c.hit.document), "section": c.hit.chunk.section,
            "quote": c.quote, "start": c.start, "end": c.end}


def citations_out(answer: Answer) -> list[dict[str, Any]]:
    return [citation_out(c) for c in answer.citations]


def context_out(context: AnswerContext | None) -> dict[str, Any] | None:
    if context is None:
        return None
    return {**asdict(context), "kind_label": context.kind_label,
            "document": {**asdict(context.document), "label": context.document.label}}


def items_out(answer: Answer) -> list[dict[str, Any]]:
    return [{"place": item.place, "text": item.text, "citation": citation_out(item.citation),
             "context": context_out(item.context)} for item in answer.items]
