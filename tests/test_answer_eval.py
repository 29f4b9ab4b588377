"""The /ask evaluation: how an answer is judged, the tables and the calibration, and the question files it reads."""

from __future__ import annotations

import json
from pathlib import Path

from corpus.clean import normalize_unicode
from corpus.load import read_path
from eval.answers import (
    QUESTIONS,
    Outcome,
    answers_markdown,
    calibration,
    judge,
    load_answer_questions,
    set_of,
    table,
)
from eval.datasets import Question
from tests.conftest import DOCUMENTS

FIGURE = Question("dev-001", "?", ("a.txt",), "giảm còn 3,7%", "target")
BY_DOCUMENT = Question("dev-150", "?", ("a.txt", "b.txt"), None, "cross_province")
NONE = Question("unans-001", "?", (), None, "absent_place")


def test_judging_an_answer() -> None:
    assert judge(FIGURE, []) == "none"
    assert judge(FIGURE, [("a.txt", "Tỷ lệ hộ nghèo giảm còn 3,7%")]) == "right"
    assert judge(FIGURE, [("b.txt", "Tỷ lệ hộ nghèo giảm còn 3,7%")]) == "wrong"  # another place's figure
    assert judge(FIGURE, [("a.txt", "Tỷ lệ hộ nghèo còn 0,46%")]) == "wrong"
    assert judge(BY_DOCUMENT, [("a.txt", "…"), ("b.txt", "…")]) == "right"
    assert judge(BY_DOCUMENT, [("a.txt", "…"), ("z.txt", "…")]) == "wrong"  # one item from an irrelevant document
    assert judge(NONE, [("a.txt", "…")]) == "wrong" and judge(NONE, []) == "none"


def _outcome(qid: str, verdict: str, confidence: float, kind: str = "target") -> Outcome:
    question = Question(qid, "?", ("a.txt",) if not qid.startswith("unans") else (), None, kind)
    return Outcome(qid, set_of(question), kind, verdict, confidence, None, (), "", None, None, None)


def test_tables_put_wrong_answers_first_and_calibration_picks_a_threshold() -> None:
    outcomes = [_outcome(f"dev-{i:03d}", "right", 0.9) for i in range(98)]
    outcomes += [_outcome("dev-098", "wrong", 0.6), _outcome("dev-100", "wrong", 0.6), _outcome("dev-099", "none", 0.0),
                 _outcome("unans-001", "wrong", 0.7, "absent_topic")]
    tables = table(outcomes)
    assert tables["dev"]["overall"]["wrong"] == 2 and tables["unanswerable"]["overall"]["wrong_rate"] == 1.0
    cal = calibration(outcomes)
    assert cal["chosen"] == 0.65  # up to 0.6: 3 wrong of 101 (above 2 %); from 0.65: 1 of 99
    rows = {r["threshold"]: r for r in cal["rows"]}
    assert rows[0.5]["answered"] == 101 and rows[0.5]["wrong"] == 3 and rows[0.95]["answered"] == 0
    text = answers_markdown({"dev": {"tables": tables, "calibration": cal, "ms_per_question": 1.0}})
    assert "| set / kind | n | wrong | right | no answer |" in text and "**dev**" in text


def test_question_sets_load_with_empty_documents_for_unanswerable_ones() -> None:
    questions = load_answer_questions(QUESTIONS / "unanswerable.jsonl")
    assert len(questions) == 50 and all(not q.documents and q.answer is None for q in questions)
    assert {set_of(q) for q in questions} == {"unanswerable"}


def test_the_holdout_set_is_well_formed() -> None:
    """15 answerable questions whose answers occur verbatim in their documents, and 15 unanswerable ones."""
    path = QUESTIONS / "answers-holdout.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 30 and len({r["id"] for r in rows}) == 30
    assert set(rows[0]) == {"id", "question", "documents", "answer", "kind"}
    answerable = [r for r in rows if r["documents"]]
    assert len(answerable) == 15 and all(r["kind"].startswith("user_") for r in answerable)
    for row in answerable:
        for name in row["documents"]:
            text = normalize_unicode(read_path(Path(DOCUMENTS) / name))
            assert normalize_unicode(row["answer"]) in text, (row["id"], row["answer"])
    kinds = [r["kind"] for r in rows if not r["documents"]]
    assert sorted(set(kinds)) == ["absent_place", "absent_topic", "absent_year", "misspelled_place"]
    assert all(r["answer"] is None for r in rows if not r["documents"])


def test_the_second_holdout_is_well_formed_and_reported_on_its_own() -> None:
    """48 user-phrased questions, each answer verbatim and once in its document; never fitted on."""
    questions = load_answer_questions(QUESTIONS / "holdout2.jsonl")
    assert len(questions) == 48 and len({q.id for q in questions}) == 48
    assert {set_of(q) for q in questions} == {"holdout2"}
    assert {q.kind for q in questions} == {"user_paraphrase", "user_colloquial", "user_english"}
    for question in questions:
        text = normalize_unicode(read_path(Path(DOCUMENTS) / question.documents[0]))
        assert question.answer is not None and text.count(normalize_unicode(question.answer)) == 1, question.id


def test_the_figure_a_user_reads_first_must_be_the_expected_one() -> None:
    """The right line quoted under another of its figures is a wrong answer; years in the expected text aside."""
    line = [("a.txt", "Xuất khẩu đạt 55 triệu USD, tăng 13,17% so với năm 2022")]
    grew = Question("user-003", "?", ("a.txt",), "tăng 13,17% so với năm 2022", "user_paraphrase")
    assert judge(grew, line, "tăng 13,17%") == "right"
    assert judge(grew, line, "đạt 55 triệu USD") == "wrong"
    assert judge(grew, line) == "right"  # no answer text: the quote alone decides
