"""Run question sets through the same search code the API serves, per configuration.

A configuration is a set of build settings and search options; the ablations
switch off one retrieval feature each, so the report shows what each is worth.
The baseline is the pipeline a user would otherwise assemble by hand:
RecursiveCharacterTextSplitter(1000, 200) over the raw text and bm25s with its
default tokenisation.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from eval.datasets import Question
from eval.metrics import QueryResult, contains_answer
from index.collection import BuildSettings, Collection
from index.encoders import Embedder
from index.folder import FORMAT_VERSION, STORE_NAME
from index.search import Mode, SearchHit, SearchOptions
from index.store import ChunkStore
from index.textnorm import TokenizerOptions

EVAL_K = 10


@dataclass(frozen=True)
class EvalCorpus:
    """The files to index and how a hit's document source maps to the dataset's relevance units."""

    name: str
    files: Sequence[tuple[str, bytes]]
    unit_of_source: dict[str, str] = field(default_factory=dict)

    def unit(self, source: str) -> str:
        return self.unit_of_source.get(source, source)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for source, data in self.files:
            digest.update(source.encode())
            digest.update(hashlib.sha256(data).digest())
        return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Config:
    name: str
    build: BuildSettings = field(default_factory=BuildSettings)
    search: SearchOptions = field(default_factory=SearchOptions)
    mode: Mode = "lexical"
    collapse: bool = True  # questions judged by document (cross-province) get one passage per document


COLLAPSED_KINDS = frozenset({"cross_province"})  # "which places decided X": answered by documents


def ablations(mode: Mode = "lexical") -> list[Config]:
    """The full pipeline, then the same with one feature switched off (and, with an encoder, each leg alone)."""
    full = Config("tracuu", mode=mode)

    def without(name: str, **tokenizer: bool) -> Config:
        options = replace(TokenizerOptions(), **tokenizer)
        return Config(f"- {name}", BuildSettings(tokenizer=options), SearchOptions(tokenizer=options), mode)

    legs = [Config("lexical only", mode="lexical"), Config("dense only", mode="dense"),
            Config("- diacritic restoration", search=SearchOptions(restore_diacritics=False), mode=mode),
            Config("- measured fusion (RRF k 60, equal weights)",
                   search=replace(SearchOptions(), rrf_k=60, dense_weight=1.0, adaptive=False), mode=mode),
            Config("- collapse", mode=mode, collapse=False)] if mode != "lexical" else []
    # Without context headers the encoder reads other texts: in an encoder run that ablation is measured on the
    # lexical leg only, rather than encoding the whole collection a second time.
    headers = Config("- context headers" + (" (lexical)" if mode != "lexical" else ""),
                     BuildSettings(context_headers=False), mode="lexical")
    return [
        full, *legs,
        without("word segmentation", segment_words=False),
        without("diacritic folding", fold=False),
        without("abbreviation expansion", expand_abbreviations=False),
        headers,
        Config("- glossary (everyday, chat and English terms)", search=SearchOptions(glossary=False), mode=mode),
        Config("- query understanding", search=SearchOptions(boosts=None), mode=mode),
    ]


def _index_dir(cache: Path, corpus: EvalCorpus, config: Config, encoder: str) -> Path:
    key = json.dumps({"build": asdict(config.build), "corpus": corpus.fingerprint(), "format": FORMAT_VERSION,
                      "encoder": encoder}, sort_keys=True, default=str)
    return cache / corpus.name / hashlib.sha256(key.encode()).hexdigest()[:12]


def seed_embeddings(store: Path, siblings: Path) -> None:
    """Copy stored embeddings from the other indexes of this corpus: an ablation that leaves the encoder's text
    alone (tokenizer, boosts) then encodes nothing (embeddings are keyed by text hash and encoder)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(store)) as db:
        for other in sorted(siblings.glob("*/store.sqlite")):
            if other != store:
                db.execute("ATTACH DATABASE ? AS donor", (str(other),))
                db.execute("INSERT OR IGNORE INTO embeddings SELECT * FROM donor.embeddings")
                db.commit()
                db.execute("DETACH DATABASE donor")


