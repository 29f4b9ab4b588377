"""The command line as an analyst uses it: readable search results, a collection overview, refusals that say what to
do, quiet pipes; and the API's JSON written as UTF-8, never as \\u escapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.cli import lead_text, main
from service.overview import folder_overview
from tests.conftest import DOCUMENTS

QUESTION = "chỉ tiêu hộ nghèo 2023 của Bình Lục?"
TRACUU = Path(sys.executable).with_name("tracuu")


# --- tracuu search ------------------------------------------------------------------


def test_search_shows_the_best_matching_line_with_its_section_and_document(sample_index: Path, capsys) -> None:
    assert main(["search", QUESTION, "--index", str(sample_index), "-k", "3"]) == 0
    out = capsys.readouterr().out
    first = out.split("\n2. ")[0]
    assert first.startswith("1. ")
    assert "HĐND huyện Bình Lục" in first and "2022-12-16" in first  # the document
    assert "   Điều 2 › 2. Các chỉ tiêu kinh tế - xã hội chủ yếu năm 2023\n" in first  # its section path
    assert "   » - Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%." in first  # the line, not the passage's start


def test_search_typed_without_diacritics_finds_the_same_line(sample_index: Path, capsys) -> None:
    assert main(["search", "chi tieu ho ngheo 2023 Binh Luc", "--index", str(sample_index), "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert "» - Tỷ lệ hộ nghèo (theo chuẩn mới) giảm còn 3,7%." in out


def test_lead_text_is_the_lead_line_cut_around_its_first_mark() -> None:
    line = "Mở đầu " * 80 + "tỷ lệ hộ nghèo giảm còn 3,7%" + " kết thúc" * 80
    text = "Dòng đầu\n  " + line + "\nDòng cuối"
    offset = 1000
    at = text.index(line) + offset
    mark = text.index("hộ nghèo") + offset
    hit = {"text": text, "start": offset, "end": offset + len(text), "lead": {"start": at - 2, "end": at + len(line)},
           "highlights": [[mark, mark + 8]]}
    shown = lead_text(hit)
    assert "hộ nghèo giảm còn 3,7%" in shown
    assert shown.startswith("…") and shown.endswith("…") and len(shown) <= 302
    wanted = "- Tỷ lệ hộ nghèo 3,7%."
    short = {"text": f"a\n{wanted}\n", "start": 0, "end": len(wanted) + 3, "lead": {"start": 2, "end": 2 + len(wanted)}}
    assert lead_text(short) == "- Tỷ lệ hộ nghèo 3,7%."


def test_search_json_is_the_api_shape(sample_index: Path, capsys) -> None:
    assert main(["search", QUESTION, "--index", str(sample_index), "-k", "2", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert len(body["results"]) == 2 and body["results"][0]["document"]["locality"] == "Bình Lục"


@pytest.mark.parametrize("reader", ["head -1", "true"], ids=["head", "closed-at-once"])
def test_search_into_a_reader_that_stops_early_exits_quietly(tmp_path: Path, reader: str) -> None:
    index_dir = tmp_path / "index"
    assert main(["index", "build", "--corpus", str(DOCUMENTS), "--index", str(index_dir)]) == 0
    env = {**os.environ, "TRACUU_EMBED_MODEL": "none"}
    # -k 100: about 30 KB of JSON, written in several pieces after the reader has gone.
    command = f"set -o pipefail; {TRACUU} search 'hộ nghèo' --index {index_dir} -k 100 --json | {reader}"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    if reader.startswith("head"):
        assert done.stdout == "{\n"


# --- refusing a folder without an index ---------------------------------------------------

COMMANDS = {
    "search": ["search", "hộ nghèo", "--index", "{index}"],
    "serve": ["serve", "--index", "{index}"],
    "index-add": ["index", "add", str(DOCUMENTS / "001_17c5f32e7502a0cf.txt"), "--index", "{index}"],
    "index-remove": ["index", "remove", "a4b0b10eb21e4ecd", "--index", "{index}"],
    "index-snapshot": ["index", "snapshot", "{dest}", "--index", "{index}"],
    "info": ["info", "--index", "{index}"],
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("folder", ["empty", "missing"])
def test_commands_refuse_a_folder_without_an_index(tmp_path: Path, command: list[str], folder: str, capsys) -> None:
    index_dir = tmp_path / folder
    if folder == "empty":
        index_dir.mkdir()
    argv = [a.format(index=index_dir, dest=tmp_path / "snapshot") for a in command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"tracuu: {index_dir} is not an index folder")
    assert "tracuu index build" in err
    assert not (index_dir / "store.sqlite").exists()  # nothing was created in its place
    assert index_dir.exists() == (folder == "empty")
    assert not (tmp_path / "snapshot").exists()


def test_index_build_is_the_one_command_that_creates_an_index(tmp_path: Path, capsys) -> None:
    index_dir = tmp_path / "new"
    assert main(["index", "build", "--corpus", str(DOCUMENTS), "--index", str(index_dir)]) == 0
    assert (index_dir / "store.sqlite").is_file()
    assert main(["search", "hộ nghèo", "--index", str(index_dir), "-k", "1"]) == 0
    assert "1. " in capsys.readouterr().out


# --- tracuu info and GET /overview ----------------------------------------------------------


def test_info_json_gives_the_collection_overview(sample_index: Path, capsys) -> None:
    assert main(["info", "--index", str(sample_index), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["documents"] == 5 and info["chunks"] > 100
    provinces = {(r["province"], r["province_current"]): r["documents"] for r in info["by_province"]}
    assert provinces[("Hà Nam", "Ninh Bình")] == 1  # renamed in 2025: both names
    assert provinces[("Hải Phòng", None)] == 1  # unchanged: the one name
    assert {r["year"]: r["documents"] for r in info["by_year"]} == {2024: 4, 2023: 2, 2022: 1}
    assert [r["year"] for r in info["by_year"]] == [2024, 2023, 2022]
    assert {r["doc_type"]: r["documents"] for r in info["by_doc_type"]} == {"Nghị quyết": 4, "Thông báo": 1}
    assert info["encoder"] is None  # built lexical-only
    assert info["updated_at"] and info["updated_at"].endswith("Z")


def test_info_text(sample_index: Path, capsys) -> None:
    assert main(["info", "--index", str(sample_index)]) == 0
    out = capsys.readouterr().out
    assert f"index {sample_index}: 5 documents, " in out
    assert "encoder: none (lexical search only)" in out
    assert "Hà Nam (now Ninh Bình)" in out and "Nghị quyết" in out and "2024" in out


def test_overview_route_matches_tracuu_info(client: TestClient, sample_index: Path) -> None:
    response = client.get("/overview")
    assert response.status_code == 200
    assert response.json() == folder_overview(sample_index)


# --- JSON as UTF-8 ------------------------------------------------------------------------


def test_json_responses_are_utf8_without_escapes(client: TestClient) -> None:
    for response in (client.get("/search", params={"q": "Bình Lục", "k": 3}),
                     client.post("/search", json={"query": "Bình Lục", "k": 3}),
                     client.get("/overview"), client.get("/documents")):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert "Bình Lục".encode() in response.content or "Hà Nam".encode() in response.content
        assert b"\\u" not in response.content
    search = client.get("/search", params={"q": "Bình Lục", "k": 3}).content
    assert "Bình Lục".encode() in search and b"B\\u00ecnh" not in search


def test_error_bodies_are_utf8_too(client: TestClient) -> None:
    response = client.get("/documents/không-có")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert "không-có".encode() in response.content and b"\\u" not in response.content


def test_export_bundled_refuses_a_folder_that_holds_something(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "keep.txt").write_text("x")
    assert main(["model", "export-bundled", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err and (tmp_path / "keep.txt").exists()
