"""The similar-directives set: from a passage, are the other localities' documents on the same matter found?

Each case (``eval/questions/similar.jsonl``, built by reading all 182 documents) lists every document of another
locality that decides the same matter. The cases run through :func:`answering.similar.similar`, the code behind
``POST /similar``; a case scores recall@10 (share of its documents in the first ten) and hit@1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from answering.similar import SimilarQuery, similar
from corpus.clean import normalize_unicode
from eval.metrics import recall_at_k
from eval.paths import REPO_ROOT
from index.search import Searcher

SIMILAR_CASES = REPO_ROOT / "eval" / "questions" / "similar.jsonl"
K = 10


@dataclass(frozen=True)
class SimilarCase:
    id: str
    document: str  # the source file name
    text: str  # verbatim from it
    matter: str
    relevant: frozenset[str]


def load_cases(path: Path = SIMILAR_CASES) -> list[SimilarCase]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            cases.append(SimilarCase(raw["id"], raw["document"], raw["text"], raw["matter"],
                                     frozenset(raw["relevant"])))
    return cases


def _source_query(searcher: Searcher, case: SimilarCase, text_of: dict[str, str]) -> SimilarQuery:
    """The case's passage as /similar sees it when a user starts from a chunk of the source document."""
    doc = next(d for d in searcher.documents if d.source == case.document)
    at = text_of[doc.id].find(normalize_unicode(case.text))  # the stored text has one tone-mark placement
    source = searcher.hit_at(doc.id, at) if at >= 0 else None
    return SimilarQuery(case.text, source)


def evaluate_similar(searcher: Searcher, text_of: dict[str, str], cases: list[SimilarCase]) -> dict[str, Any]:
    """Mean recall@10 and hit@1 over the cases, and each case's own recall."""
    per_case: dict[str, dict[str, Any]] = {}
    recalls, firsts = [], []
    for case in cases:
        hits = similar(searcher, _source_query(searcher, case, text_of), K)
        ranked = [h.document.source if h.document.source in case.relevant else None for h in hits]
        recalls.append(recall_at_k(ranked, case.relevant, K))
        firsts.append(float(bool(ranked) and ranked[0] is not None))
        per_case[case.id] = {"matter": case.matter, "relevant": len(case.relevant), "recall@10": recalls[-1],
                             "hit@1": firsts[-1]}
    n = max(1, len(cases))
    return {"n": len(cases), "recall@10": sum(recalls) / n, "hit@1": sum(firsts) / n, "cases": per_case}
