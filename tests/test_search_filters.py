"""The searcher's column-wise filter masks agree with the per-document rule the /documents listing uses."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from index.collection import Collection
from index.search import SearchFilters, matches_filters


def _values(collection: Collection) -> dict[str, list[object]]:
    docs = collection.store.documents()
    return {
        "locality": [d.meta.locality for d in docs if d.meta.locality] + ["binh luc", "Hà Nội"],
        "province": [d.meta.province for d in docs if d.meta.province] + ["HẢI DƯƠNG"],
        "level": [d.meta.level for d in docs if d.meta.level] + ["xã"],
        "doc_type": [d.meta.doc_type for d in docs if d.meta.doc_type] + ["Công văn"],
        "year": sorted({y for d in docs for y in d.meta.years}) + [1999],
        "document_id": [d.id for d in docs] + ["no-such-id"],
    }


def test_masks_match_the_per_document_rule(sample_index: Path) -> None:
    collection = Collection.open(sample_index)
    searcher = collection.searcher()
    values = _values(collection)
    names = ["locality", "province", "level", "doc_type", "year", "document_id"]
    field_values = {name: st.none() | st.sampled_from(values[name]) for name in names}
    years = st.none() | st.sampled_from(values["year"])

    @settings(max_examples=300, deadline=None)
    @given(st.fixed_dictionaries({**field_values, "year_from": years, "year_to": years}))
    def check(chosen: dict[str, object]) -> None:
        filters = SearchFilters(**chosen)  # type: ignore[arg-type]
        mask = searcher._doc_allowed(filters)
        expected = [matches_filters(d, filters) for d in searcher.documents]
        if mask is None:
            assert all(expected)
        else:
            assert mask.tolist() == expected

    check()
