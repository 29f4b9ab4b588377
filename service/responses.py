"""The app's JSON response: UTF-8 with the charset declared, Vietnamese written as itself, never as ``\\uXXXX``."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


class UTF8JSONResponse(JSONResponse):
    """``application/json; charset=utf-8``: "Bình Lục" goes out as its UTF-8 bytes, so a client that does not decode
    JSON escapes (a log, ``curl``, a spreadsheet import) still shows it, and nothing guesses the charset."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode(
            "utf-8")
