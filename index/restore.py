"""Put the diacritics back on a query typed without them.

"chi tieu ho ngheo 2023 cua binh luc" → "chỉ tiêu hộ nghèo 2023 của Bình Lục". The lexical index
matches folded queries on its folded tokens already; a multilingual encoder has no such tokens
and sees an unaccented query as a different (often foreign-looking) string. Restoring the
accents gives it the tokens it saw when it embedded the documents.

The model is learnt from the collection's own text, no external model: for every folded
syllable, which accented forms it takes and how often, and how often two syllables follow each
other. A query is decoded with Viterbi over a bigram model (absolute discounting, interpolated
with the unigram), the way an HMM decodes hidden states from what it observes: here the
observation is the folded syllable and the hidden state its accented form.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from corpus.clean import normalize_unicode
from index.textnorm import fold_diacritics, has_diacritics

FORMAT = "tracuu-diacritics/1"
# A number, or a letter then letters or combining marks (an NFD "á", a + U+0301, stays in its syllable).
# Numbers are context, all one token: "năm" before "2023" is what tells it from "nam".
_TOKEN = re.compile(r"(\d+(?:[.,]\d+)*)|[^\W\d_](?:[^\W\d_]|[\u0300-\u036f])*")
NUMBER = "0"
BOUNDARY = "."  # where a chain of syllables starts and ends: question words sit at the end
_CHAIN_GAP = re.compile(r"[ \t]+")  # syllables separated by this are neighbours; anything else breaks the chain
MAX_SYLLABLE = 7  # "nghiêng": longer words are names, acronyms or foreign, and only bloat the model
MAX_CANDIDATES = 8  # accented forms tried per syllable, most frequent first; the rest are a rounding error
# Questions are written in words reports rarely use: "bao nhiêu", "mấy", "gì" never occur in the
# collection, so the counts alone turn "bao nhieu" into "bảo nhiều". These interrogatives and
# query phrases are added to every model, each as if seen PHRASE_WEIGHT times.
QUERY_PHRASES = (
    "bao nhiêu", "là bao nhiêu", "có bao nhiêu", "được bao nhiêu", "bao lâu", "bao giờ", "khi nào", "lúc nào",
    "ngày nào", "năm nào", "nào", "mấy", "thứ mấy", "số mấy", "gấp mấy lần", "gì", "là gì", "làm gì",
    "để làm gì", "những gì", "thế nào", "như thế nào", "ra sao", "ở đâu", "vì sao", "tại sao", "ai",
    "do ai", "của ai", "ai ký", "hay không", "có không", "có phải", "muốn", "muốn làm gì", "cần", "nửa đầu năm",
    "nửa cuối năm", "so với",
)
PHRASE_WEIGHT = 5
DISCOUNT = 0.75  # the usual absolute discount; 0.5 measured no better on the dev questions
Segment = list[tuple[int, list[str]]]  # (position in the query's token list, the forms it may take)


class DiacriticRestorer:
    """Unigram and bigram counts of lower-cased accented syllables, and the decoder over them."""

    def __init__(self, counts: Counter[str], bigrams: Counter[tuple[str, str]]) -> None:
        self._counts = counts
        self._bigrams = bigrams
        total = max(1, sum(counts.values()))
        self._unigram = {w: c / total for w, c in counts.items()}
        # What v's pairs give up to the unigram: DISCOUNT for every different syllable seen after v.
        followers = Counter(v for v, _ in bigrams)
        self._backoff = {v: DISCOUNT * max(1, followers[v]) / c for v, c in counts.items()}
        self._unigram.setdefault(BOUNDARY, 1 / total)  # a model built from phrases alone has no boundaries
        self._backoff.setdefault(BOUNDARY, 1.0)
        forms: dict[str, list[str]] = {}
        for word, _ in counts.most_common():
            forms.setdefault(fold_diacritics(word), []).append(word)
        self._forms = {key: words[:MAX_CANDIDATES] for key, words in forms.items()}

    # -- building and saving ---------------------------------------------------

    @classmethod
    def from_texts(cls, texts: Iterable[str], phrases: Iterable[str] = QUERY_PHRASES) -> DiacriticRestorer:
        """Count syllables and neighbour pairs in ``texts`` (normalised as the index normalises them).

        ``phrases`` (:data:`QUERY_PHRASES` by default) are counted PHRASE_WEIGHT times each. Every
        pair is kept: dropping those seen once cuts the file by 40% but costs 7 points of exact-question
        accuracy on the dev questions (77% → 70%; the rare pairs are place names and query words).
        """
        counts, bigrams = text_counts(texts)
        for phrase in phrases:  # fragments, not sentences: no boundaries, or "nào" would seem to end every one
            for chain in _chains(normalize_unicode(phrase).lower()):
                for _ in range(PHRASE_WEIGHT):
                    counts.update(chain)
                    bigrams.update(zip(chain, chain[1:], strict=False))
        return cls._canonical(counts, bigrams)

    def updated(self, added: Iterable[str], removed: Iterable[str]) -> DiacriticRestorer:
        """The restorer :meth:`from_texts` would learn with ``added`` texts in and ``removed`` ones out.

        The counts are sums over texts, so a write adds and subtracts only its own texts' counts (a
        collection's 3 million sampled characters are not read again for one document).
        """
        counts, bigrams = Counter(self._counts), Counter(self._bigrams)
        plus, plus_pairs = text_counts(added)
        minus, minus_pairs = text_counts(removed)
        counts.update(plus)
        counts.subtract(minus)
        bigrams.update(plus_pairs)
        bigrams.subtract(minus_pairs)
        return self._canonical(+counts, +bigrams)  # unary plus drops what fell to zero

    @classmethod
    def _canonical(cls, counts: Counter[str], bigrams: Counter[tuple[str, str]]) -> DiacriticRestorer:
        """Words in the order :meth:`from_json` reads them (count, then word), so that equal counts give equal
        candidates whichever way they were reached (``most_common`` keeps insertion order among ties)."""
        ordered = Counter(dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))))
        return cls(ordered, bigrams)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the words with their counts, and each word's successors as flat [j, count, ...].

        Indexes into the word list rather than repeated strings keep the file small; write it with
        ``ensure_ascii=False, separators=(",", ":")``: readable forms, and a quarter smaller than with spaces.
        """
        words = sorted(self._counts, key=lambda w: (-self._counts[w], w))
        index = {w: i for i, w in enumerate(words)}
        successors: list[list[int]] = [[] for _ in words]
        for (v, w), c in sorted(self._bigrams.items(), key=lambda item: (index[item[0][0]], index[item[0][1]])):
            successors[index[v]] += [index[w], c]
        return {"format": FORMAT, "words": words, "counts": [self._counts[w] for w in words], "next": successors}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiacriticRestorer:
        """The restorer :meth:`to_json` described; refuses a dict of another format rather than guess."""
        if data.get("format") != FORMAT:
            raise ValueError(f"not a diacritic model ({data.get('format')!r}, expected {FORMAT!r})")
        words = [str(w) for w in data["words"]]
        counts = Counter(dict(zip(words, map(int, data["counts"]), strict=True)))
        bigrams: Counter[tuple[str, str]] = Counter()
        for v, flat in zip(words, data["next"], strict=True):
            bigrams.update({(v, words[flat[k]]): int(flat[k + 1]) for k in range(0, len(flat), 2)})
        return cls(counts, bigrams)

    # -- restoring -------------------------------------------------------------

    def restore(self, query: str) -> str:
        """``query`` with accents on its unaccented syllables; nothing but diacritics ever changes.

        Left as typed: every character outside a syllable (digits, punctuation, spacing), syllables
        that carry diacritics (they are context for their neighbours), syllables the collection never
        has, and the whole query when it is already mostly accented: when the accented syllables are
        at least as many as the unaccented ones that could take an accent, the unaccented ones were
        typed that way on purpose ("an ninh quốc phòng"). Capitals stay where they were typed.
        """
        matches = list(_TOKEN.finditer(query))
        typed = [m.group(0) for m in matches]
        options = [self._candidates(s) for s in typed]
        if not typed or _mostly_accented(typed, options):
            return query
        chosen = list(typed)
        for segment in _segments(query, matches, options):
            for (i, _), form in zip(segment, self._decode([forms for _, forms in segment]), strict=True):
                chosen[i] = typed[i] if _as_typed(typed[i]) else _with_case(form, typed[i])
        out, end = [], 0
        for match, word in zip(matches, chosen, strict=True):
            out += [query[end : match.start()], word]
            end = match.end()
        out.append(query[end:])
        return "".join(out)

    def restore_names(self, query: str) -> str:
        """For a query in another language: only its Vietnamese names and phrases restored ("Binh Luc district" →
        "Bình Lục district"): runs of two or more adjacent syllables the collection writes that are all capitalised
        (a name: "Bac Giang", whose "Giang" takes no accent) or all take an accent. A lone English word that is also
        a syllable ("to", "the") would become "tố", "thể" and send the encoder elsewhere.
        """
        typed = list(_TOKEN.finditer(query))
        chosen = [m.group(0) for m in _TOKEN.finditer(self.restore(query))]
        if len(typed) != len(chosen):  # restoring changes diacritics only, so this never holds; stay safe anyway
            return query
        known = [bool(self._candidates(m.group(0))) for m in typed]
        kept = [False] * len(typed)
        for joins in ([k and m.group(0)[0].isupper() for k, m in zip(known, typed, strict=True)],):
            start = 0
            for i in range(1, len(typed) + 1):
                adjacent = i < len(typed) and joins[i] and query[typed[i - 1].end():typed[i].start()] == " "
                if not (adjacent and joins[i - 1]):
                    if i - start > 1 and all(joins[start:i]):
                        kept[start:i] = [True] * (i - start)
                    start = i
        out, end = [], 0
        for match, word, keep in zip(typed, chosen, kept, strict=True):
            out += [query[end:match.start()], word if keep else match.group(0)]
            end = match.end()
        return "".join([*out, query[end:]])

    def known_share(self, text: str) -> float:
        """Share of the text's syllables (digits aside) that this collection writes: near 1 for Vietnamese typed
        without accents, low for English ("poverty", "rate" are no Vietnamese syllables)."""
        syllables = [m.group(0) for m in _TOKEN.finditer(text) if not m.group(0)[0].isdecimal()]
        if not syllables:
            return 1.0
        return sum(bool(self._candidates(s)) for s in syllables) / len(syllables)

    def restore_many(self, queries: Iterable[str]) -> list[str]:
        return [self.restore(q) for q in queries]

    def _candidates(self, syllable: str) -> list[str]:
        """Forms the model may choose for a syllable: its own (normalised) if accented, else all it knows."""
        if syllable[0].isdecimal():
            return [NUMBER] if NUMBER in self._counts else []
        lower = syllable.lower()
        if len(lower) != len(syllable):  # "İ" lower-cases to two characters: no form can keep the length
            return []
        if has_diacritics(lower):
            form = normalize_unicode(lower)
            return [form] if form in self._counts else []
        return self._forms.get(lower, [])

    def _decode(self, options: list[list[str]]) -> list[str]:
        """Viterbi: the sequence of forms, one of each position's options, with the highest bigram probability."""
        options = [*options, [BOUNDARY]]
        scores = {w: self._log_transition(BOUNDARY, w) for w in options[0]}
        back: list[dict[str, str]] = []
        for forms in options[1:]:
            step: dict[str, float] = {}
            pointers: dict[str, str] = {}
            for w in forms:
                prev, score = max(((v, s + self._log_transition(v, w)) for v, s in scores.items()),
                                  key=lambda item: item[1])
                step[w], pointers[w] = score, prev
            scores = step
            back.append(pointers)
        best = max(scores, key=lambda w: scores[w])
        path = [best]
        for pointers in reversed(back):
            path.append(pointers[path[-1]])
        return path[::-1][:-1]

    def _log_transition(self, v: str, w: str) -> float:
        """log P(w | v), absolute discounting: each pair count seen after v gives up DISCOUNT, and what
        they give up goes to w's unigram probability. Among Witten-Bell, Kneser-Ney and Dirichlet
        smoothing this scored best on the dev questions; Kneser-Ney's continuation counts undersell
        query words that the collection holds only in a few fixed phrases."""
        pair = self._bigrams.get((v, w), 0)
        seen = max(pair - DISCOUNT, 0) / self._counts[v] if pair else 0.0
        return math.log(seen + self._backoff[v] * self._unigram[w])


