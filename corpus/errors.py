"""Exceptions raised by ingestion; the service maps them to HTTP errors at its edge."""

from __future__ import annotations


class TracuuError(Exception):
    """Base of every error tracuu raises on purpose."""

    code = "error"


class RejectedFile(TracuuError):
    """A file that cannot be ingested, with the reason a person can act on."""

    code = "rejected_file"

    def __init__(self, source: str, reason: str, kind: str = "invalid") -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.kind = kind  # "too_large", "unsupported_type" or "invalid"
