"""Precision and recall of the indicator extractor against the hand-labelled file.

A predicted record matches a labelled one from the same document when the
values agree and the two quoted spans overlap; each labelled record is matched
at most once. Agreement on unit, kind, year and key is reported among matches.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.models import Indicator

LABELLED = Path(__file__).resolve().parent / "indicators" / "labelled.jsonl"


@dataclass(frozen=True)
class DocumentScore:
    document: str
    predicted: int
    labelled: int
    matched: int
    agree: dict[str, int]

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else (1.0 if not self.labelled else 0.0)

    @property
    def recall(self) -> float:
        return self.matched / self.labelled if self.labelled else 1.0


def load_labelled(path: Path = LABELLED) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score_document(document: str, predicted: Sequence[Indicator], labelled: Sequence[dict[str, Any]]) -> DocumentScore:
    used: set[int] = set()
    agree = {"unit": 0, "kind": 0, "year": 0, "key": 0, "value_max": 0}
    for record in predicted:
        for i, gold in enumerate(labelled):
            if i in used or abs(float(gold["value"]) - record.value) > 1e-6:
                continue
            if gold["start"] < record.end and record.start < gold["end"]:
                used.add(i)
                agree["unit"] += gold["unit"] == record.unit
                agree["kind"] += gold["kind"] == record.kind
                agree["year"] += gold["year"] == record.year
                agree["key"] += gold["key"] == record.key
                agree["value_max"] += (gold.get("value_max") or None) == record.value_max
                break
    return DocumentScore(document, len(predicted), len(labelled), len(used), agree)


def markdown(scores: Sequence[DocumentScore]) -> str:
    lines = ["# Indicator extraction against eval/indicators/labelled.jsonl", "",
             "| document | predicted | labelled | matched | precision | recall | unit | kind | year | key |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in [*scores, total(scores)]:
        share = {k: f"{v / s.matched:.2f}" if s.matched else "—" for k, v in s.agree.items()}
        lines.append(f"| {s.document} | {s.predicted} | {s.labelled} | {s.matched} | {s.precision:.3f} | "
                     f"{s.recall:.3f} | {share['unit']} | {share['kind']} | {share['year']} | {share['key']} |")
    return "\n".join(lines) + "\n"


def total(scores: Sequence[DocumentScore]) -> DocumentScore:
    agree = {k: sum(s.agree[k] for s in scores) for k in ("unit", "kind", "year", "key", "value_max")}
    return DocumentScore("all", sum(s.predicted for s in scores), sum(s.labelled for s in scores),
                         sum(s.matched for s in scores), agree)
