"""index.restore: accents come back from the collection's own counts, and nothing else ever changes.

The training texts are sentences of the seed documents (Bình Lục's 2023 resolution and its
neighbours), so the counts are the kind the restorer sees in an index. The properties hold for
any string: folding the output gives the folded input, the length is kept, and accented text
comes back as it was.
"""

from __future__ import annotations

import json
from functools import lru_cache

from hypothesis import given, settings
from hypothesis import strategies as st

from index.restore import DiacriticRestorer
from index.textnorm import fold_diacritics, has_diacritics

# Sentences of corpus/documents, as written there: "hộ nghèo" three times, "hồ" (of "hồ sơ") five.
TEXTS = (
    "- Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%.",
    "Mức giảm tỷ lệ hộ nghèo (theo chuẩn nghèo quốc gia giai đoạn 2022-2025): 0,46%; phấn đấu không còn"
    " hộ nghèo trong năm 2024;",
    "Công tác chuẩn bị hồ sơ và tiến độ thi công các dự án đầu tư công còn chậm, tỷ lệ giải ngân còn thấp;",
    "số hóa hồ sơ trong tiếp nhận, giải quyết các TTHC",
    "Công tác hoàn thiện hồ sơ địa chính, cấp giấy chứng nhận QSD đất nông nghiệp",
    "Tỷ lệ hồ sơ trực tuyến còn thấp, chưa đạt kế hoạch.",
    "thực hiện tiếp nhận hồ sơ xét thăng hạng đối với viên chức",
    "Triển khai hiệu quả Đề án xây dựng huyện Bình Lục đạt chuẩn NTM nâng cao giai đoạn 2022-2025.",
    "Nghị quyết này đã được Hội đồng nhân dân huyện Bình Lục Khoá XX, Kỳ họp thứ tám (Kỳ họp thường lệ cuối"
    " năm 2022) thông qua ngày 16 tháng 12 năm 2022./.",
    "Các chỉ tiêu kinh tế - xã hội chủ yếu năm 2023",
    "- Thủ trưởng các cơ quan, ban ngành của huyện",
    "Tình hình an ninh chính trị, trật tự an toàn xã hội luôn được giữ vững ổn định",
    "Củng cố quốc phòng, an ninh, bảo đảm trật tự an toàn xã hội",
)
ACCENTED = sorted({w for t in TEXTS for w in t.split() if w.isalpha() and has_diacritics(w)})


@lru_cache(maxsize=1)
def restorer() -> DiacriticRestorer:
    return DiacriticRestorer.from_texts(TEXTS)


def test_restores_a_query_typed_without_accents() -> None:
    assert restorer().restore("chi tieu ho ngheo 2023 cua binh luc") == "chỉ tiêu hộ nghèo 2023 của bình lục"


def test_neighbours_choose_the_form() -> None:
    """"hồ" is the commoner form on its own, but "nghèo" after it makes it "hộ"."""
    counts = " ".join(TEXTS).lower()
    assert counts.count("hồ ") > counts.count("hộ ")
    assert restorer().restore("ho ngheo") == "hộ nghèo"
    assert restorer().restore("ho so") == "hồ sơ"
    assert restorer().restore("ngheo") == "nghèo"


def test_keeps_the_case_typed() -> None:
    r = restorer()
    assert r.restore("Binh Luc") == "Bình Lục"
    assert r.restore("binh luc") == "bình lục"
    assert r.restore("BINH LUC") == "BÌNH LỤC"
    assert r.restore("Ho Ngheo") == "Hộ Nghèo"


def test_keeps_everything_outside_syllables_and_unknown_syllables() -> None:
    r = restorer()
    assert r.restore("  ho ngheo:\t3,7% (2023)!? ") == "  hộ nghèo:\t3,7% (2023)!? "
    assert r.restore("ho ngheo xyzzy binh luc") == "hộ nghèo xyzzy bình lục"
    assert r.restore("") == ""


def test_accented_syllables_stay_and_give_context() -> None:
    r = restorer()
    assert r.restore("ho nghèo cua huyen") == "hộ nghèo của huyện"
    assert r.restore("ho sơ cua huyen") == "hồ sơ của huyện"
    assert r.restore("ty le ho nghèo hoà binh") == "tỷ lệ hộ nghèo hoà bình"  # old tone placement kept as typed


