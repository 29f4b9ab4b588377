"""Index-side exceptions; the service turns them into HTTP errors at its edge."""

from __future__ import annotations

from corpus.errors import TracuuError


class SearchError(TracuuError):
    """A query that cannot be answered as asked (a leg that is unavailable, a bad argument)."""

    code = "bad_search"


class IndexMismatch(TracuuError):
    """An index folder built with other settings than the ones asked for."""

    code = "index_mismatch"


class NotFound(TracuuError):
    code = "not_found"


class DistributedBuildError(TracuuError):
    """A build on a Ray cluster that could not finish: what it stored stays, and a rerun goes on from there."""

    code = "distributed_build_failed"
