"""``/ask`` judged as an analyst would: right, wrong or no answer — wrong answers first.

A confident wrong figure ends up in a report, so the wrong-answer rate is the
first column everywhere. An answer is *right* when its first citation quotes a
relevant document and contains the expected answer (:func:`eval.metrics.contains_answer`);
a question judged by document alone (``answer: null``, "which places …") is right
when every cited document is relevant. For a question no document answers
(``documents: []``) every answer is wrong. The calibration table says what a
confidence means: precision of the answers at or above each threshold.

Run ``python -m eval.answers`` to write ``eval/reports/answers.{md,json,png}``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.datasets import Question
from eval.metrics import contains_answer
from eval.paths import REPO_ROOT
from eval.runner import EVAL_K, Config, EvalCorpus, open_collection
from index.collection import Collection
from index.search import Mode

QUESTIONS = REPO_ROOT / "eval" / "questions"
THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
MAX_WRONG_SHARE = 0.02  # of answered questions, at the chosen threshold
VERDICTS = ("wrong", "right", "none")


@dataclass(frozen=True)
class Outcome:
    """One question's /ask answer and its verdict."""

    id: str
    set: str
    kind: str
    verdict: str  # right | wrong | none
    confidence: float
    answer: str | None
    cited: tuple[str, ...]  # relevance units of the citations, in order
    quote: str
    reason: str | None
    message: str | None
    context: str | None


def load_answer_questions(path: Path) -> list[Question]:
    """Question JSONL where ``documents`` may be empty (unanswerable); the dev loader refuses that on purpose."""
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            questions.append(Question(row["id"], row["question"], tuple(row["documents"]), row["answer"], row["kind"]))
    return questions


def set_of(question: Question) -> str:
    """The question set, from the id prefix; holdout questions split by whether any document answers them."""
    prefix = question.id.rsplit("-", 1)[0]
    if prefix == "hold":
        return "holdout" if question.documents else "holdout-unanswerable"
    if prefix == "holdout3":
        return prefix if question.documents else f"{prefix}-unanswerable"
    return {"unans": "unanswerable"}.get(prefix, prefix)


_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")


def judge(question: Question, cited: Sequence[tuple[str, str]], text: str | None = None) -> str:
    """right / wrong / none for (unit, quote) citations of an answer (none when nothing was answered).

    The quote must hold the expected answer and, when the answer ``text`` is given, that text (the figure a
    user reads first) must hold every number of it: "đạt 55 triệu USD" quoted from "… đạt 55 triệu USD, tăng
    13,17% …" does not answer "tăng bao nhiêu phần trăm".
    """
    if not cited:
        return "none"
    if not question.documents:
        return "wrong"
    relevant = set(question.documents)
    if question.answer is None:
        return "right" if all(unit in relevant for unit, _ in cited) else "wrong"
    unit, quote = cited[0]
    numbers = [n for n in _FIGURE.findall(question.answer) if not re.fullmatch(r"(?:19|20)\d\d", n)]  # not years
    shown = text is None or all(n in re.sub(r"\s+", "", text) for n in numbers)
    return "right" if unit in relevant and contains_answer(quote, question.answer) and shown else "wrong"


def ask(collection: Collection, corpus: EvalCorpus | None, question: Question,
        min_confidence: float | None = None) -> Outcome:
    """What ``POST /ask`` does in extractive mode: parse once, hybrid search (k 10), answer."""
    from answering.extractive import answer_question

    searcher = collection.searcher()
    query = searcher.parse(question.question)
    answer = answer_question(searcher, query, searcher.search(query, EVAL_K), min_confidence=min_confidence)
    unit = corpus.unit if corpus is not None else (lambda source: source)
    cited = [(unit(c.hit.document.source), c.quote) for c in answer.citations] if answer.text is not None else []
    verdict = judge(question, cited, answer.text)
    return Outcome(question.id, set_of(question), question.kind, verdict, float(answer.confidence),
                   answer.text, tuple(u for u, _ in cited), cited[0][1] if cited else "",
                   getattr(answer, "reason", None), getattr(answer, "message", None),
                   getattr(answer, "context_text", None))


