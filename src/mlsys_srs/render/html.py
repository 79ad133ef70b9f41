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

With markdown-it-pyrs installed (the ``fast`` extra), most texts are rendered by it instead
(``render.fast``: the same HTML, about ten times faster); the others, and every text without
it, by markdown-it-py here. Each distinct code block is highlighted once per process.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from ..parse.lines import strip_comments
from ..parse.text import URL_SCHEME_RE, WIKILINK_RE
from .terminal import build_parser, wikilink_text

if TYPE_CHECKING:
    from .embeds import NoteLibrary

ImageResolver = Callable[[str, str, int], "str | None"]
"""``(target, note path, line) -> Anki media file name``, or None when refused or missing."""

MathRenderer = Callable[[str, bool], str]
"""``(TeX, display) -> HTML`` of a formula (the web page's MathML; Anki gets MathJax delimiters)."""

_SIZE_RE = re.compile(r"^(\d+)(?:x(\d+))?$")
# One line without these characters and without a block marker at its start is
# rendered by markdown-it as its escaped self: the renderer skips the parser for it.
_MARKUP_RE = re.compile(r"[\\`*_\[\]<>&$!~#\n\r\t\x00]|==")
_BLOCK_START_RE = re.compile(r"^(?:[-+*#>=|]|\d+[.)])")

# Inside a wikilink of a plain line: what the fast path leaves to markdown-it.
_INNER_MARKUP_RE = re.compile(r"[\\`*_\[\]<>&$!~\n\r\t\x00]|==")


def _plain_with_wikilinks(stripped: str) -> str | None:
    """The HTML of one plain line with wikilinks (``[[T]]``, ``[[T|alias]]``, ``[[T#H]]``), which
    markdown-it renders as the escaped text with each link shown as its text; None for any
    other text. tests/test_render.py checks it against markdown-it."""
    if "[[" not in stripped or "\n" in stripped or "!" in stripped or stripped[0] == "[":
        return None
    if _BLOCK_START_RE.match(stripped):
        return None
    parts: list[str] = []
    pos = 0
    for m in WIKILINK_RE.finditer(stripped):
        inner = m.group(2)
        if _MARKUP_RE.search(stripped, pos, m.start()) or _INNER_MARKUP_RE.search(inner):
            return None
        parts.append(escapeHtml(stripped[pos : m.start()]))
        parts.append(escapeHtml(wikilink_text(inner)))
        pos = m.end()
    if _MARKUP_RE.search(stripped, pos):
        return None
    parts.append(escapeHtml(stripped[pos:]))
    return "".join(parts)


_FENCE_OPEN_RE = re.compile(r"```([A-Za-z0-9_+-]*)")


def _plain_then_fence(stripped: str) -> str | None:
    """The HTML of an optional plain line, a blank line and one fenced code block, as markdown-it
    renders it (the code highlighted by ``highlight_code``); None for any other text.
    tests/test_render_fast.py checks it against markdown-it."""
    if not stripped.endswith("\n```") or "\t" in stripped or "\r" in stripped or "\x00" in stripped:
        return None
    head, sep, fence = stripped.partition("```")
    if head:
        if not head.endswith("\n\n"):
            return None
        head = head[:-2]
        if not head or "\n" in head or not MarkdownRenderer.is_plain(head) or head != head.strip():
            return None
    lines = (sep + fence).split("\n")
    m = _FENCE_OPEN_RE.fullmatch(lines[0])
    if m is None or len(lines) < 2 or any(line.lstrip().startswith("```") for line in lines[1:-1]):
        return None
    code = "".join(line + "\n" for line in lines[1:-1])
    lang = m.group(1)
    highlighted = highlight_code(code, lang) or escapeHtml(code)
    if highlighted.startswith("<pre"):
        block = highlighted
    else:
        attrs = f' class="language-{lang}"' if lang else ""
        block = f"<pre><code{attrs}>{highlighted}</code></pre>"
    return f"<p>{escapeHtml(head)}</p>\n{block}" if head else block


def _is_blank(t: Token) -> bool:
    return t.type == "text" and not t.content.strip()


def _drop_line_tags(state: StateCore) -> None:
    """Leave out the ``#tags`` that end a line (with the blanks before them): they are card tags."""
    for block in state.tokens:
        if block.type != "inline" or not block.children or not any(t.type == "tag" for t in block.children):
            continue
        kept: list[Token] = []
        line: list[Token] = []
        for t in [*block.children, None]:
            if t is not None and t.type not in ("softbreak", "hardbreak"):
                line.append(t)
                continue
            end = len(line)
            while end and (line[end - 1].type == "tag" or _is_blank(line[end - 1])):
                end -= 1
            if any(x.type == "tag" for x in line[end:]):
                line = line[:end]
                if line and line[-1].type == "text":
                    line[-1].content = line[-1].content.rstrip()
                if not line:  # a line of tags only: it goes with its break
                    continue
            kept.extend(line)
            if t is not None:
                kept.append(t)
            line = []
        while kept and kept[-1].type in ("softbreak", "hardbreak"):
            kept.pop()
        block.children = kept


