"""Text cleaning: the cleaned text is what tracuu stores, serves and cites.

Every offset in the system points into the output of :func:`clean_text`, so the
function must be deterministic and idempotent (cleaning twice changes nothing);
``tests/test_clean.py`` checks both with hypothesis.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Combining tone marks (grave, acute, tilde, hook above, dot below). Vowel
# quality marks (circumflex, breve, horn) are part of the letter and stay put.
_TONES = "\u0300\u0301\u0303\u0309\u0323"
_TONE_SET = frozenset(_TONES)
_VOWELS = frozenset("aăâeêioôơuưy")
_MARKED_VOWELS = frozenset("ăâêôơư")

_WORD = re.compile(r"[^\W\d_]+")
# A bookmark name holds no "[": without that stop, each "[bookmark:" of an unclosed run
# ("[bookmark: [bookmark: …") scans to the end of the line, quadratic in the line length.
_BOOKMARK = re.compile(r"\[bookmark:[^\[\]\n]*\]")
_BOLD = re.compile(r"\*\*\*?(?=\S)([^*\n]+?)(?<=\S)\*?\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_STRAY_STARS = re.compile(r"(?m)^[ \t]*\*+[ \t]*$")
_STRAY_BOLD = re.compile(r"\*\*+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_TRAILING = re.compile(r"(?m)[ ]+$|^[ ]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
# A line that stops mid-sentence (no closing punctuation) and a next line that
# starts in lower case were one line before a converter wrapped them. The lower
# case letters are listed: a range like à-ỹ also holds Đ, Ủ, Ở … and would glue
# "Điều 2." or "Ủy ban nhân dân tỉnh" onto the line above. A lettered item
# ("a) Cơ quan, đơn vị thực hiện") starts in lower case but is a heading.
_LOWER = "a-zàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
_MID_SENTENCE_BREAK = re.compile(
    r"(?<=[^\W_]|,)\n\n?(?![a-zđ]\)(?:\s|$))(?=[" + _LOWER + r"]|\d{1,2}/\d{1,2}/\d{2,4})"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\u200c\u200d\u2060]")


def _tone_position(letters: str) -> int | None:
    """Index in ``letters`` (lower case, no tone) where the tone mark belongs."""
    start = 0
    if letters.startswith("gi") and len(letters) > 2 and letters[2] in _VOWELS:
        start = 2
    elif letters.startswith("qu") and len(letters) > 2 and letters[2] in _VOWELS:
        start = 2
    vowel_idx = [i for i in range(start, len(letters)) if letters[i] in _VOWELS]
    if not vowel_idx:
        # "gì", "gị": the i of gi is the only vowel.
        vowel_idx = [i for i, ch in enumerate(letters) if ch in _VOWELS]
        if not vowel_idx:
            return None
    marked = [i for i in vowel_idx if letters[i] in _MARKED_VOWELS]
    if marked:
        return marked[-1]  # "ươ" takes the tone on ơ, the last marked vowel
    if len(vowel_idx) == 1:
        return vowel_idx[0]
    ends_open = vowel_idx[-1] == len(letters) - 1
    if len(vowel_idx) == 2 and ends_open:
        # New-style placement: "hòa", "thủy", "khỏe", "mía", "của" — first vowel.
        return vowel_idx[0]
    if len(vowel_idx) >= 3 and ends_open:
        return vowel_idx[1]
    return vowel_idx[-1]


@lru_cache(maxsize=1 << 16)
def _normalize_syllable(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    tones = [ch for ch in decomposed if ch in _TONE_SET]
    if len(tones) != 1:
        return word
    bare = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_SET))
    if len(bare) > 7:  # no Vietnamese syllable is this long; leave foreign words alone
        return word
    pos = _tone_position(bare.lower())
    if pos is None:
        return word
    placed = bare[: pos + 1] + tones[0] + bare[pos + 1 :]
    return unicodedata.normalize("NFC", placed)


def normalize_tones(text: str) -> str:
    """Put every syllable's tone mark in one place ("hoà" → "hòa", "thuỷ" → "thủy").

    Documents mix old and new placement; without one form, BM25 and exact
    matching treat the two spellings of one word as different words.
    """
    # Distinct words are few (syllables repeat) and most are already in place: look each up once,
    # and leave the text as it is when none moves.
    moved = {word: fixed for word in set(_WORD.findall(text)) if (fixed := _normalize_syllable(word)) != word}
    if not moved:
        return text
    return _WORD.sub(lambda m: moved.get(m.group(0), m.group(0)), text)


def normalize_unicode(text: str) -> str:
    """NFC plus one tone placement: the form every comparison in tracuu uses."""
    return normalize_tones(unicodedata.normalize("NFC", text))


def _strip_debris(text: str) -> str:
    text = _CONTROL.sub("", text)
    text = _BOOKMARK.sub("", text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = _STRAY_STARS.sub("", text)
    return _STRAY_BOLD.sub("", text)


def _tidy_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    text = _TRAILING.sub("", text)
    text = _MID_SENTENCE_BREAK.sub(" ", text)
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()


def _clean_once(text: str) -> str:
    return _tidy_whitespace(_strip_debris(normalize_unicode(text)))


def clean_text(text: str) -> str:
    """Return the canonical cleaned form of a document's text.

    Steps: NFC and one tone placement; conversion debris removed (Word
    bookmarks, markdown emphasis, stray asterisks, control characters);
    whitespace folded; lines broken mid-sentence re-joined. Repeated until
    stable so the function is idempotent even when one step uncovers work for
    another (a bold marker hiding a mid-sentence break).
    """
    previous = None
    for _ in range(5):
        if text == previous:
            break
        previous, text = text, _clean_once(text)
    return text


def emphasised_lines(raw: str) -> list[str]:
    """Lines that the source set wholly in bold or italics, cleaned.

    Structure parsing uses them as heading hints: the emphasis itself is
    stripped from the stored text, but a bold line is still a heading.
    """
    hints: list[str] = []
    for block in re.findall(r"\*\*\*?([^*]+?)\*?\*\*", normalize_unicode(raw)):
        cleaned = clean_text(block)
        if cleaned and len(cleaned) <= 200:
            hints.extend(line for line in cleaned.split("\n") if line)
    return hints
