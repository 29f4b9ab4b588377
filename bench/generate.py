"""A large, realistic collection for benchmarks, derived from the real documents.

Random words would give BM25 a flat vocabulary and posting lists nothing like
ours. Instead every generated document is a real one (``corpus/documents`` and
the 177 documents in ``../shared/data/gov-docs-2004-2010``) moved to another
place and time: its locality and province become another district and its
province from the gazetteer, its years shift together, its own number changes
and its figures are scaled. The vocabulary, sentence shapes, headings and
cited legal bases stay those of real resolutions; the localities, years and
figures that decide which of many look-alike documents answers a question vary
the way they do across a real national collection.

Usage::

    python -m bench.generate var/bench/gen-100k --chunks 100000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from corpus.clean import normalize_unicode
from corpus.gazetteer import load_gazetteer
from corpus.load import read_path
from corpus.pipeline import parse_text
from eval.paths import REPO_ROOT

SEED_DOCUMENTS = REPO_ROOT / "corpus" / "documents"
SHARED_DOCUMENTS = REPO_ROOT.parent / "shared" / "data" / "gov-docs-2004-2010"
MARKER = "generated.json"
GENERATOR_VERSION = 2  # bump when the variation rules change: a marker from another version is not reused

# Years the documents talk about; a 4-digit number in this range is read as a year.
_YEAR = re.compile(r"(?<![\d.,])(19[89]\d|20[0-4]\d)(?![\d])")
# Figures: thousands-grouped or decimal numbers ("2.841", "3,7", "1.250,5") and integers with a unit.
_FIGURE = re.compile(
    r"(?<![\w/.,])(\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d+|\d+(?=\s?(?:%|ha\b|tỷ|triệu|nghìn|người|hộ\b|km|tấn|lao động)))"
    r"(?![\w/]|[.,]\d)"
)
_OWN_NUMBER = re.compile(r"(Số\s*:?\s*)(\d+)")
# Shifted years stay where such documents exist; cited laws go back to the 1980s.
EARLIEST_YEAR, LATEST_YEAR, MAX_SHIFT = 1980, 2025, 12


@dataclass(frozen=True)
class Source:
    """One real document the variants are made from."""

    path: Path
    text: str  # NFC, one tone placement: names match the gazetteer's spelling
    chunks: int  # under the default chunking
    locality: str | None
    province: str | None


def source_paths() -> list[Path]:
    """The seed documents, then the shared 2004-2010 documents when they are beside the repository."""
    paths = sorted(SEED_DOCUMENTS.glob("*.txt"))
    if SHARED_DOCUMENTS.is_dir():
        paths += sorted(SHARED_DOCUMENTS.glob("*.txt"))
    return paths


@lru_cache(maxsize=1)
def districts_by_province() -> dict[str, tuple[str, ...]]:
    """Province short name → the short names of its districts that no other province has (pre-2025 tree).

    A district name two provinces share ("Phước Long") leaves the province to
    the text, and the source documents do not always name theirs: moved to such
    a district, a document would lose its province. Sorted for determinism.
    """
    owned: dict[str, list[str]] = {}
    for district, provinces in load_gazetteer().districts.items():
        if len(provinces) == 1:
            owned.setdefault(provinces[0], []).append(district)
    return {province: tuple(sorted(names)) for province, names in sorted(owned.items())}


def load_sources(paths: Sequence[Path]) -> list[Source]:
    """Parse each source once: its chunk count sizes the collection, its metadata names what to move."""
    sources = []
    for path in paths:
        raw = read_path(path)
        doc = parse_text(raw, path.name)
        sources.append(Source(path, normalize_unicode(raw), len(doc.chunks), doc.meta.locality, doc.meta.province))
    return sources


def _same_case(written: str, name: str) -> str:
    """``name`` written the way the text wrote the name it replaces ("HUYỆN BÌNH GIANG", "tỉnh gia lai")."""
    if written.isupper():
        return name.upper()
    if written.islower():
        return name.lower()
    return name


def move_places(text: str, renames: dict[str, str]) -> str:
    """Replace whole-word place names in any case, in one pass so a new name is never renamed again."""
    if not renames:
        return text
    names = sorted(renames, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)", re.IGNORECASE)
    lowered = {name.lower(): new for name, new in renames.items()}
    return pattern.sub(lambda m: _same_case(m.group(0), lowered[m.group(0).lower()]), text)


def shift_years(text: str, delta: int) -> str:
    """Every year moves by ``delta``, except inside cited numbers ("197/2004/NĐ-CP" stays a real decree)."""
    if delta == 0:
        return text

    def shifted(m: re.Match[str]) -> str:
        cited = m.start() > 0 and text[m.start() - 1] == "/" and text[m.end():m.end() + 1] == "/"
        return m.group(0) if cited else str(int(m.group(0)) + delta)

    return _YEAR.sub(shifted, text)


def _format_like(value: float, written: str) -> str:
    """``value`` with the digits after the comma and the thousands dots that ``written`` had."""
    decimals = len(written.split(",", 1)[1]) if "," in written else 0
    whole, _, frac = f"{value:.{decimals}f}".partition(".")
    if "." in written:
        whole = f"{int(whole):,}".replace(",", ".")
    return f"{whole},{frac}" if decimals else whole


def scale_figures(text: str, rng: random.Random) -> str:
    """Each figure scaled on its own by 0.7–1.3, keeping its format; years are left to :func:`shift_years`."""

    def scaled(m: re.Match[str]) -> str:
        written = m.group(0)
        value = float(written.replace(".", "").replace(",", "."))
        if "." not in written and "," not in written and 1900 <= value <= 2100:
            return written
        return _format_like(value * rng.uniform(0.7, 1.3), written)

    return _FIGURE.sub(scaled, text)


def renumber(text: str, rng: random.Random) -> str:
    """The document's own number ("Số: 140 /NQ-HĐND") becomes another; cited numbers stay."""
    return _OWN_NUMBER.sub(lambda m: f"{m.group(1)}{rng.randint(1, 450)}", text, count=1)


