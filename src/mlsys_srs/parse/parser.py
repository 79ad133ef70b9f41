"""The note parser: Markdown text in; cards, links, tags and diagnostics out.

This is the only place that knows card syntax (see docs/format.md). It is a pure
function of ``(text, path)``: no file system, no clock, no database.

The parser works line by line. A first pass classifies every line (frontmatter,
blank, text, heading, fenced code, math, comment, rule, indented code) and
builds a *scan* copy of each line in which inline code spans and comments are
blanked out. Card syntaxes are then recognised on the scan copy, so nothing in
code or comments ever starts a card, while card text is cut from the original
lines, so a card keeps its Markdown exactly as written.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from .model import CardKind, Diagnostic, Direction, Link, ParsedCard, ParsedNote, Severity, Syntax
from .text import (
    BLOCK_ID_RE,
    blank,
    find_links,
    find_tags,
    fingerprint,
    is_concept,
    is_media,
    mask_inline_code,
    normalize_tag,
    split_lines,
    strip_block_id,
)

BLANK, TEXT, HEADING, FENCE, MATH, COMMENT, RULE, ICODE, FRONT = range(9)

# No two quantifiers here can match the same characters (each ">" group starts with
# ">"), so a long line of spaces or ">" is matched in linear time.
FENCE_OPEN_RE = re.compile(r"^[ \t]*(?:>[ \t]*)*(`{3,}|~{3,})(.*)$")
# The heading text keeps its trailing whitespace here; ``_heading`` strips it (a lazy
# ``(.*?)[ \t]*$`` would rescan a run of spaces once per character).
HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
RULE_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
LIST_RE = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
QUOTE_RE = re.compile(r"^[ \t]*>")
Q_RE = re.compile(r"^ {0,3}Q:")
A_RE = re.compile(r"^ {0,3}A:")
C_RE = re.compile(r"^ {0,3}C:")
CALLOUT_RE = re.compile(r"^[ \t]*>[ \t]*\[!(question|faq|help)\]([-+]?)[ \t]*(.*)$", re.IGNORECASE)
QUOTE_PREFIX_RE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
LIST_PREFIX_RE = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
INLINE_SEP_RE = re.compile(r"(?<=\s)(:{2,3})(?=\s)")
INLINE_SEP_TIGHT_RE = re.compile(r"(?<!:)(:{2,3})(?!:)")
# The cloze syntax as a regex, for callers outside the parser; the parser itself finds
# clozes with ``cloze_spans`` (same spans, linear time on "{{{{..." without "}}").
CLOZE_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
EXPLICIT_CLOZE_RE = re.compile(r"^c(\d+)::(.*)$", re.DOTALL)
NUMBER_PREFIX_RE = re.compile(r"^\d+[-_. ]*")
# In a #flashcards note, "::" inside these is not a card separator. Link text and
# destinations hold no bracket/parenthesis and a URL starts only at the start of its
# scheme, so each start position scans a disjoint stretch: linear on any line.
TIGHT_MASK_RE = re.compile(r"\[\[[^\[\]]*\]\]|\]\([^()]*\)|(?<![A-Za-z0-9+.-])[A-Za-z0-9+.-]+://\S*")
SR_COMMENT_RE = re.compile(r"[ \t]*<!--SR:[^>\n]*?-->")
"""obsidian-spaced-repetition's schedule comment: never part of a card's text."""
MAX_CLOZE = 999  # cloze numbers are 1..MAX_CLOZE (the database stores 64-bit integers)
# A cloze paragraph makes one card per number, each a copy of the paragraph: past
# this many characters of card text, the remaining numbers make no cards.
CLOZE_TEXT_BUDGET = 4_000_000
UNCLOSED_FENCE = "unclosed code fence: the rest of the note is treated as code, cards after it are ignored"


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


def strip_schedule_comments(line: str) -> str:
    """A line without obsidian-spaced-repetition's ``<!--SR:...-->`` comments (a line that is only
    such a comment is kept: it is a comment line, which ends a paragraph as before)."""
    stripped = SR_COMMENT_RE.sub("", line)
    return stripped.rstrip() if stripped.strip() else line


def _blank_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
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


@dataclass
class _Lines:
    """The classified lines of one note."""

    orig: list[str]
    scan: list[str]
    kind: list[int]
    block_close: dict[int, int]  # opening line of a fence/math block -> its last line
    open_fence: int | None = None  # opening line of a code fence that never closes


def _mask_comments(line: str, state: str | None) -> tuple[str, str | None]:
    """Blank HTML and Obsidian comments; ``state`` carries an open comment across lines."""
    if state is None and "<!--" not in line and "%%" not in line:
        return line, None
    out = []
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
                out.append(line[i:])
                break
            p = min(starts)
            out.append(line[i:p])
            state = "-->" if p == h else "%%"
            opener = 4 if state == "-->" else 2
            out.append(" " * opener)
            i = p + opener
        else:
            p = line.find(state, i)
            if p < 0:
                out.append(" " * (n - i))
                break
            out.append(" " * (p - i + len(state)))
            i = p + len(state)
            state = None
    return "".join(out), state


_NEWLINE_RE = re.compile("\n")
# A line that _classify's rules can only make TEXT (ending any list) with its scan copy equal to
# it: no leading space or heading, rule or list character, and no character that starts code,
# a fence, math or a comment (a superset of those: such lines take the full path).
_PLAIN_RE = re.compile(r"[^\s#*_+\-0-9`~$<%][^`~$<%]*\Z")
_RULE_CHARS = frozenset("-*_")
_LIST_CHARS = frozenset("-*+0123456789")


def _classify(lines: list[str], body_start: int) -> _Lines:
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
        masked = mask_inline_code(line) if comment is None and "`" in line else line
        if comment is not None or "<!--" in masked or "%%" in masked:
            s, comment = _mask_comments(masked, comment)
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
            if first in _LIST_CHARS and LIST_RE.match(s):
                in_list = True
            elif not s[:1].isspace():
                in_list = False
        scan[i] = s
        prev = kind[i]
    return _Lines(lines, scan, kind, block_close, fence[2] if fence is not None else None)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        parts = re.split(r"[,\s]+", value) if "," in value or " " in value else [value]
        return [p for p in (x.strip() for x in parts) if p]
    if isinstance(value, (list, tuple, set)):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [str(value)]


def domain_of(path: str, frontmatter_domain: str | None = None) -> str:
    """A note's domain: frontmatter ``domain``, else its first folder, else ``general``.

    A leading number prefix (``04-``) is removed either way, and the result is
    lower-case with spaces as hyphens.
    """
    raw = frontmatter_domain
    if not raw:
        parts = _path_parts(path)
        raw = parts[0] if len(parts) > 1 else "general"
    name = NUMBER_PREFIX_RE.sub("", str(raw).strip()) or str(raw).strip()
    name = _SPACE_RUN_RE.sub("-", name.strip().lower())
    return name or "general"


_SPACE_RUN_RE = re.compile(r"\s+")


def _plain_path(path: str) -> bool:
    """Whether ``path`` is relative with no empty, ``.`` or trailing component (as the walk gives)."""
    return bool(
        path
        and path != "."
        and "//" not in path
        and path[0] != "/"
        and path[-1] != "/"
        and "/./" not in path
        and not path.startswith("./")
        and not path.endswith("/.")
    )


def _path_parts(path: str) -> tuple[str, ...]:
    """``PurePosixPath(path).parts``, without building the path for a plain one."""
    return tuple(path.split("/")) if _plain_path(path) else PurePosixPath(path).parts


def _stem(path: str) -> str:
    """``PurePosixPath(path).stem``, without building the path for a plain one."""
    if not _plain_path(path):
        return PurePosixPath(path).stem
    name = path.rpartition("/")[2]
    i = name.rfind(".")
    return name[:i] if 0 < i < len(name) - 1 else name


def _strip_prefix(line: str, regex: re.Pattern[str]) -> str:
    m = regex.match(line)
    return line[m.end() :] if m else line


_CardHead = tuple[CardKind, Syntax, Direction, int | None, str, str, str, int, int]
"""A card's fields from ``kind`` to ``end_line``, in ``ParsedCard`` order."""


