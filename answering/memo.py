"""One value per live object, built on first use and dropped with the object (a snapshot, an encoder).

Snapshots are immutable, so what answering derives from one (the indicator table, the places it covers) is
built once and kept exactly as long as the snapshot is in use.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class PerObject(Generic[K, V]):
    """``build(key)`` once per live ``key`` (weakly referenced), safe across request threads."""

    def __init__(self, build: Callable[[K], V]) -> None:
        self._build = build
        self._values: weakref.WeakKeyDictionary[K, V] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, key: K) -> V:
        with self._lock:
            value = self._values.get(key)
            if value is None:
                value = self._values[key] = self._build(key)
            return value
