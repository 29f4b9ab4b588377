"""How well a line answers a question: a few measured signals, weighed by a model fitted on the dev questions.

No one signal is enough. Word overlap misses paraphrase and English; the
encoder's similarity alone ranks a heading above the line under it; a figure
from the wrong year or the wrong kind (a 2023 result for a 2024 target) shares
every word. So each candidate line gets a small feature vector — similarity
(absolute and relative to the other candidates), word coverage (own words,
with the clause's subject, with its headings), retrieval rank, whether it
holds the figure a numeric question wants, year and kind agreement, and
whether its indicator record is the one the question names — and a linear
score. The weights were fitted (softmax over each question's candidates) on
dev.jsonl + user.jsonl; the holdout set was not used. Without an encoder the
similarity features are zero and a second weight set, fitted the same way
without them, is used, with a stricter threshold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from answering.asked import Asked, line_has_type
from answering.lines import Line

FEATURES = ("sim", "sim_gap", "sim_z", "coverage", "coverage_lead", "coverage_context", "coverage_rare", "rank",
            "figure", "no_figure", "year_mismatch", "kind", "key", "answer_type", "heading", "capitals", "length",
            "foreign_sim")
# Fitted by scripts kept with the evaluation (see eval/answers.py); refit when features change.
WEIGHTS_DENSE = {
    "sim": 0.025,
    "sim_gap": 0.025,
    "sim_z": 1.007,
    "coverage": 0.975,
    "coverage_lead": 0.714,
    "coverage_context": 0.644,
    "coverage_rare": 0.665,
    "rank": 0.621,
    "figure": 0.154,
    "no_figure": -0.154,
    "year_mismatch": 0.0,
    "kind": 0.241,
    "key": 0.218,
    "answer_type": 0.947,
    "heading": 0.129,
    "capitals": 0.053,
    "length": 0.025,
    "foreign_sim": -0.054,
}
WEIGHTS_LEXICAL = {
    "sim": 0.0,
    "sim_gap": 0.0,
    "sim_z": 0.0,
    "coverage": 1.28,
    "coverage_lead": 1.037,
    "coverage_context": 0.897,
    "coverage_rare": 0.956,
    "rank": 0.953,
    "figure": 0.122,
    "no_figure": -0.122,
    "year_mismatch": 0.0,
    "kind": 0.311,
    "key": 0.242,
    "answer_type": 1.128,
    "heading": 0.019,
    "capitals": 0.058,
    "length": 0.051,
    "foreign_sim": 0.0,
}
# Confidence = sigmoid(a · best score + b · margin over the runner-up + c), fitted on the same questions.
CALIBRATION_DENSE = (1.066, 2.620, -3.213)
CALIBRATION_LEXICAL = (0.979, 1.885, -2.474)
# A line no other candidate contradicts (the only one with the asked indicator's figure) has no runner-up to
# measure a margin over; the fit above gave it a margin of 1. Its own log-odds, fitted with (a, b, c) fixed on
# the lone lines of dev + user + unanswerable (124 right of 125): the likelihood is flat from 1.25 to 2.0 and
# 1.5 answers none of them wrongly, with or without the encoder (eval/answers.py, lone_line_logit).
LONE_LINE = 1.5
# Years, full dates, periods ("6 tháng"), document numbers ("24/NQ-HĐND"), ordinals ("kỳ họp thứ 13") and list
# numbering are not figures;
# "29/29 xã" and "73/79 trường" are.
_YEARISH = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)|(?<!\d)\d{1,2}/(?:0?[1-9]|1[0-2])/(?:19|20)?\d\d(?!\d)"
                      r"|ngày\s+\d{1,2}/\d{1,2}|^\s*\(?\d{1,2}[.)]|\b\d{1,2}\s+tháng\b"
                      r"|\d+\s*[/-]\s*[A-ZĐ][\w/-]*|thứ\s+\d+|tháng\s+\d{1,2}\b", re.IGNORECASE)
_DIGIT = re.compile(r"\d")


def has_figure(text: str) -> bool:
    """A number that is not a year, a date or the line's own numbering."""
    return bool(_DIGIT.search(_YEARISH.sub(" ", text)))


