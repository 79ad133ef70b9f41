"""obsidian-spaced-repetition's schedules: ``<!--SR:!2024-01-02,3,250-->`` comments and ``sr-*`` frontmatter.

OSR writes a card's schedule (due date, interval in days, ease in per mille)
in an HTML comment at the end of a one-line card, or on the line after a
multi-line card; a card with siblings (a reversed pair, the deletions of a
cloze) gets one ``!due,interval,ease`` per sibling, in order. A note reviewed
as a whole has ``sr-due``, ``sr-interval`` and ``sr-ease`` in its frontmatter.

The parser never lets these comments into a card's text (``parser``); this
module reads them back and assigns each to its card. Pure: text in, values out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from .lines import SR_COMMENT_RE
from .meta import read_frontmatter
from .model import ParsedCard, ParsedNote
from .text import split_lines

_ENTRY_RE = re.compile(r"!?(\d{4}-\d{2}-\d{2}),(\d+),(\d+)")


@dataclass(frozen=True)
class OsrSchedule:
    """One SM-2 schedule as OSR keeps it."""

    due: date
    interval: int
    ease: int
    """Per mille: 250 is an ease factor of 2.5."""


def _entries(comment: str) -> list[OsrSchedule]:
    out = []
    for m in _ENTRY_RE.finditer(comment):
        try:
            out.append(OsrSchedule(date.fromisoformat(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            continue
    return out


def schedule_lines(text: str) -> dict[int, list[OsrSchedule]]:
    """1-based line number -> the schedules of the ``<!--SR:...-->`` comment on it."""
    out: dict[int, list[OsrSchedule]] = {}
    for i, line in enumerate(split_lines(text.removeprefix("\ufeff")), 1):
        if "<!--SR:" in line:
            found = [s for m in SR_COMMENT_RE.finditer(line) for s in _entries(m.group(0))]
            if found:
                out[i] = found
    return out


def note_schedule(text: str, path: str) -> OsrSchedule | None:
    """The note-level schedule of the frontmatter (``sr-due``, ``sr-interval``, ``sr-ease``), if complete."""
    data: dict[str, Any] = read_frontmatter(text, path).data
    due, interval, ease = data.get("sr-due"), data.get("sr-interval"), data.get("sr-ease")
    if due is None or interval is None or ease is None:
        return None
    try:
        day = due if isinstance(due, date) else date.fromisoformat(str(due).strip()[:10])
        return OsrSchedule(day, int(interval), int(ease))
    except (TypeError, ValueError):
        return None


def card_schedules(text: str, note: ParsedNote) -> list[tuple[ParsedCard, OsrSchedule, bool]]:
    """Each card of ``note`` with its OSR schedule: ``(card, schedule, from the note's frontmatter)``.

    A card's comment is on its last line or the line after; siblings share it
    in order (forward before reverse; cloze numbers ascending). A card without
    a comment of its own takes the note-level schedule, if the note has one.
    """
    lines = schedule_lines(text)
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
                out.append((c, found[i], False))
            elif whole is not None:
                out.append((c, whole, True))
    return out


def strip_schedule_comments_from(text: str) -> str:
    """``text`` without its ``<!--SR:...-->`` comments, line endings kept.

    A line that held only a comment goes when a blank line or the end follows
    it, else it becomes blank (so two paragraphs never merge).
    """
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    for i, line in enumerate(lines):
        if "<!--SR:" not in line:
            out.append(line)
            continue
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        rest = SR_COMMENT_RE.sub("", body)
        if rest.strip():
            out.append(rest.rstrip() + ending)
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if nxt.strip() == "":
            continue
        out.append(ending or "\n")
    return "".join(out)
