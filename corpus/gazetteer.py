"""Vietnamese administrative units as they were before the 2025 reorganisation, and the places a question names.

The district → province tree comes from the maintained ``vietnam-provinces``
package, pinned at 0.6.0: its later releases hold only the post-2025 tree, in
which the districts our documents name no longer exist. Which province each old
province belongs to today is kept as data in ``data/province_merge_2025.json``.

:func:`find_place_mentions` reads the places a question names. Folded substring
matching is not enough ("Bình Lục năm" folds to contain the district "Lục Nam",
"là gì" the town "La Gi"), so a name counts only when a unit word introduces it
("huyện", "tỉnh", "xã" …), it is written capitalised, or it is one of the
collection's own places. A capitalised or introduced name that is no unit at
all is kept as well (``level`` None): it may be a misspelling of a known place.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources

from corpus.clean import normalize_unicode

_PROVINCE_PREFIX = re.compile(r"^(Tỉnh|Thành phố)\s+")
_DISTRICT_PREFIX = re.compile(r"^(Huyện|Quận|Thị xã|Thành phố)\s+")
_COMMUNE_PREFIX = re.compile(r"^(Xã|Phường|Thị trấn)\s+")
_SYLLABLE = re.compile(r"[^\W\d_]+\.?")
# Unit words, folded, as token sequences → the level they introduce. "h." and "tp" are how users abbreviate.
_UNIT_WORDS: dict[tuple[str, ...], str] = {
    ("thanh", "pho"): "tỉnh", ("tp",): "tỉnh", ("tp.",): "tỉnh", ("thi", "xa"): "huyện", ("thi", "tran"): "xã",
    ("tinh",): "tỉnh", ("huyen",): "huyện", ("quan",): "huyện", ("h.",): "huyện", ("h",): "huyện",
    ("xa",): "xã", ("phuong",): "xã",
}
# Folded unit words that are also ordinary words ("xa" far, "quan" official, "h" an hour): accepted only when
# typed with their diacritics, or when the name after them is a place the caller knows.
_AMBIGUOUS_UNITS = frozenset({("xa",), ("quan",), ("h",), ("phuong",), ("tinh",)})
_ACCENTED_UNITS = frozenset({"xã", "quận", "phường", "tỉnh"})


def fold(text: str) -> str:
    """"Bình Lục" → "binh luc": lower case, no diacritics, đ → d (the comparison form of place names)."""
    decomposed = unicodedata.normalize("NFD", normalize_unicode(text).lower().replace("đ", "d"))
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


@dataclass(frozen=True)
class Gazetteer:
    """Lookups by normalised short name ("Bình Lục", "Hải Dương")."""

    provinces: frozenset[str]
    districts: dict[str, tuple[str, ...]]  # district short name -> provinces that have one
    merged_into: dict[str, str]
    communes: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # name -> (district, province)

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

    @cached_property
    def by_key(self) -> dict[str, dict[str, str]]:
        """Folded name → {level: spelling}: one folded name may be a province, a district and a commune."""
        table: dict[str, dict[str, str]] = {}
        for level, names in (("xã", self.communes), ("huyện", self.districts), ("tỉnh", self.provinces)):
            for name in names:
                table.setdefault(fold(name), {})[level] = name
        return table

    def levels(self, key: str) -> dict[str, str]:
        """The units a folded name is, by level ({} when none is)."""
        return self.by_key.get(key, {})


def _short(name: str, prefix: re.Pattern[str]) -> str:
    return normalize_unicode(prefix.sub("", name).strip())


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Load the tree once per process (a few MB of JSON)."""
    tree_file = resources.files("vietnam_provinces") / "data" / "nested-divisions.json"
    tree = json.loads(tree_file.read_text(encoding="utf-8"))
    districts: dict[str, list[str]] = {}
    communes: dict[str, list[tuple[str, str]]] = {}
    provinces: set[str] = set()
    for province in tree:
        province_name = _short(province["name"], _PROVINCE_PREFIX)
        provinces.add(province_name)
        for district in province["districts"]:
            district_name = _short(district["name"], _DISTRICT_PREFIX)
            districts.setdefault(district_name, []).append(province_name)
            for ward in district.get("wards", ()):
                communes.setdefault(_short(ward["name"], _COMMUNE_PREFIX), []).append((district_name, province_name))
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
        communes={name: tuple(dict.fromkeys(owners)) for name, owners in communes.items()},
    )


