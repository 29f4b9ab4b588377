"""A first domain-tuned encoder: the sentence-transformers copy of the bundled model, fine-tuned on pairs mined
from the collection itself, never from evaluation questions.

Why these pairs: a user's question names a matter the way a heading, an indicator's name or a title names it, and
wants the passage under it. So each pair is (a short naming text, the passage it names), with the naming text also
written as users write it — without diacritics, with the documents' abbreviations ("NSNN", "HĐND"). Training is
sentence-transformers' MultipleNegativesRankingLoss (the other passages of a batch are the negatives), bounded by
a wall-clock budget so that it fits the machine it runs on. The word-embedding table (250k rows, two thirds of the
weights) is frozen: the few thousand pairs a collection gives cannot teach it, and updating it would cost most of
each step.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from index.store import ChunkStore
from index.textnorm import abbreviations, fold_diacritics

RECIPE_FILE = "tracuu-tune.json"  # beside the weights: what the model was trained on and how
_NUMBERING = re.compile(r"^\s*(?:[IVXLC]+\.|\(?\d+(?:\.\d+)*[.)]|[a-zđ]\)|Điều \d+\.?|Chương [IVXLC\d]+\.?|-)\s*",
                        re.IGNORECASE)


@dataclass(frozen=True)
class Recipe:
    """How a tuned model was made; stored with it and copied into the manifest of an index built with it."""

    base: str
    pairs: dict[str, int]
    steps: int
    batch_size: int
    learning_rate: float
    minutes_budget: float
    minutes_used: float
    seed: int
    frozen: list[str] = field(default_factory=lambda: ["embeddings.word_embeddings"])
    loss: str = "MultipleNegativesRankingLoss (in-batch negatives), scale 20"


def _heading(section: str) -> str:
    """The last step of a section path, without its numbering: "2. Các chỉ tiêu …" → "Các chỉ tiêu …"."""
    last = section.split("›")[-1].strip()
    return _NUMBERING.sub("", last).strip(" :.")


def _abbreviated(text: str) -> str:
    """The text as the documents abbreviate it: "ngân sách nhà nước" → "NSNN"."""
    for abbr, expansions in abbreviations().items():
        for expansion in expansions:
            text = re.sub(re.escape(expansion), abbr, text, flags=re.IGNORECASE)
    return text


def _variants(anchor: str, rng: random.Random) -> list[str]:
    """The anchor, and as users also type it: without diacritics (one in three), abbreviated when that changes it."""
    out = [anchor]
    if rng.random() < 1 / 3:
        out.append(fold_diacritics(anchor).lower())
    short = _abbreviated(anchor)
    if short != anchor:
        out.append(short)
    return out


def mine_pairs(store: ChunkStore, passage_text: Any, limit: int = 6000,
               seed: int = 13) -> dict[str, list[tuple[str, str]]]:
    """(naming text, passage) pairs by kind: headings, indicator names with their place, titles with openings.

    ``passage_text(chunk)`` is what the dense index encodes for a chunk (header and text), so training sees the
    passages as search will.
    """
    rng = random.Random(seed)
    documents = {d.id: d for d in store.documents()}
    by_document: dict[str, list[Any]] = {}
    for stored in store.iter_chunks():
        by_document.setdefault(stored.chunk.document_id, []).append(stored.chunk)
    kinds: dict[str, list[tuple[str, str]]] = {"heading": [], "indicator": [], "title": []}
    for doc_id, chunks in by_document.items():
        doc = documents.get(doc_id)
        place = doc.meta.locality if doc else None
        seen_headings: set[str] = set()
        for chunk in chunks:
            heading = _heading(chunk.section)
            # one passage per heading: a second would be a false negative of the first in its batch
            if 12 <= len(heading) <= 150 and heading not in seen_headings:
                seen_headings.add(heading)
                kinds["heading"] += [(v, passage_text(chunk)) for v in _variants(heading, rng)]
        if doc and doc.meta.title and chunks:
            kinds["title"] += [(v, passage_text(chunks[0])) for v in _variants(doc.meta.title, rng)]
        kinds["indicator"] += _indicator_pairs(store, doc_id, chunks, place, passage_text, rng)
    for pairs in kinds.values():
        rng.shuffle(pairs)
    share = {kind: max(1, limit * len(pairs) // max(1, sum(map(len, kinds.values())))) for kind, pairs in kinds.items()}
    return {kind: pairs[: share[kind]] for kind, pairs in kinds.items()}


def _indicator_pairs(store: ChunkStore, doc_id: str, chunks: Sequence[Any], place: str | None, passage_text: Any,
                     rng: random.Random) -> list[tuple[str, str]]:
    """Each indicator's name (with the place, as a question would name it) ↔ the chunk holding its line."""
    pairs = []
    seen: set[str] = set()
    for _, record in store.indicators([doc_id]):
        holder = next((c for c in chunks if c.start <= record.start < c.end), None)
        anchor = f"{record.indicator} {place}" if place else record.indicator
        if holder is None or len(record.indicator) < 8 or record.indicator.startswith("Căn cứ") or anchor in seen:
            continue
        seen.add(anchor)
        pairs += [(v, passage_text(holder)) for v in _variants(anchor, rng)]
    return pairs