def text_counts(texts: Iterable[str]) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """Syllable and neighbour-pair counts of ``texts``, each chain bounded by BOUNDARY at both ends."""
    counts: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    for text in texts:
        for chain in _chains(normalize_unicode(text).lower()):
            counts.update(chain)
            counts[BOUNDARY] += 1
            bounded = [BOUNDARY, *chain, BOUNDARY]
            bigrams.update(zip(bounded, bounded[1:], strict=False))
    return counts, bigrams


def _chains(text: str) -> list[list[str]]:
    """The runs of model-sized syllables that only spaces separate: where neighbour counts come from."""
    chains: list[list[str]] = []
    current: list[str] = []
    end = 0
    for match in _TOKEN.finditer(text):
        word = NUMBER if match.group(1) else match.group(0)
        linked = _CHAIN_GAP.fullmatch(text[end : match.start()]) is not None
        if current and not linked:
            chains.append(current)
            current = []
        if len(word) <= MAX_SYLLABLE:
            current.append(word)
        elif current:
            chains.append(current)
            current = []
        end = match.end()
    if current:
        chains.append(current)
    return chains


def _mostly_accented(typed: list[str], options: list[list[str]]) -> bool:
    """Accented syllables at least as many as the unaccented ones the model knows an accented form of."""
    accented = sum(1 for s in typed if has_diacritics(s))
    if not accented:
        return False
    open_ = sum(1 for s, forms in zip(typed, options, strict=True)
                if not _as_typed(s) and any(f != s.lower() for f in forms))
    return accented >= open_


def _segments(query: str, matches: list[re.Match[str]], options: list[list[str]]) -> list[Segment]:
    """Runs of known tokens with only spaces between them: the stretches a bigram can link."""
    segments: list[Segment] = []
    current: Segment = []
    for i, (match, forms) in enumerate(zip(matches, options, strict=True)):
        gap = query[matches[i - 1].end() : match.start()] if i else ""
        if current and (not forms or not _CHAIN_GAP.fullmatch(gap)):
            segments.append(current)
            current = []
        if forms:
            current.append((i, forms))
    if current:
        segments.append(current)
    return segments


def _as_typed(token: str) -> bool:
    """Numbers and accented syllables are context only: the output keeps them character for character."""
    return token[0].isdecimal() or has_diacritics(token)


def _with_case(form: str, original: str) -> str:
    """``form`` with the capitals of ``original``; ``original`` itself when the result would fold differently."""
    if len(form) != len(original):
        return original
    cased = "".join(f.upper() if o.isupper() else f for f, o in zip(form, original, strict=True))
    same = len(cased) == len(original) and fold_diacritics(cased) == fold_diacritics(original)
    return cased if same else original
