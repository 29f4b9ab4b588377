"""Metadata filters: one value object, applied by one function to a snapshot's documents.

Chunks (search), documents (the ``/documents`` listing) and indicator records
(``/indicators``) are all filtered through :meth:`DocumentColumns.mask`: a
chunk or record passes when its document does. The HTTP schema
(``service.schemas.Filters``) converts into :class:`Filters` at the edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

import numpy as np

from index.query import number_key, place_key
from index.store import StoredDocument

TEXT_FIELDS = ("locality", "province", "level", "doc_type")


@dataclass(frozen=True)
class Filters:
    """Hard constraints on document metadata, applied before ranking and fusion. None means "any"."""

    locality: str | None = None
    province: str | None = None
    level: str | None = None
    doc_type: str | None = None
    year: int | None = None  # the document plans for or reports on this year
    year_from: int | None = None
    year_to: int | None = None
    document_id: str | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


class DocumentColumns:
    """The filterable metadata of one snapshot's documents, one column per field, built once per snapshot."""

    def __init__(self, documents: Sequence[StoredDocument]) -> None:
        self.size = len(documents)
        self.position = {d.id: i for i, d in enumerate(documents)}
        self.keys = {name: np.array([_key_or_none(getattr(d.meta, name)) for d in documents], dtype=object)
                     for name in TEXT_FIELDS}
        # The province since the 2025 reorganisation: "Hải Phòng" also finds what "Hải Dương" issued before it.
        self.province_now = np.array([_key_or_none(d.meta.province_current) for d in documents], dtype=object)
        self.of_year: dict[int, list[int]] = {}
        self.of_number: dict[str, list[int]] = {}  # document number key (see number_key) → positions
        for i, doc in enumerate(documents):
            for year in dict.fromkeys(doc.meta.years):
                self.of_year.setdefault(year, []).append(i)
            if doc.meta.number:
                self.of_number.setdefault(number_key(doc.meta.number), []).append(i)

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Which documents pass, as a boolean mask; None when nothing is filtered."""
        if filters.empty:
            return None
        allowed = np.ones(self.size, dtype=bool)
        for name, keys in self.keys.items():
            wanted = getattr(filters, name)
            if wanted is None:
                continue
            passes = keys == place_key(wanted)  # None (field unknown) never equals a wanted value
            if name == "province":
                passes |= self.province_now == place_key(wanted)
            allowed &= passes
        if filters.document_id is not None:
            allowed &= self.positions_mask([self.position.get(filters.document_id, -1)])
        if filters.year is not None:
            allowed &= self.positions_mask(self.of_year.get(filters.year, ()))
        years = self.of_year.items()
        if filters.year_from is not None:
            allowed &= self.positions_mask(i for y, docs in years if y >= filters.year_from for i in docs)
        if filters.year_to is not None:
            allowed &= self.positions_mask(i for y, docs in years if y <= filters.year_to for i in docs)
        return allowed

    def positions_mask(self, positions: Iterable[int]) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        chosen = [i for i in positions if i >= 0]
        mask[chosen] = True
        return mask


def _key_or_none(value: str | None) -> str | None:
    return None if value is None else place_key(value)
