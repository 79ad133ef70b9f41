"""Cloze deletions: ``{{...}}`` (and ``==...==``) spans, their numbers and hints, and the cards
one cloze paragraph makes.

``read_cloze_paragraph`` is a pure function of a paragraph's text: each number (``c1``,
``c2``; unnumbered deletions count on from the highest explicit one) makes one card
whose question hides that number's deletions (``[...]`` or ``[hint]``) and whose answer
is the whole paragraph. Problems are reported by their offset in the text; the parser
turns them into diagnostics on the note's lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .model import Severity
from .text import blank

# The cloze syntax as a regex, for callers outside the parser; the parser itself finds
# clozes with ``cloze_spans`` (same spans, linear time on "{{{{..." without "}}").
CLOZE_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
EXPLICIT_CLOZE_RE = re.compile(r"^c(\d+)::(.*)$", re.DOTALL)
MAX_CLOZE = 999  # cloze numbers are 1..MAX_CLOZE (the database stores 64-bit integers)
# A cloze paragraph makes one card per number, each a copy of the paragraph: past
# this many characters of card text, the remaining numbers make no cards.
CLOZE_TEXT_BUDGET = 4_000_000


def cloze_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every ``{{...}}`` in ``text``, braces included, left to right.

    The same spans as the regex ``\\{\\{(.*?)\\}\\}`` (a ``{{`` closes at the first
    ``}}`` after it), found with ``str.find``: once a ``{{`` has no ``}}`` after it,
    no later one has either, so the scan stops; linear on ``{{{{...``.
    """
    out: list[tuple[int, int]] = []
    pos = 0
    while True:
        a = text.find("{{", pos)
        if a < 0:
            return out
        b = text.find("}}", a + 2)
        if b < 0:
            return out
        out.append((a, b + 2))
        pos = b + 2


def highlight_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every ``==...==`` on one line (obsidian-spaced-repetition's highlight
    cloze), markers included, left to right; linear: each search starts past the last."""
    out: list[tuple[int, int]] = []
    pos = 0
    while True:
        a = text.find("==", pos)
        if a < 0:
            return out
        b = text.find("==", a + 2)
        if b < 0:
            return out
        nl = text.find("\n", a + 2, b)
        if nl >= 0:
            pos = nl + 1
            continue
        if b == a + 2 or text[a + 2 : b].strip() == "":
            pos = a + 2
            continue
        out.append((a, b + 2))
        pos = b + 2


def blank_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with ``spans`` blanked (``text.blank``: same length, same line breaks)."""
    out: list[str] = []
    pos = 0
    for a, b in sorted(spans):
        if b <= pos:
            continue
        a = max(a, pos)
        out.append(text[pos:a])
        out.append(blank(text[a:b]))
        pos = b
    out.append(text[pos:])
    return "".join(out)


@dataclass(frozen=True)
class ClozeProblem:
    """Something wrong in a cloze paragraph."""

    offset: int | None
    """Where, in the paragraph's text (None: the paragraph as a whole, reported on its first line)."""
    message: str
    code: str = "format"
    severity: Severity = "error"


@dataclass(frozen=True)
class ClozeParagraph:
    """What a cloze paragraph makes."""

    cards: tuple[tuple[int, str], ...]
    """``(cloze number, question)`` of each card, by number."""
    answer: str
    """The whole paragraph with every deletion shown."""
    source: str
    """The paragraph with every deletion numbered (``{{c1::...}}``), as Anki writes clozes."""
    deletions: int
    """How many deletions it holds (0: not a cloze paragraph after all)."""
    problems: tuple[ClozeProblem, ...]
    """In the order found."""


_Piece = tuple[str, str, int | None, str | None]  # (kind: "text" or "cloze", text, number, hint)


