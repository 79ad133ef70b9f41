"""obsidian-spaced-repetition's schedules: ``<!--SR:!2024-01-02,3,250-->`` comments and ``sr-*`` frontmatter.

OSR writes a card's schedule (due date, interval in days, ease in per mille)
in an HTML comment at the end of a one-line card, or on the line after a
multi-line card; a card with siblings (a reversed pair, the deletions of a
cloze) gets one ``!due,interval,ease`` per sibling, in order. A note reviewed
as a whole has ``sr-due``, ``sr-interval`` and ``sr-ease`` in its frontmatter.

A schedule comment is one the parser would read as such: its lines are the
parser's (``text.split_lines``: ``\\f``, VT, U+0085 and U+2028 are text inside a
line), and a comment in the frontmatter, a code or math block, inline code or
another comment is text, never a schedule (``schedule_spans``). Reading and
removing (``strip_schedule_comments_from``, for ``import osr --strip``) use the
same spans, so the strip never touches code, comments or the lines around.

A schedule out of range (an interval over 100 years, an ease out of 0-100000, a
date that is not one, ``sr-interval: .inf``) is a problem naming its line
(``schedule_problems``), never an exception, and gives its card no schedule.

The parser never lets these comments into a card's text (``parser``); this
module reads them back and assigns each to its card. Pure: text in, values out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .lines import (
    FENCE,
    FRONT,
    ICODE,
    MATH,
    SR_COMMENT_RE,
    classify_lines,
    mask_comments,
    strip_schedule_comments,
)
from .meta import read_frontmatter
from .model import ParsedCard, ParsedNote
from .text import mask_inline_code, split_lines

_ENTRY_RE = re.compile(r"!?([0-9]{4}-[0-9]{2}-[0-9]{2}),([0-9]+),([0-9]+)")
MAX_INTERVAL = 36525
"""OSR's own maximum interval (100 years), in days."""
MAX_EASE = 100_000
_SENTINEL = 0xE000
"""Private-use characters that stand in for schedule comments while a line is masked."""
_UNTOUCHED = (FRONT, FENCE, MATH, ICODE)


@dataclass(frozen=True)
class OsrSchedule:
    """One SM-2 schedule as OSR keeps it."""

    due: date
    interval: int
    ease: int
    """Per mille: 250 is an ease factor of 2.5."""
    line: int = 0
    """The 1-based line it is written on (0: not known)."""


def _check(due: Any, interval: Any, ease: Any, line: int) -> OsrSchedule | str:
    """A schedule, or why it is not one."""
    numbers = []
    for name, value, top in (("interval", interval, MAX_INTERVAL), ("ease", ease, MAX_EASE)):
        if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
            value = int(value.strip()) if len(value.strip()) < 10 else float("inf")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{name} {str(value)[:20]!r} is not a number"
        if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
            return f"{name} {value} is not a whole number"
        if not 0 <= value <= top:
            shown = str(int(value)) if abs(value) < 1e30 else f"{value:.3g}"
            return f"{name} {shown} is out of range (0 to {top:,})"
        numbers.append(int(value))
    try:
        if isinstance(due, datetime):
            day = due.date()
        else:
            day = due if isinstance(due, date) else date.fromisoformat(str(due).strip()[:10])
    except ValueError:
        return f"due date {str(due)[:20]!r} is not a date"
    return OsrSchedule(day, numbers[0], numbers[1], line)


def _entries(comment: str, line: int) -> list[OsrSchedule | str]:
    """Each ``!due,interval,ease`` of one comment, in order: a schedule or why it is not one."""
    out: list[OsrSchedule | str] = []
    for m in _ENTRY_RE.finditer(comment):
        entry = m.group(0).lstrip("!")
        if len(m.group(2)) > 9 or len(m.group(3)) > 9:
            out.append(f"!{entry[:40]}: a number is out of range")
            continue
        checked = _check(m.group(1), int(m.group(2)), int(m.group(3)), line)
        out.append(checked if isinstance(checked, OsrSchedule) else f"!{entry}: {checked}")
    return out


def schedule_spans(text: str) -> dict[int, list[tuple[int, int]]]:
    """0-based line -> ``(start, end)`` in that line of each schedule comment, as the parser reads the
    note: none in the frontmatter, a code or math block, inline code or another comment."""
    body = text.removeprefix("\ufeff")
    if "<!--SR:" not in body:
        return {}
    lines = split_lines(body)
    # The parser classifies the lines with the schedule comments taken out (``parser``).
    seen = [strip_schedule_comments(line) if "<!--SR:" in line else line for line in lines]
    if "\x00" in body:
        seen = [line.replace("\x00", "") for line in seen]
    classified = classify_lines(seen, read_frontmatter("\n".join(seen), "").body_start)
    out: dict[int, list[tuple[int, int]]] = {}
    for i, line in enumerate(lines):
        if "<!--SR:" not in line or classified.kind[i] in _UNTOUCHED:
            continue
        spans = [(m.start(), m.end()) for m in SR_COMMENT_RE.finditer(line)]
        if not spans:
            continue
        # Each comment becomes one private-use character; those left after masking are outside
        # inline code and other comments.
        parts, pos = [], 0
        for k, (a, b) in enumerate(spans):
            parts.extend([line[pos:a], chr(_SENTINEL + k)])
            pos = b
        parts.append(line[pos:])
        marked = mask_inline_code("".join(parts))
        state = (classified.comment_at or {}).get(i)
        masked, _ = (
            mask_comments(marked, state) if state or "<!--" in marked or "%%" in marked else (marked, None)
        )
        kept = [span for k, span in enumerate(spans) if chr(_SENTINEL + k) in masked]
        if kept:
            out[i] = kept
    return out


