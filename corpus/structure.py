"""Section hierarchy of a cleaned document, with character spans.

Vietnamese administrative documents number their parts in many orders: a
resolution nests "I." inside "Điều 1.", a Party resolution puts "(1)" under
"2.", a notice puts "4.1." under "4.". Rather than fix one ranking, the parser
learns the nesting from the document: a heading kind seen for the first time
opens a level below the current one; a kind already open closes everything
below it and starts a sibling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.models import Section

# Order matters: the first pattern that matches a line decides its kind.
_HEADING_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("phan", re.compile(r"^(?:PHẦN|Phần)\s+(?:thứ\s+)?[\wIVX]+\b")),
    ("chuong", re.compile(r"^(?:CHƯƠNG|Chương)\s+[IVXLC\d]+\b")),
    ("muc", re.compile(r"^(?:MỤC|Mục)\s+\d+\b")),
    ("dieu", re.compile(r"^Điều\s+\d+[a-z]?\s*[.:]")),
    ("roman", re.compile(r"^[IVX]{1,6}\.\s")),
    ("dotted3", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}\.?\s")),
    ("dotted", re.compile(r"^\d{1,2}\.\d{1,2}\.?\s")),
    ("arabic", re.compile(r"^\d{1,2}\.\s")),
    ("paren", re.compile(r"^\(\d{1,3}\)\.?\s")),
    ("letter", re.compile(r"^[a-zđ]\)\s")),
    ("bullet", re.compile(r"^[-–•+]\s*\S")),
)
# Formula lines that belong to no numbered part; they reset the hierarchy.
_MARKERS = re.compile(r"^(QUYẾT NGHỊ|QUYẾT ĐỊNH|KẾT LUẬN)\s*:?\s*$")
_CLOSING = re.compile(r"^Nơi nhận\s*:?\s*$", re.IGNORECASE)
_LABEL_MAX = 110


@dataclass(frozen=True)
class _Heading:
    kind: str
    start: int
    line_end: int
    label: str


def _label(kind: str, line: str) -> str:
    """Short form for section paths: "Điều 2", or the heading up to its first full stop."""
    if kind == "dieu":
        match = re.match(r"Điều\s+\d+[a-z]?", line)
        return match.group(0) if match else line
    prefix = dict(_HEADING_PATTERNS)[kind].match(line) if kind in dict(_HEADING_PATTERNS) else None
    cut = prefix.end() if prefix else 0
    head = line[:cut] + re.split(r"[.:;](?:\s|$)", line[cut:], maxsplit=1)[0]
    head = head.strip()
    if len(head) > _LABEL_MAX:
        head = head[:_LABEL_MAX].rsplit(" ", 1)[0] + "…"
    return head


def _line_kind(line: str, emphasised: set[str]) -> str | None:
    if _MARKERS.match(line):
        return "marker"
    if _CLOSING.match(line):
        return "closing"
    for kind, pattern in _HEADING_PATTERNS:
        if pattern.match(line):
            return kind
    if line in emphasised and len(line) <= 150:
        return "emph"
    return None


def find_headings(text: str, emphasised: list[str] | None = None) -> list[_Heading]:
    hints = set(emphasised or [])
    headings = []
    offset = 0
    for line in text.split("\n"):
        kind = _line_kind(line, hints)
        if kind:
            headings.append(_Heading(kind, offset, offset + len(line), _label(kind, line)))
        offset += len(line) + 1
    return headings


def _section_ends(headings: list[_Heading], depths: list[int], text_end: int) -> list[int]:
    """Where each section ends: at the next heading at its depth or above, else at the end of the text.

    One pass with a stack of headings still open (depths strictly rising), so
    a file of 100,000 numbered lines is not scanned once per heading.
    """
    ends = [text_end] * len(headings)
    still_open: list[int] = []
    for j, heading in enumerate(headings):
        while still_open and depths[still_open[-1]] >= depths[j]:
            ends[still_open.pop()] = heading.start
        still_open.append(j)
    return ends


def parse_sections(text: str, emphasised: list[str] | None = None) -> list[Section]:
    """Sections in document order; each ``[start, end)`` is a span of ``text``.

    Text before the first heading is not a section (it is the document's
    header and preamble); chunking gives it an empty section path.
    """
    headings = find_headings(text, emphasised)
    depths: list[int] = []
    parents: list[int | None] = []
    open_stack: list[tuple[str, int]] = []  # (kind, heading index) from outermost to innermost
    for i, heading in enumerate(headings):
        if heading.kind != "bullet":
            # A list item never contains a numbered heading: without this, a
            # bullet left open high up ("-----" under the letterhead, "- Xét đề
            # nghị …" in the preamble) is later re-opened by a deep bullet and
            # cuts every following heading off from its real parents.
            while open_stack and open_stack[-1][0] == "bullet":
                open_stack.pop()
        kinds = [kind for kind, _ in open_stack]
        if heading.kind in ("marker", "closing"):
            open_stack = []
        elif heading.kind in kinds:
            open_stack = open_stack[: kinds.index(heading.kind)]
        depths.append(len(open_stack))
        parents.append(open_stack[-1][1] if open_stack else None)
        open_stack.append((heading.kind, i))
    ends = _section_ends(headings, depths, len(text))
    sections = []
    for i, heading in enumerate(headings):
        # A section's own body stops at the next heading of any depth.
        end = ends[i]
        body_end = headings[i + 1].start if i + 1 < len(headings) else len(text)
        sections.append(Section(id=i, kind=heading.kind, label=heading.label, depth=depths[i], parent=parents[i],
                                start=heading.start, end=end, body_end=body_end))
    return sections


def section_path(sections: list[Section], index: int, include_bullets: bool = False) -> list[str]:
    """Labels from the outermost section down to ``index`` ("Điều 2", "2. Các chỉ tiêu …")."""
    labels: list[str] = []
    current: int | None = index
    while current is not None:
        section = sections[current]
        if include_bullets or section.kind not in ("bullet", "marker"):
            labels.append(section.label)
        current = section.parent
    return list(reversed(labels))
