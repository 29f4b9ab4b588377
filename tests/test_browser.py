"""The web page in real headless Chromium (Debian's package, driven by Playwright's Python client), at a desktop
width (1366×900) and a phone width (390×844). Screenshots go to $TRACUU_SCREENSHOTS (default /tmp) for a person to
look at; the assertions say what a user would check by eye."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corpus.gazetteer import fold
from tests.files import writable_copy
from tests.live import chromium, served

pytestmark = pytest.mark.slow  # starts a server and a browser

QUESTION = "chỉ tiêu hộ nghèo 2023 của Bình Lục?"
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
SHOTS = Path(os.environ.get("TRACUU_SCREENSHOTS", "/tmp"))


@pytest.fixture(scope="module")
def server(sample_index: Path) -> Iterator[str]:
    with served(sample_index) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(params=list(SIZES))
def page(request: pytest.FixtureRequest, browser: Any, server: str) -> Iterator[Any]:
    width, height = SIZES[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(server + "/")
    tab.size = request.param
    tab.width = width
    yield tab
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def until(page: Any, script: str, timeout_s: float = 15.0) -> None:
    """Wait until ``script`` is true in the page (Playwright's wait_for_function evaluates strings, which the page's
    Content-Security-Policy rightly forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {script}"
        page.wait_for_timeout(50)


def shot(page: Any, name: str, full: bool = False) -> None:
    page.screenshot(path=str(SHOTS / f"tracuu-{name}-{page.size}.png"), full_page=full)


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.width + 1


def search(page: Any, query: str) -> Any:
    page.fill("#q", query)
    page.click("#btn-search")
    first = page.locator(".result").first
    first.wait_for()
    return first


def test_start_page_shows_what_the_collection_holds(page: Any) -> None:
    overview = page.locator("#overview .big")
    overview.wait_for()
    assert overview.inner_text() == "5"
    text = page.locator("#overview").inner_text()
    assert "Hải Dương (nay thuộc Hải Phòng)" in text and "2024" in text and "Nghị quyết" in text
    no_sideways_scroll(page)
    shot(page, "home")


def test_first_card_leads_with_the_answering_line_and_marks_only_real_matches(page: Any) -> None:
    first = search(page, QUESTION)
    assert "Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%" in first.locator(".lead").inner_text()
    assert "Điều 2 › 2. Các chỉ tiêu" in first.locator(".section").inner_text()
    assert not first.locator(".passage").is_visible()  # the rest of the passage is folded away
    marks = {fold(m).lower() for m in page.locator(".result mark").all_text_contents()}
    assert {"ho", "ngheo"} <= marks
    assert marks <= {"ho", "ngheo", "chi tieu", "binh luc", "2023"}  # no "bình quân", "nguồn lực", "chỉ đạo"
    title = first.locator(".doc-title").inner_text()
    assert "HĐND huyện Bình Lục" in title and "16/12/2022" in title and ".txt" not in title
    status = page.locator("#status").inner_text()
    assert "ms" not in status and "phù hợp" in status  # no milliseconds shown to people
    no_sideways_scroll(page)
    shot(page, "search")


def test_buttons_are_disabled_while_a_request_runs(page: Any) -> None:
    page.evaluate("""() => { window.seen = []; new MutationObserver(() => {
        if (document.body.hasAttribute('aria-busy')) window.seen.push(document.getElementById('btn-ask').disabled);
      }).observe(document.body, {attributes: true}); }""")
    search(page, QUESTION)
    assert page.evaluate("window.seen") and all(page.evaluate("window.seen"))
    assert not page.locator("#btn-ask").is_disabled()  # and enabled again after


def test_more_results_on_request(page: Any) -> None:
    search(page, "hộ nghèo")
    assert page.locator(".result").count() == 10
    page.click("#btn-more")
    until(page, "document.querySelectorAll('.result').length > 10")
    assert "k=20" in page.url


def test_answer_card_gives_figure_context_and_source(page: Any) -> None:
    page.fill("#q", QUESTION)
    page.click("#btn-ask")
    card = page.locator("#answer-card")
    card.wait_for()
    assert "3,7%" in card.locator(".answer").inner_text()
    context = card.locator(".answer-context").inner_text()
    assert "Bình Lục" in context and "chỉ tiêu năm 2023" in context and "16/12/2022" in context
    assert "Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%" in card.locator(".quote").inner_text()
    assert re.search(r"Độ tin cậy: \d+ %", card.inner_text())
    shot(page, "ask")
    card.locator(".open-doc").click()
    cited = page.locator("#cited")
    cited.wait_for()
    assert cited.inner_text() == "Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%"
    assert cited.is_visible() and not page.locator("#panel-results").is_visible()  # one panel at a time


def test_document_view_has_its_own_address_back_and_close(page: Any, server: str) -> None:
    first = search(page, QUESTION)
    first.locator("a.doc-title").click()
    page.locator("#cited").wait_for()
    assert "#van-ban/" in page.url
    address = page.url
    title = page.locator("#doc-title").inner_text()
    assert title.startswith("Nghị quyết") and ".txt" not in title
    assert page.locator("#btn-close-doc").is_visible()
    no_sideways_scroll(page)
    shot(page, "document")
    page.go_back()  # the browser's back button returns to the results, as they were
    page.locator(".result").first.wait_for()
    assert page.locator("#panel-results").is_visible() and not page.locator("#panel-document").is_visible()

    shared = page.context.new_page()  # the address shared with a colleague opens the same view
    shared.goto(address)
    cited = shared.locator("#cited")
    cited.wait_for()
    assert "3,7%" in cited.inner_text() and cited.is_visible()
    shared.click("#btn-close-doc")
    shared.locator("#overview .big").wait_for()
    assert not shared.locator("#panel-document").is_visible()
    shared.close()


def test_a_missing_document_is_explained_in_vietnamese(page: Any, server: str) -> None:
    page.goto(server + "/#van-ban/khong-co-van-ban-nay")
    until(page, "document.getElementById('status').classList.contains('error')")
    assert "Không tìm thấy" in page.locator("#status").inner_text()


def test_province_picked_by_its_new_name_finds_documents_issued_under_the_old_one(page: Any) -> None:
    page.locator("#filters-box summary").click()
    labels = page.locator("#f-province option").all_inner_texts()
    assert any(label.startswith("Hải Dương (nay thuộc Hải Phòng)") for label in labels)
    assert any(label.startswith("Hải Phòng (gồm cả Hải Dương cũ)") for label in labels)
    page.select_option("#f-province", "Hải Phòng")
    localities = page.locator("#f-locality option").all_inner_texts()[1:]
    assert {label.split(" (")[0] for label in localities} == {"Bình Giang", "Vĩnh Bảo"}
    search(page, "phân loại rác thải tại nguồn")
    places = page.locator(".result .meta").all_inner_texts()
    assert any(p.startswith("Bình Giang, Hải Dương (nay thuộc Hải Phòng)") for p in places)
    assert all(p.startswith(("Bình Giang", "Vĩnh Bảo")) for p in places)
    assert "province=" in page.url  # the filter is part of the shareable address
    shot(page, "filtered")


def test_indicator_chart_and_table_fit_the_screen_and_follow_the_filters(page: Any, server: str) -> None:
    page.goto(server + "/#chi-tieu?key=tỷ lệ hộ nghèo")
    rows = page.locator(".indicator-row")
    rows.first.wait_for()
    table = page.locator("#indicator-table").inner_text()
    assert "Bình Lục" in table and "3,7 %" in table and "Vĩnh Bảo" in table and "0,46 %" in table
    chart = page.locator("#indicator-chart-img")
    until(page, "document.getElementById('indicator-chart-img').naturalWidth > 0")
    box = chart.bounding_box()
    assert box is not None and box["width"] <= page.width
    assert "format=csv" in (page.get_attribute("#indicator-csv", "href") or "")
    no_sideways_scroll(page)
    if page.size == "phone":  # the table scrolls inside its own frame, not the page
        assert page.evaluate("(() => { const w = document.querySelector('.table-wrap'); "
                             "return w.scrollWidth > w.clientWidth; })()")
    shot(page, "indicators", full=True)
    page.locator("#filters-box summary").click()
    page.select_option("#f-province", "Hà Nam")
    until(page, "document.querySelectorAll('.indicator-row').length === 1")
    assert "Vĩnh Bảo" not in page.locator("#indicator-table").inner_text()
    assert "province=" in (chart.get_attribute("src") or "")
    rows.first.locator(".open-doc").click()
    cited = page.locator("#cited")
    cited.wait_for()
    assert "3,7%" in cited.inner_text()


def test_similar_view_groups_other_localities(page: Any) -> None:
    search(page, "phân loại rác thải tại nguồn Bình Giang")
    page.locator(".result .similar").first.click()
    page.locator(".group").first.wait_for()
    headings = page.locator(".group h3").all_inner_texts()
    assert headings and all("Bình Giang" not in h for h in headings)
    no_sideways_scroll(page)


@pytest.fixture()
def writable_server(sample_index: Path, tmp_path: Path) -> Iterator[str]:
    with served(writable_copy(sample_index, tmp_path)) as url:
        yield url


@pytest.mark.parametrize("size", list(SIZES))
def test_upload_takes_the_good_files_and_explains_the_bad_one(browser: Any, writable_server: str, size: str) -> None:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.goto(writable_server + "/#tai-len")
    good = "NGHỊ QUYẾT\nVề kế hoạch năm 2025 của huyện Thử Nghiệm\nĐiều 1. Tỷ lệ hộ nghèo giảm còn 2,5%.\n"
    tab.set_input_files("#upload-files", [
        {"name": "nghi-quyet-thu.txt", "mimeType": "text/plain", "buffer": good.encode()},
        {"name": "bang-so-lieu.xlsx", "mimeType": "application/octet-stream", "buffer": b"PK\x03\x04 not a text"},
    ])
    assert tab.locator("#upload-chosen li").count() == 2
    tab.click("#btn-upload")
    results = tab.locator("#upload-results li")
    results.first.wait_for()
    lines = results.all_inner_texts()
    assert any(line.startswith("nghi-quyet-thu.txt: đã thêm") for line in lines)
    assert any(line.startswith("bang-so-lieu.xlsx: bị từ chối: định dạng không hỗ trợ") for line in lines)
    assert "Đã nhận 1 tệp, từ chối 1" in tab.locator("#status").inner_text()
    until(tab, "document.querySelector('#overview .big').textContent === '6'")  # the overview updates
    tab.screenshot(path=str(SHOTS / f"tracuu-upload-{size}.png"), full_page=True)
    assert tab.evaluate("document.documentElement.scrollWidth") <= width + 1
    context.close()


def test_upload_asks_for_the_key_when_writes_need_one(browser: Any, sample_index: Path, tmp_path: Path) -> None:
    with served(writable_copy(sample_index, tmp_path), api_key="khoa-bi-mat") as url:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.goto(url + "/#tai-len")
        text = "NGHỊ QUYẾT\nVề kế hoạch năm 2025 của huyện Thử Khóa\nĐiều 1. Tỷ lệ hộ nghèo giảm còn 1,5%.\n"
        tab.set_input_files("#upload-files", [{"name": "co-khoa.txt", "mimeType": "text/plain",
                                                "buffer": text.encode()}])
        assert not tab.locator("#key-row").is_visible()
        tab.click("#btn-upload")
        tab.locator("#key-row").wait_for()
        assert "Cần khóa truy cập" in tab.locator("#status").inner_text()
        tab.fill("#api-key", "sai")
        tab.click("#btn-upload")
        until(tab, "document.getElementById('status').textContent.includes('không đúng')")
        tab.fill("#api-key", "khoa-bi-mat")
        tab.click("#btn-upload")
        until(tab, "document.querySelectorAll('#upload-results li.ok').length === 1")
        assert tab.locator("#upload-results").inner_text().startswith("co-khoa.txt: đã thêm")
        context.close()
