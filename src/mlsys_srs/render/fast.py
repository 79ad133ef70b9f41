"""The compiled path of the card HTML: markdown-it-pyrs (Rust) where it renders as ``render.html`` does.

``render.html.MarkdownRenderer`` renders card Markdown with markdown-it-py and the rules an
Obsidian vault needs (math, wikilinks, tags, highlights, images, unlinked note links,
highlighted code). markdown-it-pyrs renders CommonMark about ten times faster but has none of
those rules, no ``breaks`` option and no highlight callback. ``CompiledRenderer.render`` gives
the HTML markdown-it-py would give, or None when the text needs the Python path:

- the text is scanned line by line for what only the Python rules read. Math (``$...$``,
  ``$$...$$`` in a line, a ``$$`` block from column 0) and wikilinks ``[[...]]`` are masked:
  each becomes ``$`` + private-use characters + ``$``, which CommonMark reads as plain text and
  which, like the ``$``, ``[`` and ``]`` it replaces, is punctuation where emphasis looks at
  its neighbours; the rendered placeholder is then replaced by the formula or the link's text;
- anything else of ours, or where the two parsers could part, sends the text to the Python
  path: tags, ``==highlights==``, ``{{``, images and embeds, Markdown links and references,
  autolinks, entities, escapes and tables outside math and code, tabs, a code span or a
  formula that does not close on its own line, a fence in a quote or indented 4 spaces or
  more, an emphasis mark next to a non-ASCII character (the two libraries may class it
  differently), a placeholder the compiled output does not keep;
- fenced code with a language is highlighted (the caller's highlighter, as markdown-it-py's
  callback); single line breaks become ``<br />`` when ``breaks`` is on.

tests/test_render_compiled.py checks the two paths agree on the golden notes, both synthetic
vaults and generated texts. Without markdown-it-pyrs installed (the ``fast`` extra),
``compiled`` is None and every text takes the Python path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from html import escape
from typing import Any

from markdown_it.common.utils import escapeHtml

from ..parse.text import TAG_NAME_RE, WIKILINK_RE
from .terminal import closing_dollar, wikilink_text

MathHtml = Callable[[str, bool], str]
"""``(TeX, display) -> HTML`` of a formula."""
Highlighter = Callable[[str, str], str]
"""``(code, language) -> HTML`` of a fenced block's code."""

_PLUGINS: list[Any] = [
    # CommonMark without its raw-HTML rules (the Python path has ``html=False``), with the
    # tables and strikethrough that ``render.terminal.build_parser`` enables.
    *("blockquote", "code", "fence", "heading", "hr", "lheading", "list", "paragraph", "reference"),
    *("autolink", "backticks", "emphasis", "entity", "escape", "image", "link", "newline"),
    *("table", "strikethrough"),
]

# Whole-text refusals: characters the masks use or either parser treats apart, reference
# definitions (anywhere: a definition's label may hold a code span), and for the web page's
# renderer, cloze deletions.
_REFUSE_RE = re.compile(r"[\t\r\x00\ue000-\ue1ff]|\]:")
_REFUSE_CLOZE_RE = re.compile(r"[\t\r\x00\ue000-\ue1ff]|\]:|\{\{")
# Characters the inline scan stops at.
_INLINE_RE = re.compile(r"[$`\\\[\]!<&#|*_~=]")
# Tags, from the first one, to the end of a line (left out of the field, with the blanks before).
_LINE_TAGS_RE = re.compile(r"#" + TAG_NAME_RE.pattern + r"(?:\s+#" + TAG_NAME_RE.pattern + r")*\s*$")
_MARKER = r"(?:[-+*]|\d{1,9}[.)])"
"""A list item's marker."""
_PREFIX_RE = re.compile(rf"[ >]*(?:{_MARKER}[ >]*)*")
_BULLETS_RE = re.compile(rf"(?:[ >]*{_MARKER}(?: |$))+")
_DELIMITER_ROW_RE = re.compile(r"[ >]*:?-+:?[ \t]*")
# A quote's ">" or a list marker with five blanks after it: what follows is indented code.
_ITEM_CODE_RE = re.compile(r"[->+*.)] {5,}")
_EMPTY_ITEM_RE = re.compile(_PREFIX_RE.pattern + rf"{_MARKER} *$")
_CODE_RE = re.compile(r"<code>(.*?)</code>", re.S)
_FENCE_RE = re.compile(r"( *)(`{3,}|~{3,})(.*)")
_LANG_RE = re.compile(r"[A-Za-z0-9_+-]*")
# A fence after a quote or list marker (or both).
_CONTAINED_FENCE_RE = re.compile(_PREFIX_RE.pattern + "(?:```|~~~)")
_MATH_START_RE = re.compile(_PREFIX_RE.pattern + r"\$\$")
_PRE_RE = re.compile(r'<pre><code class="language-([A-Za-z0-9_+-]+)">(.*?)</code></pre>\n', re.S)
# A line break inside a paragraph: after text or an inline element, not before a block.
_SOFT_RE = re.compile(
    r"(?:(?<=[^>])|(?<=</em>)|(?<=</strong>)|(?<=</code>)|(?<=</s>))\n"
    r"(?!<(?:/?(?:ul|ol|li|blockquote|table)|p|pre|h[1-6]|hr)\b)"
)
_PLACEHOLDER_RE = re.compile(r"<p>\$\ue001([\ue100-\ue1ff]{2})\$</p>\n|\$\ue000([\ue100-\ue1ff]{2})\$")


