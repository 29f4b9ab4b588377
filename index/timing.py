"""Where one query's time goes: seconds per stage, accumulated by a stopwatch passed down the search path.

The API returns the breakdown with each response (``timings_ms``) and the
benchmarks aggregate it; a few ``perf_counter`` calls per query cost
microseconds, so it is always on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Stopwatch:
    """Seconds per stage name; a stage entered twice (a batch of queries) accumulates."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def milliseconds(self) -> dict[str, float]:
        return {name: round(seconds * 1000, 3) for name, seconds in self.seconds.items()}
