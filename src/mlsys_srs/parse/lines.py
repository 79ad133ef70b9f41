"""The parser's first pass: every line of a note classified, with its *scan* copy.

Kinds: frontmatter, blank, text, heading, fenced code, math, comment, rule, indented code.
The scan copy of a line has inline code spans and comments blanked out, so that card
syntaxes recognised on it never start inside code or a comment, while card text is cut
from the original lines. Also here: obsidian-spaced-repetition's schedule comments, which
are taken out of every line before the pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import blank_spans, mask_inline_code

BLANK, TEXT, HEADING, FENCE, MATH, COMMENT, RULE, ICODE, FRONT = range(9)

# No two quantifiers here can match the same characters (each ">" group starts with
# ">"), so a long line of spaces or ">" is matched in linear time.
FENCE_OPEN_RE = re.compile(r"^[ \t]*(?:>[ \t]*)*(`{3,}|~{3,})(.*)$")
# The heading text keeps its trailing whitespace here; the parser strips it (a lazy
# ``(.*?)[ \t]*$`` would rescan a run of spaces once per character).
HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
RULE_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
LIST_RE = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
QUOTE_RE = re.compile(r"^[ \t]*>")
QUOTE_PREFIX_RE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
SR_COMMENT_RE = re.compile(r"[ \t]*<!--SR:[^>\n]*?-->")
"""obsidian-spaced-repetition's schedule comment: never part of a card's text."""


def strip_schedule_comments(line: str) -> str:
    """A line without obsidian-spaced-repetition's ``<!--SR:...-->`` comments (a line that is only
    such a comment is kept: it is a comment line, which ends a paragraph as before)."""
    stripped = SR_COMMENT_RE.sub("", line)
    return stripped.rstrip() if stripped.strip() else line


@dataclass
class Lines:
    """The classified lines of one note."""

    orig: list[str]
    scan: list[str]
    kind: list[int]
    block_close: dict[int, int]  # opening line of a fence/math block -> its last line
    open_fence: int | None = None  # opening line of a code fence that never closes
    comment_at: dict[int, str] | None = None
    """Lines that start inside an HTML (``-->``) or Obsidian (``%%``) comment -> what closes it."""


def comment_spans(line: str, state: str | None) -> tuple[list[tuple[int, int]], str | None]:
    """Where HTML (``<!-- -->``) and Obsidian (``%% %%``) comments are on ``line``: ``(start, end)``
    spans, and what closes a comment still open at its end. ``state`` is what closes a comment
    open before the line (None: none)."""
    spans: list[tuple[int, int]] = []
    i = 0
    n = len(line)
    # The next "<!--" and "%%" at or after i, found again only once i has passed them
    # (-1: none left), so a line of many comments is scanned a bounded number of times.
    h = o = -2
    while i < n:
        if state is None:
            if h != -1 and h < i:
                h = line.find("<!--", i)
            if o != -1 and o < i:
                o = line.find("%%", i)
            starts = [p for p in (h, o) if p >= 0]
            if not starts:
                break
            p = min(starts)
            state = "-->" if p == h else "%%"
            start, i = p, p + (4 if state == "-->" else 2)
        else:
            start = i
        p = line.find(state, i)
        if p < 0:
            spans.append((start, n))
            break
        i = p + len(state)
        spans.append((start, i))
        state = None
    return spans, state


def mask_comments(line: str, state: str | None) -> tuple[str, str | None]:
    """Blank HTML and Obsidian comments; ``state`` carries an open comment across lines."""
    if state is None and "<!--" not in line and "%%" not in line:
        return line, None
    spans, state = comment_spans(line, state)
    return blank_spans(line, spans), state


def strip_comments(markdown: str) -> str:
    """``markdown`` without its HTML (``<!-- -->``) and Obsidian (``%% %%``) comments, as Obsidian's
    reading view shows it: the comments ``classify_lines`` finds (none inside code, fenced or
    inline; one left open runs to the end). A comment that ends a line takes the blanks before it."""
    if "<!--" not in markdown and "%%" not in markdown:
        return markdown
    out: list[str] = []
    pos = 0
    for a, b in _comments_of(markdown):
        before, pos = markdown[pos:a], b
        end = markdown.find("\n", pos)
        end = len(markdown) if end < 0 else end
        if not markdown[pos:end].strip():
            # A comment that ended a line leaves no blanks there (two would be a hard break).
            before, pos = before.rstrip(" \t"), end
        out.append(before)
    out.append(markdown[pos:])
    return "".join(out)


def _comments_of(markdown: str) -> list[tuple[int, int]]:
    """The spans of ``markdown``'s comments; one open at a line's end takes its line break."""
    spans: list[tuple[int, int]] = []
    fence: tuple[str, int] | None = None
    state: str | None = None
    pos = 0
    for line in markdown.split("\n"):
        end = pos + len(line)
        if state is None:
            m = FENCE_OPEN_RE.match(line) if ("```" in line or "~~~" in line) else None
            if fence is not None:
                if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= fence[1] and not m.group(2).strip():
                    fence = None
                pos = end + 1
                continue
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                fence = (m.group(1)[0], len(m.group(1)))
                pos = end + 1
                continue
        scan = mask_inline_code(line) if state is None and "`" in line else line
        if state is not None or "<!--" in scan or "%%" in scan:
            found, state = comment_spans(scan, state)
            for a, b in found:
                a, b = pos + a, pos + b
                if state is not None and b == end:
                    b = min(end + 1, len(markdown))
                if spans and spans[-1][1] == a:
                    spans[-1] = (spans[-1][0], b)
                else:
                    spans.append((a, b))
        pos = end + 1
    return spans


# A line that _classify's rules can only make TEXT (ending any list) with its scan copy equal to
# it: no leading space or heading, rule or list character, and no character that starts code,
# a fence, math or a comment (a superset of those: such lines take the full path).
_PLAIN_RE = re.compile(r"[^\s#*_+\-0-9`~$<%][^`~$<%]*\Z")
_RULE_CHARS = frozenset("-*_")
LIST_CHARS = frozenset("-*+0123456789")


def classify_lines(lines: list[str], body_start: int) -> Lines:
    """Classify ``lines`` (the frontmatter ends before ``body_start``) and make their scan copies."""
    n = len(lines)
    kind = [BLANK] * n
    scan = [""] * n
    block_close: dict[int, int] = {}
    for i in range(body_start):
        kind[i] = FRONT
    last_text = n - 1
    while last_text > 0 and not lines[last_text].strip():
        last_text -= 1
    fence: tuple[str, int, int] | None = None  # (char, length, opening line)
    math_open: int | None = None
    comment: str | None = None
    in_list = False
    prev = BLANK
    comment_at: dict[int, str] = {}
    for i in range(body_start, n):
        line = lines[i]
        if fence is not None:
            kind[i] = FENCE
            m = FENCE_OPEN_RE.match(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= fence[1] and not m.group(2).strip():
                block_close[fence[2]] = i
                fence = None
            continue
        if math_open is not None:
            kind[i] = MATH
            if "$$" in line:
                block_close[math_open] = i
                math_open = None
            continue
        if comment is None and _PLAIN_RE.match(line):
            # Most lines: prose that starts no block, holds no code, comment or math.
            kind[i] = prev = TEXT
            in_list = False
            scan[i] = line
            continue
        was_in_comment = comment is not None
        if comment is not None:
            comment_at[i] = comment
        masked = mask_inline_code(line) if comment is None and "`" in line else line
        if comment is not None or "<!--" in masked or "%%" in masked:
            s, comment = mask_comments(masked, comment)
        else:
            s = masked
        if not s or s.isspace():
            if line.strip() and (was_in_comment or s != masked):
                kind[i] = COMMENT
            else:
                kind[i] = BLANK
            prev = kind[i]
            continue
        if not was_in_comment:
            # Each regex below runs only when the characters it needs are on the line.
            m = FENCE_OPEN_RE.match(s) if ("```" in s or "~~~" in s) else None
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                kind[i] = FENCE
                fence = (m.group(1)[0], len(m.group(1)), i)
                block_close[i] = max(i, last_text)  # until closed: an unclosed block ends at the last text
                prev = FENCE
                continue
            stripped = QUOTE_PREFIX_RE.sub("", s).lstrip() if "$$" in s else ""
            if stripped.startswith("$$"):
                kind[i] = MATH
                block_close[i] = i
                if "$$" not in stripped[2:]:
                    math_open = i
                    block_close[i] = max(i, last_text)
                prev = MATH
                continue
        if (line.startswith("    ") or line.startswith("\t")) and (
            prev == ICODE or (prev != TEXT and not in_list)
        ):
            kind[i] = ICODE
            prev = ICODE
            continue
        first = s.lstrip(" \t")[:1]
        if first == "#" and HEADING_RE.match(s):
            kind[i] = HEADING
            in_list = False
        elif first in _RULE_CHARS and RULE_RE.match(s):
            kind[i] = RULE
            in_list = False
        else:
            kind[i] = TEXT
            if first in LIST_CHARS and LIST_RE.match(s):
                in_list = True
            elif not s[:1].isspace():
                in_list = False
        scan[i] = s
        prev = kind[i]
    return Lines(lines, scan, kind, block_close, fence[2] if fence is not None else None, comment_at)
