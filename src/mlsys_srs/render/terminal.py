"""Card Markdown, parsed once, shown two ways: on the terminal and as Anki HTML.

``build_parser`` is the one markdown-it set-up (CommonMark, raw HTML off, tables
and strikethrough) with the extras an Obsidian vault needs: ``$...$`` and
``$$...$$`` math, wikilinks ``[[Target|alias]]`` (shown as their display
text), embeds ``![[x.png]]``, ``#tags`` and, for the terminal, cloze
deletions ``{{c1::text}}``. ``render/html.py`` renders its tokens as Anki field
HTML; ``terminal_card`` here renders them as lines of rich ``Text`` for the
review screen, so the screen and the export read a card alike:

- wikilinks as their display text, embeds as ``[image: name]`` (their targets
  are returned, so the screen can open them), links as their text;
- math as Unicode when every part of the formula converts (``unicodeit`` with
  the macros it gets wrong rewritten first), else the TeX as written in a math
  style: never a half-converted formula;
- card-line ``#tags`` at the end of a line are returned apart and shown as
  tags, not as question text (display only: the card's fingerprint is that of
  its text as written);
- code keeps its indentation: a line wider than the screen is cropped with a
  marker, never wrapped into column 0;
- the cloze deletion of the card on screen highlighted in the answer.

Text from notes is untrusted: it only ever becomes rich ``Text`` (never
console markup) and control characters are replaced before display.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline

from ..core.fmt import inert
from ..parse.text import IMAGE_EXTENSIONS, TAG_NAME_RE, WIKILINK_RE

if TYPE_CHECKING:
    from markdown_it.token import Token
    from rich.console import Console
    from rich.text import Text


def is_image(target: str) -> bool:
    """True when a link target names a picture (by its extension)."""
    return target.rsplit(".", 1)[-1].lower() in IMAGE_EXTENSIONS if "." in target else False


def wikilink_text(inner: str) -> str:
    """What Obsidian shows for ``[[inner]]``: the alias, else the target (``Note > Heading``)."""
    target, _, alias = inner.partition("|")
    if alias.strip():
        return alias.strip()
    page, _, sub = target.partition("#")
    page, sub = page.strip(), sub.strip()
    if sub.startswith("^"):
        return page or sub
    if page and sub:
        return f"{page} > {sub}"
    return page or sub


# --- inline and block rules ---------------------------------------------------------------


def closing_dollar(src: str, start: int, end: int) -> int:
    """Where the inline formula opened before ``start`` closes in ``src[:end]`` (-1: it does not):
    the first "$" not escaped, not after a blank and not before a digit (Pandoc's rule)."""
    while True:
        close = src.find("$", start, end)
        if close < 0 or not (
            src[close - 1] == "\\"
            or src[close - 1].isspace()
            or (close + 1 < end and src[close + 1].isdigit())
        ):
            return close
        start = close + 1


def _math_inline(state: StateInline, silent: bool) -> bool:
    src, pos, end = state.src, state.pos, state.posMax
    if src[pos] != "$":
        return False
    if src.startswith("$$", pos):
        close = src.find("$$", pos + 2, end)
        if close < 0 or not src[pos + 2 : close].strip():
            return False
        if not silent:
            token = state.push("math_display", "", 0)
            token.content = src[pos + 2 : close]
        state.pos = close + 2
        return True
    # Pandoc's rule: no space just inside the dollars, no digit right after the
    # closing one, so "$5 and $10" stays text.
    if pos + 1 >= end or src[pos + 1].isspace():
        return False
    close = closing_dollar(src, pos + 1, end)
    if close < 0:
        return False
    if not silent:
        token = state.push("math_inline", "", 0)
        token.content = src[pos + 1 : close]
    state.pos = close + 1
    return True


def _math_block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.sCount[start] - state.blkIndent >= 4:
        return False
    first = state.src[state.bMarks[start] + state.tShift[start] : state.eMarks[start]]
    if not first.startswith("$$"):
        return False
    rest = first[2:].rstrip()
    if rest.endswith("$$"):
        content, next_line = rest[:-2], start + 1
    elif "$$" in rest:
        return False  # "$$a$$ and text": inline math in a paragraph
    else:
        lines = [rest]
        line = start + 1
        while line < end:
            text = state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]].rstrip()
            if text.endswith("$$"):
                lines.append(text[:-2])
                break
            lines.append(state.src[state.bMarks[line] : state.eMarks[line]])
            line += 1
        else:
            return False
        content, next_line = "\n".join(lines), line + 1
    if silent:
        return True
    token = state.push("math_block", "", 0)
    token.block = True
    token.content = content.strip("\n")
    token.map = [start, next_line]
    state.line = next_line
    return True


