"""The plain pipeline a user would otherwise assemble: LangChain's splitter and bm25s, both on defaults.

Kept deliberately naive — raw text, RecursiveCharacterTextSplitter(1000, 200),
``bm25s.tokenize`` with its default pattern and no stopwords — so every report
can state how far tracuu is ahead of it on the same questions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import bm25s
from langchain_text_splitters import RecursiveCharacterTextSplitter

from corpus.load import read_bytes


class BaselineIndex:
    def __init__(self, files: Sequence[tuple[str, bytes]]) -> None:
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self.sources: list[str] = []
        self.texts: list[str] = []
        for source, data in files:
            for piece in splitter.split_text(read_bytes(data, source)):
                self.sources.append(source)
                self.texts.append(piece)
        self.model = bm25s.BM25()
        self.model.index(bm25s.tokenize(self.texts, show_progress=False), show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[str, str]]:
        vocab = self.model.vocab_dict
        tokens = [t for t in bm25s.tokenize([query], return_ids=False, show_progress=False)[0] if t in vocab]
        if not tokens:
            return []
        ids, scores = self.model.retrieve([tokens], k=min(k, len(self.texts)), show_progress=False)
        return [(self.sources[int(i)], self.texts[int(i)]) for i, s in zip(ids[0], scores[0], strict=True)
                if float(s) > 0 and int(i) < len(self.texts)]


def baseline_search(index: BaselineIndex, unit: Callable[[str], str], k: int) -> Callable[[str], list[tuple[str, str]]]:
    def search(query: str) -> list[tuple[str, str]]:
        return [(unit(source), text) for source, text in index.search(query, k)]

    return search

