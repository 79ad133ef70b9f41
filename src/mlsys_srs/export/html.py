"""Markdown -> HTML for Anki card fields.

Cards keep their Markdown as written; Anki shows HTML. This module renders one
card side with markdown-it (CommonMark, raw HTML off, so a note containing
``<script>`` shows the text and never runs it) and the extras an Obsidian
vault needs:

- fenced code as ``<pre><code class="language-x">`` highlighted by Pygments with
  inline styles, which survive Anki (no stylesheet to lose);
- ``$...$`` as MathJax ``\\( \\)`` and ``$$...$$`` as ``\\[ \\]``, the TeX kept
  as written apart from HTML-escaping ``<``, ``>`` and ``&``;
- wikilinks ``[[Target|alias]]`` shown as their text, links to other notes
  shown as their text (Anki cannot follow them);
- images (``![[x.png]]``, ``![](x.png)``) handed to a resolver that bundles
  the file and names it, so the field refers to Anki's flat media folder.

The renderer never touches files itself: image resolution is the caller's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from ..parse.text import IMAGE_EXTENSIONS, TAG_NAME_RE, URL_SCHEME_RE, WIKILINK_RE

ImageResolver = Callable[[str, str, int], "str | None"]
"""``(target, note path, line) -> Anki media file name``, or None when refused or missing."""

_SIZE_RE = re.compile(r"^(\d+)(?:x(\d+))?$")
# One line without these characters and without a block marker at its start is
# rendered by markdown-it as its escaped self: the renderer skips the parser for it.
_MARKUP_RE = re.compile(r"[\\`*_\[\]<>&$!~#\n\r\t\x00]")
_BLOCK_START_RE = re.compile(r"^(?:[-+*#>=|]|\d+[.)])")


def protect_cloze(html: str) -> str:
    """Keep ``{{`` in code from being read by Anki as a cloze deletion."""
    return html.replace("{{", "{&#123;") if "{{" in html else html


def _tex(content: str) -> str:
    return escape(content, quote=False)


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
    search = pos + 1
    while True:
        close = src.find("$", search, end)
        if close < 0:
            return False
        if (
            src[close - 1] == "\\"
            or src[close - 1].isspace()
            or (close + 1 < end and src[close + 1].isdigit())
        ):
            search = close + 1
            continue
        break
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


def _unlink_relative(state: StateCore) -> None:
    """Drop the anchors of links to other notes and headings: Anki cannot follow them."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        if not any(t.type == "link_open" for t in block.children):
            continue
        kept: list[Token] = []
        dropped: list[bool] = []
        for t in block.children:
            if t.type == "link_open":
                href = str(t.attrGet("href") or "")
                drop = not (URL_SCHEME_RE.match(href) or href.startswith("//"))
                dropped.append(drop)
                if drop:
                    continue
            elif t.type == "link_close" and dropped and dropped.pop():
                continue
            kept.append(t)
        block.children = kept


@lru_cache(maxsize=64)
def _lexer(lang: str) -> Any:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@lru_cache(maxsize=1)
def _formatter() -> Any:
    from pygments.formatters import HtmlFormatter

    # Inline styles, no wrapper: the markup is complete without a stylesheet.
    return HtmlFormatter(noclasses=True, nowrap=True)


def highlight_code(code: str, lang: str, attrs: str = "") -> str:
    """Code as HTML spans with inline colours (escaped plain text for an unknown language)."""
    lexer = _lexer(lang.lower()) if lang else None
    if lexer is None:
        return protect_cloze(escapeHtml(code))
    from pygments import highlight

    return protect_cloze(highlight(code, lexer, _formatter()))


class MarkdownRenderer:
    """Renders card Markdown to Anki field HTML. One instance serves a whole export."""

    def __init__(self, resolve_image: ImageResolver | None = None, *, breaks: bool = False) -> None:
        """Set up the parser and its rules.

        Args:
            resolve_image: Names the media file for an image reference (None: images show as text).
            breaks: Show single line breaks as breaks, as Obsidian does unless its
                "strict line breaks" setting is on; CommonMark joins the lines.
        """
        self._resolve_image = resolve_image
        md = MarkdownIt("commonmark", {"html": False, "breaks": breaks, "highlight": highlight_code})
        md.enable(["table", "strikethrough"])
        md.inline.ruler.before("escape", "math_inline", _math_inline)
        md.inline.ruler.before("link", "wikilink", _wikilink)
        md.inline.ruler.before("escape", "tag", _tag)
        md.block.ruler.before(
            "fence", "math_block", _math_block, {"alt": ["paragraph", "reference", "blockquote", "list"]}
        )
        md.core.ruler.after("inline", "unlink_relative", _unlink_relative)
        md.add_render_rule("math_inline", lambda s, tokens, idx, o, e: f"\\({_tex(tokens[idx].content)}\\)")
        md.add_render_rule("math_display", lambda s, tokens, idx, o, e: f"\\[{_tex(tokens[idx].content)}\\]")
        md.add_render_rule("math_block", lambda s, tokens, idx, o, e: f"\\[{_tex(tokens[idx].content)}\\]\n")
        md.add_render_rule(
            "code_inline",
            lambda s, tokens, idx, o, e: f"<code>{protect_cloze(escapeHtml(tokens[idx].content))}</code>",
        )
        md.add_render_rule(
            "code_block",
            lambda s, tokens, idx, o, e: (
                f"<pre><code>{protect_cloze(escapeHtml(tokens[idx].content))}</code></pre>\n"
            ),
        )
        md.add_render_rule(
            "tag", lambda s, tokens, idx, o, e: f'<span class="tag">#{escapeHtml(tokens[idx].content)}</span>'
        )
        # add_render_rule binds plain functions to the renderer; these need ``self`` too.
        md.add_render_rule("image", lambda r, tokens, idx, o, e: self._image(r, tokens, idx, o, e))
        md.add_render_rule("wiki_image", lambda r, tokens, idx, o, e: self._wiki_image(tokens, idx, e))
        self._md = md

    def render(self, text: str, *, note: str = "", line: int = 0) -> str:
        """One card side as HTML; a single paragraph comes without its ``<p>``.

        Args:
            text: The Markdown as written in the note.
            note: The note's vault-relative path (images resolve from its folder).
            line: The card's line, for diagnostics about its images.
        """
        stripped = text.strip()
        if not _MARKUP_RE.search(stripped) and not _BLOCK_START_RE.match(stripped):
            return escapeHtml(stripped)
        html = str(self._md.render(stripped, {"note": note, "line": line})).strip()
        if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
            html = html[3:-4]
        return html

    def _img(self, target: str, note: str, line: int, attrs: str, fallback: str) -> str:
        name = self._resolve_image(target, note, line) if self._resolve_image else None
        if name is None:
            return escape(f"[{fallback or target}]", quote=False)
        return f'<img src="{escape(name)}"{attrs}>'

    def _image(self, renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        src = str(token.attrGet("src") or "")
        alt = renderer.renderInlineAsText(token.children or [], options, env)
        if URL_SCHEME_RE.match(src) or src.startswith("//"):
            return f'<img src="{escape(src)}" alt="{escape(alt)}">'
        attrs = f' alt="{escape(alt)}"' if alt else ""
        return self._img(unquote(src), env.get("note", ""), env.get("line", 0), attrs, alt)

    def _wiki_image(self, tokens: Sequence[Token], idx: int, env: Any) -> str:
        meta = tokens[idx].meta
        attrs = ""
        size = _SIZE_RE.match(meta.get("size", ""))
        if size:
            # Obsidian's ![[x.png|200]] and ![[x.png|200x100]].
            attrs = f' width="{size.group(1)}"' + (f' height="{size.group(2)}"' if size.group(2) else "")
        return self._img(meta["target"], env.get("note", ""), env.get("line", 0), attrs, meta["target"])