RENDER_VERSION = "5"  # 2: ==highlight== is <mark>; 3: card-line tags left out of fields; 4: comments hidden; 5: texts where markdown-it-pyrs differs take the Python path
"""Part of every render-cache key: bump it whenever this module or render/terminal.py changes the HTML
a text renders to (the library versions and the renderer's options are in the key already)."""


def protect_cloze(html: str) -> str:
    """Keep ``{{`` in code from being read by Anki as a cloze deletion."""
    return html.replace("{{", "{&#123;") if "{{" in html else html


def _tex(content: str) -> str:
    return escape(content, quote=False)


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
    return _highlighted(code, lang.lower())


FAST_LEXER_AFTER = 8
"""Blocks of a language highlighted before its lexer indexes its rules (``render.lexing``: the
index costs a few tens of milliseconds, paid back after a few dozen blocks)."""
_blocks: dict[str, int] = {}


@lru_cache(maxsize=2048)
def _highlighted(code: str, lang: str) -> str:
    """Pygments' HTML of a block, once per distinct block (an export meets a snippet many times)."""
    from pygments import highlight

    lexer = _lexer(lang)
    seen = _blocks[lang] = _blocks.get(lang, 0) + 1
    if seen == FAST_LEXER_AFTER:
        from .lexing import fast_lexer

        fast_lexer(lexer)
    return protect_cloze(highlight(code, lexer, _formatter()))


def _unwrap(html: str) -> str:
    """A single paragraph without its ``<p>``."""
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        return html[3:-4]
    return html


