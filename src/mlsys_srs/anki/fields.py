"""Anki field HTML as Markdown that our parser reads back as the same card.

markdownify (BeautifulSoup underneath) does the conversion: it keeps
``<b>``/``<i>``/``<code>``/``<pre>``/lists/links, turns ``<img>`` into
``![](src)``, decodes entities and leaves ``{{c1::...}}`` text alone
(html2text, the other candidate, doubles the backslashes of MathJax and
indents code instead of fencing it). MathJax ``\\(..\\)``/``\\[..\\]`` is
set aside first and comes back as ``$..$``/``$$..$$``, its TeX as written.

Text stays text: what Markdown or our card syntax would read as markup in a
field's *text* is escaped (``\\*``, ``\\_`` where it could start emphasis,
``\\```, ``\\[\\[``/``\\]\\]``, ``\\](``, ``\\$``, ``\\#tag``, ``\\~\\~``, and a
backslash before punctuation), so a literal ``[[x]]`` is no concept link and a
literal ``*x*`` no emphasis; code (``<code>``, ``<pre>``) is never escaped.

Each line is then made safe inside one card paragraph: no blank lines,
headings, rules or quotes (they would end the paragraph), no line that starts a
new card (``Q:``, ``C:``, a lone ``?``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from html import unescape
from typing import Any

_SOUND_RE = re.compile(r"\[sound:([^\]\n]+)\]")
_INLINE_MATH_RE = re.compile(r"\\\((.+?)\\\)", re.DOTALL)
_DISPLAY_MATH_RE = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)
_HEADING_RE = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$")
_RULE_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_QUOTE_RE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_STARTS_CARD_RE = re.compile(r"^( {0,3})([QAC]):")
_FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_IMG_RE = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["']?)([^"'>\s]+(?:\s[^"'>]+)*?)\1[^>]*>""", re.IGNORECASE)


_LITERAL_RES = (
    (re.compile(r"\\(?=[!-/:-@\[-`{-~])"), r"\\\\"),  # a backslash that would escape what follows
    (re.compile(r"\*"), r"\\*"),
    (re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])"), r"\\_"),  # snake_case stays as it is
    (re.compile(r"`"), r"\\`"),
    (re.compile(r"\[(?=\[)|(?<=\[)\["), r"\\["),
    (re.compile(r"\](?=[\]\(])|(?<=\])\]"), r"\\]"),
    (re.compile(r"\$"), r"\\$"),
    (re.compile(r"(?<!\S)#(?=[\w/-]*[^\W\d])"), r"\\#"),  # a #tag (all digits is none)
    (re.compile(r"~(?=~)|(?<=~)~"), r"\\~"),
)
_HELD_RE = re.compile(r"MLSYSSRS(MEDIA|MATH)(\d+)X")


def escape_literal(text: str) -> str:
    """Field text as Markdown that shows it as it is: what would be markup is escaped."""
    for pattern, repl in _LITERAL_RES:
        text = pattern.sub(repl, text)
    return text


@lru_cache(maxsize=1)
def _converter() -> Any:
    from markdownify import MarkdownConverter

    class Converter(MarkdownConverter):
        def escape(self, text: str, parent_tags: Any) -> str:
            return escape_literal(text) if text else ""

    return Converter(heading_style="ATX", bullets="-", code_language="")


def to_markdown(html: str, media: Callable[[str], str | None] = lambda _: None) -> str:
    """Convert one field's HTML to Markdown.

    ``media(name)`` gives the vault path an image or sound of the field is
    linked by (None: the link keeps the name as written).
    """
    held: dict[str, list[str]] = {"MEDIA": [], "MATH": []}

    def hold(kind: str, markdown: str) -> str:
        held[kind].append(markdown)
        return f"MLSYSSRS{kind}{len(held[kind]) - 1}X"

    def link(name: str, image: bool) -> str:
        target = media(unescape(name)) or unescape(name)
        dest = f"<{target}>" if re.search(r"[\s()<>]", target) else target
        return hold("MEDIA", f"![]({dest})" if image else f"[{unescape(name)}]({dest})")

    # MathJax keeps its TeX as written (entities decoded): set aside before anything is escaped.
    html = _DISPLAY_MATH_RE.sub(lambda m: hold("MATH", f"$${unescape(m.group(1)).strip()}$$"), html)
    html = _INLINE_MATH_RE.sub(lambda m: hold("MATH", f"${unescape(m.group(1)).strip()}$"), html)
    if "<" not in html and "&" not in html and "[sound:" not in html:
        md = escape_literal(html.replace("\xa0", " ").replace("\r\n", "\n"))
    else:
        html = _IMG_RE.sub(lambda m: link(m.group(2), True), html)
        html = _SOUND_RE.sub(lambda m: link(m.group(1), False), html)
        md = _converter().convert(html)
        md = md.replace("\xa0", " ").replace("\r\n", "\n")
    md = _HELD_RE.sub(lambda m: held[m.group(1)][int(m.group(2))], md)
    return md.strip()


def card_lines(md: str, *, keep_fences: bool) -> list[str]:
    """The Markdown as lines that stay inside one card paragraph.

    With ``keep_fences`` a fenced code block is kept as it is (an answer may
    end in one); without, each code line becomes inline code.
    """
    out: list[str] = []
    fence: str | None = None
    for raw in md.split("\n"):
        line = raw.rstrip()
        m = _FENCE_RE.match(line)
        if fence is not None:
            if (
                m
                and m.group(1)[0] == fence[0]
                and len(m.group(1)) >= len(fence)
                and not line.strip()[len(m.group(1)) :]
            ):
                fence = None
                if keep_fences:
                    out.append(line.strip())
                continue
            if keep_fences:
                out.append(raw.rstrip("\n"))
            elif line.strip():
                code = line.replace("`", "'")
                out.append(f"`{code}`")
            continue
        if m:
            fence = m.group(1)
            if keep_fences:
                out.append(line.strip())
            continue
        if not line.strip():
            continue
        line = _QUOTE_RE.sub("", line)
        if _RULE_RE.match(line):
            continue
        h = _HEADING_RE.match(line)
        if h:
            line = f"**{h.group(1)}**" if h.group(1) else ""
        if line.startswith("    ") or line.startswith("\t"):
            line = line.lstrip()
        line = _STARTS_CARD_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}\\:", line)
        if line.strip() in ("?", "??"):
            line = line.replace("?", "\\?")
        if line.lstrip().startswith("$$") and out:
            out[-1] = f"{out[-1]} {line.strip()}"
            continue
        if line.strip():
            out.append(line)
    if fence is not None and keep_fences:
        out.append(fence)
    return out


def one_line(md: str) -> str:
    """The Markdown on one line (for an inline ``:::`` card)."""
    return " ".join(card_lines(md, keep_fences=False)).strip()
