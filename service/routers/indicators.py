"""``/indicators``: figures as data, filtered, compared across localities and years, downloadable as CSV."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from answering.indicators import Comparison, RecordFilters, compare_groups, find_indicators, indicator_table
from index.collection import Collection
from index.filters import Filters
from service.charts import comparison_svg
from service.deps import CollectionDep
from service.outputs import IndicatorList, error_responses
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


def compare_filters(
    province: Annotated[str | None, Query(description="Tỉnh, tên cũ hoặc tên sau năm 2025", examples=["Hải Phòng"])]
    = None,
    locality: Annotated[str | None, Query(description="Địa phương", examples=["Bình Lục"])] = None,
    level: Annotated[Literal["tỉnh", "huyện", "xã"] | None, Query(description="Cấp ban hành")] = None,
    doc_type: Annotated[str | None, Query(description="Loại văn bản", examples=["Nghị quyết"])] = None,
    year_from: Annotated[int | None, Query(ge=1900, le=2100, description="Văn bản từ năm")] = None,
    year_to: Annotated[int | None, Query(ge=1900, le=2100, description="Văn bản đến năm")] = None,
) -> Filters:
    """The page's filters, so the comparison and its chart show what the search shows."""
    return Filters(province=province or None, locality=locality or None, level=level or None,
                   doc_type=doc_type or None, year_from=year_from, year_to=year_to)


CompareFilters = Annotated[Filters, Depends(compare_filters)]
CompareKey = Annotated[str, Query(min_length=1, max_length=200, description="Khóa so sánh (xem /indicators/keys)",
                                  examples=["tỷ lệ hộ nghèo"])]


def _comparison(collection: Collection, key: str, where: Filters) -> Comparison:
    return compare_groups(find_indicators(collection.searcher(), where, RecordFilters(key=key)), key)


@router.get("/indicators/compare", response_model=None, responses=error_responses(422))
def compare_indicator(
    collection: CollectionDep,
    key: CompareKey,
    where: CompareFilters,
    format: Annotated[Literal["json", "csv"], Query(description="json, hoặc csv để mở bằng bảng tính")] = "json",
) -> Any:
    """So sánh một chỉ tiêu giữa các địa phương và các năm: mỗi địa phương, năm và loại một dòng.

    Chỉ các số liệu cùng đơn vị, cùng loại đo (mức đạt, tốc độ tăng, tỷ lệ so với kế hoạch) và cùng kỳ được đặt
    cạnh nhau; các số liệu còn lại nằm trong ``left_out`` với lý do.
    """
    comparison = _comparison(collection, key, where)
    rows = [compare_row(h) for h in (comparison.main.rows if comparison.main else ())]
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="chi-tieu.csv"'})
    main = comparison.main
    return {"key": key, "unit": main.unit if main else None, "measure": main.measure if main else None,
            "period": main.period if main else None, "rows": rows,
            "left_out": [{**compare_row(h), "reason": why} for h, why in comparison.left_out]}


@router.get("/indicators/compare/chart.svg", response_class=Response, responses=error_responses(422))
def compare_chart(
    collection: CollectionDep,
    key: CompareKey,
    where: CompareFilters,
    width: Annotated[int, Query(ge=280, le=1600, description="Bề rộng hình, điểm ảnh (bằng bề rộng khung trên trang)")]
    = 720,
) -> Response:
    """Biểu đồ so sánh (SVG, vẽ bằng matplotlib trên máy chủ): trục, đơn vị, nhãn số kiểu Việt Nam."""
    comparison = _comparison(collection, key, where)
    svg = comparison_svg(comparison, width)
    return Response(svg, media_type="image/svg+xml; charset=utf-8", headers={"Cache-Control": "no-store"})


@router.get("/indicators/keys")
def indicator_keys(collection: CollectionDep) -> dict[str, Any]:
    """Các chỉ tiêu có thể so sánh, với số địa phương có số liệu."""
    counts = indicator_table(collection.searcher()).key_counts()  # records without a key are not comparable
    return {"keys": [{"key": k, "localities": n} for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]}
