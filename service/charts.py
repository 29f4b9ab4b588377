"""The indicator comparison as a chart: SVG drawn by matplotlib on the server, so it works offline and on a phone.

Why matplotlib rather than a JavaScript library: it is already a dependency, draws real axes and ticks, and the
SVG keeps its text as text (searchable, sharp at any zoom). The page asks for the width of its own frame, so labels
are drawn at their natural size rather than scaled down with the picture; long place labels are shortened to fit.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")  # no display here; must precede the figure imports
from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from answering.indicators import Comparison  # noqa: E402

DPI = 96  # a CSS pixel: width=390 draws a picture 390 px wide
BAR_PX = 26
FONT_PX = 12
KIND_LABELS = {"target": "chỉ tiêu", "result": "kết quả", "estimate": "ước thực hiện", "plan": "kế hoạch",
               "growth": "tốc độ tăng"}
PERIOD_LABELS = {"year": "cả năm", "half_first": "6 tháng đầu năm", "half_second": "6 tháng cuối năm",
                 "five_year": "cả giai đoạn"}
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text
matplotlib.rcParams["svg.hashsalt"] = "tracuu"  # the same comparison draws the same bytes


def vn_number(value: float, decimals: int = 2) -> str:
    """12345.5 → "12.345,5": "." groups thousands and "," marks decimals, as the documents write them."""
    text = f"{value:,.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:,.0f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def _row_label(locality: str | None, year: int | None, kind: str, limit: int) -> str:
    """"Bình Lục · 2023 · chỉ tiêu", on two lines when the label column is narrow (a phone)."""
    place = locality or "Không rõ"
    place = place if len(place) <= limit else place[: limit - 1] + "…"
    rest = f"{year or '?'} · {KIND_LABELS.get(kind, kind)}"
    one_line = f"{place} · {rest}"
    return one_line if len(one_line) <= limit else f"{place}\n{rest}"


def comparison_svg(comparison: Comparison, width: int) -> str:
    """The main comparison group as horizontal bars, one per locality, year and kind; a note when there is none."""
    main = comparison.main
    rows = list(main.rows) if main else []
    limit = max(14, int(width * 0.4 / (FONT_PX * 0.6)))  # characters that fit in the label column
    two_lines = any("\n" in _row_label(h.document.meta.locality, h.record.year, h.kind, limit) for h in rows)
    height_px = max(120, (BAR_PX + 14 * two_lines) * len(rows) + 90)
    figure = Figure(figsize=(width / DPI, height_px / DPI), dpi=DPI, layout="constrained")
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    font = FONT_PX * 72 / DPI  # points
    if not rows or main is None:
        axes.axis("off")
        axes.text(0.5, 0.5, "Chưa có số liệu so sánh được", ha="center", va="center", fontsize=font)
        return _svg(figure)
    labels = [_row_label(h.document.meta.locality, h.record.year, h.kind, limit) for h in rows]
    values = [h.record.value_max if h.record.value_max is not None else h.record.value for h in rows]
    positions = list(range(len(rows)))
    bars = axes.barh(positions, values, color="#0b5cad", height=0.65)
    for bar, hit in zip(bars, rows, strict=True):
        bar.set_gid(f"bar-{hit.document.id}-{hit.record.start}")
    axes.set_yticks(positions, labels, fontsize=font)
    axes.invert_yaxis()  # first row on top, as in the table
    top = max(values + [0.0])
    axes.set_xlim(min(0.0, min(values)), (top or 1.0) * 1.3)  # room for the value labels
    decimals = 2 if top < 100 else 0
    for y, hit, value in zip(positions, rows, values, strict=True):
        shown = vn_number(hit.record.value, decimals)
        if hit.record.value_max is not None:
            shown += "–" + vn_number(hit.record.value_max, decimals)
        axes.text(value, y, f" {shown}", va="center", fontsize=font)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: vn_number(v, 0 if top >= 10 else 1)))
    axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=max(2, math.floor(width / 130))))
    axes.tick_params(axis="x", labelsize=font)
    axes.set_xlabel(f"{main.unit} · {PERIOD_LABELS.get(main.period, main.period)}", fontsize=font)
    axes.set_title(comparison.key, fontsize=font * 1.15, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()
