"""The web page in real headless Chromium (Debian's package, driven by Playwright's Python client)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import chromium, served

pytestmark = pytest.mark.slow  # starts a server and a browser

@pytest.fixture(scope="module")
def server(sample_index: Path) -> Iterator[str]:
    with served(sample_index) as url:
        yield url


@pytest.fixture(scope="module")
def page(server: str):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone-width screen
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        tab.goto(server + "/")
        yield tab


def test_search_shows_highlighted_passages(page) -> None:
    page.fill("#q", "chỉ tiêu hộ nghèo 2023 của Bình Lục?")
    page.click("#btn-search")
    first = page.locator(".result").first
    first.wait_for()
    assert "3,7%" in first.inner_text()
    assert "Điều 2 › 2. Các chỉ tiêu" in first.locator(".section").inner_text()
    marks = [m.lower() for m in first.locator("mark").all_inner_texts()]
    assert {"hộ", "nghèo"} <= set(marks)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scrolling on a phone


def test_ask_shows_the_figure_and_highlights_its_source(page) -> None:
    page.fill("#q", "chỉ tiêu hộ nghèo 2023 của Bình Lục?")
    page.click("#btn-ask")
    card = page.locator("#answer-card")
    card.wait_for()
    assert "3,7%" in card.locator(".answer").inner_text()
    assert "Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%" in card.locator(".quote").inner_text()
    card.locator(".open-doc").click()
    cited = page.locator("#cited")
    cited.wait_for()
    assert "giảm còn 3,7%" in cited.inner_text()
    assert cited.is_visible()
    page.screenshot(path=str(Path(os.environ.get("TRACUU_SCREENSHOTS", "/tmp")) / "tracuu-ask.png"))


def test_similar_view_groups_other_localities(page) -> None:
    page.fill("#q", "phân loại rác thải tại nguồn Bình Giang")
    page.click("#btn-search")
    page.locator(".result").first.wait_for()
    page.locator(".result .similar").first.click()
    page.locator(".group").first.wait_for()
    headings = page.locator(".group h3").all_inner_texts()
    assert headings and all("Bình Giang" not in h for h in headings)


def test_indicator_view_compares_localities_with_chart_table_and_csv(page) -> None:
    page.click("#btn-indicators")
    page.fill("#indicator-key", "tỷ lệ hộ nghèo")
    page.click("#indicator-form button[type=submit]")
    rows = page.locator(".indicator-row")
    rows.first.wait_for()
    table = page.locator("#indicator-table").inner_text()
    assert "Bình Lục" in table and "3,7" in table and "Vĩnh Bảo" in table and "0,46" in table
    assert page.locator("#indicator-chart rect.bar").count() == rows.count()
    assert "format=csv" in (page.get_attribute("#indicator-csv", "href") or "")
    rows.filter(has_text="Bình Lục").first.locator(".open-doc").click()
    cited = page.locator("#cited")
    cited.wait_for()
    assert "3,7%" in cited.inner_text()
    page.screenshot(path=str(Path(os.environ.get("TRACUU_SCREENSHOTS", "/tmp")) / "tracuu-indicators.png"),
                    full_page=True)