def features(asked: Asked, lines: Sequence[Line], sims: np.ndarray | None, keys: Sequence[float]) -> np.ndarray:
    """One row of :data:`FEATURES` per line; ``keys`` holds each line's indicator-key agreement (-1, 0 or 1)."""
    rows = np.zeros((len(lines), len(FEATURES)), dtype=np.float64)
    if not lines:
        return rows
    sim_of = sims if sims is not None and len(sims) == len(lines) else np.zeros(len(lines))
    dense = sims is not None and len(sims) == len(lines)
    top, mean, spread = float(sim_of.max()), float(sim_of.mean()), float(sim_of.std()) + 1e-3
    rare = rarity(asked, lines)
    years = frozenset(asked.query.years)
    for i, line in enumerate(lines):
        sim = float(sim_of[i])
        z = (sim - mean) / spread if dense else 0.0
        figure = has_figure(line.text)
        wanted = asked.answer_type
        rows[i] = (
            sim, sim - top if dense else 0.0, z,
            asked.coverage(line.words), asked.coverage(line.lead_words), asked.coverage(line.context_words),
            weighted(asked.words & line.lead_words, rare),
            1.0 / (1.0 + line.rank),
            float(asked.numeric and figure), float(asked.numeric and not figure),
            float(bool(years and line.years and not line.years & years)),
            _kind_agreement(asked.kind, line.kind),
            keys[i],
            (1.0 if line_has_type(wanted, line.text, asked.named_numbers, asked.instrument, asked.query.places)
             else -1.0)
            if wanted else 0.0,
            float(is_heading(line)),
            float(in_capitals(line)),
            math.log(max(len(line.text), 8)) / 6.0,
            z * float(asked.foreign),
        )
    return rows


def rarity(asked: Asked, lines: Sequence[Line]) -> dict[str, float]:
    """Weight of each question word by how few candidate lines hold it: the word that tells siblings apart
    ("thấp còi" against "nhẹ cân") counts more than the words they share ("trẻ em suy dinh dưỡng")."""
    n = len(lines)
    weights = {}
    for word in asked.words:
        holding = sum(1 for line in lines if word in line.lead_words)
        weights[word] = math.log((n + 1) / (holding + 0.5))
    return weights


def weighted(found: frozenset[str], rare: dict[str, float]) -> float:
    total = sum(rare.values())
    return sum(rare[w] for w in found if w in rare) / total if total > 0 else 0.0


def is_heading(line: Line) -> bool:
    """A heading or a title: it names a topic, it does not answer about it."""
    last = line.hit.chunk.section.rsplit(" › ", 1)[-1].strip()
    text = line.text.strip()
    return line.colon or bool(last) and (text in last or last.endswith(text))


def in_capitals(line: Line) -> bool:
    """A header line in capitals ("KHÓA XX, KỲ HỌP THỨ TÁM"): the document's own particulars."""
    letters = [c for c in line.text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) / len(letters) > 0.7


def _years(asked: Asked) -> frozenset[int]:
    return frozenset(asked.query.years)


def _kind_agreement(wanted: str | None, kind: str | None) -> float:
    if wanted is None or kind is None:
        return 0.0
    return 1.0 if wanted == kind else -1.0


def scores(rows: np.ndarray, dense: bool) -> np.ndarray:
    weights = WEIGHTS_DENSE if dense else WEIGHTS_LEXICAL
    return rows @ np.array([weights[name] for name in FEATURES])


def margin(scored: np.ndarray, best: int, rivals: np.ndarray | None = None) -> float | None:
    """The best line's lead over the best line giving another answer; None when no line contradicts it.

    ``rivals`` (a mask) says which lines give another answer (None: all the others): a line that states the
    same figure (the target in the list of targets and again in the tasks) confirms the best one rather than
    competing with it.
    """
    others = scored[rivals] if rivals is not None else np.delete(scored, best)
    return float(scored[best] - others.max()) if len(others) else None


def confidence(scored: np.ndarray, best: int, dense: bool, rivals: np.ndarray | None = None) -> float:
    """The calibrated probability that the best line answers: from its score and its lead (see :func:`margin`);
    a lone line has no lead to measure and its own log-odds instead."""
    a, b, c = CALIBRATION_DENSE if dense else CALIBRATION_LEXICAL
    lead = margin(scored, best, rivals)
    logit = a * float(scored[best]) + c + (b + LONE_LINE if lead is None else b * lead)
    return 1.0 / (1.0 + math.exp(-logit))