@dataclass(frozen=True)
class PlaceMention:
    """A place name a question writes: ``key`` is its folded form, ``level`` the unit it is.

    ``level`` is None for a name no unit has: then ``near`` lists the known
    places it is a near miss of ("Bình Lộc" → "binh luc").
    """

    text: str  # as written ("Bình Lộc")
    key: str  # "binh loc"
    level: str | None  # "tỉnh" | "huyện" | "xã" | None
    unit_word: str | None = None  # the word that introduced it ("huyện"), None when none did
    near: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How a message names it: "huyện Mường Khương"."""
        word = self.unit_word.lower() if self.unit_word and len(self.unit_word) > 2 else self.level
        return f"{word} {self.text}" if word else self.text


Token = tuple[str, int, int]  # text, start, end


def _titlecase(token: str) -> bool:
    letters = token.rstrip(".")
    return len(letters) >= 2 and letters[0].isupper() and letters[1:].islower()


def _tokens(text: str) -> list[Token]:
    return [(m.group(0), m.start(), m.end()) for m in _SYLLABLE.finditer(text)]


def _joined(tokens: list[Token], text: str) -> bool:
    """Whether consecutive tokens are one name: only spaces between them ("Năm 2023 Bình" is not)."""
    return all(not text[a[2] : b[1]].strip() for a, b in zip(tokens, tokens[1:], strict=False))


def _unit_at(tokens: list[Token], i: int) -> tuple[str, str, int] | None:
    """(level, unit word as written, tokens it spans) when a unit word starts at token ``i``."""
    for size in (2, 1):
        words = tuple(fold(t[0]) for t in tokens[i : i + size])
        level = _UNIT_WORDS.get(words)
        if level and len(words) == size:
            return level, " ".join(t[0] for t in tokens[i : i + size]).rstrip("."), size
    return None


def _level_of(key: str, wanted: str | None, gazetteer: Gazetteer, known: frozenset[str]) -> str | None | bool:
    """The level a folded name has (False: it is no unit; None: a collection place the gazetteer lacks)."""
    levels = gazetteer.levels(key)
    if wanted and wanted in levels:
        return wanted
    if wanted == "tỉnh" and "huyện" in levels:  # "thành phố Vinh" is a district-level city
        return "huyện"
    for level in ("tỉnh", "huyện"):
        if level in levels and wanted != "xã":
            return level
    return None if key in known else False


def find_place_mentions(text: str, known: frozenset[str] = frozenset()) -> list[PlaceMention]:
    """The places ``text`` names, longest name first at each position; ``known``: the collection's folded places.

    A name counts when a unit word introduces it, when it is capitalised (two to
    four syllables), or when it is a ``known`` place written any way. A
    capitalised or introduced name that is no unit but a near miss of a known
    place ("Bình Lộc", "Vĩnh Bảu") is returned with level None and ``near`` set.
    """
    gazetteer = load_gazetteer()
    normalized = normalize_unicode(text)
    tokens = _tokens(normalized)
    mentions: list[PlaceMention] = []
    i = 0
    while i < len(tokens):
        found = _mention_at(tokens, i, normalized, gazetteer, known)
        if found is None:
            i += 1
            continue
        mentions.append(found[0])
        i += found[1]
    return mentions


def _mention_at(tokens: list[Token], i: int, text: str, gazetteer: Gazetteer,
                known: frozenset[str]) -> tuple[PlaceMention, int] | None:
    unit = _unit_at(tokens, i)
    level_wanted, unit_word, skip = unit if unit is not None else (None, None, 0)
    if unit is not None and _ambiguous(tokens, i, skip):
        unit_word = None  # "xa", "quan" typed without diacritics: only a known place after it counts
    start = i + skip
    exact = _exact_at(tokens, start, text, gazetteer, known, level_wanted, unit is not None)
    miss = _near_miss_at(tokens, start, text, known, unit_word is not None, level_wanted)
    if miss is not None and (exact is None or miss[1] > exact[1]):
        mention, size = miss
        return PlaceMention(mention.text, mention.key, None, unit_word, mention.near), skip + size
    if exact is not None:
        mention, size = exact
        return PlaceMention(mention.text, mention.key, mention.level, unit_word), skip + size
    return None


def _exact_at(tokens: list[Token], start: int, text: str, gazetteer: Gazetteer, known: frozenset[str],
              level_wanted: str | None, after_unit: bool) -> tuple[PlaceMention, int] | None:
    for size in (4, 3, 2, 1):
        span = tokens[start : start + size]
        if len(span) < size or not _joined(span, text):
            continue
        written = text[span[0][1] : span[-1][2]].rstrip(".")
        key = fold(written)
        level = _level_of(key, level_wanted, gazetteer, known)
        capitalised = all(_titlecase(t[0]) for t in span)
        if level is False or (level == "xã" and not after_unit):
            continue
        if size == 1 and not (after_unit and capitalised):
            continue  # one bare syllable ("Vinh", "vinh") is too often an ordinary word
        if key not in known and not capitalised and not (after_unit and level_wanted == level):
            continue
        return PlaceMention(written, key, level if isinstance(level, str) else None), size
    return None


def _ambiguous(tokens: list[Token], i: int, skip: int) -> bool:
    words = tuple(fold(t[0]) for t in tokens[i : i + skip])
    return words in _AMBIGUOUS_UNITS and tokens[i][0].lower() not in _ACCENTED_UNITS


def _near_miss_at(tokens: list[Token], start: int, text: str, known: frozenset[str],
                  after_unit: bool, unit_level: str | None) -> tuple[PlaceMention, int] | None:
    """A name of two or three syllables (capitalised, or any case after a unit word) near a known place."""
    for size in (3, 2):
        span = tokens[start : start + size]
        if len(span) < size or not _joined(span, text):
            continue
        if not after_unit and not all(_titlecase(t[0]) for t in span):
            continue
        written = text[span[0][1] : span[-1][2]].rstrip(".")
        key = fold(written)
        near = tuple(near_misses(key, known)) if key not in known else ()
        levels = load_gazetteer().levels(key)  # a real district or province is not a misspelling; a commune may be
        if near and not ({"tỉnh", "huyện"} & set(levels) or (unit_level == "xã" and "xã" in levels)):
            return PlaceMention(written, key, None, near=near), size
    return None


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance, stopping early once every path exceeds ``limit`` (names are short)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def near_misses(key: str, candidates: frozenset[str]) -> list[str]:
    """Known folded names within one edit (two for names of ten letters or more) of ``key``, nearest first."""
    limit = 2 if len(key.replace(" ", "")) >= 10 else 1
    scored = sorted((edit_distance(key, c, limit), c) for c in candidates
                    if c != key and " " in c and abs(len(c) - len(key)) <= limit)
    return [c for d, c in scored if d <= limit]