TESTED = "0.4."
"""The markdown-it-pyrs series the two paths are checked against (another is not used)."""


def _prefix_end(line: str) -> int:
    """Where the line's quote and list markers end."""
    m = _PREFIX_RE.match(line)
    return m.end() if m else 0


@lru_cache(maxsize=1)
def compiled() -> Any:
    """The markdown-it-pyrs parser (None when the package is not installed, or not the tested series)."""
    try:
        import markdown_it_pyrs
    except ImportError:
        return None
    if not str(getattr(markdown_it_pyrs, "__version__", "")).startswith(TESTED):
        return None
    return markdown_it_pyrs.MarkdownIt("zero").enable_many(_PLUGINS)


def version() -> str:
    """The compiled renderer's version, for cache keys ("none" without it)."""
    if compiled() is None:
        return "none"
    import markdown_it_pyrs

    return str(getattr(markdown_it_pyrs, "__version__", ""))


class _Refused(Exception):
    """The text needs the Python path."""


def _code(n: int) -> str:
    """The two private-use characters that name the ``n``-th masked span.

    Raises:
        _Refused: more spans than two characters can name.
    """
    if n >= 1 << 16:
        raise _Refused
    return chr(0xE100 + (n >> 8)) + chr(0xE100 + (n & 0xFF))


def _unescape(html: str) -> str:
    """Undo markdown-it's ``escapeHtml`` (the only escaping in a code block's text)."""
    return html.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def _tex(content: str) -> str:
    return escape(content, quote=False)


