"""sentence-transformers models as encoders: a local folder or a name already in the local cache.

Model hubs are out of reach here and on many government networks, so the
loader never downloads (``local_files_only``).
"""

from __future__ import annotations

import numpy as np

from index.encoders import EmbedderInfo

BATCH_SIZE = 32


def default_prompts(name: str, configured: dict[str, str]) -> tuple[str, str]:
    """The model's own prompts when it declares them; e5's "query: "/"passage: " by name; none otherwise (bge-m3)."""
    query = configured.get("query")
    passage = configured.get("document", configured.get("passage"))
    if query is not None and passage is not None:
        return query, passage
    if "e5" in name.lower():
        return "query: ", "passage: "
    return "", ""


class SentenceTransformerEmbedder:
    """A sentence-transformers model with its prompts, maximum length and normalised output."""

    def __init__(self, name_or_path: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(name_or_path, device="cpu", local_files_only=True)
        declared = {k: v for k, v in (self.model.prompts or {}).items() if isinstance(v, str)}
        query_prompt, passage_prompt = default_prompts(name_or_path, declared)
        self.model.prompts = {"query": query_prompt, "document": passage_prompt}
        get_dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        dimension = get_dimension() or 0
        self.info = EmbedderInfo(
            model=name_or_path, dimension=int(dimension), query_prompt=query_prompt,
            passage_prompt=passage_prompt, max_seq_length=int(self.model.max_seq_length or 512),
            package="sentence-transformers", version=_version(), recipe=_recipe(name_or_path),
        )

    def _encode(self, texts: list[str], prompt_name: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dimension), dtype=np.float32)
        vectors = self.model.encode(texts, prompt_name=prompt_name, batch_size=BATCH_SIZE,
                                    normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "document")

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])


def _recipe(name_or_path: str) -> str:
    """A model made by ``tracuu model tune`` says how (recorded in the manifest of every index built with it)."""
    import json
    from pathlib import Path

    from index.encoders.tune import recipe_of

    folder = Path(name_or_path)
    recipe = recipe_of(folder) if folder.is_dir() else None
    return json.dumps(recipe, ensure_ascii=False, sort_keys=True) if recipe else ""


def _version() -> str:
    from importlib import metadata

    return metadata.version("sentence-transformers")