def test_mostly_accented_query_is_left_as_typed() -> None:
    """Accented syllables as many as the unaccented ones that could take an accent: typed on purpose."""
    assert restorer().restore("hồ sơ và tien do") == "hồ sơ và tien do"
    assert restorer().restore("an ninh quốc phòng") == "an ninh quốc phòng"
    # One accented against two that could take one ("an" is also "án" of "dự án"): restored.
    assert restorer().restore("an ninh quoc phòng") == "an ninh quốc phòng"


def test_every_sentence_of_the_training_text_comes_back_as_it_is() -> None:
    for text in TEXTS:
        assert restorer().restore(text) == text


def test_restore_many() -> None:
    assert restorer().restore_many(["ho ngheo", "ho so"]) == ["hộ nghèo", "hồ sơ"]


def test_json_round_trip_gives_the_same_output() -> None:
    data = json.loads(json.dumps(restorer().to_json(), ensure_ascii=False))
    loaded = DiacriticRestorer.from_json(data)
    queries = [fold_diacritics(t) for t in TEXTS] + ["chi tieu ho ngheo 2023 cua binh luc", "Ho So"]
    assert loaded.restore_many(queries) == restorer().restore_many(queries)
    assert loaded.to_json() == restorer().to_json()


def test_json_of_another_format_is_refused() -> None:
    try:
        DiacriticRestorer.from_json({"format": "something-else"})
    except ValueError as error:
        assert "not a diacritic model" in str(error)
    else:
        raise AssertionError("a foreign dict was accepted")


def test_empty_model_changes_nothing() -> None:
    empty = DiacriticRestorer.from_texts([], phrases=())
    assert empty.restore("ho ngheo binh luc") == "ho ngheo binh luc"


# Vietnamese letters (both cases, đ), digits, spacing, punctuation, combining marks and any other character.
_CHARS = st.one_of(
    st.sampled_from(list("abcdeghiklmnopqrstuvxyđĐ ĂÂÊÔƠƯăâêôơư") + list(" \t\n,.:;-/%()?0123456789")),
    st.sampled_from(["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "İ", "ß", "ẞ", "ǅ", "ﬁ"]),
    st.characters(),
)
_WORDS = st.sampled_from(["ho", "Ho", "HO", "ngheo", "binh", "luc", "so", "chi", "tieu", "cua", "an", "ninh"])
_QUERIES = st.one_of(st.text(_CHARS, max_size=60), st.lists(st.one_of(_WORDS, st.text(_CHARS, max_size=4)),
                                                             max_size=12).map(" ".join))


@settings(max_examples=400, deadline=None)
@given(_QUERIES)
def test_only_diacritics_ever_change(query: str) -> None:
    restored = restorer().restore(query)
    assert len(restored) == len(query)
    assert fold_diacritics(restored) == fold_diacritics(query)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ACCENTED), st.sampled_from([" ", ", ", "-", "\n", " 2023 ", "; "])),
                min_size=1, max_size=10))
def test_accented_text_comes_back_unchanged(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + gap for word, gap in parts)
    assert restorer().restore(text) == text


@settings(max_examples=200, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=10).map(" ".join))
def test_restored_query_is_restored_again_to_itself(query: str) -> None:
    """What the decoder chose is the best path given itself, so a second pass keeps it."""
    once = restorer().restore(query)
    assert restorer().restore(once) == once


def test_a_query_in_another_language_gets_only_its_names_restored() -> None:
    """"to" and "the" are Vietnamese syllables too ("tố cáo", "thể thao"); in an English question they stay English,
    while the capitalised names around them take their accents ("Bac Giang": "Giang" has none to take)."""
    r = DiacriticRestorer.from_texts((*TEXTS, "giải quyết khiếu nại, tố cáo", "văn hóa, thể thao", "tỉnh Bắc Giang"))
    question = "What poverty rate does Binh Luc aim to get down to, and the rate in Bac Giang?"
    assert "tố" in r.restore(question)  # what restoring every syllable would send the encoder
    assert r.restore_names(question) == "What poverty rate does Bình Lục aim to get down to, and the rate in Bắc Giang?"


@settings(max_examples=300, deadline=None)
@given(_QUERIES)
def test_names_only_restoration_changes_a_subset_of_what_full_restoration_does(query: str) -> None:
    names, full = restorer().restore_names(query), restorer().restore(query)
    assert len(names) == len(query)
    assert all(n in (q, f) for n, q, f in zip(names, query, full, strict=True))