class _NoteParser:
    def __init__(self, text: str, path: str, highlight_cloze: bool = False) -> None:
        self.path = path
        self.highlight_cloze = highlight_cloze
        if text.startswith("\ufeff"):
            text = text[1:]
        lines = split_lines(text)
        if "<!--SR:" in text:
            lines = [strip_schedule_comments(line) if "<!--SR:" in line else line for line in lines]
            text = "\n".join(lines)
        self.diagnostics: list[Diagnostic] = []
        if "\r" in text:
            text = "\n".join(lines)
        if "\x00" in text:
            # NUL characters are dropped: card text never holds one (terminals, Anki and
            # most tools stop at it); lines and columns of other text are unchanged.
            hit = [i for i, line in enumerate(lines) if "\x00" in line]
            more = f" (and on {len(hit) - 1} more lines)" if len(hit) > 1 else ""
            self.diag(hit[0], f"NUL character in the note{more}: it is ignored", "nul", "warning")
            lines = [line.replace("\x00", "") for line in lines]
            text = text.replace("\x00", "")
        # Imported here: a sync with nothing to read never loads YAML (start-up time).
        from .meta import read_frontmatter

        fm = read_frontmatter(text, path)
        self.diagnostics.extend(fm.diagnostics)
        self.meta = fm.data
        self.L = _classify(lines, fm.body_start)
        if self.L.open_fence is not None:
            self.diag(self.L.open_fence, UNCLOSED_FENCE, "unclosed-fence", "warning")
        self.n = len(lines)
        # Each card's fields from ``kind`` to ``end_line`` (ParsedCard order), links, fingerprint,
        # its own tags, block id and heading path (the rest is set by ``_finish_cards``).
        self.cards: list[
            tuple[_CardHead, tuple[str, ...], str, tuple[str, ...], str | None, tuple[str, ...]]
        ] = []
        self.card_lines: set[int] = set()
        self.headings: list[tuple[int, str]] = []
        self._heads: tuple[str, ...] | None = ()  # the texts of ``headings`` (None: to rebuild)
        self.first_h1: str | None = None
        self.flashcards_note = False
        self._line_meta: dict[tuple[int, int], tuple[list[str], list[str]]] = {}
        # Tags and links of each line, found once per note (None: not looked at yet).
        self._tags: list[list[str] | None] = [None] * self.n
        self._links: list[list[Link] | None] = [None] * self.n

    def _tags_of(self, i: int) -> list[str]:
        tags = self._tags[i]
        if tags is None:
            tags = self._tags[i] = find_tags(self.L.scan[i]) if "#" in self.L.scan[i] else []
        return tags

    def _links_of(self, i: int) -> list[Link]:
        links = self._links[i]
        if links is None:
            links = self._links[i] = find_links(self.L.scan[i], self.L.orig[i], i + 1)
        return links

    # -- diagnostics and frontmatter -------------------------------------------------

    def diag(self, line_index: int, message: str, code: str = "format", severity: Severity = "error") -> None:
        self.diagnostics.append(Diagnostic(self.path, line_index + 1, message, severity, code))

    # -- card construction --------------------------------------------------------

    def _text(self, start: int, end: int, first_prefix: re.Pattern[str] | None = None) -> str:
        """Original text of lines ``start..end`` with an optional prefix cut from the first."""
        parts = self.L.orig[start : end + 1]
        if first_prefix is not None and parts:
            parts = [_strip_prefix(parts[0], first_prefix), *parts[1:]]
        return "\n".join(parts)

    def _scan_text(self, start: int, end: int) -> str:
        return "\n".join(self.L.scan[start : end + 1])

    def _context(self) -> tuple[str, ...]:
        if self._heads is None:
            self._heads = tuple(text for _, text in self.headings)
        return self._heads

    def _add(
        self,
        *,
        syntax: Syntax,
        question: str,
        answer: str,
        start: int,
        end: int,
        block_id: str | None,
        kind: str = "basic",
        cloze: int | None = None,
        source: str | None = None,
        reversible: bool = False,
    ) -> None:
        cached = self._line_meta.get((start, end))
        if cached is None:
            # Computed once per line range: the cards of one cloze paragraph share it.
            tags: list[str] = []
            links: list[str] = []
            scan = self.L.scan
            for i in range(start, end + 1):
                self.card_lines.add(i)
                s = scan[i]
                if "#" in s:
                    tags.extend(self._tags_of(i))
                if "[" in s:
                    links.extend(lk.target for lk in self._links_of(i) if is_concept(lk))
            cached = self._line_meta[(start, end)] = (tags, links)
        tags, links = cached
        context = self._context()
        directions: list[tuple[Direction, str, str]] = [("forward", question, answer)]
        if reversible:
            directions.append(("reverse", answer, question))
        card_tags = tuple(dict.fromkeys(normalize_tag(t) for t in tags)) if tags else ()
        card_links = tuple(dict.fromkeys(links)) if links else ()
        card_kind: CardKind = "cloze" if kind == "cloze" else "basic"
        for direction, q, a in directions:
            head: _CardHead = (
                card_kind,
                syntax,
                direction,
                cloze,
                q,
                a,
                source if source is not None else f"{q}\n---\n{a}",
                start + 1,
                end + 1,
            )
            self.cards.append(
                (head, card_links, fingerprint(kind, direction, q, cloze), card_tags, block_id, context)
            )

    def _take_block_id(self, end: int) -> tuple[str | None, str]:
        """The block id at the end of line ``end`` (if any) and that line without it."""
        line = self.L.orig[end]
        if self.L.kind[end] != TEXT or "^" not in self.L.scan[end]:
            return None, line
        m = BLOCK_ID_RE.search(self.L.scan[end])
        if not m:
            return None, line
        return m.group(1), line[: m.start()].rstrip()

    def _body(self, start: int, end: int, prefix: re.Pattern[str] | None = None) -> tuple[str, str | None]:
        """Text of ``start..end`` (block id removed from the last line) and the block id."""
        block_id, last = self._take_block_id(end)
        parts = [*self.L.orig[start:end], last]
        if prefix is not None:
            parts[0] = _strip_prefix(parts[0], prefix)
        return "\n".join(parts).strip(), block_id

    # -- structure ------------------------------------------------------------------

    def _is_qc(self, i: int) -> bool:
        s = self.L.scan[i]
        return ":" in s[:6] and bool(Q_RE.match(s) or C_RE.match(s))

    def _extend_answer(self, end: int) -> int:
        """Carry an answer over blank lines into a following fence or $$ block (docs/format.md)."""
        L = self.L
        while True:
            j = end + 1
            while j < self.n and L.kind[j] == BLANK:
                j += 1
            if j >= self.n or L.kind[j] not in (FENCE, MATH) or j not in L.block_close:
                return end
            end = L.block_close[j]
            k = end + 1
            while k < self.n and L.kind[k] == TEXT and not self._is_qc(k):
                k += 1
            end = k - 1

    def run(self) -> ParsedNote:
        L = self.L
        fm_tags = [normalize_tag(t) for t in _as_list(self.meta.get("tags"))]
        fm_tags += [normalize_tag(t) for t in _as_list(self.meta.get("tag"))]
        all_inline = [
            t for i, s in enumerate(L.scan) if "#" in s and L.kind[i] == TEXT for t in self._tags_of(i)
        ]
        self.flashcards_note = any(
            t == "flashcards" or t.startswith("flashcards/") for t in fm_tags + all_inline
        )
        srs = self.meta.get("srs", True) is not False
        i = 0
        while i < self.n:
            k = L.kind[i]
            if k == HEADING:
                self._heading(i)
                i += 1
            elif k == TEXT and srs:
                i = self._paragraph(i) + 1
            else:
                i += 1

        title = self.meta.get("title")
        title = str(title).strip() if title is not None and str(title).strip() else None
        stem = _stem(self.path)
        title = title or self.first_h1 or stem
        note_tags = list(fm_tags)
        links: list[Link] = []
        media: list[str] = []
        for i, s in enumerate(L.scan):
            if not s or L.kind[i] not in (TEXT, HEADING):
                continue
            if "#" in s and i not in self.card_lines:
                note_tags.extend(self._tags_of(i))
            if "[" not in s:
                continue
            for lk in self._links_of(i):
                if is_media(lk):
                    media.append(lk.target)
                elif is_concept(lk):
                    links.append(lk)
        note_tags = list(dict.fromkeys(t for t in (normalize_tag(x) for x in note_tags) if t))
        domain = domain_of(self.path, str(self.meta["domain"]) if self.meta.get("domain") else None)
        cards = self._finish_cards(title, note_tags)
        aliases = tuple(_as_list(self.meta.get("aliases")) + _as_list(self.meta.get("alias")))
        return ParsedNote(
            path=self.path,
            title=title,
            domain=domain,
            tags=tuple(note_tags),
            aliases=aliases,
            srs=srs,
            cards=cards,
            links=tuple(links),
            media=tuple(dict.fromkeys(media)),
            diagnostics=tuple(sorted(self.diagnostics, key=lambda d: d.line)),
        )

    def _finish_cards(self, title: str, note_tags: list[str]) -> tuple[ParsedCard, ...]:
        out = []
        seen_ids: dict[str, int] = {}
        note_tuple = tuple(dict.fromkeys(note_tags))
        contexts: dict[tuple[str, ...], str] = {}
        for head, card_links, fp, card_tags, block_id, heads in self.cards:
            context = contexts.get(heads)
            if context is None:
                path = list(heads)
                if not path or path[0] != title:
                    path.insert(0, title)
                context = contexts[heads] = " > ".join(path)
            line = head[7]
            if block_id is not None:
                first = seen_ids.setdefault(block_id, line)
                if first != line:
                    self.diagnostics.append(
                        Diagnostic(
                            self.path,
                            line,
                            f"block id ^{block_id} is already used on line {first}; "
                            "this card is treated as a new card",
                            code="duplicate-id",
                        )
                    )
                    block_id = None
            tags = tuple(dict.fromkeys([*note_tags, *card_tags])) if card_tags else note_tuple
            out.append(ParsedCard(*head, block_id, tags, card_links, context, fp))
        return tuple(out)

    def _heading(self, i: int) -> None:
        m = HEADING_RE.match(self.L.scan[i])
        assert m is not None
        level = len(m.group(1))
        raw = self.L.orig[i]
        om = HEADING_RE.match(raw)
        text = ((om.group(2) if om else m.group(2)) or "").rstrip(" \t")
        # A closing sequence of '#'s after whitespace is not part of the heading.
        cut = text.rstrip("#")
        if cut != text and cut[-1:] in (" ", "\t"):
            text = cut
        text = text.strip()
        text, _ = strip_block_id(text)
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
            self._heads = None
        if text:
            self.headings.append((level, text))
            self._heads = None
            if level == 1 and self.first_h1 is None:
                self.first_h1 = text

    def _paragraph(self, start: int) -> int:
        """Parse the paragraph at ``start``; return the last line index consumed."""
        L = self.L
        if "[!" in L.scan[start] and CALLOUT_RE.match(L.scan[start]):
            return self._callout(start)
        quoted = ">" in L.scan[start] and bool(QUOTE_RE.match(L.scan[start]))
        end = start
        while end + 1 < self.n and L.kind[end + 1] == TEXT:
            nxt = L.scan[end + 1]
            if (">" in nxt and bool(QUOTE_RE.match(nxt))) != quoted or (
                "[!" in nxt and CALLOUT_RE.match(nxt)
            ):
                break
            end += 1
        # Split the paragraph into segments at Q: and C: lines.
        scan = L.scan
        cuts: list[tuple[int, str]] = []  # (line, "Q" or "C")
        for i in range(start, end + 1):
            s = scan[i]
            if ":" in s[:6]:
                if Q_RE.match(s):
                    cuts.append((i, "Q"))
                elif C_RE.match(s):
                    cuts.append((i, "C"))
        bounds: list[tuple[int, int, str]] = []
        if not cuts or cuts[0][0] != start:
            bounds.append((start, (cuts[0][0] - 1) if cuts else end, ""))
        for idx, (c, what) in enumerate(cuts):
            bounds.append((c, cuts[idx + 1][0] - 1 if idx + 1 < len(cuts) else end, what))
        last = end
        for seg_start, seg_end, what in bounds:
            is_last = seg_end == end
            if what == "Q":
                last = max(last, self._qa(seg_start, seg_end, is_last))
            elif what == "C":
                self._cloze(seg_start, seg_end, explicit=True)
            else:
                last = max(last, self._prose(seg_start, seg_end, is_last))
        return last

    # -- syntaxes -------------------------------------------------------------------

    def _qa(self, start: int, end: int, may_extend: bool) -> int:
        L = self.L
        scan = L.scan
        a_line = next(
            (i for i in range(start + 1, end + 1) if "A:" in scan[i][:6] and A_RE.match(scan[i])), None
        )
        if a_line is None:
            self.diag(start, "Q: has no A: in its paragraph")
            return end
        question = self._text(start, a_line - 1, Q_RE).strip()
        last = self._extend_answer(end) if may_extend else end
        answer, block_id = self._body(a_line, last, A_RE)
        if not question:
            self.diag(start, "Q: has an empty question")
            return last
        if not answer:
            self.diag(a_line, "A: has an empty answer")
            return last
        self._add(syntax="qa", question=question, answer=answer, start=start, end=last, block_id=block_id)
        return last

    def _callout(self, start: int) -> int:
        L = self.L
        end = start
        while end + 1 < self.n and QUOTE_RE.match(L.orig[end + 1]) and L.kind[end + 1] != BLANK:
            end += 1
        m = CALLOUT_RE.match(L.scan[start])
        assert m is not None
        title_start = L.orig[start].lower().find("[!") + len(m.group(1)) + 3 + len(m.group(2))
        title = L.orig[start][title_start:].strip()
        block_id, last_line = self._take_block_id(end)
        if end == start:
            title, block_id = strip_block_id(title)
        body_lines = [QUOTE_PREFIX_RE.sub("", x, count=1) for x in L.orig[start + 1 : end + 1]]
        if body_lines and block_id is not None and end > start:
            body_lines[-1] = QUOTE_PREFIX_RE.sub("", last_line, count=1)
        answer = "\n".join(body_lines).strip()
        if not title:
            self.diag(start, "question callout has an empty title (the title is the question)")
        elif not answer:
            self.diag(start, "question callout has no body (the body is the answer)")
        else:
            self._add(
                syntax="callout",
                question=title,
                answer=answer,
                start=start,
                end=end,
                block_id=block_id,
            )
        for i in range(start, end + 1):
            self.card_lines.add(i)
        return end

    def _prose(self, start: int, end: int, may_extend: bool) -> int:
        L = self.L
        for i in range(start, end + 1):
            if "?" in L.scan[i]:
                mark = L.scan[i].strip()
                if mark in ("?", "??"):
                    return self._multiline(start, i, end, mark == "??", may_extend)
        seg_scan = L.scan[start] if start == end else self._scan_text(start, end)
        if ("{{" in seg_scan and "}}" in seg_scan) or (self.highlight_cloze and highlight_spans(seg_scan)):
            self._cloze(start, end, explicit=False)
            return end
        for i in range(start, end + 1):
            self._inline(i)
        return end

    def _multiline(self, start: int, mark: int, end: int, reversible: bool, may_extend: bool) -> int:
        last = self._extend_answer(end) if may_extend else end
        question = self._text(start, mark - 1).strip() if mark > start else ""
        if mark >= last:
            answer, block_id = "", None
        else:
            answer, block_id = self._body(mark + 1, last)
        if not question:
            self.diag(mark, "'?' card has no question above it")
        elif not answer:
            self.diag(mark, "'?' card has no answer below it")
        else:
            self._add(
                syntax="multiline",
                question=question,
                answer=answer,
                start=start,
                end=last,
                block_id=block_id,
                reversible=reversible,
            )
        return last

    def _inline(self, i: int) -> None:
        L = self.L
        s = L.scan[i]
        if "::" not in s:  # every separator, tight or not, is two or three colons
            return
        if self.flashcards_note:
            m = INLINE_SEP_TIGHT_RE.search(_tight_scan(s))
        else:
            m = INLINE_SEP_RE.search(s)
            if not m:
                self._tight_warning(i, _tight_scan(s))
        if not m:
            return
        block_id, line = self._take_block_id(i)
        question = line[: m.start()]
        if ">" in question:
            question = QUOTE_PREFIX_RE.sub("", question, count=1)
        if question.lstrip(" \t")[:1] in _LIST_CHARS:
            question = _strip_prefix(question, LIST_PREFIX_RE)
        question = question.strip()
        answer = line[m.end() :].strip()
        if not question or not answer:
            self.diag(i, f"'{m.group(1)}' card needs text on both sides")
            return
        self._add(
            syntax="inline",
            question=question,
            answer=answer,
            start=i,
            end=i,
            block_id=block_id,
            reversible=m.group(1) == ":::",
        )

    def _tight_warning(self, i: int, scan: str) -> None:
        """Warn where a tight ``Q::A`` would be a card in a ``#flashcards`` note, unless it is code."""
        m = INLINE_SEP_TIGHT_RE.search(scan)
        if not m:
            return
        line = self.L.orig[i]
        question = _strip_prefix(QUOTE_PREFIX_RE.sub("", line[: m.start()], count=1), LIST_PREFIX_RE).strip()
        if not question or not line[m.end() :].strip():
            return
        a = m.start()
        while a > 0 and not scan[a - 1].isspace():
            a -= 1
        b = m.end()
        while b < len(scan) and not scan[b].isspace():
            b += 1
        word = line[a:b]
        if _looks_like_code(word):
            return
        shown = word if len(word) <= 40 else word[:37] + "..."
        self.diag(
            i,
            f"`{shown}` is not a card in a note without #flashcards: put spaces around "
            f"{m.group(1)} or tag the note #flashcards",
            "tight-inline",
            "warning",
        )

    def _cloze(self, start: int, end: int, explicit: bool) -> None:
        L = self.L
        block_id, last_line = self._take_block_id(end)
        orig_lines = [*L.orig[start:end], last_line]
        scan_lines = [*L.scan[start:end], L.scan[end][: len(last_line)]]
        if explicit:
            m = C_RE.match(scan_lines[0])
            assert m is not None
            cut = m.end()
            orig_lines[0] = orig_lines[0][cut:]
            scan_lines[0] = scan_lines[0][cut:]
        text = "\n".join(orig_lines)
        scan = "\n".join(scan_lines)
        # Leading whitespace after "C:" is not part of the card.
        lead = len(text) - len(text.lstrip())
        base = start + text.count("\n", 0, lead)
        text, scan = text[lead:].rstrip(), scan[lead:][: len(text[lead:].rstrip())]
        newlines = [m.start() for m in _NEWLINE_RE.finditer(text)] if "\n" in text else []

        def line_of(offset: int) -> int:
            return base + bisect_right(newlines, offset - 1)

        pieces: list[tuple[str, str, int | None, str | None]] = []  # (kind, text, number, hint)
        pos = 0
        explicit_numbers: list[int] = []
        spans = [(a, b, False) for a, b in cloze_spans(scan)]
        if self.highlight_cloze:
            covered = _blank_spans(scan, ((a, b) for a, b, _ in spans))
            spans = sorted([*spans, *((a, b, True) for a, b in highlight_spans(covered))])
        for c_start, c_end, highlight in spans:
            content = text[c_start + 2 : c_end - 2]
            pieces.append(("text", text[pos:c_start], None, None))
            pos = c_end
            if highlight:
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
                    self.diag(
                        line_of(c_start),
                        f"cloze number c{shown} is out of range (1-{MAX_CLOZE}): this deletion makes no card",
                        "cloze-number",
                    )
                    pieces.append(("text", body.partition("::")[0], None, None))
                    continue
                if number == 0:
                    self.diag(
                        line_of(c_start),
                        "cloze numbers start at 1: c0 is not a valid number",
                        "cloze-number",
                        "warning",
                    )
                explicit_numbers.append(number)
            else:
                number = None
                body = content
            answer_text, sep, hint = body.partition("::")
            if not answer_text.strip():
                self.diag(line_of(c_start), "empty cloze deletion: it makes no card")
                answer_text = ""
            pieces.append(("cloze", answer_text, number, hint if sep else None))
        rest = scan[pos:]
        pieces.append(("text", text[pos:], None, None))
        if "{{" in rest:
            self.diag(line_of(pos + rest.index("{{")), "unclosed '{{' in a cloze paragraph")
        deletions = [p for p in pieces if p[0] == "cloze"]
        if not deletions:
            if explicit:
                self.diag(start, "C: card has no {{cloze}} deletion")
            return
        next_number = max(explicit_numbers, default=0)
        numbered: list[tuple[str, str, int | None, str | None]] = []
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
            self.diag(
                start,
                f"more than {MAX_CLOZE} cloze numbers in one paragraph: deletions past c{MAX_CLOZE} make no card",
                "cloze-number",
            )
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
            self.diag(
                start,
                f"cloze paragraph too large: only the first {affordable} of its {len(numbers)} "
                "cloze cards are made",
                "cloze-number",
            )
            numbers = numbers[:affordable]
        bodies = [body for _, body, _, _ in numbered]
        where: dict[int, list[int]] = {}
        for idx, (kind, _, n, _) in enumerate(numbered):
            if kind == "cloze" and n is not None:
                where.setdefault(n, []).append(idx)
        for number in numbers:
            if not any(bodies[idx].strip() for idx in where[number]):
                continue  # nothing to recall (the empty deletion has its diagnostic)
            parts = bodies.copy()
            for idx in where[number]:
                hint = numbered[idx][3]
                parts[idx] = f"[{hint}]" if hint else "[...]"
            question = "".join(parts).strip()
            self._add(
                syntax="cloze",
                kind="cloze",
                cloze=number,
                question=question,
                answer=full,
                source=source.strip(),
                start=start,
                end=end,
                block_id=block_id,
            )