def _cloze_open(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    marked = tokens[idx].meta.get("n") == env.get("cloze")
    env.setdefault("open_clozes", []).append(marked)
    return '<mark class="cloze">' if marked else ""


def _cloze_close(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    opened = env.get("open_clozes") or [False]
    return "</mark>" if opened.pop() else ""


class MarkdownRenderer:
    """Renders card Markdown to Anki field HTML. One instance serves a whole export."""

    def __init__(
        self,
        resolve_image: ImageResolver | None = None,
        *,
        breaks: bool = False,
        math: MathRenderer | None = None,
        cloze: bool = False,
        library: NoteLibrary | None = None,
    ) -> None:
        """Set up the parser and its rules.

        Args:
            resolve_image: Names the media file for an image reference (None: images show as text).
            breaks: Show single line breaks as breaks, as Obsidian does unless its
                "strict line breaks" setting is on; CommonMark joins the lines.
            math: Renders formulas (None: the TeX between MathJax delimiters, for Anki).
            cloze: Read ``{{cN::...}}`` as deletions, the one ``render(cloze=N)`` names marked
                ``<mark class="cloze">`` (the web page; Anki renders clozes itself).
            library: The vault's notes, to show embedded notes, sections and blocks and the
                card's footnotes (``render.embeds``); None shows them as written.
        """
        self._resolve_image = resolve_image
        self._library = library
        self._images = 0  # image references met so far (their HTML depends on files: never cached)
        self.cache: dict[str, str] = {}
        """Rendered HTML by ``cache_key``: read before rendering, filled by it."""
        self.fresh: dict[str, str] = {}
        """The entries ``render`` added to ``cache`` (for the caller to store)."""
        self.used: set[str] = set()
        """Every key ``render`` looked up."""
        import markdown_it
        import pygments

        from .fast import CompiledRenderer, version

        self._breaks = breaks
        self._math = math
        self._cloze = cloze
        self._compiled = CompiledRenderer(highlight_code, math, cloze=cloze)
        self._versions = f"{RENDER_VERSION}\x1f{markdown_it.__version__}\x1f{pygments.__version__}"
        if self._compiled.available:
            self._versions += f"\x1frs={version()}"
        self._options = f"math={math is not None}\x1fcloze={cloze}\x1f" if math is not None or cloze else ""
        self._key_prefix = f"{self._versions}\x1fbreaks={breaks}\x1f{self._options}"
        self._md = self._parser(breaks)
        self._other: Any = None
        """The parser with the other ``breaks`` setting (made when first asked for)."""

    def _parser(self, breaks: bool) -> Any:
        """The markdown-it parser with this renderer's rules."""
        math, cloze = self._math, self._cloze
        md = build_parser(breaks=breaks, highlight=highlight_code, cloze=cloze)
        md.core.ruler.after("inline", "unlink_relative", _unlink_relative)
        md.core.ruler.after("unlink_relative", "drop_line_tags", _drop_line_tags)
        md.add_render_rule("math_inline", lambda s, tokens, idx, o, e: f"\\({_tex(tokens[idx].content)}\\)")
        md.add_render_rule("math_display", lambda s, tokens, idx, o, e: f"\\[{_tex(tokens[idx].content)}\\]")
        md.add_render_rule("math_block", lambda s, tokens, idx, o, e: f"\\[{_tex(tokens[idx].content)}\\]\n")
        if math is not None:
            md.add_render_rule("math_inline", lambda s, tokens, idx, o, e: math(tokens[idx].content, False))
            md.add_render_rule("math_display", lambda s, tokens, idx, o, e: math(tokens[idx].content, True))
            md.add_render_rule(
                "math_block", lambda s, tokens, idx, o, e: math(tokens[idx].content, True) + "\n"
            )
        if cloze:
            md.add_render_rule("cloze_open", _cloze_open)
            md.add_render_rule("cloze_close", _cloze_close)
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
        return md

    @property
    def images(self) -> int:
        """Image references rendered so far (a text that shows images is never cached)."""
        return self._images

    def render(
        self,
        text: str,
        *,
        note: str = "",
        line: int = 0,
        cloze: int | None = None,
        breaks: bool | None = None,
    ) -> str:
        """One card side as HTML; a single paragraph comes without its ``<p>``.

        Args:
            text: The Markdown as written in the note.
            note: The note's vault-relative path (images resolve from its folder; embeds and
                footnotes are read from the vault's notes, when the renderer has them).
            line: The card's line, for diagnostics about its images.
            cloze: The deletion to mark (a renderer made with ``cloze=True``; never cached).
            breaks: Single line breaks are breaks (None: as the renderer was set up).
        """
        compiled = True
        if self._library is not None and note:
            from .embeds import prepare

            prepared = prepare(text, note, self._library)
            compiled, text = prepared is text, prepared  # embeds and footnotes: markdown-it-py
        elif "<!--" in text or "%%" in text:
            text = strip_comments(text)  # as Obsidian's reading view: a comment is not shown
        stripped = text.strip()
        if breaks is None or breaks == self._breaks:
            md, key, breaks = self._md, None, self._breaks
        else:
            if self._other is None:
                self._other = self._parser(breaks)
            md = self._other
            data = f"{self._versions}\x1fbreaks={breaks}\x1f{self._options}{stripped}".encode(
                "utf-8", "surrogatepass"
            )
            key = hashlib.blake2b(data, digest_size=16).hexdigest()
        if cloze is not None:
            return _unwrap(str(md.render(stripped, {"note": note, "line": line, "cloze": cloze})).strip())
        if self.is_plain(stripped):
            return escapeHtml(stripped)
        linked = _plain_with_wikilinks(stripped)
        if linked is not None:
            return linked
        key = key or self.cache_key(stripped)
        self.used.add(key)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        images = self._images
        full = self._compiled.render(stripped, breaks=breaks) if compiled else None
        if full is not None:
            html = _unwrap(full.strip())
        elif (fenced := _plain_then_fence(stripped)) is not None:
            html = fenced
        else:
            html = _unwrap(str(md.render(stripped, {"note": note, "line": line})).strip())
        if self._images == images:
            self.cache[key] = self.fresh[key] = html
        return html

    @staticmethod
    def is_plain(stripped: str) -> bool:
        """True when ``stripped`` renders as its escaped self (no Markdown renderer, no cache)."""
        return not _MARKUP_RE.search(stripped) and not _BLOCK_START_RE.match(stripped)

    def cache_key(self, stripped: str) -> str:
        """The render-cache key of a stripped text: its hash with the renderer's version and options."""
        data = (self._key_prefix + stripped).encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, digest_size=16).hexdigest()

    def keys_for(self, texts: Iterable[tuple[str, str]]) -> list[str]:
        """The cache keys of those ``(text, note)`` whose HTML ``render`` caches (a text with embeds
        or footnotes is keyed by what it shows)."""
        out = []
        for text, note in texts:
            if self._library is not None and note:
                from .embeds import prepare

                text = prepare(text, note, self._library)
            elif "<!--" in text or "%%" in text:
                text = strip_comments(text)
            stripped = text.strip()
            if not self.is_plain(stripped) and _plain_with_wikilinks(stripped) is None:
                out.append(self.cache_key(stripped))
        return out

    def _img(self, target: str, note: str, line: int, attrs: str, fallback: str) -> str:
        self._images += 1
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
