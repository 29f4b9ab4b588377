"""What a collection holds, at a glance: counts by province, year and type, the encoder, the last update.

One function, :func:`overview`, serves ``GET /overview`` (and the page) and ``tracuu info``. The CLI reads a folder
with :func:`folder_overview`, which opens only the store and the manifest (no encoder, no searcher).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from index.folder import STORE_NAME, IndexFolder
from index.store import ChunkStore, StoredDocument


def _ranked(counts: Counter[Any]) -> list[tuple[Any, int]]:
    """Most documents first, then by name; the unknown (None) last."""
    return sorted(counts.items(), key=lambda kv: (kv[0] is None, -kv[1], str(kv[0])))


def encoder_of(manifest: Mapping[str, object] | None) -> str | None:
    """The model whose vectors the live generation holds, or None for a lexical-only index."""
    dense = (manifest or {}).get("dense")
    if isinstance(dense, Mapping) and dense.get("model"):
        return str(dense["model"])
    return None


def overview(documents: Sequence[StoredDocument], chunks: int,
             manifest: Mapping[str, object] | None) -> dict[str, Any]:
    """The :class:`service.schemas.Overview` shape.

    Provinces are counted under the name the document was issued under, with the province it belongs to since
    the 2025 reorganisation when that differs; years are the years a document plans for or reports on (the
    ``year`` filter), so a document covering two years counts in both.
    """
    provinces: Counter[tuple[str | None, str | None]] = Counter()
    years: Counter[int | None] = Counter()
    types: Counter[str | None] = Counter()
    levels: Counter[str | None] = Counter()
    places: Counter[tuple[str | None, str | None, str | None]] = Counter()
    for doc in documents:
        meta = doc.meta
        current = meta.province_current if meta.province_current != meta.province else None
        provinces[(meta.province, current)] += 1
        for year in dict.fromkeys(meta.years) or (None,):
            years[year] += 1
        types[meta.doc_type] += 1
        levels[meta.level] += 1
        if meta.locality:
            places[(meta.locality, meta.level, meta.province)] += 1
    built_at = (manifest or {}).get("built_at")
    return {
        "documents": len(documents),
        "chunks": chunks,
        "by_province": [{"province": p, "province_current": c, "documents": n}
                        for (p, c), n in sorted(provinces.items(),
                                                key=lambda kv: (kv[0][0] is None, -kv[1], str(kv[0])))],
        "by_year": [{"year": y, "documents": n}
                    for y, n in sorted(years.items(), key=lambda kv: (kv[0] is None, -(kv[0] or 0)))],
        "by_doc_type": [{"doc_type": t, "documents": n} for t, n in _ranked(types)],
        "by_level": [{"level": v, "documents": n} for v, n in _ranked(levels)],
        "by_locality": [{"locality": loc, "level": lvl, "province": prov, "documents": n}
                        for (loc, lvl, prov), n in sorted(places.items(), key=lambda kv: (str(kv[0][2]), kv[0][0]))],
        "encoder": encoder_of(manifest),
        "updated_at": str(built_at) if built_at else None,
    }


def folder_overview(index_dir: Path) -> dict[str, Any]:
    """:func:`overview` of an index folder on disk, read without loading an encoder or building anything."""
    store = ChunkStore(index_dir / STORE_NAME)
    try:
        documents = store.documents()
        _, chunks = store.counts()
    finally:
        store.close()
    return overview(documents, chunks, IndexFolder(index_dir).manifest())
