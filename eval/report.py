"""Reports: a markdown table, a JSON file and a PNG chart per run, in ``eval/reports/``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

METRICS = ("hit@1", "hit@5", "recall@10", "mrr@10", "ndcg@10")
BASELINE = "baseline (splitter + bm25s)"


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}×" if base > 0 else "—"


def markdown(dataset: str, runs: Mapping[str, Mapping[str, Any]], notes: list[str]) -> str:
    """Overall table with the ratio to the baseline, then one table per question kind."""
    base = runs.get(BASELINE, {}).get("overall", {})
    lines = [f"# Evaluation — {dataset}", ""]
    lines += [f"- {n}" for n in notes] + [""]
    header = ("| configuration | " + " | ".join(METRICS)
              + " | answer@5 | /ask accuracy | p50 ms | p95 ms | MRR vs baseline |")
    lines += [header, "|" + "---|" * (len(METRICS) + 6)]
    for name, run in runs.items():
        o = run["overall"]
        cells = [f"{o.get(m, 0.0):.3f}" for m in METRICS]
        answer = f"{o['answer@5']:.3f}" if "answer@5" in o else "—"
        accuracy = f"{o['answer_accuracy']:.3f}" if "answer_accuracy" in o else "—"
        timing = f"{o.get('latency_p50_ms', 0):.1f} | {o.get('latency_p95_ms', 0):.1f}"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {answer} | {accuracy} | {timing} | "
                     f"{_ratio(o.get('mrr@10', 0.0), base.get('mrr@10', 0.0))} |")
    for name, run in runs.items():
        if "accent_free" in run:
            free = run["accent_free"]
            lines += ["", f"## Typed without diacritics ({name}: the {free['n']} accented questions, stripped)", "",
                      "| questions | " + " | ".join(METRICS) + " |", "|" + "---|" * (len(METRICS) + 1)]
            for label in ("accented", "stripped"):
                lines.append(f"| {label} | " + " | ".join(f"{free[label].get(m, 0.0):.3f}" for m in METRICS) + " |")
    similar = {name: run["similar"] for name, run in runs.items() if "similar" in run}
    if similar:
        lines += ["", "## Similar directives (/similar, one entry per document, other localities)", "",
                  "| configuration | cases | recall@10 | hit@1 |", "|---|---|---|---|"]
        lines += [f"| {name} | {s['n']} | {s['recall@10']:.3f} | {s['hit@1']:.3f} |" for name, s in similar.items()]
    for name, run in runs.items():
        lines += ["", f"## {name} — by kind", "", "| kind | n | " + " | ".join(METRICS) + " |",
                  "|" + "---|" * (len(METRICS) + 2)]
        for kind, values in sorted(run["by_kind"].items()):
            lines.append(f"| {kind} | {int(values.get('n', 0))} | "
                         + " | ".join(f"{values.get(m, 0.0):.3f}" for m in METRICS) + " |")
    return "\n".join(lines) + "\n"


def chart(dataset: str, runs: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(runs)
    x = np.arange(len(METRICS))
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(11, 5))
    for i, name in enumerate(names):
        values = [runs[name]["overall"].get(m, 0.0) for m in METRICS]
        p50 = runs[name]["overall"].get("latency_p50_ms", 0.0)
        p95 = runs[name]["overall"].get("latency_p95_ms", 0.0)
        ax.bar(x + i * width, values, width, label=f"{name} (p50 {p50:.0f} ms, p95 {p95:.0f} ms)")
    ax.set_xticks(x + width * (len(names) - 1) / 2, METRICS)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"tracuu retrieval — {dataset}")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_reports(dataset: str, runs: Mapping[str, Mapping[str, Any]], notes: list[str], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = dataset.replace("/", "_")
    md, js, png = folder / f"{stem}.md", folder / f"{stem}.json", folder / f"{stem}.png"
    md.write_text(markdown(dataset, runs, notes), encoding="utf-8")
    js.write_text(json.dumps({"dataset": dataset, "notes": notes, "runs": runs}, ensure_ascii=False, indent=2),
                  encoding="utf-8")
    chart(dataset, runs, png)
    return [md, js, png]
