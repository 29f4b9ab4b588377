"""corpus.structure: section trees of the seed documents, and spans that nest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpus.chunk import PATH_SEPARATOR
from corpus.models import ParsedDocument, Section
from corpus.pipeline import parse_path
from corpus.structure import parse_sections, section_path

DOCUMENTS = Path(__file__).resolve().parents[1] / "corpus" / "documents"


@pytest.fixture(scope="module")
def seeds() -> dict[str, ParsedDocument]:
    return {path.name[:3]: parse_path(path) for path in sorted(DOCUMENTS.glob("*.txt"))}


def _find(doc: ParsedDocument, label_prefix: str, after: Section | None = None) -> Section:
    """The first section whose label starts with ``label_prefix`` (after ``after``, when given)."""
    for section in doc.sections:
        if section.label.startswith(label_prefix) and (after is None or section.start >= after.start):
            return section
    raise AssertionError(f"no section starting {label_prefix!r}")


def _parent(doc: ParsedDocument, section: Section) -> Section:
    assert section.parent is not None, f"{section.label!r} has no parent"
    return doc.sections[section.parent]


def _chunk_path(doc: ParsedDocument, phrase: str) -> str:
    paths = [chunk.section for chunk in doc.chunks if phrase in chunk.text]
    assert paths, f"no chunk holds {phrase!r}"
    return paths[0]


# --- Bình Lục (001) ---------------------------------------------------------------

def test_binh_luc_articles_are_siblings(seeds: dict[str, ParsedDocument]) -> None:
    doc = seeds["001"]
    articles = [s for s in doc.sections if s.kind == "dieu"]
    assert [s.label for s in articles] == ["Điều 1", "Điều 2", "Điều 3", "Điều 4"]
    assert len({(s.depth, s.parent) for s in articles}) == 1


def test_binh_luc_targets_sit_under_article_2(seeds: dict[str, ParsedDocument]) -> None:
    doc = seeds["001"]
    targets = _find(doc, "2. Các chỉ tiêu kinh tế - xã hội chủ yếu năm 2023")
    assert targets.label == "2. Các chỉ tiêu kinh tế - xã hội chủ yếu năm 2023"
    assert _parent(doc, targets).label == "Điều 2"
    assert _parent(doc, _find(doc, "1. Mục tiêu tổng quát")).label == "Điều 2"


def test_binh_luc_poverty_target_chunk_path(seeds: dict[str, ParsedDocument]) -> None:
    path = _chunk_path(seeds["001"], "Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%")
    assert path == "Điều 2 › 2. Các chỉ tiêu kinh tế - xã hội chủ yếu năm 2023"


def test_binh_luc_article_3_holds_fourteen_tasks(seeds: dict[str, ParsedDocument]) -> None:
    doc = seeds["001"]
    article_3 = _find(doc, "Điều 3")
    tasks = [s for s in doc.sections if s.parent == article_3.id and s.kind == "arabic"]
    assert [s.label.split(".")[0] for s in tasks] == [str(n) for n in range(1, 15)]
    assert tasks[0].label == "1. Tiếp tục tập trung chỉ đạo thực hiện Nghị quyết Đại hội Đảng bộ tỉnh lần thứ XX, " \
                             "Nghị quyết Đại hội Đảng…"


# --- Bình Giang (000) -------------------------------------------------------------

def test_binh_giang_parts_nest_under_article_1(seeds: dict[str, ParsedDocument]) -> None:
    doc = seeds["000"]
    part_1 = _find(doc, "I. Kết quả thực hiện kế hoạch phát triển KT-XH 6 tháng đầu năm 2024")
    part_2 = _find(doc, "II. Nhiệm vụ trọng tâm 6 tháng cuối năm 2024")
    assert _parent(doc, part_1).label == "Điều 1"
    assert _parent(doc, part_2).label == "Điều 1"
    assert part_1.depth == part_2.depth


def test_binh_giang_numbered_tasks_sit_under_part_2(seeds: dict[str, ParsedDocument]) -> None:
    doc = seeds["000"]
    part_2 = _find(doc, "II. ")
    tasks = [s for s in doc.sections if s.kind == "paren"]
    # The file numbers its tasks (1) to (13): "(13) Thanh tra đạt kế hoạch, tiếp dân theo lịch".
    assert [re.findall(r"^\(\d+\)", s.label) for s in tasks] == [[f"({n})"] for n in range(1, 14)]
    assert all(s.parent == part_2.id for s in tasks)
    assert _find(doc, "(4) ").label.startswith("(4) Đẩy nhanh tiến độ thi công")


def test_binh_giang_results_sit_under_part_1(seeds: dict[str, ParsedDocument]) -> None:
    doc = seeds["000"]
    part_1 = _find(doc, "I. ")
    results = [s for s in doc.sections if s.kind == "arabic" and s.parent == part_1.id]
    assert [s.label.split(".")[0] for s in results] == ["1", "2", "3", "4", "5", "6"]
    assert results[0].label == "1. Về sản xuất nông nghiệp"


def test_binh_giang_task_chunk_path(seeds: dict[str, ParsedDocument]) -> None:
    path = _chunk_path(seeds["000"], "hoàn thành dự án cải tạo, nâng cấp đường tỉnh 395 và đường dẫn cầu Cậy")
    labels = path.split(PATH_SEPARATOR)
    assert labels[:2] == ["Điều 1", "II. Nhiệm vụ trọng tâm 6 tháng cuối năm 2024"]
    assert labels[2].startswith("(4) Đẩy nhanh tiến độ thi công")


# --- Vĩnh Bảo (003) ---------------------------------------------------------------

def test_vinh_bao_parts_are_top_level(seeds: dict[str, ParsedDocument]) -> None:
    doc = seeds["003"]
    parts = [s for s in doc.sections if s.kind == "roman"]
    assert [s.label for s in parts] == [
        "I. KẾT QUẢ THỰC HIỆN NHIỆM VỤ NĂM 2023",
        "II. CHỦ ĐỀ, CHỈ TIÊU, NHIỆM VỤ, GIẢI PHÁP NĂM 2024",
        "III. TỔ CHỨC THỰC HIỆN",
    ]
    # The letterhead's "-----" rule (read as a bullet) is no container.
    assert all(s.parent is None and s.depth == 0 for s in parts)
    assert all(section_path(list(doc.sections), s.id) == [s.label] for s in parts)


def test_vinh_bao_target_17_sits_under_targets_under_part_2(seeds: dict[str, ParsedDocument]) -> None:
    doc = seeds["003"]
    target_17 = _find(doc, "(17).")
    assert target_17.label == "(17). Mức giảm tỷ lệ hộ nghèo (theo chuẩn nghèo quốc gia giai đoạn 2022-2025)"
    targets = _parent(doc, target_17)
    assert targets.label == "2. Một số chỉ tiêu chủ yếu"
    assert _parent(doc, targets).label == "II. CHỦ ĐỀ, CHỈ TIÊU, NHIỆM VỤ, GIẢI PHÁP NĂM 2024"


def test_vinh_bao_all_24_targets_share_one_parent(seeds: dict[str, ParsedDocument]) -> None:
    # Bullets such as "- Giá trị sản xuất nông nghiệp - thủy sản tăng" sit under
    # "(1)."; they must not capture "(2)." to "(24).".
    doc = seeds["003"]
    targets = _find(doc, "2. Một số chỉ tiêu chủ yếu")
    numbered = [s for s in doc.sections if s.kind == "paren"]
    assert [s.label.split(" ")[0] for s in numbered] == [f"({n})." for n in range(1, 25)]
    assert {s.parent for s in numbered} == {targets.id}


def test_vinh_bao_tasks_3_1_to_3_6_under_3(seeds: dict[str, ParsedDocument]) -> None:
    doc = seeds["003"]
    tasks = _find(doc, "3. Nhiệm vụ, giải pháp trọng tâm")
    assert _parent(doc, tasks).label.startswith("II. ")
    dotted = [s for s in doc.sections if s.kind == "dotted"]
    assert [s.label.split(" ")[0] for s in dotted] == [f"3.{n}." for n in range(1, 7)]
    assert {s.parent for s in dotted} == {tasks.id}


def test_vinh_bao_chunk_path(seeds: dict[str, ParsedDocument]) -> None:
    path = _chunk_path(seeds["003"], "Kết nạp mới 251 đảng viên trở lên")
    assert path == PATH_SEPARATOR.join([
        "II. CHỦ ĐỀ, CHỈ TIÊU, NHIỆM VỤ, GIẢI PHÁP NĂM 2024", "2. Một số chỉ tiêu chủ yếu",
        "(20). Kết nạp mới 251 đảng viên trở lên",
    ])


# --- Thường Xuân (004) ------------------------------------------------------------

def test_thuong_xuan_subsections_under_4(seeds: dict[str, ParsedDocument]) -> None:
    doc = seeds["004"]
    section_4 = _find(doc, "4. Về nhiệm vụ trọng tâm 6 tháng cuối năm 2024")
    for label in ("4.1. Về công tác chỉ đạo, điều hành", "4.2. Nhiệm vụ trọng tâm trên các lĩnh vực"):
        sub = _find(doc, label)
        assert sub.label == label
        assert sub.parent == section_4.id
    top = [s.label.split(".")[0] for s in doc.sections if s.kind == "arabic" and s.parent is None]
    assert top == ["1", "2", "3", "4"]


# --- spans, for every seed ---------------------------------------------------------

@pytest.mark.parametrize("doc", ["000", "001", "002", "003", "004"])
def test_section_spans_nest(seeds: dict[str, ParsedDocument], doc: str) -> None:
    parsed = seeds[doc]
    text, sections = parsed.text, parsed.sections
    assert sections, "every seed has headings"
    for section in sections:
        assert 0 <= section.start < section.end <= len(text)
        assert section.start <= section.body_end <= section.end
        assert section.start == 0 or text[section.start - 1] == "\n", "a heading starts a line"
        if section.parent is None:
            assert section.depth == 0
            continue
        parent = sections[section.parent]
        assert parent.id < section.id
        assert parent.start < section.start and section.end <= parent.end, (parent.label, section.label)
        assert section.depth == parent.depth + 1


@pytest.mark.parametrize("doc", ["000", "001", "002", "003", "004"])
def test_siblings_do_not_overlap(seeds: dict[str, ParsedDocument], doc: str) -> None:
    parsed = seeds[doc]
    by_parent: dict[int | None, list[Section]] = {}
    for section in parsed.sections:
        by_parent.setdefault(section.parent, []).append(section)
    for siblings in by_parent.values():
        for left, right in zip(siblings, siblings[1:], strict=False):
            assert left.end <= right.start


# --- the parser on short texts ------------------------------------------------------

def test_separator_and_bullets_do_not_capture_numbered_headings() -> None:
    text = (
        "HUYỆN ỦY VĨNH BẢO\n-----\n"
        "I. KẾT QUẢ THỰC HIỆN NHIỆM VỤ NĂM 2023\n"
        "- Giá trị sản xuất nông nghiệp - thủy sản tăng: 3% - 3,5%;\n"
        "II. CHỦ ĐỀ, CHỈ TIÊU, NHIỆM VỤ, GIẢI PHÁP NĂM 2024\n"
        "2. Một số chỉ tiêu chủ yếu\n"
        "(1). Tổng giá trị sản xuất trên địa bàn (giá so sánh năm 2010) tăng: 14% - 15%, trong đó:\n"
        "- Giá trị sản xuất nông nghiệp - thủy sản tăng: 3% - 3,5%;\n"
        "(2). Cơ cấu giá trị sản xuất theo giá thực tế:\n"
    )
    sections = parse_sections(text)
    target_2 = next(s for s in sections if s.label.startswith("(2)."))
    assert section_path(sections, target_2.id) == [
        "II. CHỦ ĐỀ, CHỈ TIÊU, NHIỆM VỤ, GIẢI PHÁP NĂM 2024", "2. Một số chỉ tiêu chủ yếu",
        "(2). Cơ cấu giá trị sản xuất theo giá thực tế",
    ]


def test_marker_line_resets_the_hierarchy() -> None:
    text = (
        "1. Căn cứ Luật Tổ chức chính quyền địa phương\n"
        "QUYẾT NGHỊ:\n"
        "Điều 1. Hội đồng nhân dân huyện nhất trí\n"
        "a) Về sản xuất nông nghiệp\n"
        "Điều 2. Hội đồng nhân dân huyện giao cho Ủy ban nhân dân huyện tổ chức, triển khai thực hiện Nghị quyết.\n"
    )
    sections = parse_sections(text)
    labels = {s.label: s for s in sections}
    assert labels["Điều 1"].parent == labels["QUYẾT NGHỊ"].id
    assert labels["a) Về sản xuất nông nghiệp"].parent == labels["Điều 1"].id
    assert labels["Điều 2"].depth == labels["Điều 1"].depth
