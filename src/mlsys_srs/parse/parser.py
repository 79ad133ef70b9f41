"""The note parser: Markdown text in; cards, links, tags and diagnostics out.

This package is the only place that knows card syntax (see docs/format.md). The
parse is a pure function of ``(text, path)``: no file system, no clock, no database.

The parser works line by line. A first pass (``lines.py``) classifies every line
(frontmatter, blank, text, heading, fenced code, math, comment, rule, indented code)
and builds a *scan* copy of each line in which inline code spans and comments are
blanked out. Card syntaxes are then recognised on the scan copy, so nothing in
code or comments ever starts a card, while card text is cut from the original
lines, so a card keeps its Markdown exactly as written. Cloze paragraphs are read by
``clozes.py``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

from .clozes import ClozeProblem, blank_spans, cloze_spans, highlight_spans, read_cloze_paragraph
from .lines import (
    BLANK,
    FENCE,
    HEADING,
    HEADING_RE,
    LIST_CHARS,
    MATH,
    QUOTE_PREFIX_RE,
    QUOTE_RE,
    TEXT,
    classify_lines,
    strip_schedule_comments,
)
from .model import CardKind, Diagnostic, Direction, Link, ParsedCard, ParsedNote, Severity, Syntax
from .paths import domain_of, path_stem
from .text import (
    BLOCK_ID_RE,
    find_links,
    find_tags,
    fingerprint,
    is_concept,
    is_media,
    normalize_tag,
    split_lines,
    strip_block_id,
)

Q_RE = re.compile(r"^ {0,3}Q:")
A_RE = re.compile(r"^ {0,3}A:")
C_RE = re.compile(r"^ {0,3}C:")
CALLOUT_RE = re.compile(r"^[ \t]*>[ \t]*\[!(question|faq|help)\]([-+]?)[ \t]*(.*)$", re.IGNORECASE)
LIST_PREFIX_RE = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
INLINE_SEP_RE = re.compile(r"(?<=\s)(:{2,3})(?=\s)")
INLINE_SEP_TIGHT_RE = re.compile(r"(?<!:)(:{2,3})(?!:)")
# In a #flashcards note, "::" inside these is not a card separator. Link text and
# destinations hold no bracket/parenthesis and a URL starts only at the start of its
# scheme, so each start position scans a disjoint stretch: linear on any line.
TIGHT_MASK_RE = re.compile(r"\[\[[^\[\]]*\]\]|\]\([^()]*\)|(?<![A-Za-z0-9+.-])[A-Za-z0-9+.-]+://\S*")
UNCLOSED_FENCE = "unclosed code fence: the rest of the note is treated as code, cards after it are ignored"


_NEWLINE_RE = re.compile("\n")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        parts = re.split(r"[,\s]+", value) if "," in value or " " in value else [value]
        return [p for p in (x.strip() for x in parts) if p]
    if isinstance(value, (list, tuple, set)):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [str(value)]


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
        self.L = classify_lines(lines, fm.body_start)
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
        stem = path_stem(self.path)
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
        if question.lstrip(" \t")[:1] in LIST_CHARS:
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
        """The cards of the cloze paragraph ``start..end`` (``explicit``: it opens with ``C:``)."""
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

        def line_of(problem: ClozeProblem) -> int:
            if problem.offset is None:
                return start
            return base + bisect_right(newlines, problem.offset - 1)

        paragraph = read_cloze_paragraph(text, scan, highlight=self.highlight_cloze)
        for problem in paragraph.problems:
            self.diag(line_of(problem), problem.message, problem.code, problem.severity)
        if not paragraph.deletions:
            if explicit:
                self.diag(start, "C: card has no {{cloze}} deletion")
            return
        for number, question in paragraph.cards:
            self._add(
                syntax="cloze",
                kind="cloze",
                cloze=number,
                question=question,
                answer=paragraph.answer,
                source=paragraph.source,
                start=start,
                end=end,
                block_id=block_id,
            )


def _tight_scan(s: str) -> str:
    """A scan line with what a tight separator never splits blanked: clozes, wiki links, link targets, URLs."""
    s = blank_spans(s, cloze_spans(s))
    return blank_spans(s, (m.span() for m in TIGHT_MASK_RE.finditer(s)))


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
