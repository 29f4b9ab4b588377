"""Fusion settings chosen by measurement: every (RRF k, dense weight, adaptive) setting over rankings computed once.

Each question's lexical and dense rankings come from :meth:`index.search.Searcher.rank_legs` (the served code);
only the fusion is redone per setting, so a grid of dozens costs about one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import product
from typing import Any

from eval.datasets import Question
from eval.metrics import QueryResult, aggregate
from eval.runner import EVAL_K, EvalCorpus, judge
from index.search import OVERFETCH, Searcher, SearchOptions

RRF_KS = (10, 30, 60, 100)
DENSE_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
EXACT_FACTORS = (0.5, 1.0)  # with adaptive: the dense weight's share for accent-free Vietnamese and numbers
ADAPTIVE = (False, True)
GROUPS = {"all": lambda kind: True, "original 164": lambda kind: not kind.startswith("user_"),
          "user-phrased": lambda kind: kind.startswith("user_"),
          "accent-free": lambda kind: kind == "no_diacritics",
          "word-matching": lambda kind: not kind.startswith("user_") and kind != "no_diacritics"}


def fusion_grid(searcher: Searcher, corpus: EvalCorpus, questions: Sequence[Question]) -> list[dict[str, Any]]:
    """One row per setting: hit@1, hit@5 and MRR@10 overall and per question group."""
    depth = max(50, EVAL_K * OVERFETCH)
    parsed, legs = searcher.rank_legs([q.question for q in questions], depth)
    rows = []
    for rrf_k, weight, adaptive, exact in product(RRF_KS, DENSE_WEIGHTS, ADAPTIVE, EXACT_FACTORS):
        if (weight == 0.0 or not adaptive) and exact != EXACT_FACTORS[0]:
            continue  # the factor only matters for an adapted, non-zero dense weight
        if adaptive and weight == 0.0:
            continue  # adapting a zero weight changes nothing
        options = replace(searcher.options, rrf_k=rrf_k, dense_weight=weight, adaptive=adaptive,
                          exact_dense_factor=exact)
        results = [_judged(searcher, corpus, q, p, leg, options) for q, p, leg in zip(questions, parsed, legs,
                                                                                       strict=True)]
        row: dict[str, Any] = {"rrf_k": rrf_k, "dense_weight": weight, "adaptive": adaptive,
                               "exact_factor": exact if adaptive else None}
        for group, member in GROUPS.items():
            chosen = [r for r in results if member(r.kind)]
            if chosen:
                metrics = aggregate(chosen)
                row[group] = {m: metrics[m] for m in ("hit@1", "hit@5", "mrr@10")} | {"n": len(chosen)}
        rows.append(row)
    return rows


def _judged(searcher: Searcher, corpus: EvalCorpus, question: Question, parsed: Any, legs: dict[str, list[int]],
            options: SearchOptions) -> QueryResult:
    hits = searcher.fuse(parsed, legs, EVAL_K, options)
    ranked, found = judge([(corpus.unit(h.document.source), h.chunk.text) for h in hits], question)
    return QueryResult(question.id, question.kind, tuple(ranked), frozenset(question.documents), 0.0, found)


def grid_markdown(rows: list[dict[str, Any]]) -> str:
    """The grid as a table, best overall MRR first."""
    groups = [g for g in GROUPS if g in rows[0]]
    header = ("| rrf k | dense weight | adaptive (accent-free/number factor) | "
              + " | ".join(f"{g} hit@1 / hit@5 / MRR" for g in groups) + " |")
    lines = [header, "|" + "---|" * (3 + len(groups))]
    for row in sorted(rows, key=lambda r: -r["all"]["mrr@10"]):
        cells = [f"{row[g]['hit@1']:.3f} / {row[g]['hit@5']:.3f} / {row[g]['mrr@10']:.3f}" for g in groups]
        adaptive = f"yes ({row['exact_factor']})" if row["adaptive"] else "no"
        lines.append(f"| {row['rrf_k']} | {row['dense_weight']} | {adaptive} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