def _schedule_entries(text: str) -> dict[int, list[OsrSchedule | str]]:
    """1-based line -> the entries of the schedule comments on it (a schedule, or why it is not one)."""
    lines = split_lines(text.removeprefix("\ufeff"))
    out: dict[int, list[OsrSchedule | str]] = {}
    for i, spans in schedule_spans(text).items():
        found = [e for a, b in spans for e in _entries(lines[i][a:b], i + 1)]
        if found:
            out[i + 1] = found
    return out


def schedule_lines(text: str) -> dict[int, list[OsrSchedule]]:
    """1-based line -> the valid schedules of the ``<!--SR:...-->`` comments on it."""
    out: dict[int, list[OsrSchedule]] = {}
    for line, entries in _schedule_entries(text).items():
        found = [e for e in entries if isinstance(e, OsrSchedule)]
        if found:
            out[line] = found
    return out


def _key_line(text: str, key: str) -> int:
    """The 1-based line of ``key:`` in the frontmatter (1 if it is not found)."""
    for i, line in enumerate(split_lines(text.removeprefix("\ufeff"))[:500], 1):
        if line.startswith(f"{key}:"):
            return i
    return 1


def _note_entry(text: str, path: str) -> OsrSchedule | tuple[int, str] | None:
    """The frontmatter's schedule, a problem ``(line, message)``, or None (no complete schedule)."""
    data: dict[str, Any] = read_frontmatter(text, path).data
    due, interval, ease = data.get("sr-due"), data.get("sr-interval"), data.get("sr-ease")
    if due is None or interval is None or ease is None:
        return None
    checked = _check(due, interval, ease, _key_line(text, "sr-due"))
    if isinstance(checked, OsrSchedule):
        return checked
    key = (
        "sr-interval"
        if checked.startswith("interval")
        else "sr-ease"
        if checked.startswith("ease")
        else "sr-due"
    )
    return _key_line(text, key), f"{key}: {checked.split(' ', 1)[1]}"


def note_schedule(text: str, path: str) -> OsrSchedule | None:
    """The note-level schedule of the frontmatter (``sr-due``, ``sr-interval``, ``sr-ease``), if complete and valid."""
    found = _note_entry(text, path)
    return found if isinstance(found, OsrSchedule) else None


def schedule_problems(text: str, path: str) -> list[tuple[int, str]]:
    """``(1-based line, message)`` of each schedule that is out of range or not a date."""
    problems = [
        (line, f"OSR schedule {entry}; its card is not seeded")
        for line, entries in _schedule_entries(text).items()
        for entry in entries
        if isinstance(entry, str)
    ]
    whole = _note_entry(text, path)
    if isinstance(whole, tuple):
        problems.append((whole[0], f"OSR note schedule {whole[1]}; its cards are not seeded"))
    return problems


def card_schedules(text: str, note: ParsedNote) -> list[tuple[ParsedCard, OsrSchedule, bool]]:
    """Each card of ``note`` with its OSR schedule: ``(card, schedule, from the note's frontmatter)``.

    A card's comment is on its last line or the line after; siblings share it
    in order (forward before reverse; cloze numbers ascending). A card without
    a comment of its own takes the note-level schedule, if the note has one; a
    card whose own entry is out of range takes none.
    """
    lines = _schedule_entries(text)
    whole = note_schedule(text, note.path)
    siblings: dict[int, list[ParsedCard]] = {}
    for c in note.cards:
        siblings.setdefault(c.line, []).append(c)
    out: list[tuple[ParsedCard, OsrSchedule, bool]] = []
    for group in siblings.values():
        group = sorted(group, key=lambda c: (c.direction != "forward", c.cloze or 0))
        end = max(c.end_line for c in group)
        # A one-line card's comment is on its line; a longer card's may be on the line after.
        found = lines.get(end) or (None if group[0].syntax == "inline" else lines.get(end + 1))
        for i, c in enumerate(group):
            if found and i < len(found):
                entry = found[i]
                if isinstance(entry, OsrSchedule):
                    out.append((c, entry, False))
            elif whole is not None:
                out.append((c, whole, True))
    return out


def strip_schedule_comments_from(text: str, keep: frozenset[int] = frozenset()) -> str:
    """``text`` without its schedule comments (``schedule_spans``), line endings kept.

    A line that held only comments goes when a blank line or the end follows it,
    else it becomes blank (so two paragraphs never merge). Comments on the
    1-based lines in ``keep`` stay (schedules that were not taken).
    """
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    spans = schedule_spans(text)
    if not spans:
        return text
    lines = split_lines(text.removeprefix("\ufeff"), keepends=True)
    out: list[str] = []
    for i, line in enumerate(lines):
        if i not in spans or i + 1 in keep:
            out.append(line)
            continue
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        rest, pos = [], 0
        for a, b in spans[i]:
            rest.append(body[pos:a])
            pos = b
        rest.append(body[pos:])
        left = "".join(rest)
        if left.strip():
            out.append(left.rstrip() + ending)
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if nxt.strip() == "":
            continue
        out.append(ending or "\n")
    return bom + "".join(out)
