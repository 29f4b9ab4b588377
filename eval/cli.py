"""``tracuu eval``: every configuration and the baseline on one question set, in one command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.paths import REPO_ROOT
from index.search import MODES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from eval.datasets import Question

    SearchFn = Callable[[str], list[tuple[str, str]]]

    from eval.metrics import QueryResult
    from eval.runner import Config
    from eval.similar_eval import SimilarCase
    from eval.suites import Suite
    from index.encoders import Embedder



def summarise(results: list[QueryResult]) -> dict[str, Any]:
    from eval.metrics import aggregate, aggregate_by_kind

    return {"overall": aggregate(results), "by_kind": aggregate_by_kind(results)}


def evaluate(suite: Suite, configs: list[Config], cache: Path, with_baseline: bool = True,
             embedder: Embedder | None = None, similar_cases: list[SimilarCase] | None = None) -> dict[str, Any]:
    """Metrics per configuration name (and the similar-directives set where given); the baseline last."""
    from eval.baseline import BaselineIndex, baseline_search
    from eval.report import BASELINE
    from eval.runner import EVAL_K, open_collection, run_questions, tracuu_answer, tracuu_search
    from eval.similar_eval import evaluate_similar

    runs: dict[str, Any] = {}
    for config in progress(configs, "configurations"):
        collection = open_collection(cache, suite.corpus, config, embedder)
        search = tracuu_search(collection, suite.corpus, config.mode)
        by_document = tracuu_search(collection, suite.corpus, config.mode, collapse=True) if config.collapse else None
        answer = tracuu_answer(collection, suite.corpus, config.mode)
        runs[config.name] = summarise(run_questions(suite.questions, search, answer, by_document))
        if config is configs[0]:
            runs[config.name]["accent_free"] = accent_free(suite.questions, search, by_document)
        if similar_cases:
            searcher = collection.searcher()
            texts = {d.id: view.text for d in searcher.documents if (view := collection.store.document_view(d.id))}
            runs[config.name]["similar"] = evaluate_similar(searcher, texts, similar_cases)
        collection.store.close()
    if with_baseline:
        index = BaselineIndex(suite.corpus.files)
        runs[BASELINE] = summarise(run_questions(suite.questions, baseline_search(index, suite.corpus.unit, EVAL_K)))
    return runs


def accent_free(questions: list[Question], search: SearchFn, by_document: SearchFn | None) -> dict[str, Any]:
    """The accented questions as typed and with every diacritic stripped: what typing without accents costs."""
    from eval.metrics import aggregate
    from eval.runner import run_questions
    from index.textnorm import fold_diacritics, has_diacritics

    accented = [q for q in questions if has_diacritics(q.question)]
    stripped = [replace(q, question=fold_diacritics(q.question)) for q in accented]
    return {"n": len(accented), "accented": aggregate(run_questions(accented, search, None, by_document)),
            "stripped": aggregate(run_questions(stripped, search, None, by_document))}


def progress(items: list[Config], what: str) -> Iterator[Config]:
    """A progress bar on stderr (tqdm) over the configurations, each of which may build an index."""
    from tqdm import tqdm

    yield from tqdm(items, desc=what, unit="config", file=sys.stderr, disable=not sys.stderr.isatty())


def cmd_eval_indicators(args: argparse.Namespace) -> int:
    """Extractor precision/recall by document; writes eval/reports/indicators.md and .json."""
    from corpus.pipeline import parse_path
    from eval.indicator_eval import load_labelled, markdown, score_document, total
    from eval.suites import DOCUMENTS

    labelled = load_labelled()
    scores = []
    for path in sorted(DOCUMENTS.glob("*.txt")):
        doc = parse_path(path)
        scores.append(score_document(path.name, doc.indicators, [r for r in labelled if r["document"] == path.name]))
    folder = Path(args.reports)
    folder.mkdir(parents=True, exist_ok=True)
    table = markdown(scores)
    (folder / "indicators.md").write_text(table, encoding="utf-8")
    overall = total(scores)
    summary = {"precision": overall.precision, "recall": overall.recall, "predicted": overall.predicted,
               "labelled": overall.labelled, "matched": overall.matched,
               "by_document": {s.document: {"precision": s.precision, "recall": s.recall} for s in scores}}
    (folder / "indicators.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.json:
        json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(table)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.dataset == "indicators":
        return cmd_eval_indicators(args)
    from eval.report import write_reports
    from eval.runner import EVAL_K, ablations
    from eval.suites import SuiteUnavailable, load_suite

    try:
        suite = load_suite(args.dataset)
    except SuiteUnavailable as exc:
        print(f"tracuu eval: {exc}", file=sys.stderr)
        return 2
    mode = args.mode
    notes = [f"{len(suite.questions)} questions over {len(suite.corpus.files)} documents; top {EVAL_K} passages"]
    embedder = None
    if mode != "lexical":
        from index.encoders import load_embedder

        embedder, status = load_embedder(os.environ.get("TRACUU_EMBED_MODEL"))
        if embedder is None:
            notes.append(f"mode {mode} asked, but {status['reason']}: every tracuu run is lexical-only")
            mode = "lexical"
        else:
            notes.append(f"encoder: {status['model']} ({status['package']} {status['version']}"
                         f"{', ' + status['quantisation'] if 'quantisation' in status else ''})")
    if args.grid:
        return cmd_fusion_grid(suite, Path(args.cache), Path(args.reports), embedder)
    configs = ablations(mode) if args.ablations else ablations(mode)[:1]
    cases = None
    if suite.name == "dev-distractors":
        from eval.similar_eval import load_cases

        cases = load_cases()
    runs = evaluate(suite, configs, Path(args.cache), not args.no_baseline, embedder, cases)
    paths = write_reports(suite.name, runs, notes, Path(args.reports))
    if args.json:
        json.dump({name: run["overall"] for name, run in runs.items()}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(paths[0].read_text(encoding="utf-8"))
    print("reports: " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


def cmd_fusion_grid(suite: Suite, cache: Path, reports: Path, embedder: Embedder | None) -> int:
    """Every fusion setting on one collection; the table goes to ``{suite}-fusion.md`` and ``.json``."""
    from eval.fusion import fusion_grid, grid_markdown
    from eval.runner import Config, open_collection

    if embedder is None:
        print("tracuu eval --grid: fusion needs an encoder (TRACUU_EMBED_MODEL is none)", file=sys.stderr)
        return 2
    collection = open_collection(cache, suite.corpus, Config("tracuu", mode="hybrid"), embedder)
    rows = fusion_grid(collection.searcher(), suite.corpus, suite.questions)
    reports.mkdir(parents=True, exist_ok=True)
    title = f"# Fusion grid — {suite.name}\n\n{len(suite.questions)} questions; top 10 passages\n\n"
    table = title + grid_markdown(rows)
    (reports / f"{suite.name}-fusion.md").write_text(table, encoding="utf-8")
    (reports / f"{suite.name}-fusion.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print(table)
    return 0


def add_eval_parser(sub: Any) -> None:
    e = sub.add_parser("eval", help="measure retrieval quality on a question set")
    e.add_argument("--dataset", default="dev",
                   help="dev, dev-distractors, holdout, holdout3, holdout4, alqac, indicators, a BEIR folder or a "
                        ".jsonl file")
    e.add_argument("--mode", default="hybrid", choices=MODES)
    e.add_argument("--json", action="store_true")
    e.add_argument("--ablations", action=argparse.BooleanOptionalAction, default=True)
    e.add_argument("--no-baseline", action="store_true")
    e.add_argument("--grid", action="store_true", help="measure every fusion setting (RRF k, weights) instead")
    e.add_argument("--cache", default=str(REPO_ROOT / "var" / "eval"))
    e.add_argument("--reports", default=str(REPO_ROOT / "var" / "reports"),
                   help="where the reports go (default var/reports, untracked); `make eval` passes eval/reports, "
                        "the committed ones")
    e.set_defaults(func=cmd_eval)