def _tight_scan(s: str) -> str:
    """A scan line with what a tight separator never splits blanked: clozes, wiki links, link targets, URLs."""
    s = _blank_spans(s, cloze_spans(s))
    return _blank_spans(s, (m.span() for m in TIGHT_MASK_RE.finditer(s)))


_CODE_PATH_RE = re.compile(r"^[A-Za-z_]\w*(?:::~?[A-Za-z_]\w*)+(?P<tail>[(<\[].*)?[.,;:!?)]?$")


def _looks_like_code(word: str) -> bool:
    """Whether the word around a tight ``::`` reads as a C++/Rust path (``std::vector``, ``a::b``,
    ``Vec::new()``, ``Foo::Bar::baz``) rather than ``Question::Answer`` (``France::Paris``, ``warp?::32``):
    identifiers on both sides, and a lowercase side, a call or template, or a longer path."""
    m = _CODE_PATH_RE.match(word)
    if not m:
        return False
    parts = word.split("::")
    if len(parts) > 2 or m.group("tail"):
        return True
    left, right = parts[0], parts[1].lstrip("~")
    return left[0].islower() or left[0] == "_" or right[0].islower() or right[0] == "_"


def parse_note(text: str, path: str, *, highlight_cloze: bool = False) -> ParsedNote:
    """Parse one note.

    Args:
        text: The note's content (a leading BOM and CRLF line endings are accepted).
        path: The note's path relative to the vault root, with ``/`` separators.
        highlight_cloze: ``==text==`` is a cloze deletion too, as obsidian-spaced-repetition's
            "convert highlights to clozes" setting makes it (config ``parse.osr_highlight_cloze``).

    Returns:
        The note's title, domain, tags, aliases, cards, concept links, media
        references and diagnostics. Never raises on any input text.
    """
    return _NoteParser(text, path, highlight_cloze).run()