def _year_delta(text: str, rng: random.Random) -> int:
    """A shift that keeps every year in [EARLIEST_YEAR, LATEST_YEAR], at most MAX_SHIFT either way."""
    years = [int(y) for y in _YEAR.findall(text)]
    if not years:
        return 0
    low = max(-MAX_SHIFT, EARLIEST_YEAR - min(years))
    high = min(MAX_SHIFT, LATEST_YEAR - max(years))
    return rng.randint(low, high) if low <= high else 0


def _renames(source: Source, rng: random.Random) -> dict[str, str]:
    """Source locality and province → a random province and one of its districts."""
    if not source.province:
        return {}
    tree = districts_by_province()
    province = rng.choice(sorted(tree))
    renames = {source.province: province}
    if source.locality and source.locality != source.province:
        renames[source.locality] = rng.choice(tree[province])
    elif source.locality:
        renames[source.locality] = province
    return renames


def variant(source: Source, seed: int, number: int) -> str:
    """The ``number``-th variant of a source; the same arguments always give the same text."""
    rng = random.Random(f"{seed}|{source.path.name}|{number}")  # str seeds hash with SHA-512: stable across runs
    text = move_places(source.text, _renames(source, rng))
    text = shift_years(text, _year_delta(text, rng))
    return renumber(scale_figures(text, rng), rng)


def _params(target_chunks: int, seed: int, paths: Sequence[Path]) -> dict[str, Any]:
    listing = "\n".join(f"{p.name}:{p.stat().st_size}" for p in paths)
    return {"version": GENERATOR_VERSION, "target_chunks": target_chunks, "seed": seed,
            "sources": hashlib.sha256(listing.encode()).hexdigest()[:16]}


def _reusable(out_dir: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    marker = out_dir / MARKER
    if not marker.exists():
        return None
    recorded = json.loads(marker.read_text(encoding="utf-8"))
    if recorded.get("params") != params:
        return None
    if sum(1 for _ in out_dir.glob("*.txt")) != recorded["result"]["documents"]:
        return None
    return dict(recorded["result"])


def generate_corpus(out_dir: Path, target_chunks: int, seed: int = 0,
                    sources: Sequence[Path] | None = None) -> dict[str, Any]:
    """Write about ``target_chunks`` chunks' worth of documents into ``out_dir``.

    Variants are taken round-robin over the sources (variant 0 of every source,
    then variant 1, …) until the sources' chunk counts add up to the target, so
    every source contributes about equally. A marker file records the
    parameters; a second call with the same ones reuses the folder.

    Args:
        out_dir: the folder to fill (its .txt files are replaced unless the marker matches).
        target_chunks: about how many chunks the documents make under the default chunking.
        seed: the same seed and sources always give the same documents.
        sources: the real documents to vary; by default :func:`source_paths`.

    Returns:
        ``{"documents", "estimated_chunks", "bytes", "seconds", "reused", "path"}``.
    """
    started = time.perf_counter()
    paths = list(sources) if sources is not None else source_paths()
    if not paths:
        raise FileNotFoundError(f"no source documents in {SEED_DOCUMENTS}")
    params = _params(target_chunks, seed, paths)
    reused = _reusable(out_dir, params)
    if reused is not None:
        return {**reused, "seconds": round(time.perf_counter() - started, 3), "reused": True}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).unlink(missing_ok=True)  # a half-written folder must not look finished
    for old in out_dir.glob("*.txt"):
        old.unlink()
    loaded = [s for s in load_sources(paths) if s.chunks > 0]
    documents = estimated = size = 0
    rounds = math.ceil(target_chunks / max(1, sum(s.chunks for s in loaded)))
    for number in range(rounds):
        for source in loaded:
            if estimated >= target_chunks:
                break
            data = variant(source, seed, number).encode("utf-8")
            (out_dir / f"g{number:03d}_{source.path.stem}.txt").write_bytes(data)
            documents, estimated, size = documents + 1, estimated + source.chunks, size + len(data)
    result = {"documents": documents, "estimated_chunks": estimated, "bytes": size, "path": str(out_dir)}
    (out_dir / MARKER).write_text(json.dumps({"params": params, "result": result}, ensure_ascii=False, indent=2),
                                  encoding="utf-8")
    return {**result, "seconds": round(time.perf_counter() - started, 3), "reused": False}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the .txt documents into")
    parser.add_argument("--chunks", type=int, default=100_000, help="about how many chunks (default 100000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = generate_corpus(args.out, args.chunks, args.seed)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