def open_collection(cache: Path, corpus: EvalCorpus, config: Config, embedder: Embedder | None = None) -> Collection:
    """Build the index a configuration needs, or reuse the one a previous run left."""
    embedder = embedder if config.mode != "lexical" else None
    directory = _index_dir(cache, corpus, config, embedder.info.vector_key if embedder else "none")
    if embedder is not None and not (directory / STORE_NAME).exists():
        ChunkStore(directory / STORE_NAME).close()  # the schema, so the embeddings can be copied in
        seed_embeddings(directory / STORE_NAME, directory.parent)
    status = {"status": "ok", "model": embedder.info.model} if embedder else None
    collection = Collection.open(directory, config.build, config.search, embedder, status)
    if collection.store.counts()[0] < len(corpus.files):
        collection.ingest(corpus.files)
    return collection


def judge(hits_units: Sequence[tuple[str, str]], question: Question) -> tuple[list[str | None], bool | None]:
    """Map (unit, passage text) results to relevance units; a passage must hold the answer when one is given."""
    relevant = set(question.documents)
    ranked: list[str | None] = []
    for unit, text in hits_units:
        ok = unit in relevant and (question.answer is None or contains_answer(text, question.answer))
        ranked.append(unit if ok else None)
    answer_found = None
    if question.answer is not None:
        answer_found = any(r is not None for r in ranked[:5])
    return ranked, answer_found


Answerer = Callable[[str], "tuple[str, str] | None"]  # question -> (unit, quoted text) of the answer


def run_questions(
    questions: Sequence[Question],
    search: Callable[[str], list[tuple[str, str]]],
    answer: Answerer | None = None,
    by_document: Callable[[str], list[tuple[str, str]]] | None = None,
) -> list[QueryResult]:
    """Time and judge each question; ``search`` returns (unit, passage text) best first.

    With ``answer`` (the /ask path), a question that has an expected figure is
    also judged on whether the extractive answer quotes it from a relevant document.
    ``by_document`` (one passage per document) answers the kinds in :data:`COLLAPSED_KINDS`.
    """
    results = []
    for question in questions:
        started = time.perf_counter()
        searcher = by_document if by_document is not None and question.kind in COLLAPSED_KINDS else search
        hits = searcher(question.question)
        latency = (time.perf_counter() - started) * 1000
        ranked, answer_found = judge(hits, question)
        correct = None
        if answer is not None and question.answer is not None:
            given = answer(question.question)
            correct = bool(given and given[0] in question.documents and contains_answer(given[1], question.answer))
        results.append(QueryResult(question.id, question.kind, tuple(ranked), frozenset(question.documents),
                                   latency, answer_found, correct))
    return results


def tracuu_search(collection: Collection, corpus: EvalCorpus, mode: Mode,
                  collapse: bool = False) -> Callable[[str], list[tuple[str, str]]]:
    searcher = collection.searcher()

    def search(query: str) -> list[tuple[str, str]]:
        hits: list[SearchHit] = searcher.search(query, EVAL_K, mode=mode, collapse=collapse)
        return [(corpus.unit(h.document.source), h.chunk.text) for h in hits]

    return search


def tracuu_answer(collection: Collection, corpus: EvalCorpus, mode: Mode) -> Answerer:
    """The same retrieval and extraction /ask serves; returns the cited document and quote."""
    from answering.extractive import answer_question

    searcher = collection.searcher()

    def answer(question: str) -> tuple[str, str] | None:
        result = answer_question(searcher, question, searcher.search(question, EVAL_K, mode=mode))
        if result.text is None or not result.citations:
            return None
        cited = result.citations[0]
        return corpus.unit(cited.hit.document.source), cited.quote

    return answer
