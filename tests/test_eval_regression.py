"""Retrieval must not get worse: the dev questions through the served search code, against floors
set just under the numbers measured when they were last raised (see eval/reports/)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from eval.cli import evaluate
from eval.runner import ablations
from eval.suites import Suite, load_suite

pytestmark = pytest.mark.slow  # builds the 182-document index, and the five seeds with the bundled encoder

# Measured 2026-11-30 (after the glossary). Lexical mode, the 164 hand-written questions (kinds not user_*): dev
# hit@1 0.933, hit@5 0.994, MRR@10 0.960, nDCG 0.969; dev-distractors hit@1 0.951, hit@5 0.994, MRR@10 0.970.
DEV_FLOORS = {"hit@1": 0.91, "hit@5": 0.98, "mrr@10": 0.94, "ndcg@10": 0.95}
DISTRACTOR_FLOORS = {"hit@1": 0.93, "hit@5": 0.98, "mrr@10": 0.95}
# Hybrid with the bundled encoder (the default; queries through its ONNX copy), all 240 dev questions, measured
# 2026-11-30 after the figure and place boosts: hit@1 0.929, hit@5 0.992, MRR 0.959; user-phrased hit@5 0.974.
HYBRID_FLOORS = {"hit@1": 0.92, "hit@5": 0.98, "mrr@10": 0.95}
# The same over the 182 documents (dev-distractors): hit@1 0.938, hit@5 0.996, MRR 0.964. The semantic-search
# issue's targets are 0.93 / 0.99 / 0.95; hit@1's floor is one question under, for a build's float noise.
HYBRID_DISTRACTOR_FLOORS = {"hit@1": 0.925, "hit@5": 0.99, "mrr@10": 0.95}
USER_HIT5_FLOOR = 0.93
# /ask on the seeds with the bundled encoder, strict judge, measured 2026-11-30: dev right 0.957 with no wrong
# answer, user-phrased right 0.776, unanswerable refused 0.98 (eval/reports/answers.md). The targets.
ASK_FLOORS = {"dev right": 0.95, "user right": 0.75, "unanswerable refused": 0.95}
ASK_MAX_WRONG = 0.02


def _check(overall: dict[str, float], floors: dict[str, float]) -> None:
    below = {m: round(overall[m], 3) for m, floor in floors.items() if overall[m] < floor}
    assert not below, f"retrieval got worse: {below} under floors {floors}"


def _hand_written(suite: Suite) -> Suite:
    return replace(suite, questions=[q for q in suite.questions if not q.kind.startswith("user_")])


def test_dev_set_holds_its_numbers_and_beats_the_baseline(tmp_path: Path) -> None:
    runs = evaluate(_hand_written(load_suite("dev")), ablations()[:1], tmp_path)
    _check(runs["tracuu"]["overall"], DEV_FLOORS)
    assert runs["tracuu"]["overall"]["mrr@10"] > 1.2 * runs["baseline (splitter + bm25s)"]["overall"]["mrr@10"]
    by_kind = runs["tracuu"]["by_kind"]
    # typed without diacritics, a question must do about as well as typed with them
    assert by_kind["no_diacritics"]["hit@5"] >= runs["tracuu"]["overall"]["hit@5"] - 0.05


def test_hybrid_with_the_bundled_encoder_holds_its_numbers(tmp_path: Path, bundled) -> None:  # type: ignore[no-untyped-def]
    runs = evaluate(load_suite("dev"), ablations("hybrid")[:1], tmp_path, with_baseline=False, embedder=bundled)
    _check(runs["tracuu"]["overall"], HYBRID_FLOORS)
    user = [m for kind, m in runs["tracuu"]["by_kind"].items() if kind.startswith("user_")]
    user_hit5 = sum(m["hit@5"] * m["n"] for m in user) / sum(m["n"] for m in user)
    assert user_hit5 >= USER_HIT5_FLOOR, f"user-phrased hit@5 {user_hit5:.3f} under {USER_HIT5_FLOOR}"
    free = runs["tracuu"]["accent_free"]  # the accented questions typed without any accent
    assert free["stripped"]["hit@5"] >= free["accented"]["hit@5"] - 0.03


def test_distractor_set_holds_its_numbers(tmp_path: Path, shared_data: Path) -> None:
    if not (shared_data / "gov-docs-2004-2010").is_dir():
        pytest.skip("gov-docs-2004-2010 is not on this machine")
    suite = _hand_written(load_suite("dev-distractors"))
    runs = evaluate(suite, ablations()[:1], tmp_path, with_baseline=False)
    _check(runs["tracuu"]["overall"], DISTRACTOR_FLOORS)


def test_hybrid_distractor_set_holds_its_numbers(tmp_path: Path, shared_data: Path, bundled) -> None:  # type: ignore[no-untyped-def]
    """All 240 dev questions over the seeds and the 177 distractors, with the bundled encoder (the default)."""
    if not (shared_data / "gov-docs-2004-2010").is_dir():
        pytest.skip("gov-docs-2004-2010 is not on this machine")
    runs = evaluate(load_suite("dev-distractors"), ablations("hybrid")[:1], tmp_path, with_baseline=False,
                    embedder=bundled)
    _check(runs["tracuu"]["overall"], HYBRID_DISTRACTOR_FLOORS)


def test_ask_holds_its_numbers_with_the_bundled_encoder(tmp_path: Path, bundled) -> None:  # type: ignore[no-untyped-def]
    """Right, wrong and refused as `python -m eval.answers` counts them, on the five seeds: a change that buys
    answers with wrong ones, or refuses what it answered, fails here before it reaches a report."""
    from eval.answers import evaluate_answers, question_sets, set_of
    from eval.runner import Config, open_collection

    suite = load_suite("dev")
    collection = open_collection(tmp_path, suite.corpus, Config("tracuu", mode="hybrid"), bundled)
    try:
        questions = [q for q in question_sets() if set_of(q) in ("dev", "user", "unanswerable")]
        tables = evaluate_answers(collection, questions, suite.corpus)["tables"]
    finally:
        collection.store.close()
    dev, user, unanswerable = (tables[name]["overall"] for name in ("dev", "user", "unanswerable"))
    measured = {"dev right": dev["right_rate"], "user right": user["right_rate"],
                "unanswerable refused": unanswerable["none_rate"]}
    below = {name: round(value, 3) for name, value in measured.items() if value < ASK_FLOORS[name]}
    assert not below, f"/ask got worse: {below} under {ASK_FLOORS}"
    assert dev["wrong_rate"] <= ASK_MAX_WRONG, f"dev wrong {dev['wrong_rate']:.3f} over {ASK_MAX_WRONG}"