def batches(pairs: Sequence[tuple[str, str]], size: int, rng: random.Random) -> Iterable[list[tuple[str, str]]]:
    """Shuffled batches in which no passage appears twice (a repeated passage would be its own negative)."""
    order = list(pairs)
    rng.shuffle(order)
    batch: list[tuple[str, str]] = []
    passages: set[str] = set()
    for anchor, passage in order:
        if passage in passages:
            continue
        batch.append((anchor, passage))
        passages.add(passage)
        if len(batch) == size:
            yield batch
            batch, passages = [], set()


def tune(base: Path, pairs: dict[str, list[tuple[str, str]]], out: Path, minutes: float = 25.0,
         batch_size: int = 16, learning_rate: float = 3e-5, seed: int = 13) -> Recipe:
    """Fine-tune ``base`` on ``pairs`` until the data or the time budget runs out; save to ``out`` with its recipe."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = SentenceTransformer(str(base), device="cpu")
    serving_length = model.max_seq_length
    model.max_seq_length = 256  # training pairs are chunk-sized; the saved model keeps the base's length
    loss = MultipleNegativesRankingLoss(model, scale=20.0)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = "word_embeddings" not in name
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)
    query, passage = model.prompts.get("query") or "query: ", model.prompts.get("document") or "passage: "
    prepare = getattr(model, "preprocess", None) or model.tokenize  # tokenize is deprecated in sentence-transformers 6
    everything = [pair for kind in pairs.values() for pair in kind]
    started, steps = time.monotonic(), 0
    model.train()
    for batch in batches(everything, batch_size, rng):
        if time.monotonic() - started > minutes * 60:
            break
        features = [prepare([query + a for a, _ in batch]), prepare([passage + p for _, p in batch])]
        value = loss(features, torch.arange(len(batch)))
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
        steps += 1
    model.eval()
    model.max_seq_length = serving_length
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    recipe = Recipe(base=str(base), pairs={k: len(v) for k, v in pairs.items()}, steps=steps, batch_size=batch_size,
                    learning_rate=learning_rate, minutes_budget=minutes,
                    minutes_used=round((time.monotonic() - started) / 60, 1), seed=seed)
    (out / RECIPE_FILE).write_text(json.dumps(asdict(recipe), ensure_ascii=False, indent=2), encoding="utf-8")
    return recipe


def recipe_of(model_dir: Path) -> dict[str, Any] | None:
    """The recipe saved beside a tuned model, or None for any other model."""
    path = model_dir / RECIPE_FILE
    if not path.is_file():
        return None
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value
