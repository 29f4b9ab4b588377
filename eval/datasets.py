"""Question sets for evaluation: tracuu's JSONL format and the BEIR layout.

Every check here fails with the file and line of the bad input. A question set
that loads with a silently skipped or misread line gives a score for a
different question set, and nobody notices.

Example:
    >>> questions = load_questions("eval/questions/dev.jsonl")  # doctest: +SKIP
    >>> questions[0].kind                                        # doctest: +SKIP
    'target'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QRELS_HEADER = "query-id\tcorpus-id\tscore"
_QUESTION_FIELDS = ("id", "question", "documents", "answer", "kind")
# int() would also take "+1", " 1" and "1_0"; a qrels score is plain digits.
_SCORE = re.compile(r"-?\d+")


class DatasetError(ValueError):
    """Bad input in a dataset file; the message reads ``file:line: reason``."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Question:
    """One evaluation question; ``documents`` are the ids of the relevant units.

    ``answer`` is a string a correct passage must contain, or None when
    relevance is judged by document alone.
    """

    id: str
    question: str
    documents: tuple[str, ...]
    answer: str | None
    kind: str


@dataclass(frozen=True)
class BeirDataset:
    """A BEIR folder in memory, in the three dicts BEIR's own loader returns.

    ``query_metadata`` keeps each query's optional ``metadata`` object apart,
    so ``queries`` stays the plain id → text dict other IR tools expect.
    """

    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    query_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, text without its line break), decoding line by line to name a bad byte's line."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DatasetError(path, None, "no such file") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DatasetError(path, number, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
            if number == 1:
                text = text.removeprefix("\ufeff")  # editors on Windows save a BOM
            yield number, text.rstrip("\r\n")


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; a hand-edited line with two "answer"s is a mistake.
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of a JSONL file."""
    for number, text in _lines(path):
        if not text.strip():
            continue  # a trailing blank line is an editor's habit, not data
        try:
            obj = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            raise DatasetError(path, number, f"invalid JSON: {exc.msg} at column {exc.colno}") from None
        except _DuplicateKey as exc:
            raise DatasetError(path, number, f"field {exc.args[0]!r} appears twice") from None
        if not isinstance(obj, dict):
            raise DatasetError(path, number, f"expected a JSON object, got {type(obj).__name__}")
        yield number, obj


def _text(obj: dict[str, Any], key: str, path: Path, line: int, *, empty_ok: bool = False) -> str:
    """The string field ``key``, checked for presence, type and (unless ``empty_ok``) visible text."""
    if key not in obj:
        raise DatasetError(path, line, f"missing field {key!r}")
    value = obj[key]
    if not isinstance(value, str):
        raise DatasetError(path, line, f"field {key!r} must be a string, got {type(value).__name__}")
    if not empty_ok and not value.strip():
        raise DatasetError(path, line, f"field {key!r} is empty")
    return value


def _documents(obj: dict[str, Any], path: Path, line: int) -> tuple[str, ...]:
    value = obj["documents"]
    if not isinstance(value, list) or not all(isinstance(d, str) and d.strip() for d in value):
        raise DatasetError(path, line, f"field 'documents' must be a list of non-empty strings, got {value!r}")
    if not value:
        raise DatasetError(path, line, "field 'documents' is empty; a question needs at least one relevant document")
    if len(set(value)) != len(value):
        # A repeat would count one document twice in recall's denominator.
        raise DatasetError(path, line, f"field 'documents' lists a document twice: {value!r}")
    return tuple(value)


def _question(obj: dict[str, Any], path: Path, line: int) -> Question:
    missing = [key for key in _QUESTION_FIELDS if key not in obj]
    if missing:
        raise DatasetError(path, line, f"missing field {', '.join(map(repr, missing))}")
    answer = obj["answer"]
    if answer is not None and (not isinstance(answer, str) or not answer.strip()):
        # An empty answer would be found in every passage.
        raise DatasetError(path, line, f"field 'answer' must be a non-empty string or null, got {answer!r}")
    return Question(
        id=_text(obj, "id", path, line),
        question=_text(obj, "question", path, line),
        documents=_documents(obj, path, line),
        answer=answer,
        kind=_text(obj, "kind", path, line),
    )


def load_questions(path: Path | str) -> list[Question]:
    """Read tracuu's question JSONL: one object per line with id, question, documents, answer, kind.

    Extra fields are ignored so a file can carry notes. Blank lines are skipped.

    Raises:
        DatasetError: ``file:line: reason`` for invalid JSON, a missing field,
            a field of the wrong type, an empty question or a repeated id.
    """
    path = Path(path)
    questions: list[Question] = []
    first_seen: dict[str, int] = {}
    for line, obj in _json_objects(path):
        question = _question(obj, path, line)
        if question.id in first_seen:
            raise DatasetError(path, line, f"duplicate id {question.id!r} (first on line {first_seen[question.id]})")
        first_seen[question.id] = line
        questions.append(question)
    return questions


def _unique_id(obj: dict[str, Any], seen: dict[str, int], path: Path, line: int) -> str:
    """The record's ``_id``, refused when an earlier line already used it."""
    record_id = _text(obj, "_id", path, line)
    if record_id in seen:
        raise DatasetError(path, line, f"duplicate _id {record_id!r} (first on line {seen[record_id]})")
    seen[record_id] = line
    return record_id


