"""Retrieval metrics: every expected value is worked out by hand in a comment."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval.metrics import (
    QueryResult,
    aggregate,
    aggregate_by_kind,
    contains_answer,
    dedupe,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
)

METRICS = [hit_at_k, recall_at_k, mrr_at_k, ndcg_at_k]

# The worked example: relevant units a, b, c; the retriever finds a at rank 2 and b at rank 4.
RANKED = [None, "a", None, "b"]
RELEVANT = {"a", "b", "c"}


def test_hit_at_k_worked_example() -> None:
    # Rank 1 is a miss; a is at rank 2, inside the top 5.
    assert hit_at_k(RANKED, RELEVANT, 1) == 0.0
    assert hit_at_k(RANKED, RELEVANT, 2) == 1.0
    assert hit_at_k(RANKED, RELEVANT, 5) == 1.0


def test_recall_at_k_worked_example() -> None:
    # Top 10 holds a and b out of {a, b, c}: 2/3. Top 3 holds only a: 1/3.
    assert recall_at_k(RANKED, RELEVANT, 10) == pytest.approx(2 / 3)
    assert recall_at_k(RANKED, RELEVANT, 3) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, RELEVANT, 1) == 0.0


def test_mrr_at_k_worked_example() -> None:
    # The first relevant result is at rank 2: 1/2. With k = 1 it is cut off: 0.
    assert mrr_at_k(RANKED, RELEVANT, 10) == pytest.approx(0.5)
    assert mrr_at_k(RANKED, RELEVANT, 1) == 0.0


def test_ndcg_at_k_worked_example() -> None:
    # DCG  = 1/log2(2+1) + 1/log2(4+1) = 0.63093 + 0.43068 = 1.06161   (hits at ranks 2 and 4)
    # IDCG = 1/log2(2) + 1/log2(3) + 1/log2(4) = 1 + 0.63093 + 0.5 = 2.13093   (min(3, 10) = 3 ideal hits)
    # nDCG = 1.06161 / 2.13093 = 0.49819
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    assert ndcg_at_k(RANKED, RELEVANT, 10) == pytest.approx(expected)
    assert ndcg_at_k(RANKED, RELEVANT, 10) == pytest.approx(0.49819, abs=1e-5)


def test_ndcg_ideal_is_cut_at_k() -> None:
    # k = 2, three relevant: IDCG = 1 + 1/log2(3) (only two ideal hits fit); DCG = 1/log2(3) (a at rank 2).
    # nDCG = 0.63093 / 1.63093 = 0.38685
    assert ndcg_at_k(RANKED, RELEVANT, 2) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))


def test_perfect_ranking_scores_one() -> None:
    ranked = ["a", "b", "c", None]
    for metric in METRICS:
        assert metric(ranked, RELEVANT, 10) == pytest.approx(1.0), metric.__name__


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.__name__)
def test_empty_ranked_list_scores_zero(metric) -> None:
    # A query that returned nothing is a miss, not a question to drop.
    assert metric([], RELEVANT, 10) == 0.0
    assert metric((), RELEVANT, 1) == 0.0


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.__name__)
def test_empty_relevant_scores_zero(metric) -> None:
    # Recall and nDCG are undefined here; the documented choice is 0 for every metric.
    assert metric(["a", "b"], set(), 10) == 0.0


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_raises_naming_the_value(metric, k: int) -> None:
    with pytest.raises(ValueError, match=f"got {k}"):
        metric(RANKED, RELEVANT, k)
    with pytest.raises(ValueError, match=f"got {k}"):
        metric([], set(), k)


def test_k_must_be_an_integer() -> None:
    with pytest.raises(ValueError, match="got True"):
        hit_at_k(RANKED, RELEVANT, True)


def test_units_outside_relevant_do_not_count() -> None:
    # "z" is a unit id the judge should not have passed; it must not score as a hit.
    assert hit_at_k(["z", "a"], {"a"}, 1) == 0.0
    assert mrr_at_k(["z", "a"], {"a"}, 10) == 0.5


def test_dedupe_turns_later_repeats_into_none() -> None:
    assert dedupe(["a", None, "a", "b", "b"]) == ["a", None, None, "b", None]
    assert dedupe([]) == []


def test_dedupe_stops_repeats_from_counting_twice() -> None:
    # Two passages of document a at ranks 1-2, then b at rank 3; relevant {a, b}.
    ranked = ["a", "a", "b"]
    # recall@2: only a found once -> 1/2 (not 2/2 as a naive count would give).
    assert recall_at_k(ranked, {"a", "b"}, 2) == pytest.approx(0.5)
    # nDCG@10: DCG = 1/log2(2) + 1/log2(4) = 1.5 (the repeat at rank 2 gains nothing);
    # IDCG = 1 + 1/log2(3) = 1.63093; nDCG = 1.5 / 1.63093 = 0.91972.
    assert ndcg_at_k(ranked, {"a", "b"}, 10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # Recall never exceeds 1 however often a unit repeats.
    assert recall_at_k(["a"] * 10, {"a"}, 10) == 1.0


def test_inputs_are_not_mutated() -> None:
    ranked = ["a", "a", None, "b"]
    relevant = {"a", "b", "c"}
    for metric in METRICS:
        metric(ranked, relevant, 3)
    dedupe(ranked)
    assert ranked == ["a", "a", None, "b"]
    assert relevant == {"a", "b", "c"}


def test_contains_answer_ignores_tone_placement_and_case() -> None:
    # Bình Lục's resolution writes "Khoá XX"; a question may spell it "khóa XX".
    text = "Nghị quyết này đã được Hội đồng nhân dân huyện Bình Lục Khoá XX, Kỳ họp thứ tám thông qua."
    assert contains_answer(text, "khóa XX")
    assert contains_answer(text, "HỘI ĐỒNG NHÂN DÂN HUYỆN BÌNH LỤC")


def test_contains_answer_ignores_nbsp_and_line_breaks() -> None:
    text = "Tổng thu ngân sách trên địa bàn đạt\u00a0388,295\ntỷ  đồng."
    assert contains_answer(text, "388,295 tỷ đồng")
    assert contains_answer("Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn\r\n3,7%.", "giảm còn 3,7%")


def test_contains_answer_ignores_nfd_input() -> None:
    import unicodedata

    text = unicodedata.normalize("NFD", "giảm còn 3,7%")
    assert contains_answer(text, "giảm còn 3,7%")


def test_contains_answer_rejects_a_different_answer() -> None:
    assert not contains_answer("giảm còn 3,7%", "giảm còn 3,8%")
    # Tone marks still matter: "hòa" is not "hóa".
    assert not contains_answer("văn hóa", "văn hòa")


def test_contains_answer_refuses_an_empty_answer() -> None:
    with pytest.raises(ValueError, match="answer"):
        contains_answer("giảm còn 3,7%", " \u00a0\n")


def _result(qid: str, kind: str, ranked: list[str | None], relevant: set[str], latency: float,
            answer: bool | None = None) -> QueryResult:
    return QueryResult(qid, kind, tuple(ranked), frozenset(relevant), latency, answer)


# q1 (target):     a at rank 1 of {a}            -> hit@1 1, hit@5 1, recall 1,   mrr 1,   ndcg 1
# q2 (target):     b at rank 3 of {b}            -> hit@1 0, hit@5 1, recall 1,   mrr 1/3, ndcg 1/log2(4) = 0.5
# q3 (paraphrase): returned nothing, relevant {c} -> all 0
TINY = [
    _result("q1", "target", ["a", None], {"a"}, 10.0, True),
    _result("q2", "target", [None, None, "b"], {"b"}, 20.0, False),
    _result("q3", "paraphrase", [], {"c"}, 40.0),
]


def test_aggregate_tiny_set() -> None:
    out = aggregate(TINY)
    assert set(out) == {"hit@1", "hit@5", "recall@10", "mrr@10", "ndcg@10", "n",
                        "latency_p50_ms", "latency_p95_ms", "answer@5"}
    assert out["n"] == 3
    assert out["hit@1"] == pytest.approx(1 / 3)            # (1 + 0 + 0) / 3
    assert out["hit@5"] == pytest.approx(2 / 3)            # (1 + 1 + 0) / 3
    assert out["recall@10"] == pytest.approx(2 / 3)        # (1 + 1 + 0) / 3
    assert out["mrr@10"] == pytest.approx((1 + 1 / 3) / 3)  # 0.44444
    assert out["ndcg@10"] == pytest.approx((1 + 0.5) / 3)  # 0.5
    # Latencies 10, 20, 40: linear p50 = 20; p95 at position 0.95 * 2 = 1.9 -> 20 + 0.9 * (40 - 20) = 38.
    assert out["latency_p50_ms"] == pytest.approx(20.0)
    assert out["latency_p95_ms"] == pytest.approx(38.0)
    # answer@5 averages only q1 and q2 (q3 has no answer string): (1 + 0) / 2.
    assert out["answer@5"] == pytest.approx(0.5)


def test_aggregate_leaves_out_answer_when_no_question_has_one() -> None:
    out = aggregate([TINY[2]])
    assert "answer@5" not in out
    assert out["n"] == 1 and out["hit@5"] == 0.0


def test_aggregate_empty_input_gives_zeros() -> None:
    out = aggregate([])
    assert out == {"hit@1": 0.0, "hit@5": 0.0, "recall@10": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0, "n": 0,
                   "latency_p50_ms": 0.0, "latency_p95_ms": 0.0}
    assert aggregate_by_kind([]) == {}


def test_aggregate_by_kind_tiny_set() -> None:
    out = aggregate_by_kind(TINY)
    assert list(out) == ["paraphrase", "target"]
    # target: q1 and q2 -> hit@1 (1 + 0) / 2, mrr (1 + 1/3) / 2 = 2/3, answer@5 (1 + 0) / 2.
    assert out["target"]["n"] == 2
    assert out["target"]["hit@1"] == pytest.approx(0.5)
    assert out["target"]["mrr@10"] == pytest.approx(2 / 3)
    assert out["target"]["answer@5"] == pytest.approx(0.5)
    # paraphrase: q3 alone, which returned nothing.
    assert out["paraphrase"]["n"] == 1
    assert out["paraphrase"]["hit@5"] == 0.0
    assert "answer@5" not in out["paraphrase"]


def test_aggregate_custom_cutoffs_and_bad_metric() -> None:
    # q2's b sits at rank 3: hit@3 counts it, so hit@3 = (1 + 1 + 0) / 3.
    assert aggregate(TINY, ks=[("hit", 3)])["hit@3"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="'precision'"):
        aggregate(TINY, ks=[("precision", 10)])
    with pytest.raises(ValueError, match="got 0"):
        aggregate(TINY, ks=[("hit", 0)])


def test_query_result_copies_its_inputs() -> None:
    ranked = ["a"]
    result = QueryResult("q1", "target", ranked, {"a"}, 1.0)  # type: ignore[arg-type]
    ranked.append("b")
    assert result.ranked == ("a",)
    assert result.relevant == frozenset({"a"})


units = st.sampled_from(["a", "b", "c", "d", "e"])
ranked_lists = st.lists(st.one_of(st.none(), units), max_size=15)
relevant_sets = st.sets(units, max_size=5)
cutoffs = st.integers(min_value=1, max_value=20)


@given(ranked_lists, relevant_sets, cutoffs)
def test_every_metric_is_between_zero_and_one(ranked, relevant, k) -> None:
    for metric in METRICS:
        assert 0.0 <= metric(ranked, relevant, k) <= 1.0 + 1e-12, metric.__name__


@given(ranked_lists, relevant_sets, cutoffs)
def test_hit_and_recall_do_not_fall_as_k_grows(ranked, relevant, k) -> None:
    assert hit_at_k(ranked, relevant, k) <= hit_at_k(ranked, relevant, k + 1)
    assert recall_at_k(ranked, relevant, k) <= recall_at_k(ranked, relevant, k + 1)


@given(ranked_lists, relevant_sets, cutoffs)
def test_mrr_never_exceeds_hit(ranked, relevant, k) -> None:
    assert mrr_at_k(ranked, relevant, k) <= hit_at_k(ranked, relevant, k)


@given(ranked_lists, relevant_sets, cutoffs)
def test_metrics_leave_their_inputs_alone(ranked, relevant, k) -> None:
    before_ranked, before_relevant = list(ranked), set(relevant)
    for metric in METRICS:
        metric(ranked, relevant, k)
    assert ranked == before_ranked and relevant == before_relevant
