"""``/indicators``: figures as data, filtered, compared across localities and years, downloadable as CSV."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from answering.indicators import RecordFilters, compare, find_indicators, indicator_table
from index.filters import Filters
from service.deps import CollectionDep
from service.outputs import IndicatorList
from service.serializers import compare_row, record_out

router = APIRouter(tags=["indicators"])
RecordKind = Literal["target", "result", "estimate", "plan", "growth"]
CSV_FIELDS = ["locality", "province", "year", "kind", "value", "value_max", "unit", "comparator", "document_id",
              "quote"]


@router.get("/indicators", response_model=IndicatorList)
def list_indicators(
    collection: CollectionDep,
    q: Annotated[str | None, Query(max_length=200, description="Từ trong tên chỉ tiêu", examples=["hộ nghèo"])] = None,
    key: Annotated[str | None, Query(max_length=200, description="Khóa so sánh chính xác",
                                     examples=["tỷ lệ hộ nghèo"])] = None,
    province: Annotated[str | None, Query(description="Tỉnh", examples=["Hà Nam"])] = None,
    locality: Annotated[str | None, Query(description="Địa phương", examples=["Bình Lục"])] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100, description="Năm của con số", examples=[2023])] = None,
    kind: Annotated[RecordKind | None, Query(description="target: chỉ tiêu; result: kết quả; estimate: ước thực "
                                                         "hiện; plan: kế hoạch; growth: tốc độ tăng")] = None,
    document_id: Annotated[str | None, Query(description="Mã văn bản")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Số bản ghi tối đa")] = 200,
) -> dict[str, Any]:
    """Các chỉ tiêu và kết quả dạng số, mỗi bản ghi kèm trích dẫn nguyên văn và vị trí."""
    where = Filters(province=province or None, locality=locality or None, document_id=document_id or None)
    found = find_indicators(collection.searcher(), where, RecordFilters(q=q, key=key, year=year, kind=kind))
    return {"total": len(found), "results": [record_out(h) for h in found[:limit]]}


@router.get("/indicators/compare")
def compare_indicator(
    collection: CollectionDep,
    key: Annotated[str, Query(min_length=1, max_length=200, description="Khóa so sánh (xem /indicators/keys)",
                              examples=["tỷ lệ hộ nghèo"])],
    format: Annotated[Literal["json", "csv"], Query(description="json, hoặc csv để mở bằng bảng tính")] = "json",
) -> Any:
    """So sánh một chỉ tiêu giữa các địa phương và các năm: mỗi địa phương, năm và loại một dòng."""
    rows = [compare_row(h) for h in compare(indicator_table(collection.searcher()), key)]
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="chi-tieu.csv"'})
    return {"key": key, "rows": rows}


@router.get("/indicators/keys")
def indicator_keys(collection: CollectionDep) -> dict[str, Any]:
    """Các chỉ tiêu có thể so sánh, với số địa phương có số liệu."""
    counts = indicator_table(collection.searcher()).key_counts()  # records without a key are not comparable
    return {"keys": [{"key": k, "localities": n} for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]}
