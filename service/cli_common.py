"""What the ``tracuu`` subcommands share: refusing a folder without an index, opening one, JSON out, progress."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus.errors import TracuuError
from corpus.load import SUPPORTED_SUFFIXES
from index.folder import STORE_NAME
from service.settings import get_settings

if TYPE_CHECKING:
    from index.collection import Collection


class NoIndex(TracuuError):
    """A command that reads an index was pointed at a folder that holds none."""

    code = "no_index"


def require_index(index_dir: Path) -> Path:
    """The folder, when it holds an index; otherwise a one-line refusal naming the command that builds one."""
    if not (index_dir / STORE_NAME).is_file():
        raise NoIndex(f"{index_dir} is not an index folder (no {STORE_NAME}); build one first: "
                      f"tracuu index build --corpus DIR --index {index_dir}")
    return index_dir


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


class ProgressBars:
    """tqdm bars on stderr, one per stage the writer reports (files parsed, chunks encoded): count, rate, time left."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self.bars.get(what)
        if bar is None:
            bar = self.bars[what] = tqdm(total=total, desc=what, unit=what.split()[0][:-1] or "item",
                                         file=sys.stderr, disable=not sys.stderr.isatty(), dynamic_ncols=True)
        if total != bar.total:  # a distributed build learns how many chunks it encodes as files are parsed
            bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)


def open_index(index_dir: Path) -> Collection:
    from service.deps import open_collection

    return open_collection(get_settings().model_copy(update={"index_dir": index_dir}))