def _load_corpus(path: Path) -> dict[str, dict[str, str]]:
    corpus: dict[str, dict[str, str]] = {}
    seen: dict[str, int] = {}
    for line, obj in _json_objects(path):
        doc_id = _unique_id(obj, seen, path, line)
        # BEIR corpora hold documents whose text is empty and whose title says it all.
        text = _text(obj, "text", path, line, empty_ok=True)
        title = _text(obj, "title", path, line, empty_ok=True) if "title" in obj else ""
        corpus[doc_id] = {"title": title, "text": text}
    return corpus


def _load_queries(path: Path) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    queries: dict[str, str] = {}
    metadata: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for line, obj in _json_objects(path):
        query_id = _unique_id(obj, seen, path, line)
        queries[query_id] = _text(obj, "text", path, line)
        meta = obj.get("metadata", {})
        if not isinstance(meta, dict):
            raise DatasetError(path, line, f"field 'metadata' must be an object, got {type(meta).__name__}")
        metadata[query_id] = meta
    return queries, metadata


def _qrel_row(text: str, path: Path, line: int) -> tuple[str, str, int]:
    parts = text.split("\t")
    if len(parts) != 3:
        raise DatasetError(path, line, f"expected 3 tab-separated columns, got {len(parts)}: {text!r}")
    query_id, doc_id, score = parts
    if not _SCORE.fullmatch(score.strip()):
        raise DatasetError(path, line, f"score must be an integer, got {score!r}")
    return query_id, doc_id, int(score)


def _load_qrels(path: Path, queries: dict[str, str], corpus: dict[str, Any]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    lines = _lines(path)
    header = next(lines, None)
    if header is None or header[1] != QRELS_HEADER:
        got = "an empty file" if header is None else repr(header[1])
        raise DatasetError(path, 1, f"expected the header {QRELS_HEADER!r}, got {got}")
    for line, text in lines:
        if not text.strip():
            continue
        query_id, doc_id, score = _qrel_row(text, path, line)
        if query_id not in queries:
            raise DatasetError(path, line, f"unknown query id {query_id!r} (not in queries.jsonl)")
        if doc_id not in corpus:
            raise DatasetError(path, line, f"unknown corpus id {doc_id!r} (not in corpus.jsonl)")
        judged = qrels.setdefault(query_id, {})
        if doc_id in judged:
            raise DatasetError(path, line, f"query {query_id!r} judges document {doc_id!r} twice")
        judged[doc_id] = score
    return qrels


def load_beir(folder: Path | str, split: str = "train") -> BeirDataset:
    """Read a BEIR folder: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.

    Corpus and query lines need ``_id`` and ``text``; a corpus ``title`` is
    optional and a query may carry a ``metadata`` object. The qrels file starts
    with the header ``query-id<TAB>corpus-id<TAB>score`` and its scores are
    integers. Unlike BEIR's loader, a qrel that names an unknown query or
    document is an error rather than a judgement that can never be met.

    Raises:
        DatasetError: ``file:line: reason`` for the first bad line, or
            ``file: reason`` when a file is missing.
    """
    folder = Path(folder)
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        splits = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        raise DatasetError(qrels_path, None, f"no such file (splits in this folder: {splits or 'none'})")
    corpus = _load_corpus(folder / "corpus.jsonl")
    queries, metadata = _load_queries(folder / "queries.jsonl")
    qrels = _load_qrels(qrels_path, queries, corpus)
    return BeirDataset(corpus=corpus, queries=queries, qrels=qrels, query_metadata=metadata)


def beir_to_questions(ds: BeirDataset) -> list[Question]:
    """One :class:`Question` per query with at least one qrel scored above 0, in queries.jsonl order.

    A query with no relevant document would score 0 whatever the retriever
    does, so it is left out rather than counted. ``kind`` is the query's
    metadata ``type`` (ALQAC: "Đúng/Sai", "Trắc nghiệm", "Tự luận") so the
    report can split by it, or ``"beir"`` when there is none.
    """
    questions = []
    for query_id, text in ds.queries.items():
        relevant = tuple(doc for doc, score in ds.qrels.get(query_id, {}).items() if score > 0)
        if not relevant:
            continue
        kind = ds.query_metadata.get(query_id, {}).get("type")
        questions.append(Question(
            id=query_id,
            question=text,
            documents=relevant,
            answer=None,
            kind=kind if isinstance(kind, str) and kind.strip() else "beir",
        ))
    return questions