class CompiledRenderer:
    """Renders the texts it can as ``render.html``'s markdown-it-py set-up does (see the module)."""

    def __init__(self, highlight: Highlighter, math: MathHtml | None = None, *, cloze: bool = False) -> None:
        """Args:
        highlight: The fenced code highlighter (``render.html.highlight_code``).
        math: Renders a formula (None: the TeX between MathJax delimiters, as for Anki).
        cloze: The Python path reads ``{{cN::...}}`` as deletions (the web page): such texts take it.
        """
        self._md = compiled()
        self._highlight = highlight
        self._math = math
        self._refuse = _REFUSE_CLOZE_RE if cloze else _REFUSE_RE

    @property
    def available(self) -> bool:
        """Whether markdown-it-pyrs is installed."""
        return self._md is not None

    def render(self, text: str, *, breaks: bool) -> str | None:
        """What markdown-it-py renders ``text`` to (its whole output), or None for the Python path."""
        if self._md is None or self._refuse.search(text):
            return None
        try:
            masked, spans = self._mask(text)
        except _Refused:
            return None
        html = str(self._md.render(masked))
        if "<blockquote>\n</blockquote>" in html:  # an empty quote, as markdown-it-py writes it
            html = html.replace("<blockquote>\n</blockquote>", "<blockquote></blockquote>")
        if breaks and "\n" in html:
            html = self._breaks(html)
        if spans:
            html = _PLACEHOLDER_RE.sub(lambda m: spans.pop(m.group(1) or m.group(2), "\x00"), html)
            if spans or "\x00" in html:  # a placeholder lost, doubled or out of place
                return None
        if "{{" in html and "<code>" in html:  # Anki must not read "{{" in code as a deletion
            html = _CODE_RE.sub(lambda m: f"<code>{m.group(1).replace('{{', '{&#123;')}</code>", html)
        if "<pre><code class=" in html:
            html = _PRE_RE.sub(self._fence, html)
        return html

    def _fence(self, m: re.Match[str]) -> str:
        lang, code = m.group(1), _unescape(m.group(2))
        return f'<pre><code class="language-{lang}">{self._highlight(code, lang) or escapeHtml(code)}</code></pre>\n'

    @staticmethod
    def _breaks(html: str) -> str:
        """Single line breaks as ``<br />`` (markdown-it's ``breaks``), outside code blocks."""
        parts = html.split("<pre>")
        out = [_SOFT_RE.sub("<br />\n", parts[0])]
        for part in parts[1:]:
            code, sep, rest = part.partition("</pre>")
            out.append(code + sep + _SOFT_RE.sub("<br />\n", rest))
        return "<pre>".join(out)

    # --- masking ------------------------------------------------------------------------------

    def _math_html(self, tex: str, display: bool, block: bool = False) -> str:
        if self._math is not None:
            return self._math(tex, display) + ("\n" if block else "")
        if block:
            return f"\\[{_tex(tex)}\\]\n"
        return f"\\[{_tex(tex)}\\]" if display else f"\\({_tex(tex)}\\)"

    def _mask(self, text: str) -> tuple[str, dict[str, str]]:
        """``text`` with its formulas and wikilinks as placeholders, and each placeholder's HTML.

        Raises:
            _Refused: the text needs the Python path.
        """
        spans: dict[str, str] = {}
        lines = text.split("\n")
        out: list[str] = []
        fence: tuple[str, int, int] | None = None  # (character, length, indent) of an open fence
        i, n = 0, len(lines)
        while i < n:
            line = lines[i]
            i += 1
            if fence is not None:
                out.append(line)
                stripped = line.lstrip(" ")
                indent = len(line) - len(stripped)
                if stripped and indent < fence[2]:
                    raise _Refused  # the line may end the list item the fence is in
                body = stripped.rstrip(" ")
                if (
                    body
                    and body[0] == fence[0]
                    and len(body) >= fence[1]
                    and body.count(fence[0]) == len(body)
                ):
                    if indent > fence[2] + 3:
                        raise _Refused
                    fence = None
                continue
            if "`" in line or "~" in line:
                m = _FENCE_RE.match(line)
                if m is not None:
                    indent, marks, info = len(m.group(1)), m.group(2), m.group(3)
                    if indent >= 4 or not _LANG_RE.fullmatch(info.strip()):
                        raise _Refused
                    fence = (marks[0], len(marks), indent)
                    out.append(line)
                    continue
                if _CONTAINED_FENCE_RE.match(line):
                    raise _Refused
            if "$$" in line and _MATH_START_RE.match(line):
                if not line.startswith("$$"):
                    raise _Refused  # a formula block in a quote, a list or indented
                rest = line[2:].rstrip()
                if rest.endswith("$$"):
                    content = rest[:-2]
                elif "$$" in rest:
                    out.append(self._inline(line, spans))  # "$$a$$ and text": a paragraph
                    continue
                else:
                    formula = [rest]
                    while i < n:
                        closing = lines[i].lstrip(" ").rstrip()
                        i += 1
                        if closing.endswith("$$"):
                            formula.append(closing[:-2])
                            break
                        formula.append(lines[i - 1])
                    else:
                        raise _Refused  # never closed: a paragraph
                    content = "\n".join(formula)
                key = _code(len(spans))
                spans[key] = self._math_html(content.strip("\n"), True, block=True)
                out.extend(("", f"$\ue001{key}$", ""))
                continue
            if not _INLINE_RE.search(line):
                if _EMPTY_ITEM_RE.match(line):
                    raise _Refused  # an empty list item (the two parsers differ on what it interrupts)
                if ":" in line and _DELIMITER_ROW_RE.fullmatch(line):
                    raise _Refused  # "---:": markdown-it-pyrs reads a table without a pipe
                out.append(line)
                continue
            masked = self._inline(line, spans)
            if ":" in masked and _DELIMITER_ROW_RE.fullmatch(masked):
                raise _Refused  # ":- #tag": without its tags, a table's delimiter row
            if masked != line and (
                line.startswith("    ") or _ITEM_CODE_RE.search(line, 0, _prefix_end(line))
            ):
                raise _Refused  # maybe indented code (in a quote or an item too), where nothing is masked
            if _EMPTY_ITEM_RE.match(masked):
                raise _Refused
            out.append(masked)
        if fence is not None:
            raise _Refused  # an unclosed fence ends where its container does
        return "\n".join(out), spans

    def _inline(self, line: str, spans: dict[str, str]) -> str:
        """One line with its formulas and wikilinks masked (inline rules in markdown-it's order).

        Raises:
            _Refused: the line needs the Python path.
        """
        parts: list[str] = []
        pos = last = 0
        end = len(line)
        marks = 0  # "*" and "_" outside code and formulas (two counts packed: "_" in the high bits)
        while True:
            m = _INLINE_RE.search(line, pos)
            if m is None:
                break
            p = m.start()
            ch = line[p]
            if ch == "$":
                if line.startswith("$$", p):
                    close = line.find("$$", p + 2)
                    if close < 0:
                        raise _Refused  # may close on a later line
                    if not line[p + 2 : close].strip():
                        pos = p + 1
                        continue
                    html, stop = self._math_html(line[p + 2 : close], True), close + 2
                else:
                    if p + 1 >= end or line[p + 1].isspace():
                        pos = p + 1
                        continue
                    close = closing_dollar(line, p + 1, end)
                    if close < 0:
                        raise _Refused  # may close on a later line
                    html, stop = self._math_html(line[p + 1 : close], False), close + 1
            elif ch == "`":
                run = p
                while run < end and line[run] == "`":
                    run += 1
                ticks = line[p:run]
                close = run
                while True:
                    close = line.find(ticks, close)
                    if close < 0:
                        raise _Refused  # may close on a later line
                    after = close + len(ticks)
                    if (after < end and line[after] == "`") or line[close - 1] == "`":
                        close = after
                        while close < end and line[close] == "`":
                            close += 1
                        continue
                    break
                if not line[run:close].strip(" "):
                    raise _Refused  # only blanks: markdown-it-pyrs trims three or more
                pos = close + len(ticks)
                continue
            elif ch == "[":
                w = WIKILINK_RE.match(line, p) if line.startswith("[[", p) else None
                if w is None:
                    pos = p + 1
                    continue
                html, stop = escapeHtml(wikilink_text(w.group(2))), w.end()
            elif ch == "#":
                tag = TAG_NAME_RE.match(line, p + 1)
                if tag is None or tag.group(0).isdigit() or not (p == 0 or line[p - 1].isspace()):
                    if tag is not None and line[p - 1] == ">":
                        raise _Refused  # a tag at the start of a quote
                    pos = p + 1
                    continue
                if line.lstrip(" ").startswith("#"):
                    raise _Refused  # a heading's tags (its closing "#"s are its own)
                closing = _LINE_TAGS_RE.match(line, p)
                if closing is not None and any(t[1:].isdigit() for t in closing.group(0).split()):
                    raise _Refused  # "#t #9": a number among them, which is no tag
                if closing is not None:
                    # The line's closing tags: left out, with the blanks before them.
                    kept = line[last:p].rstrip()
                    if not parts and not kept[_prefix_end(kept) :].strip(" *_=-"):
                        # A line of tags only (it goes with its line break), or "___ #tag" (text,
                        # which would be a rule without its tags).
                        raise _Refused
                    if line[-1].isspace():
                        raise _Refused  # a hard line break after them
                    parts.append(kept)
                    return "".join(parts)
                tail = tag.end()
                if tail < end and line[tail] in "*~":
                    raise _Refused  # a mark that looks at the tag's last character
                html, stop = f'<span class="tag">#{escapeHtml(tag.group(0))}</span>', tail
            elif ch == "=":
                if line.startswith("==", p):
                    raise _Refused  # a highlight (or a heading's underline)
                pos = p + 1
                continue
            elif ch == "!":
                if line.startswith("![", p):
                    raise _Refused  # an image or an embed
                pos = p + 1
                continue
            elif ch == "]":
                if line.startswith("](", p):
                    raise _Refused  # a link
                pos = p + 1
                continue
            elif ch in "*_~":
                if line.startswith(ch * 3, p):
                    raise _Refused  # a run of three or more: markdown-it-pyrs pairs some differently
                if ch != "~" and p + 1 < end and line[p + 1] in "*_" and line[p + 1] != ch:
                    raise _Refused  # "_*" or "*_": and some of these
                if (p > 0 and not line[p - 1].isascii()) or (p + 1 < end and not line[p + 1].isascii()):
                    raise _Refused
                if ch != "~":
                    marks += 1 if ch == "*" else 1 << 20
                pos = p + 1
                continue
            elif ch == "<":
                if p + 1 < end and not line[p + 1].isspace():
                    raise _Refused  # maybe an autolink (or raw HTML, which both escape)
                pos = p + 1
                continue
            elif ch == "&":
                if p + 1 < end and (line[p + 1].isalnum() or line[p + 1] == "#"):
                    raise _Refused  # an entity
                pos = p + 1
                continue
            else:  # "\\" an escape, "|" a table
                raise _Refused
            key = _code(len(spans))
            spans[key] = html
            parts.append(line[last:p])
            parts.append(f"$\ue000{key}$")
            pos = last = stop
        if marks:
            bullets = _BULLETS_RE.match(line)
            if bullets is not None:
                marks -= bullets.group(0).count("*")  # a bullet is no emphasis
            if marks & 1 or (marks >> 20) & 1:
                # An odd count of stars or underscores on a line: one is left unpaired, where
                # markdown-it-pyrs pairs some differently (a run's length, what it opens).
                raise _Refused
        if not parts:
            return line
        parts.append(line[last:])
        return "".join(parts)
