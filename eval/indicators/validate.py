"""Validate eval/indicators/labelled.jsonl against the cleaned corpus text.

Run from the repository root:

    .venv/bin/python eval/indicators/validate.py

Checks that every line parses, that clean_text(document)[start:end] == quote,
that value/value_max are numbers, and that kind, comparator, unit and year are
well formed. Prints counts per document and per kind; exits 1 on any error.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # run as a script: the packages are not importable yet
sys.path.insert(0, str(ROOT))

from corpus.clean import clean_text  # noqa: E402
from corpus.load import read_path  # noqa: E402

LABELS = Path(__file__).with_name("labelled.jsonl")
DOCUMENTS = ROOT / "corpus" / "documents"

FIELDS = {
    "document", "indicator", "key", "value", "value_max", "unit", "comparator",
    "kind", "year", "quote", "start", "end", "basis", "repeat", "note",
}
COMPARATORS = {
    None, "đạt", "trên", "dưới", "trở lên", "giảm còn", "còn", "tăng", "giảm",
    "bằng", "từ", "tối thiểu",
}
KINDS = {"target", "result"}


def is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def main() -> int:
    errors: list[str] = []
    texts: dict[str, str] = {}
    records = []
    for n, line in enumerate(LABELS.read_text(encoding="utf-8").splitlines(), 1):
        where = f"line {n}"
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: does not parse ({e})")
            continue
        records.append(r)
        if set(r) != FIELDS:
            errors.append(f"{where}: fields {sorted(set(r) ^ FIELDS)} missing or unexpected")
            continue
        doc = r["document"]
        if doc not in texts:
            path = DOCUMENTS / doc
            if not path.exists():
                errors.append(f"{where}: no document {doc}")
                continue
            texts[doc] = clean_text(read_path(path))
        text = texts[doc]
        begin, end = r["start"], r["end"]
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin < end <= len(text)):
            errors.append(f"{where}: bad offsets {begin}-{end}")
        elif text[begin:end] != r["quote"]:
            errors.append(f"{where}: text[{begin}:{end}] = {text[begin:end]!r} != quote {r['quote']!r}")
        if not is_number(r["value"]):
            errors.append(f"{where}: value {r['value']!r} is not a number")
        if r["value_max"] is not None:
            if not is_number(r["value_max"]):
                errors.append(f"{where}: value_max {r['value_max']!r} is not a number")
            elif is_number(r["value"]) and r["value_max"] <= r["value"]:
                errors.append(f"{where}: value_max {r['value_max']} <= value {r['value']}")
        if r["kind"] not in KINDS:
            errors.append(f"{where}: kind {r['kind']!r}")
        if r["comparator"] not in COMPARATORS:
            errors.append(f"{where}: comparator {r['comparator']!r}")
        if r["year"] is not None and not (isinstance(r["year"], int) and 2000 <= r["year"] <= 2100):
            errors.append(f"{where}: year {r['year']!r}")
        for f in ("indicator", "key", "unit", "quote"):
            if not (isinstance(r[f], str) and r[f].strip()):
                errors.append(f"{where}: empty {f}")
        if isinstance(r["key"], str) and r["key"] != r["key"].lower():
            errors.append(f"{where}: key not lower-case")
        if not isinstance(r["repeat"], bool):
            errors.append(f"{where}: repeat must be a boolean")
        for f in ("basis", "note"):
            if r[f] is not None and not isinstance(r[f], str):
                errors.append(f"{where}: {f} must be a string or null")

    seen = Counter((r.get("document"), r.get("start"), r.get("end"), r.get("value")) for r in records)
    errors += [f"duplicate record {k}" for k, c in seen.items() if c > 1]

    per_doc = Counter(r.get("document") for r in records)
    per_kind = Counter((r.get("document"), r.get("kind")) for r in records)
    for doc in sorted(per_doc):
        print(f"{doc}: {per_doc[doc]:3d}  (target {per_kind[doc, 'target']}, result {per_kind[doc, 'result']})")
    kinds = Counter(r.get("kind") for r in records)
    print(f"total: {len(records)}  (target {kinds['target']}, result {kinds['result']}); "
          f"repeats {sum(1 for r in records if r.get('repeat'))}; keys {len({r.get('key') for r in records})}")
    for err in errors:
        print("ERROR", err)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