def _wikilink(state: StateInline, silent: bool) -> bool:
    if state.src[state.pos] not in "![":
        return False
    m = WIKILINK_RE.match(state.src, state.pos, state.posMax)
    if not m:
        return False
    if not silent:
        inner = m.group(2)
        target = inner.partition("|")[0].partition("#")[0].strip()
        if m.group(1) and is_image(target):
            token = state.push("wiki_image", "img", 0)
            token.meta = {"target": target, "size": inner.partition("|")[2].strip()}
        else:
            token = state.push("text", "", 0)
            token.content = wikilink_text(inner)
    state.pos = m.end()
    return True


def _tag(state: StateInline, silent: bool) -> bool:
    pos = state.pos
    if state.src[pos] != "#" or (pos > 0 and not state.src[pos - 1].isspace()):
        return False
    m = TAG_NAME_RE.match(state.src, pos + 1, state.posMax)
    if not m or m.group(0).isdigit():
        return False
    if not silent:
        token = state.push("tag", "", 0)
        token.content = m.group(0)
    state.pos = m.end()
    return True


_CLOZE_START_RE = re.compile(r"\{\{c(\d{1,3})::")


def _cloze(state: StateInline, silent: bool) -> bool:
    """``{{cN::text}}`` / ``{{cN::text::hint}}`` as ``cloze_open`` (meta ``n``), the text, ``cloze_close``."""
    src, pos, end = state.src, state.pos, state.posMax
    if not src.startswith("{{", pos):
        return False
    m = _CLOZE_START_RE.match(src, pos, end)
    if not m:
        return False
    depth, i, inner_start = 0, m.end(), m.end()
    close = -1
    while i < end:
        ch = src[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0 and src.startswith("}}", i):
                close = i
                break
            depth = max(0, depth - 1)
        i += 1
    if close < 0:
        return False
    body = src[inner_start:close]
    hint = body.rfind("::")
    inner_end = inner_start + hint if hint >= 0 else close
    if not silent:
        token = state.push("cloze_open", "", 1)
        token.meta = {"n": int(m.group(1))}
        old_pos, old_max = state.pos, state.posMax
        state.pos, state.posMax = inner_start, inner_end
        state.md.inline.tokenize(state)
        state.pos, state.posMax = old_pos, old_max
        state.push("cloze_close", "", -1)
    state.pos = close + 2
    return True


def _mark(state: StateInline, silent: bool) -> bool:
    """Obsidian's highlight ``==text==`` as ``mark_open``, the text, ``mark_close`` (HTML ``<mark>``)."""
    src, pos, end = state.src, state.pos, state.posMax
    if not src.startswith("==", pos) or src.startswith("===", pos):
        return False
    start = pos + 2
    if start >= end or src[start].isspace():
        return False
    close = src.find("==", start, end)
    while close > 0 and (src[close - 1].isspace() or src.startswith("===", close)):
        close = src.find("==", close + 2, end)
    if close < 0 or close == start or "\n" in src[start:close]:
        return False
    if not silent:
        token = state.push("mark_open", "mark", 1)
        token.markup = "=="
        old_pos, old_max = state.pos, state.posMax
        state.pos, state.posMax = start, close
        state.md.inline.tokenize(state)
        state.pos, state.posMax = old_pos, old_max
        token = state.push("mark_close", "mark", -1)
        token.markup = "=="
    state.pos = close + 2
    return True


def build_parser(
    *, breaks: bool = False, highlight: Callable[[str, str, str], str] | None = None, cloze: bool = False
) -> MarkdownIt:
    """The markdown-it parser for card text (both outputs use it).

    Args:
        breaks: Single line breaks are breaks (Obsidian's default) rather than spaces.
        highlight: The code highlighter of the HTML output.
        cloze: Parse ``{{cN::...}}`` into cloze tokens (the terminal; Anki renders clozes itself).
    """
    options: dict[str, Any] = {"html": False, "breaks": breaks}
    if highlight is not None:
        options["highlight"] = highlight
    md = MarkdownIt("commonmark", options)
    md.enable(["table", "strikethrough"])
    md.inline.ruler.before("escape", "math_inline", _math_inline)
    md.inline.ruler.before("link", "wikilink", _wikilink)
    md.inline.ruler.before("escape", "tag", _tag)
    md.inline.ruler.before("emphasis", "mark", _mark)
    if cloze:
        md.inline.ruler.before("escape", "cloze", _cloze)
    md.block.ruler.before(
        "fence", "math_block", _math_block, {"alt": ["paragraph", "reference", "blockquote", "list"]}
    )
    return md


# --- math as Unicode ------------------------------------------------------------------------

# Macros unicodeit maps wrongly or not at all (``\log`` became ``łog``): named functions and text.
_FUNCTION_RE = re.compile(
    r"\\(log|ln|exp|sin|cos|tan|sinh|cosh|tanh|max|min|arg|argmax|argmin|det|dim|lim|sup|inf|gcd|mod|softmax|Pr)(?![A-Za-z])"
)
_TEXT_RE = re.compile(r"\\(?:mathrm|text|operatorname|textrm|mathit|textit|mathbf|textbf)\{([^{}\\]*)\}")
_SIMPLE_RE = re.compile(r"\\?[A-Za-z0-9.√]+(?:[_^](?:\{[^{}]*\}|[A-Za-z0-9]))*$")
_FRAC_RE = re.compile(r"\\[dt]?frac\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_SQRT_RE = re.compile(r"\\sqrt\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_LEFTOVER_RE = re.compile(r"[\\{}]")
_TRANSPOSE_RE = re.compile(r"\^\{?\\top\}?|\^\{?\\intercal\}?")
_ACCENT_RE = re.compile(
    r"\\(bar|hat|tilde|dot|vec|overline)\s*(?:\{([A-Za-z0-9\\]+)\}|(\\[A-Za-z]+|[A-Za-z0-9]))"
)
_ACCENTS = {
    "bar": "\u0304",
    "overline": "\u0304",
    "hat": "\u0302",
    "tilde": "\u0303",
    "dot": "\u0307",
    "vec": "\u20d7",
}
_SIZING_RE = re.compile(r"\\(?:big|Big|bigg|Bigg)[lr]?(?![A-Za-z])")
_SCRIPT_RE = re.compile(r"([_^])(?:\{([^{}\\]+)\}|([A-Za-z0-9]))")
_DELIMS_RE = re.compile(r"\\(?:left|right)(?![A-Za-z])")
_BINOM_RE = re.compile(r"\\binom\{([^{}]*)\}\{([^{}]*)\}")
_DIGIT_FRAC_RE = re.compile(r"\\[dt]?frac(\d)(\d)")


@lru_cache(maxsize=256)
def _has_script(char: str, mark: str) -> bool:
    """Whether Unicode has a sub- (``_``) or superscript (``^``) form of ``char``, as unicodeit knows."""
    import unicodeit

    return char == " " or str(unicodeit.replace(f"{mark}{{{char}}}")) not in (
        f"{mark}{{{char}}}",
        f"{mark}{char}",
    )


def _group(inner: str) -> str:
    inner = inner.strip()
    return inner if _SIMPLE_RE.match(inner) else f"({inner})"


@lru_cache(maxsize=512)
def math_to_unicode(tex: str) -> str | None:
    """``tex`` in Unicode (``\\sqrt{d_k}`` -> ``√dₖ``), or None when any part would not convert.

    unicodeit converts symbols, Greek letters and sub/superscripts that Unicode
    has; fractions and roots are rewritten first (``a/b``, ``√x``). What is left
    with a backslash, a brace, ``^`` or ``_`` did not convert: the caller shows
    the TeX as written instead of a half-converted formula.
    """
    try:
        import unicodeit
    except ImportError:  # pragma: no cover - a dependency; kept optional for slim installs
        return None
    src = tex.strip()
    if not src or len(src) > 200:
        return None
    src = _TEXT_RE.sub(lambda m: m.group(1), src)
    src = _FUNCTION_RE.sub(lambda m: m.group(1), src)
    for _ in range(4):
        new = _SQRT_RE.sub(lambda m: "√" + _group(m.group(1)), src)
        new = _FRAC_RE.sub(lambda m: f"{_group(m.group(1))}/{_group(m.group(2))}", new)
        if new == src:
            break
        src = new
    src = _DELIMS_RE.sub("", src).replace("\\,", " ").replace("\\;", " ").replace("\\ ", " ")
    src = src.replace("{,}", ",").replace("\\|", "‖").replace("\\bmod", "mod").replace("\\!", "")
    src = src.replace("\\lVert", "‖").replace("\\rVert", "‖")
    src = _BINOM_RE.sub(lambda m: f"C({m.group(1)}, {m.group(2)})", src)
    src = _DIGIT_FRAC_RE.sub(lambda m: f"{m.group(1)}/{m.group(2)}", src)
    src = _SIZING_RE.sub("", src)
    src = _TRANSPOSE_RE.sub("ᵀ", src)
    accents: list[tuple[str, str]] = []

    def accent(m: re.Match[str]) -> str:
        # unicodeit has no combining accents: a placeholder letter now, the accent after it later.
        accents.append((m.group(1), m.group(2) or m.group(3)))
        return f"\ue000{len(accents) - 1}\ue001"

    src = _ACCENT_RE.sub(accent, src)
    plain: list[str] = []

    def script(m: re.Match[str]) -> str:
        # A script Unicode has every letter of stays for unicodeit (x², dₖ); any other reads as
        # plain text (d_head, W_q, β_(2,t)), never half raised.
        body = m.group(2) if m.group(2) is not None else m.group(3)
        if "\ue000" in body or all(_has_script(c, m.group(1)) for c in body):
            return m.group(0)
        plain.append(m.group(1) + (body if body.isalnum() else f"({body})"))
        return f"\ue002{len(plain) - 1}\ue003"

    src = _SCRIPT_RE.sub(script, src)
    try:
        out = str(unicodeit.replace(src))
        for k, (name, base) in enumerate(accents):
            letter = str(unicodeit.replace(base))
            out = out.replace(f"\ue000{k}\ue001", letter + _ACCENTS[name])
    except Exception:  # unicodeit is a third-party table walk: anything odd means "not converted"
        return None
    for k, text in enumerate(plain):
        out = out.replace(f"\ue002{k}\ue003", text)
    if _LEFTOVER_RE.search(out) or "\ue000" in out or "\ue002" in out:
        return None
    import unicodedata

    return unicodedata.normalize("NFC", out)


# --- the terminal output --------------------------------------------------------------------

MATH_STYLE = "italic magenta"
CODE_STYLE = "bold cyan"
CLOZE_STYLE = "bold black on yellow"
HIGHLIGHT_STYLE = "reverse"
"""``==text==``: shown highlighted, as Obsidian shows it (distinct from the cloze on screen)."""
CROP_MARKER = "…"
SOFT_BREAK = "\x1e"
"""Where the note's text had a single line break (never in note text: ``clean`` shows controls)."""


def clean(text: str) -> str:
    """Note text made safe for a terminal: control characters are made visible (``fmt.inert``)."""
    return inert(text)


@dataclass
class TerminalCard:
    """One card side for the screen: its lines at a width, its tags and the images it embeds."""

    lines: list[Text]
    tags: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def _terminal_parser() -> MarkdownIt:
    return build_parser(cloze=True)


def terminal_card(
    text: str,
    console: Console,
    width: int,
    *,
    cloze: int | None = None,
    breaks: bool = True,
) -> TerminalCard:
    """Render card Markdown as lines of at most ``width`` cells.

    Args:
        text: The card side as written (a cloze card's answer: its ``source``).
        console: The console whose wrapping and cell widths are used.
        width: The screen width available.
        cloze: The cloze number whose deletion is highlighted (others show as plain text).
        breaks: Keep single line breaks, as Obsidian shows them (unless a line does not fit:
            see ``_TerminalWriter._emit_wrapped``); off with Obsidian's "strict line breaks".
    """
    tokens = _terminal_parser().parse(text, {})
    out = _TerminalWriter(console, max(10, width), cloze, breaks)
    out.blocks(tokens)
    while out.lines and not out.lines[-1].plain.strip():
        out.lines.pop()
    return TerminalCard(out.lines, out.tags, out.images)


def prefixed(prefix: str, line: Text) -> Text:
    """``line`` after a dim ``prefix`` (a bullet, a quote bar, an indent): only the prefix is dim.

    rich's ``Text.__add__`` gives the whole result the left side's base style, which drew every
    card line faint; this keeps the line's own styles and the normal intensity of its text.
    """
    from rich.text import Text

    out = Text()
    if prefix:
        out.append(prefix, style="dim")
    out.append_text(line)
    return out


class _TerminalWriter:
    def __init__(self, console: Console, width: int, cloze: int | None, breaks: bool = True) -> None:
        self.console = console
        self.width = width
        self.cloze = cloze
        self.breaks = breaks
        self.lines: list[Text] = []
        self.tags: list[str] = []
        self.images: list[str] = []
        # Prefixes of the open containers (list items, quotes): (first line, other lines).
        self.prefix: list[list[str]] = []

    # -- block level --

    def _take_prefix(self) -> tuple[str, str]:
        first = "".join(p[0] for p in self.prefix)
        rest = "".join(p[1] for p in self.prefix)
        for p in self.prefix:
            p[0] = p[1]  # a bullet shows on its item's first line only
        return first, rest

    def _blank(self) -> None:
        if self.lines and self.lines[-1].plain.strip(" │"):
            from rich.text import Text

            self.lines.append(Text("".join(p[1] for p in self.prefix).rstrip()))

    def _emit_wrapped(self, text: Text) -> None:
        """A paragraph's lines, wrapped at word boundaries to the room left by the prefix.

        The one wrapping rule of the terminal: the note's own line breaks (soft breaks) are kept
        when ``breaks`` is on (Obsidian's default) and every line fits; a paragraph with a line
        too wide is reflowed whole (its soft breaks become spaces), so a wrapped line never leaves
        a fragment behind before the note's next line. A hard break always breaks. Only a single
        word wider than the room is split.
        """
        from rich.text import Text

        first, rest = self._take_prefix()
        room = max(4, self.width - len(rest))
        lines = text.split(SOFT_BREAK, allow_blank=True) if self.breaks else [text]
        if not self.breaks or any(part.cell_len > room for part in lines):
            joined = Text()
            for k, part in enumerate(text.split(SOFT_BREAK, allow_blank=True)):
                if k:
                    joined.append(" ")
                joined.append_text(part)
            lines = [joined]
        n = 0
        for chunk in lines:
            for part in chunk.split("\n", allow_blank=True):
                wrapped = part.wrap(self.console, room, overflow="fold") if part.plain else [Text("")]
                for line in wrapped:
                    line.rstrip()
                    self.lines.append(prefixed(first if n == 0 else rest, line))
                    n += 1

    def _emit_code(self, code: str, lang: str) -> None:

        first, rest = self._take_prefix()
        body = self._highlight(code.rstrip("\n"), lang)
        room = max(4, self.width - len(rest) - 2)
        for i, line in enumerate(body.split("\n", allow_blank=True)):
            line.expand_tabs(4)
            if line.cell_len > room:
                line.truncate(room - 1)
                line.append(CROP_MARKER, style="bold yellow")
            self.lines.append(prefixed((first if i == 0 else rest) + "  ", line))

    def _highlight(self, code: str, lang: str) -> Text:
        from rich.text import Text

        code = clean(code.replace("\t", "    "))
        if lang:
            from rich.syntax import Syntax

            try:
                syntax = Syntax(code, lang, theme="ansi_dark", background_color="default")
                text = syntax.highlight(code)
                text.rstrip()
                return text
            except Exception:  # an unknown lexer: plain text
                pass
        return Text(code, style="cyan")

    def blocks(self, tokens: list[Token]) -> None:
        from rich.text import Text

        i = 0
        ordinal: list[int | None] = []
        while i < len(tokens):
            t = tokens[i]
            kind = t.type
            if kind in ("paragraph_open", "heading_open"):
                inline = tokens[i + 1]
                text = self.inline(inline.children or [])
                if kind == "heading_open":
                    text.stylize("bold underline" if t.tag in ("h1", "h2") else "bold")
                if not t.hidden:
                    self._blank()
                if text.plain.strip() or not self.prefix or self.prefix[-1][0] != self.prefix[-1][1]:
                    self._emit_wrapped(text)
                i += 3
                continue
            if kind in ("bullet_list_open", "ordered_list_open"):
                self._blank()
                ordinal.append(int(t.attrGet("start") or 1) if kind == "ordered_list_open" else None)
            elif kind in ("bullet_list_close", "ordered_list_close"):
                ordinal.pop()
            elif kind == "list_item_open":
                n = ordinal[-1] if ordinal else None
                if n is None:
                    bullet = "• "
                else:
                    bullet = f"{n}. "
                    ordinal[-1] = n + 1
                self.prefix.append([bullet, " " * len(bullet)])
            elif kind == "list_item_close":
                self.prefix.pop()
            elif kind == "blockquote_open":
                self._blank()
                self.prefix.append(["│ ", "│ "])
            elif kind == "blockquote_close":
                self.prefix.pop()
            elif kind in ("fence", "code_block"):
                self._blank()
                lang = (t.info or "").strip().split(" ")[0] if kind == "fence" else ""
                self._emit_code(t.content, lang)
            elif kind == "math_block":
                self._blank()
                self._emit_math_block(t.content)
            elif kind == "hr":
                self._blank()
                self.lines.append(Text("─" * min(self.width, 40), style="dim"))
            elif kind == "table_open":
                self._blank()
                i = self._table(tokens, i)
                continue
            i += 1

    def _emit_math_block(self, tex: str) -> None:
        from rich.text import Text

        uni = math_to_unicode(" ".join(tex.split()))
        if uni is not None:
            self._emit_wrapped(Text("  " + uni, style=MATH_STYLE))
        else:
            self._emit_code(tex.strip("\n"), "")
            for line in self.lines[-(tex.strip(chr(10)).count(chr(10)) + 1) :]:
                line.stylize(MATH_STYLE)

    def _table(self, tokens: list[Token], i: int) -> int:
        from rich.text import Text

        rows: list[list[Text]] = []
        row: list[Text] = []
        while i < len(tokens) and tokens[i].type != "table_close":
            t = tokens[i]
            if t.type == "tr_open":
                row = []
            elif t.type == "tr_close":
                rows.append(row)
            elif t.type == "inline":
                row.append(self.inline(t.children or []))
            i += 1
        widths = [
            max((r[c].cell_len for r in rows if c < len(r)), default=0)
            for c in range(max(map(len, rows), default=0))
        ]
        for n, r in enumerate(rows):
            line = Text()
            for c, cell in enumerate(r):
                if c:
                    line.append(" │ ", style="dim")
                line.append_text(cell)
                line.append(" " * (widths[c] - cell.cell_len))
            if n == 0:
                line.stylize("bold")
            line.rstrip()
            if line.cell_len > self.width:
                line.truncate(self.width - 1)
                line.append(CROP_MARKER, style="bold yellow")
            self.lines.append(line)
        return i + 1

    # -- inline --

    def inline(self, children: list[Token]) -> Text:
        from rich.text import Text

        text = Text()
        styles: list[str] = []
        starts: list[int] = []
        for k, t in enumerate(children):
            kind = t.type
            if kind == "text":
                text.append(clean(t.content))
            elif kind == "softbreak":
                text.append(SOFT_BREAK)
            elif kind == "hardbreak":
                text.append("\n")
            elif kind == "code_inline":
                text.append(clean(t.content), style=CODE_STYLE)
            elif kind in ("math_inline", "math_display"):
                uni = math_to_unicode(t.content)
                text.append(uni if uni is not None else clean(t.content.strip()), style=MATH_STYLE)
            elif kind == "tag":
                if _trailing(children, k + 1):
                    self.tags.append(t.content)
                else:
                    text.append("#" + clean(t.content), style="blue")
            elif kind in ("image", "wiki_image"):
                target = (
                    str(t.meta.get("target", "")) if kind == "wiki_image" else str(t.attrGet("src") or "")
                )
                self.images.append(target)
                text.append(f"[image: {clean(target.rsplit('/', 1)[-1])}]", style="magenta")
            elif kind.endswith("_open"):
                style = {
                    "strong_open": "bold",
                    "em_open": "italic",
                    "s_open": "strike",
                    "link_open": "underline",
                    "mark_open": HIGHLIGHT_STYLE,
                    "cloze_open": CLOZE_STYLE if t.meta.get("n") == self.cloze else "",
                }.get(kind, "")
                styles.append(style)
                starts.append(len(text))
            elif kind.endswith("_close") and styles:
                style, start = styles.pop(), starts.pop()
                if style:
                    text.stylize(style, start, len(text))
        # Trailing spaces left where a trailing tag was taken out.
        text.rstrip()
        return text


def _trailing(children: list[Token], start: int) -> bool:
    """Only blanks and tags follow until the end of the line: the tag is a card-line tag."""
    for t in children[start:]:
        if t.type in ("softbreak", "hardbreak"):
            return True
        if t.type == "tag" or (t.type == "text" and not t.content.strip()):
            continue
        return False
    return True
