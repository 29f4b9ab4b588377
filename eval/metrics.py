"""Retrieval metrics over judged result lists, kept apart from any retriever.

The runner judges each result against the question first and hands these
functions a ranked list of *units*: the id of the relevant unit (a document, a
law article) that the result hits, or ``None`` when the result is not
relevant. Keeping the judging outside means the same maths scores the FAISS
path we serve, the BM25 path and the baseline alike.

Two BEIR pitfalls are avoided on purpose: nothing here mutates its input, and
every average is taken over all questions, so a question that returned
nothing, or whose relevance judgements are empty, scores 0 instead of quietly
leaving the denominator.

Example:
    >>> ranked = [None, "a", None, "b"]
    >>> hit_at_k(ranked, {"a", "b", "c"}, 1), mrr_at_k(ranked, {"a", "b", "c"}, 10)
    (0.0, 0.5)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from corpus.clean import normalize_unicode

Ranked = Sequence[str | None]
Relevant = Iterable[str]

# Python's \s on str covers NBSP, thin and ideographic spaces; converters leave all of them in documents.
_WHITESPACE = re.compile(r"\s+")

# The report's columns: which metric at which cutoff.
DEFAULT_KS: tuple[tuple[str, int], ...] = (("hit", 1), ("hit", 5), ("recall", 10), ("mrr", 10), ("ndcg", 10))


def _check_k(k: int) -> None:
    # bool is an int subclass; hit_at_k(r, rel, True) is a bug, not a cutoff of 1.
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer of at least 1, got {k!r}")


def dedupe(ranked: Ranked) -> list[str | None]:
    """Return a copy where each unit counts only at its first rank.

    Two passages from the same relevant document are one hit, not two; without
    this, recall could exceed 1 and a retriever could win by returning the same
    document ten times.

    Example:
        >>> dedupe(["a", None, "a", "b"])
        ['a', None, None, 'b']
    """
    seen: set[str] = set()
    out: list[str | None] = []
    for unit in ranked:
        if unit is None or unit in seen:
            out.append(None)
        else:
            seen.add(unit)
            out.append(unit)
    return out


def _hits(ranked: Ranked, relevant: Relevant, k: int) -> list[bool]:
    """Relevance of each of the top ``k`` deduplicated results.

    A unit outside ``relevant`` counts as not relevant, so a judge that
    mislabels a result cannot inflate the score.
    """
    _check_k(k)
    wanted = frozenset(relevant)
    return [unit is not None and unit in wanted for unit in dedupe(ranked[:k])]


def hit_at_k(ranked: Ranked, relevant: Relevant, k: int) -> float:
    """1.0 when any of the top ``k`` results is relevant, else 0.0."""
    return 1.0 if any(_hits(ranked, relevant, k)) else 0.0


def recall_at_k(ranked: Ranked, relevant: Relevant, k: int) -> float:
    """Share of the relevant units found in the top ``k``.

    With no relevant units recall is undefined; we score 0 rather than skip the
    question so that a question with broken judgements pulls the average down
    where someone will notice, and every metric keeps the same denominator.
    """
    wanted = frozenset(relevant)
    if not wanted:
        _check_k(k)
        return 0.0
    return sum(_hits(ranked, wanted, k)) / len(wanted)


def mrr_at_k(ranked: Ranked, relevant: Relevant, k: int) -> float:
    """Reciprocal rank of the first relevant result within the top ``k``, else 0.0."""
    for rank, hit in enumerate(_hits(ranked, relevant, k), start=1):
        if hit:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Ranked, relevant: Relevant, k: int) -> float:
    """Normalised DCG with binary gains (Järvelin & Kekäläinen 2002).

    DCG = sum over ranks i = 1..k of gain_i / log2(i + 1); the ideal list puts
    min(|relevant|, k) hits first. With no relevant units the score is 0, as
    for recall.
    """
    wanted = frozenset(relevant)
    hits = _hits(ranked, wanted, k)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(wanted), k) + 1))
    if ideal == 0.0:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 1) for i, hit in enumerate(hits, start=1) if hit)
    return dcg / ideal


_METRICS: dict[str, Callable[[Ranked, Relevant, int], float]] = {
    "hit": hit_at_k,
    "recall": recall_at_k,
    "mrr": mrr_at_k,
    "ndcg": ndcg_at_k,
}


def _comparable(text: str) -> str:
    # casefold first: normalize_unicode then guarantees NFC on the result.
    return _WHITESPACE.sub(" ", normalize_unicode(text.casefold())).strip()


def contains_answer(text: str, answer: str) -> bool:
    """Whether ``answer`` occurs in ``text`` once both are put in one form.

    Documents mix tone placements ("Khoá"/"Khóa"), non-breaking spaces and line
    breaks inside figures; a verbatim check would call a correct passage wrong.

    Example:
        >>> contains_answer("HĐND tỉnh Bắc Giang, khoá XIX", "Khóa XIX")
        True

    Raises:
        ValueError: if ``answer`` is empty after normalisation, since it would
            match every passage.
    """
    needle = _comparable(answer)
    if not needle:
        raise ValueError(f"answer must contain visible text, got {answer!r}")
    return needle in _comparable(text)


@dataclass(frozen=True)
class QueryResult:
    """One question's judged results: what :func:`aggregate` averages.

    ``answer_found`` is None when the question has no answer string to look
    for (relevance judged by document only).
    """

    question_id: str
    kind: str
    ranked: tuple[str | None, ...]
    relevant: frozenset[str]
    latency_ms: float
    answer_found: bool | None = None
    answer_correct: bool | None = None  # /ask's extractive answer cites the expected figure

    def __post_init__(self) -> None:
        # Copy into immutable containers so a caller reusing its list cannot change a stored result.
        object.__setattr__(self, "ranked", tuple(self.ranked))
        object.__setattr__(self, "relevant", frozenset(self.relevant))


def _check_ks(ks: Sequence[tuple[str, int]]) -> None:
    for name, k in ks:
        if name not in _METRICS:
            raise ValueError(f"unknown metric {name!r}; use one of {sorted(_METRICS)}")
        _check_k(k)


def aggregate(
    results: Sequence[QueryResult],
    ks: Sequence[tuple[str, int]] = DEFAULT_KS,
) -> dict[str, float]:
    """Mean of each metric over all results, with latency percentiles.

    Returns keys ``"{metric}@{k}"`` for each pair in ``ks`` (by default hit@1,
    hit@5, recall@10, mrr@10, ndcg@10), ``"n"``, ``"latency_p50_ms"`` and
    ``"latency_p95_ms"`` (numpy's linear percentile), and ``"answer@5"`` (the
    mean over results whose ``answer_found`` is not None) only when there is
    at least one such result. Empty input gives zeros and n = 0.

    Example:
        >>> r = QueryResult("q1", "target", ("a",), frozenset({"a"}), 12.0, True)
        >>> aggregate([r])["mrr@10"], aggregate([])["n"]
        (1.0, 0)
    """
    _check_ks(ks)
    out: dict[str, float] = {}
    for name, k in ks:
        scores = [_METRICS[name](r.ranked, r.relevant, k) for r in results]
        out[f"{name}@{k}"] = float(np.mean(scores)) if scores else 0.0
    out["n"] = len(results)
    latencies = [r.latency_ms for r in results]
    p50, p95 = np.percentile(latencies, [50, 95], method="linear") if latencies else (0.0, 0.0)
    out["latency_p50_ms"], out["latency_p95_ms"] = float(p50), float(p95)
    answers = [r.answer_found for r in results if r.answer_found is not None]
    if answers:
        out["answer@5"] = sum(answers) / len(answers)
    asked = [r.answer_correct for r in results if r.answer_correct is not None]
    if asked:
        out["answer_accuracy"] = sum(asked) / len(asked)
    return out


def aggregate_by_kind(
    results: Sequence[QueryResult],
    ks: Sequence[tuple[str, int]] = DEFAULT_KS,
) -> dict[str, dict[str, float]]:
    """:func:`aggregate` for each question kind, kinds in sorted order.

    A retriever can gain on paraphrases while losing on questions typed
    without diacritics; only the split shows that.
    """
    _check_ks(ks)
    by_kind: dict[str, list[QueryResult]] = {}
    for r in results:
        by_kind.setdefault(r.kind, []).append(r)
    return {kind: aggregate(by_kind[kind], ks) for kind in sorted(by_kind)}
