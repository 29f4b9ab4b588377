"""``/indicators``: figures as data, filtered, compared across localities and years, downloadable as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from index.indicators import IndicatorFilters, IndicatorHit, compare, find_indicators
from service.app import CollectionDep
from service.documents import meta_out

router = APIRouter(tags=["indicators"])


def record_out(hit: IndicatorHit) -> dict[str, Any]:
    record = asdict(hit.record)
    meta = hit.document.meta
    return {**record, "locality": meta.locality, "province": meta.province, "document": meta_out(hit.document)}


@router.get("/indicators")
def list_indicators(
    collection: CollectionDep,
    q: Annotated[str | None, Query(max_length=200, examples=["hộ nghèo"])] = None,
    key: Annotated[str | None, Query(max_length=200)] = None,
    province: str | None = None,
    locality: str | None = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    kind: Literal["target", "result"] | None = None,
    document_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Các chỉ tiêu và kết quả dạng số, mỗi bản ghi kèm trích dẫn nguyên văn và vị trí."""
    filters = IndicatorFilters(q=q, key=key, province=province, locality=locality, year=year, kind=kind,
                               document_id=document_id)
    found = find_indicators(collection.searcher().indicators, filters)
    return {"total": len(found), "results": [record_out(h) for h in found[:limit]]}


def compare_rows(collection: CollectionDep, key: str) -> list[dict[str, Any]]:
    return [
        {"locality": h.document.meta.locality, "province": h.document.meta.province, "year": h.record.year,
         "kind": h.record.kind, "value": h.record.value, "value_max": h.record.value_max, "unit": h.record.unit,
         "comparator": h.record.comparator, "document_id": h.document.id, "quote": h.record.quote,
         "start": h.record.start, "end": h.record.end}
        for h in compare(collection.searcher().indicators, key)
    ]


@router.get("/indicators/compare")
def compare_indicator(
    collection: CollectionDep,
    key: Annotated[str, Query(min_length=1, max_length=200, examples=["tỷ lệ hộ nghèo"])],
    format: Literal["json", "csv"] = "json",
) -> Any:
    """So sánh một chỉ tiêu giữa các địa phương và các năm: mỗi địa phương, năm và loại một dòng."""
    rows = compare_rows(collection, key)
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["locality", "province", "year", "kind", "value", "value_max",
                                                    "unit", "comparator", "document_id", "quote"],
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="chi-tieu.csv"'})
    return {"key": key, "rows": rows}


@router.get("/indicators/keys")
def indicator_keys(collection: CollectionDep) -> dict[str, Any]:
    """Các chỉ tiêu có thể so sánh, với số địa phương có số liệu."""
    places: dict[str, set[str | None]] = {}
    for hit in collection.searcher().indicators:
        places.setdefault(hit.record.key, set()).add(hit.document.meta.locality)
    keys = sorted(places, key=lambda k: (-len(places[k]), k))
    return {"keys": [{"key": k, "localities": len(places[k])} for k in keys]}
