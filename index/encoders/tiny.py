"""A tiny sentence-transformers model built from scratch, offline: random BERT weights and a WordPiece
tokenizer trained on the sample documents. It stands in for the multilingual encoder so that encoding,
FAISS, persistence and fusion run for real in the tests; its rankings mean nothing."""

from __future__ import annotations

from pathlib import Path

import corpus

DOCUMENTS = Path(corpus.__file__).resolve().parent / "documents"  # the sample documents the vocabulary is learnt from


def build_tiny_model(target: Path, dimension: int = 32, max_length: int = 128) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer, models  # type: ignore[attr-defined]
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, trainers
    from tokenizers.models import WordPiece
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    texts = [p.read_text(encoding="utf-8") for p in sorted(DOCUMENTS.glob("*.txt"))]
    if not texts:
        raise FileNotFoundError(f"no sample documents in {DOCUMENTS} to learn the tiny vocabulary from")
    raw = Tokenizer(WordPiece(unk_token="[UNK]"))
    raw.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    raw.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    raw.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    raw.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=2000, special_tokens=specials))
    from tokenizers.processors import TemplateProcessing

    raw.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", raw.token_to_id("[CLS]")), ("[SEP]", raw.token_to_id("[SEP]"))],
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", pad_token="[PAD]",
                                        cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                        model_max_length=max_length)
    config = BertConfig(vocab_size=raw.get_vocab_size(), hidden_size=dimension, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=max_length + 2)
    hf_dir = target / "hf"
    BertModel(config).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    transformer = models.Transformer(str(hf_dir), max_seq_length=max_length)
    pooling = models.Pooling(dimension, pooling_mode="mean")
    model = SentenceTransformer(modules=[transformer, pooling], device="cpu")
    model.prompts = {"query": "query: ", "document": "passage: "}
    out = target / "tiny-st"
    model.save(str(out))
    return out
