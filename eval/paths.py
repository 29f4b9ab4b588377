"""Where the checkout and the shared data folder are, for eval, bench and the tests (defined once)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"  # the 177 older documents and ALQAC; absent on some machines
