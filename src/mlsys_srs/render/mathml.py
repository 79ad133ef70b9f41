"""TeX formulas as MathML, for the web review page: rendered here, offline, by the browser's own
MathML (no script, no font, nothing fetched).

latex2mathml (pure Python) parses the TeX into an element tree; this module writes that tree
out itself, keeping only MathML elements and presentation attributes it knows and escaping
every text, because the library's own string output passes text through unescaped
(``\\text{<script>}`` would come out as a tag) and turns ``\\href`` into a link. A formula
the library cannot read, or reads only in part (an unknown macro is left as its TeX), is shown
as its TeX in a ``<code class="tex">``: never a half-converted formula, as on the terminal.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape, unescape
from typing import Any

ELEMENTS = frozenset(
    {
        "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup",
        "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd",
        "mstyle", "mpadded", "mphantom", "menclose", "merror", "mmultiscripts", "mprescripts",
        "none", "semantics", "annotation",
    }
)  # fmt: skip
"""The MathML elements written out; a tree with any other is shown as TeX."""

ATTRIBUTES = frozenset(
    {
        "display", "mathvariant", "stretchy", "fence", "separator", "form", "accent", "accentunder",
        "movablelimits", "largeop", "symmetric", "minsize", "maxsize", "lspace", "rspace",
        "linethickness", "displaystyle", "scriptlevel", "columnalign", "rowalign", "columnlines",
        "rowlines", "columnspacing", "rowspacing", "frame", "framespacing", "notation", "width",
        "height", "depth", "voffset", "columnspan", "rowspan", "encoding",
    }
)  # fmt: skip
"""Presentation attributes kept (no ``href``, no ``style``, no event handler)."""

MAX_TEX = 2000
"""Longer formulas are shown as TeX (the converter's time grows with the formula)."""


class _Unsafe(Exception):
    """The tree holds something this module does not write out."""


def _write(el: Any, out: list[str]) -> None:
    tag = str(el.tag).rsplit("}", 1)[-1]
    if tag not in ELEMENTS:
        raise _Unsafe(tag)
    attrs = []
    for name, value in el.attrib.items():
        if name == "xmlns":
            continue
        if name not in ATTRIBUTES:
            raise _Unsafe(name)
        attrs.append(f' {name}="{escape(str(value), quote=True)}"')
    out.append(f"<{tag}{''.join(attrs)}>")
    if el.text:
        text = unescape(el.text)  # the library writes some characters as entities already
        if "\\" in text and tag not in ("annotation",):
            raise _Unsafe("macro")  # a macro the library did not know, left as TeX
        out.append(escape(text, quote=False))
    for child in el:
        _write(child, out)
        if child.tail:
            out.append(escape(unescape(child.tail), quote=False))
    out.append(f"</{tag}>")


def tex_fallback(tex: str, display: bool) -> str:
    """A formula shown as its TeX (escaped)."""
    cls = "tex display" if display else "tex"
    return f'<code class="{cls}">{escape(tex.strip(), quote=False)}</code>'


@lru_cache(maxsize=4096)
def tex_to_mathml(tex: str, display: bool = False) -> str:
    """A formula as ``<math>`` markup, or its TeX in ``<code class="tex">`` when it does not
    convert whole (or latex2mathml is not installed)."""
    src = tex.strip()
    if not src or len(src) > MAX_TEX:
        return tex_fallback(tex, display)
    try:
        from latex2mathml.converter import convert_to_element
    except ImportError:
        return tex_fallback(tex, display)
    try:
        root = convert_to_element(src, display="block" if display else "inline")
        out: list[str] = []
        _write(root, out)
    except Exception:  # _Unsafe, or anything the third-party parser cannot read: shown as TeX
        return tex_fallback(tex, display)
    return "".join(out)
