"""Vietnamese administrative units as they were before the 2025 reorganisation.

The district → province tree comes from the maintained ``vietnam-provinces``
package, pinned at 0.6.0: its later releases hold only the post-2025 tree, in
which the districts our documents name no longer exist. Which province each old
province belongs to today is kept as data in ``data/province_merge_2025.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from corpus.clean import normalize_unicode

_PROVINCE_PREFIX = re.compile(r"^(Tỉnh|Thành phố)\s+")
_DISTRICT_PREFIX = re.compile(r"^(Huyện|Quận|Thị xã|Thành phố)\s+")


@dataclass(frozen=True)
class Gazetteer:
    """Lookups by normalised short name ("Bình Lục", "Hải Dương")."""

    provinces: frozenset[str]
    districts: dict[str, tuple[str, ...]]  # district short name -> provinces that have one
    merged_into: dict[str, str]

    def provinces_of_district(self, name: str) -> tuple[str, ...]:
        return self.districts.get(normalize_unicode(name), ())

    def canonical_province(self, name: str) -> str | None:
        """The gazetteer's spelling of a province name written in any case."""
        wanted = normalize_unicode(name).lower()
        for province in self.provinces:
            if province.lower() == wanted:
                return province
        return None

    def current_province(self, province: str) -> str | None:
        return self.merged_into.get(province)


def _short(name: str, prefix: re.Pattern[str]) -> str:
    return normalize_unicode(prefix.sub("", name).strip())


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Load the tree once per process (a few MB of JSON)."""
    tree_file = resources.files("vietnam_provinces") / "data" / "nested-divisions.json"
    tree = json.loads(tree_file.read_text(encoding="utf-8"))
    districts: dict[str, list[str]] = {}
    provinces: set[str] = set()
    for province in tree:
        province_name = _short(province["name"], _PROVINCE_PREFIX)
        provinces.add(province_name)
        for district in province["districts"]:
            districts.setdefault(_short(district["name"], _DISTRICT_PREFIX), []).append(province_name)
    merge_file = resources.files("corpus") / "data" / "province_merge_2025.json"
    merged = {
        normalize_unicode(k): normalize_unicode(v)
        for k, v in json.loads(merge_file.read_text(encoding="utf-8")).items()
        if not k.startswith("_")
    }
    return Gazetteer(
        provinces=frozenset(provinces),
        districts={name: tuple(dict.fromkeys(owners)) for name, owners in districts.items()},
        merged_into=merged,
    )
