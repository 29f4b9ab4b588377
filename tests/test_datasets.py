"""Dataset loading: good files load, and each bad line is named as file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.datasets import (
    QRELS_HEADER,
    BeirDataset,
    DatasetError,
    Question,
    beir_to_questions,
    load_beir,
    load_questions,
)
from eval.paths import REPO_ROOT

DEV_QUESTIONS = REPO_ROOT / "eval" / "questions" / "dev.jsonl"
ALQAC = REPO_ROOT.parent / "shared" / "data" / "alqac2023"

GOOD = {
    "id": "dev-001",
    "question": "Chỉ tiêu tỷ lệ hộ nghèo năm 2023 của huyện Bình Lục là bao nhiêu?",
    "documents": ["001_17c5f32e7502a0cf.txt"],
    "answer": "giảm còn 3,7%",
    "kind": "target",
}
CROSS = {
    "id": "dev-164",
    "question": "Đề án công nhận đô thị loại IV, loại V cấp huyện",
    "documents": ["001_17c5f32e7502a0cf.txt", "004_032d8215efb2c131.txt"],
    "answer": None,
    "kind": "cross_province",
}


def _jsonl(path: Path, *lines: object) -> Path:
    """Write each object as a JSON line; a str is written as it is, to make broken lines."""
    text = "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


def test_good_questions_load(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "q.jsonl", GOOD, CROSS, "")  # a trailing blank line is fine
    questions = load_questions(path)
    assert questions == [
        Question("dev-001", "Chỉ tiêu tỷ lệ hộ nghèo năm 2023 của huyện Bình Lục là bao nhiêu?",
                 ("001_17c5f32e7502a0cf.txt",), "giảm còn 3,7%", "target"),
        Question("dev-164", "Đề án công nhận đô thị loại IV, loại V cấp huyện",
                 ("001_17c5f32e7502a0cf.txt", "004_032d8215efb2c131.txt"), None, "cross_province"),
    ]


def test_dev_question_set_loads() -> None:
    questions = load_questions(DEV_QUESTIONS)
    assert len(questions) == 164
    assert len({q.id for q in questions}) == 164
    assert all(q.documents for q in questions)


def _without(key: str) -> dict[str, object]:
    return {k: v for k, v in GOOD.items() if k != key}


BAD_QUESTION_LINES = [
    pytest.param('{"id": "dev-002", "question": ', "invalid JSON", id="invalid-json"),
    pytest.param("[1, 2]", "expected a JSON object, got list", id="not-an-object"),
    pytest.param(_without("kind"), "missing field 'kind'", id="missing-kind"),
    pytest.param(_without("documents"), "missing field 'documents'", id="missing-documents"),
    pytest.param(_without("answer"), "missing field 'answer'", id="missing-answer"),
    pytest.param({**GOOD, "id": 2}, "field 'id' must be a string, got int", id="id-not-string"),
    pytest.param({**GOOD, "question": "   "}, "field 'question' is empty", id="empty-question"),
    pytest.param({**GOOD, "documents": "001_17c5f32e7502a0cf.txt"}, "'documents' must be a list", id="docs-str"),
    pytest.param({**GOOD, "documents": []}, "'documents' is empty", id="docs-empty"),
    pytest.param({**GOOD, "documents": [1]}, "'documents' must be a list", id="docs-not-strings"),
    pytest.param({**GOOD, "documents": ["a.txt", "a.txt"]}, "lists a document twice", id="docs-repeated"),
    pytest.param({**GOOD, "answer": 3.7}, "'answer' must be a non-empty string or null", id="answer-number"),
    pytest.param({**GOOD, "answer": ""}, "'answer' must be a non-empty string or null", id="answer-empty"),
    pytest.param({**GOOD, "kind": None}, "field 'kind' must be a string, got NoneType", id="kind-null"),
    pytest.param('{"id": "x", "id": "y"}', "field 'id' appears twice", id="repeated-key"),
    pytest.param({**GOOD, "id": "dev-001"}, "duplicate id 'dev-001' (first on line 1)", id="duplicate-id"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD_QUESTION_LINES)
def test_bad_question_line_is_named(tmp_path: Path, bad: object, reason: str) -> None:
    # The bad line is line 3: a good line, a blank line (skipped, but still counted), then the bad one.
    path = _jsonl(tmp_path / "q.jsonl", GOOD, "", bad)
    with pytest.raises(DatasetError) as info:
        load_questions(path)
    assert str(info.value).startswith(f"{path}:3: ")
    assert reason in str(info.value)
    assert info.value.line == 3
    assert isinstance(info.value, ValueError)


def test_invalid_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n" + "Bình Lục".encode("cp1258", errors="replace") + b"\xff\n")
    with pytest.raises(DatasetError, match=r"q\.jsonl:2: not UTF-8"):
        load_questions(path)


def test_missing_question_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        load_questions(tmp_path / "absent.jsonl")


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text("\ufeff" + json.dumps(GOOD, ensure_ascii=False) + "\n", encoding="utf-8")
    assert load_questions(path)[0].id == "dev-001"


def _beir(folder: Path, corpus: list[object] | None = None, queries: list[object] | None = None,
          qrels: str | None = None) -> Path:
    """A two-article, two-query BEIR folder; pass a part to replace it."""
    corpus = corpus if corpus is not None else [
        {"_id": "Luật Phòng, chống ma túy@1", "title": "Luật Phòng, chống ma túy - Điều 1",
         "text": "Phạm vi điều chỉnh"},
        {"_id": "Luật Hôn nhân và gia đình@3", "text": "Giải thích từ ngữ"},
    ]
    queries = queries if queries is not None else [
        {"_id": "DS-1", "text": "Luật Phòng, chống ma túy quy định về những gì?", "metadata": {"type": "Tự luận"}},
        {"_id": "DS-2", "text": "Quan hệ hôn nhân và gia đình có yếu tố nước ngoài là gì?"},
    ]
    qrels = qrels if qrels is not None else (
        f"{QRELS_HEADER}\nDS-1\tLuật Phòng, chống ma túy@1\t1\nDS-2\tLuật Hôn nhân và gia đình@3\t1\n"
    )
    folder.mkdir(exist_ok=True)
    _jsonl(folder / "corpus.jsonl", *corpus)
    _jsonl(folder / "queries.jsonl", *queries)
    (folder / "qrels").mkdir(exist_ok=True)
    (folder / "qrels" / "train.tsv").write_text(qrels, encoding="utf-8")
    return folder


def test_good_beir_folder_loads(tmp_path: Path) -> None:
    ds = load_beir(_beir(tmp_path / "tiny"))
    assert ds.corpus == {
        "Luật Phòng, chống ma túy@1": {"title": "Luật Phòng, chống ma túy - Điều 1", "text": "Phạm vi điều chỉnh"},
        "Luật Hôn nhân và gia đình@3": {"title": "", "text": "Giải thích từ ngữ"},
    }
    assert list(ds.queries) == ["DS-1", "DS-2"]
    assert ds.qrels == {"DS-1": {"Luật Phòng, chống ma túy@1": 1}, "DS-2": {"Luật Hôn nhân và gia đình@3": 1}}
    assert ds.query_metadata["DS-1"] == {"type": "Tự luận"}


def test_missing_split_names_the_splits_there(tmp_path: Path) -> None:
    folder = _beir(tmp_path / "tiny")
    with pytest.raises(DatasetError, match=r"test\.tsv: no such file \(splits in this folder: \['train'\]\)"):
        load_beir(folder, split="test")


DOC = {"_id": "d1", "text": "Phạm vi điều chỉnh"}
QUERY = {"_id": "q1", "text": "Luật này quy định về gì?"}
ROW = "q1\td1\t1"


@pytest.mark.parametrize(
    ("part", "content", "line", "reason"),
    [
        pytest.param("corpus", [DOC, "{not json"], 2, "invalid JSON", id="corpus-invalid-json"),
        pytest.param("corpus", [DOC, {"text": "x"}], 2, "missing field '_id'", id="corpus-missing-id"),
        pytest.param("corpus", [DOC, {"_id": "d2"}], 2, "missing field 'text'", id="corpus-missing-text"),
        pytest.param("corpus", [DOC, {"_id": 7, "text": "x"}], 2, "'_id' must be a string", id="corpus-int-id"),
        pytest.param("corpus", [DOC, {"_id": "d2", "text": "x", "title": 1}], 2, "'title' must be a string",
                     id="corpus-bad-title"),
        pytest.param("corpus", [DOC, DOC], 2, "duplicate _id 'd1' (first on line 1)", id="corpus-duplicate"),
        pytest.param("queries", [QUERY, {"_id": "q2"}], 2, "missing field 'text'", id="query-missing-text"),
        pytest.param("queries", [QUERY, {"_id": "q2", "text": ""}], 2, "field 'text' is empty", id="query-empty"),
        pytest.param("queries", [{**QUERY, "metadata": "x"}], 1, "'metadata' must be an object", id="query-meta"),
        pytest.param("queries", [QUERY, QUERY], 2, "duplicate _id 'q1'", id="query-duplicate"),
        pytest.param("qrels", f"query-id\tdoc-id\tscore\n{ROW}\n", 1, "expected the header", id="qrels-header"),
        pytest.param("qrels", "", 1, "got an empty file", id="qrels-empty"),
        pytest.param("qrels", f"{QRELS_HEADER}\n{ROW}\nq1 d1 1\n", 3, "3 tab-separated columns", id="qrels-spaces"),
        pytest.param("qrels", f"{QRELS_HEADER}\nq1\td1\t1.0\n", 2, "score must be an integer", id="qrels-float"),
        pytest.param("qrels", f"{QRELS_HEADER}\n{ROW}\nq9\td1\t1\n", 3, "unknown query id 'q9'", id="qrels-query"),
        pytest.param("qrels", f"{QRELS_HEADER}\n{ROW}\nq1\td9\t1\n", 3, "unknown corpus id 'd9'", id="qrels-doc"),
        pytest.param("qrels", f"{QRELS_HEADER}\n{ROW}\n{ROW}\n", 3, "judges document 'd1' twice", id="qrels-repeat"),
    ],
)
def test_bad_beir_line_is_named(tmp_path: Path, part: str, content: object, line: int, reason: str) -> None:
    parts: dict[str, object] = {"corpus": [DOC], "queries": [QUERY], "qrels": f"{QRELS_HEADER}\n{ROW}\n"}
    parts[part] = content
    folder = _beir(tmp_path / "bad", **parts)  # type: ignore[arg-type]
    file = {"corpus": folder / "corpus.jsonl", "queries": folder / "queries.jsonl",
            "qrels": folder / "qrels" / "train.tsv"}[part]
    with pytest.raises(DatasetError) as info:
        load_beir(folder)
    assert str(info.value).startswith(f"{file}:{line}: ")
    assert reason in str(info.value)


def test_beir_to_questions_keeps_positive_qrels_and_type() -> None:
    ds = BeirDataset(
        corpus={"d1": {"title": "", "text": "a"}, "d2": {"title": "", "text": "b"}, "d3": {"title": "", "text": "c"}},
        queries={"q1": "một", "q2": "hai", "q3": "ba"},
        qrels={"q1": {"d1": 1, "d2": 0, "d3": 2}, "q2": {"d2": 0}},
        query_metadata={"q1": {"type": "Trắc nghiệm"}},
    )
    # q1: d1 and d3 score > 0 (d2's 0 is "judged not relevant"); q2 has no positive qrel; q3 has none at all.
    assert beir_to_questions(ds) == [Question("q1", "một", ("d1", "d3"), None, "Trắc nghiệm")]


def test_beir_to_questions_defaults_kind_to_beir(tmp_path: Path) -> None:
    questions = beir_to_questions(load_beir(_beir(tmp_path / "tiny")))
    assert [(q.id, q.kind) for q in questions] == [("DS-1", "Tự luận"), ("DS-2", "beir")]


@pytest.mark.skipif(not ALQAC.is_dir(), reason=f"ALQAC 2023 BEIR folder not found at {ALQAC}")
def test_alqac_folder_loads() -> None:
    ds = load_beir(ALQAC)
    assert len(ds.corpus) == 2249
    assert len(ds.queries) == 100
    questions = beir_to_questions(ds)
    assert len(questions) == 100
    assert {q.kind for q in questions} == {"Đúng/Sai", "Trắc nghiệm", "Tự luận"}
    assert all(doc in ds.corpus for q in questions for doc in q.documents)


def test_every_held_out_answer_is_quoted_verbatim_from_its_seed_document() -> None:
    """A held-out answer that the document does not hold could never be found: each is checked against the seed
    document it names, as the judge matches it (eval.metrics.contains_answer)."""
    from eval.metrics import contains_answer
    from eval.suites import DOCUMENTS, HELD_OUT

    checked = 0
    for path in HELD_OUT.values():
        for question in load_questions(path):
            for name in question.documents:
                if question.answer is not None and (DOCUMENTS / name).is_file():
                    assert contains_answer((DOCUMENTS / name).read_text(encoding="utf-8"), question.answer), question.id
                    checked += 1
    assert checked >= 100