def read_cloze_paragraph(text: str, scan: str, *, highlight: bool = False) -> ClozeParagraph:
    """The cloze cards of one paragraph.

    Args:
        text: The paragraph as written (a leading ``C:`` and the block id already cut).
        scan: The same text with code and comments blanked (deletions are found in it), as long.
        highlight: ``==text==`` is a deletion too (obsidian-spaced-repetition's highlight cloze).
    """
    problems: list[ClozeProblem] = []
    pieces, explicit_numbers, pos = _pieces(text, scan, highlight, problems)
    rest = scan[pos:]
    if "{{" in rest:
        problems.append(ClozeProblem(pos + rest.index("{{"), "unclosed '{{' in a cloze paragraph"))
    deletions = sum(1 for p in pieces if p[0] == "cloze")
    if not deletions:
        return ClozeParagraph((), "", "", 0, tuple(problems))
    numbered = _numbered(pieces, explicit_numbers, problems)
    source = "".join(
        body
        if kind == "text"
        else "{{c" + f"{number or 0}::{body}" + (f"::{hint}" if hint is not None else "") + "}}"
        for kind, body, number, hint in numbered
    )
    full = "".join(body for _, body, _, _ in numbered).strip()
    numbers = sorted({n for k, _, n, _ in numbered if k == "cloze" and n is not None})
    # Each card copies the paragraph: cap the total so that one huge paragraph
    # full of deletions cannot make the parse quadratic in its size.
    affordable = max(1, CLOZE_TEXT_BUDGET // max(1, len(text)))
    if len(numbers) > affordable:
        problems.append(
            ClozeProblem(
                None,
                f"cloze paragraph too large: only the first {affordable} of its {len(numbers)} "
                "cloze cards are made",
                "cloze-number",
            )
        )
        numbers = numbers[:affordable]
    bodies = [body for _, body, _, _ in numbered]
    where: dict[int, list[int]] = {}
    for idx, (kind, _, n, _) in enumerate(numbered):
        if kind == "cloze" and n is not None:
            where.setdefault(n, []).append(idx)
    cards: list[tuple[int, str]] = []
    for number in numbers:
        if not any(bodies[idx].strip() for idx in where[number]):
            continue  # nothing to recall (the empty deletion has its problem)
        parts = bodies.copy()
        for idx in where[number]:
            hint = numbered[idx][3]
            parts[idx] = f"[{hint}]" if hint else "[...]"
        cards.append((number, "".join(parts).strip()))
    return ClozeParagraph(tuple(cards), full, source.strip(), deletions, tuple(problems))


def _pieces(
    text: str, scan: str, highlight: bool, problems: list[ClozeProblem]
) -> tuple[list[_Piece], list[int], int]:
    """The paragraph cut into text and deletions (numbers as written), the explicit numbers, and
    the offset past the last deletion."""
    pieces: list[_Piece] = []
    pos = 0
    explicit_numbers: list[int] = []
    spans = [(a, b, False) for a, b in cloze_spans(scan)]
    if highlight:
        covered = blank_spans(scan, ((a, b) for a, b, _ in spans))
        spans = sorted([*spans, *((a, b, True) for a, b in highlight_spans(covered))])
    for c_start, c_end, is_highlight in spans:
        content = text[c_start + 2 : c_end - 2]
        pieces.append(("text", text[pos:c_start], None, None))
        pos = c_end
        if is_highlight:
            pieces.append(("cloze", content, None, None))
            continue
        em = EXPLICIT_CLOZE_RE.match(content)
        if em:
            digits = em.group(1).lstrip("0") or "0"
            # Compare lengths first: int() of thousands of digits is slow or refused.
            number: int | None = int(digits) if len(digits) <= len(str(MAX_CLOZE)) else None
            body = em.group(2)
            if number is None or number > MAX_CLOZE:
                shown = digits if len(digits) <= 24 else digits[:20] + "..."
                problems.append(
                    ClozeProblem(
                        c_start,
                        f"cloze number c{shown} is out of range (1-{MAX_CLOZE}): this deletion makes no card",
                        "cloze-number",
                    )
                )
                pieces.append(("text", body.partition("::")[0], None, None))
                continue
            if number == 0:
                problems.append(
                    ClozeProblem(
                        c_start,
                        "cloze numbers start at 1: c0 is not a valid number",
                        "cloze-number",
                        "warning",
                    )
                )
            explicit_numbers.append(number)
        else:
            number = None
            body = content
        answer_text, sep, hint = body.partition("::")
        if not answer_text.strip():
            problems.append(ClozeProblem(c_start, "empty cloze deletion: it makes no card"))
            answer_text = ""
        pieces.append(("cloze", answer_text, number, hint if sep else None))
    pieces.append(("text", text[pos:], None, None))
    return pieces, explicit_numbers, pos


def _numbered(
    pieces: list[_Piece], explicit_numbers: list[int], problems: list[ClozeProblem]
) -> list[_Piece]:
    """The pieces with every deletion numbered: unnumbered ones count on from the highest explicit
    number; past ``MAX_CLOZE`` a deletion is plain text."""
    next_number = max(explicit_numbers, default=0)
    numbered: list[_Piece] = []
    too_many = False
    for kind, body, number, hint in pieces:
        if kind == "cloze" and number is None:
            if next_number >= MAX_CLOZE:
                too_many = True
                numbered.append(("text", body, None, None))
                continue
            next_number += 1
            number = next_number
        numbered.append((kind, body, number, hint))
    if too_many:
        problems.append(
            ClozeProblem(
                None,
                f"more than {MAX_CLOZE} cloze numbers in one paragraph: deletions past c{MAX_CLOZE} make no card",
                "cloze-number",
            )
        )
    return numbered
