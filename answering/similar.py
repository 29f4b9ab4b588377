"""Similar directives: from one passage, what other documents (other localities) decided on the same matter.

The same hybrid retrieval as search, collapsed to one entry per document (its best passage), without the
source's own document and, by default, its own locality; grouped by place for the reader.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from index.filters import Filters
from index.search import Searcher, SearchHit

CANDIDATE_FACTOR = 3  # documents ranked per one asked for, before the source's own are dropped


@dataclass(frozen=True)
class SimilarQuery:
    text: str
    source: SearchHit | None = None  # the passage the text came from, when it is in the collection
    exclude_same_document: bool = True
    exclude_same_locality: bool = True


def _kept(hit: SearchHit, query: SimilarQuery) -> bool:
    source = query.source
    if source is None:
        return True
    if hit.chunk.id == source.chunk.id:
        return False
    if query.exclude_same_document and hit.document.id == source.document.id:
        return False
    locality = hit.document.meta.locality
    return not (query.exclude_same_locality and locality and locality == source.document.meta.locality)


def similar(searcher: Searcher, query: SimilarQuery, k: int, filters: Filters | None = None) -> list[SearchHit]:
    """One hit per other document, best first.

    Without the boosts for the places and years the passage names: they would favour the source's own place,
    and the point is the others.
    """
    options = replace(searcher.options, boosts=None)
    candidates = searcher.search(query.text, min(200, k * CANDIDATE_FACTOR + 10), filters, collapse=True,
                                 options=options)
    return [hit for hit in candidates if _kept(hit, query)][:k]


def group_by_place(hits: list[SearchHit]) -> list[tuple[str | None, str | None, list[SearchHit]]]:
    """(province, locality, hits) in the order of each place's best hit."""
    groups: dict[tuple[str | None, str | None], list[SearchHit]] = {}
    for hit in hits:
        groups.setdefault((hit.document.meta.province, hit.document.meta.locality), []).append(hit)
    return [(province, locality, members) for (province, locality), members in groups.items()]