def _counts(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    n = len(outcomes)
    counts = {v: sum(o.verdict == v for o in outcomes) for v in VERDICTS}
    return {"n": n, **counts, **{f"{v}_rate": (counts[v] / n if n else 0.0) for v in VERDICTS}}


def table(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Counts and rates per set and per (set, kind)."""
    by_set: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_set.setdefault(o.set, []).append(o)
    out: dict[str, Any] = {}
    for name, rows in by_set.items():
        kinds: dict[str, list[Outcome]] = {}
        for o in rows:
            kinds.setdefault(o.kind, []).append(o)
        out[name] = {"overall": _counts(rows), "by_kind": {k: _counts(v) for k, v in sorted(kinds.items())}}
    return out


def calibration(outcomes: Iterable[Outcome], thresholds: Sequence[float] = THRESHOLDS) -> dict[str, Any]:
    """Precision of the answers at or above each confidence, and the lowest threshold keeping wrong ≤ 2 %."""
    answered = [o for o in outcomes if o.verdict != "none"]
    rows = []
    for t in thresholds:
        kept = [o for o in answered if o.confidence >= t]
        right = sum(o.verdict == "right" for o in kept)
        rows.append({"threshold": t, "answered": len(kept), "right": right, "wrong": len(kept) - right,
                     "precision": right / len(kept) if kept else 1.0})
    ok = [r["threshold"] for r in rows if r["wrong"] <= MAX_WRONG_SHARE * max(1, r["answered"])]
    return {"rows": rows, "chosen": min(ok) if ok else None, "max_wrong_share": MAX_WRONG_SHARE}


def evaluate_answers(collection: Collection, questions: Sequence[Question], corpus: EvalCorpus | None = None,
                     progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Ask every question; the verdict tables per set and kind, the calibration, and every outcome.

    The calibration needs the answers the threshold turned away: those questions (refused as off topic) are
    asked again with no threshold, and the curve is drawn over both. The holdout set only reports.
    """
    started = time.perf_counter()
    outcomes = []
    for i, question in enumerate(questions):
        outcomes.append(ask(collection, corpus, question))
        if progress is not None:
            progress(i)
    took = time.perf_counter() - started
    by_id = {q.id: q for q in questions}
    raw = [ask(collection, corpus, by_id[o.id], 0.0) if o.reason == "off_topic" else o
           for o in outcomes if not o.set.startswith("holdout")]
    return {"tables": table(outcomes), "calibration": calibration(raw),
            "ms_per_question": 1000 * took / max(1, len(questions)),
            "outcomes": [o.__dict__ for o in outcomes]}


def _rate_row(label: str, c: dict[str, Any]) -> str:
    return (f"| {label} | {c['n']} | {c['wrong_rate']:.3f} ({c['wrong']}) | {c['right_rate']:.3f} ({c['right']}) "
            f"| {c['none_rate']:.3f} ({c['none']}) |")


def answers_markdown(reports: dict[str, dict[str, Any]], title: str = "/ask — right, wrong, no answer") -> str:
    """One verdict table per collection and set (sets, then kinds), then the calibration tables."""
    lines = [f"# {title}", ""]
    head = ["| set / kind | n | wrong | right | no answer |", "|---|---|---|---|---|"]
    for collection_name, report in reports.items():
        lines += [f"## {collection_name}", "", *head]
        for name, t in report["tables"].items():
            lines.append(_rate_row(f"**{name}**", t["overall"]))
            lines += [_rate_row(f"{name} · {k}", c) for k, c in t["by_kind"].items()]
        cal = report["calibration"]
        lines += ["", f"Calibration ({collection_name}, all sets; wrong ≤ {cal['max_wrong_share']:.0%} of answered "
                  f"from threshold **{cal['chosen']}**):", "",
                  "| confidence ≥ | answered | right | wrong | precision |", "|---|---|---|---|---|"]
        lines += [f"| {r['threshold']:.2f} | {r['answered']} | {r['right']} | {r['wrong']} | {r['precision']:.3f} |"
                  for r in cal["rows"]]
        lines += ["", f"{report['ms_per_question']:.0f} ms per question", ""]
    return "\n".join(lines) + "\n"


def calibration_chart(reports: dict[str, dict[str, Any]], path: Path) -> None:
    """Precision and answered share against the confidence threshold, one line per collection."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, report in reports.items():
        rows = report["calibration"]["rows"]
        xs = [r["threshold"] for r in rows]
        ax.plot(xs, [r["precision"] for r in rows], marker="o", label=f"precision — {name}")
        total = max(1, rows[0]["answered"])
        ax.plot(xs, [r["answered"] / total for r in rows], linestyle="--", label=f"answered (share of ≥0.5) — {name}")
    ax.axhline(1 - MAX_WRONG_SHARE, color="grey", linewidth=0.8, label="98 % precision")
    ax.set_xlabel("confidence threshold")
    ax.set_ylim(0.5, 1.02)
    ax.set_title("/ask calibration")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def question_sets() -> list[Question]:
    """Dev and user questions (answerable), the unanswerable set, and the holdout (untouched by tuning)."""
    files = ("dev.jsonl", "user.jsonl", "unanswerable.jsonl", "answers-holdout.jsonl", "holdout2.jsonl",
             "holdout3.jsonl", "holdout3-unanswerable.jsonl", "holdout4.jsonl")
    return [q for name in files if (QUESTIONS / name).is_file() for q in load_answer_questions(QUESTIONS / name)]


def line_dataset(collection: Collection, questions: Sequence[Question], lexical: bool = False) -> list[dict[str, Any]]:
    """Per question that reaches the line scorer: each candidate's features and whether it holds the answer.

    This is what :data:`answering.score.WEIGHTS_DENSE` and ``WEIGHTS_LEXICAL`` were fitted on (dev and user
    questions, the unanswerable ones for the calibration; never the holdout). ``lexical`` scores without the
    encoder's similarity, as a collection without one does.
    """
    from answering.asked import Asked
    from answering.choose import MAX_PASSAGES, _given, _of_the_kind, of_the_year, rank_lines, scoped_hits
    from answering.lines import candidate_lines
    from answering.listing import wants_list
    from answering.metadata import asked_field
    from answering.scope import scope_of

    searcher = collection.searcher()
    rows = []
    for question in questions:
        query, scope = searcher.parse(question.question), scope_of(searcher, question.question)
        if scope.refusal or asked_field(question.question) or wants_list(query, scope):
            continue
        hits = scoped_hits(searcher, query, searcher.search(query, EVAL_K), scope)
        asked = Asked(query, scope.places)
        lines = _of_the_kind(searcher, asked, of_the_year(candidate_lines(hits, scope.documents, MAX_PASSAGES),
                                                           scope.years))
        if lines:
            features, _, _ = rank_lines(searcher, query, lines, asked, use_encoder=not lexical)
            labels = [bool(question.documents) and line.hit.document.source in question.documents
                      and (question.answer is None or contains_answer(line.text, question.answer)) for line in lines]
            given = [_given(searcher, asked, line) for line in lines]  # lines that agree are not rivals
            rows.append({"id": question.id, "X": features, "y": labels, "given": given})
    return rows


def fit_weights(rows: Sequence[dict[str, Any]], drop: Sequence[str] = (), steps: int = 2000) -> dict[str, Any]:
    """Softmax over each answerable question's candidates (L2 0.02), then a logistic calibration of the best
    line's score and margin against whether it was right (unanswerable questions: never)."""
    import numpy as np

    from answering.score import FEATURES

    keep = [i for i, name in enumerate(FEATURES) if name not in drop]
    tuned = [r for r in rows if not r["id"].startswith("hold")]
    train = [(r["X"][:, keep], np.array(r["y"])) for r in tuned if r["id"][:5] != "unans" and any(r["y"])]
    w = np.zeros(len(keep))
    for _ in range(steps):
        grad = 0.04 * w
        for x, y in train:
            p = np.exp(x @ w - (x @ w).max())
            p /= p.sum()
            grad -= ((p * y / max(p[y].sum(), 1e-12)) - p) @ x / len(train)
        w -= 0.5 * grad
    leads = [_lead(r["X"][:, keep] @ w, r["given"]) for r in tuned]
    a = np.array([[s.max(), 1.0 if lead is None else lead, 1.0]
                  for r, lead in zip(tuned, leads, strict=True) for s in [r["X"][:, keep] @ w]])
    ok = np.array([float(r["y"][int(np.argmax(r["X"][:, keep] @ w))]) for r in tuned])
    v = np.zeros(3)
    for _ in range(5000):
        v -= 0.5 * (a.T @ (1 / (1 + np.exp(-(a @ v))) - ok) / len(ok) + 0.001 * v)
    weights = dict.fromkeys(FEATURES, 0.0) | {FEATURES[i]: round(float(w[j]), 3) for j, i in enumerate(keep)}
    return {"weights": weights, "calibration": tuple(round(float(x), 3) for x in v)}


def _lead(scored: Any, given: Sequence[str]) -> float | None:
    """The served margin (answering.score.margin) of a question's best line over the lines giving another answer."""
    import numpy as np

    from answering.score import margin

    best = int(np.argmax(scored))
    return margin(scored, best, np.array([g != given[best] for g in given], dtype=bool))


def lone_line_logit(rows: Sequence[dict[str, Any]], dense: bool) -> list[tuple[float, float, int, int]]:
    """(extra log-odds, log-likelihood, answered, answered wrongly) for the lines no other candidate contradicts,
    with the calibration's (a, b, c) fixed: what :data:`answering.score.LONE_LINE` was chosen from."""
    import math

    import numpy as np

    from answering.choose import threshold
    from answering.score import CALIBRATION_DENSE, CALIBRATION_LEXICAL, scores

    a, b, c = CALIBRATION_DENSE if dense else CALIBRATION_LEXICAL
    lone = []
    for row in (r for r in rows if not r["id"].startswith("hold")):
        s = scores(row["X"], dense)
        best = int(np.argmax(s))
        if _lead(s, row["given"]) is None:
            lone.append((a * float(s[best]) + b + c, float(row["y"][best])))
    table = []
    for extra in np.arange(0.0, 3.01, 0.25):
        p = [1 / (1 + math.exp(-(z + extra))) for z, _ in lone]
        loglik = sum(y * math.log(q) + (1 - y) * math.log(1 - q) for (_, y), q in zip(lone, p, strict=True))
        answered = [y for (_, y), q in zip(lone, p, strict=True) if q >= threshold(dense)]
        table.append((float(extra), round(loglik, 2), len(answered), int(len(answered) - sum(answered))))
    return table


RUNS: tuple[tuple[str, Mode], ...] = (("dev", "hybrid"), ("dev-distractors", "hybrid"), ("dev", "lexical"))


def run(cache: Path = Path("var/eval"), out: Path = REPO_ROOT / "eval" / "reports",
        runs: Sequence[tuple[str, Mode]] = RUNS, stem: str = "answers") -> dict[str, Any]:
    """Each (suite, mode): the 5 seeds and the 182 documents with the bundled encoder, and the seeds without one
    (the lexical-only path is stricter); markdown, JSON and the calibration chart."""
    from eval.suites import load_suite
    from index.encoders import load_embedder

    embedder, _ = load_embedder(None)
    questions = question_sets()
    reports = {}
    for name, mode in runs:
        corpus = load_suite(name).corpus
        collection = open_collection(cache, corpus, Config("tracuu", mode=mode), embedder)
        try:
            reports[name if mode == "hybrid" else f"{name} ({mode})"] = evaluate_answers(collection, questions, corpus)
        finally:
            collection.store.close()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.md").write_text(answers_markdown(reports), encoding="utf-8")
    (out / f"{stem}.json").write_text(json.dumps(reports, ensure_ascii=False, indent=1), encoding="utf-8")
    calibration_chart(reports, out / f"{stem}.png")
    return reports


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["fit"]:  # python -m eval.answers fit [lexical]: the weights to put in answering/score.py
        from eval.suites import load_suite
        from index.encoders import load_embedder

        lexical = sys.argv[2:3] == ["lexical"]
        suite = load_suite("dev").corpus
        found = open_collection(Path("var/eval"), suite, Config("tracuu", mode="hybrid"), load_embedder(None)[0])
        dropped = ("sim", "sim_gap", "sim_z", "foreign_sim") if lexical else ()
        rows = line_dataset(found, question_sets(), lexical)
        print(fit_weights(rows, dropped))
        print("lone line (extra log-odds, log-likelihood, answered, wrong):", lone_line_logit(rows, not lexical))
        sys.exit(0)

    run(out=Path(sys.argv[2]) if len(sys.argv) > 2 else REPO_ROOT / "eval" / "reports",
        stem=sys.argv[1] if len(sys.argv) > 1 else "answers")
