"""Card syntax, frontmatter, links and tags: pure functions from text to values.

``parse_note(text, path)`` is the single entry point for reading a note; every
command (sync, check, cards, export) goes through it. ``parser`` recognises the card
syntaxes on the lines ``lines`` classifies; ``clozes`` reads cloze paragraphs, ``paths``
what a note's path says (domain, stem), ``meta`` the frontmatter, ``text`` links, tags and
block ids, ``quality`` the card-quality rules.

The names below are imported when first used: a warm sync that parses nothing, and the
review screen that only reads ``text``'s patterns, do not load the parser.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .link_resolver import LinkResolver
    from .model import Diagnostic, Link, ParsedCard, ParsedNote
    from .parser import parse_note
    from .paths import domain_of
    from .text import find_links, is_concept, is_media, mask_inline_code

_HOME = {
    "Diagnostic": "model",
    "Link": "model",
    "LinkResolver": "link_resolver",
    "ParsedCard": "model",
    "ParsedNote": "model",
    "domain_of": "paths",
    "find_links": "text",
    "is_concept": "text",
    "is_media": "text",
    "mask_inline_code": "text",
    "parse_note": "parser",
}

__all__ = [
    "Diagnostic",
    "Link",
    "LinkResolver",
    "ParsedCard",
    "ParsedNote",
    "domain_of",
    "find_links",
    "is_concept",
    "is_media",
    "mask_inline_code",
    "parse_note",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
