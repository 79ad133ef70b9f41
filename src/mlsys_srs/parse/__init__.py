"""Card syntax, frontmatter, links and tags: pure functions from text to values.

``parse_note(text, path)`` is the single entry point for reading a note; every
command (sync, check, cards, export) goes through it. ``parser`` recognises the card
syntaxes on the lines ``lines`` classifies; ``clozes`` reads cloze paragraphs, ``paths``
what a note's path says (domain, stem), ``meta`` the frontmatter, ``text`` links, tags and
block ids, ``quality`` the card-quality rules.
"""

from .link_resolver import LinkResolver
from .model import Diagnostic, Link, ParsedCard, ParsedNote
from .parser import parse_note
from .paths import domain_of
from .text import find_links, is_concept, is_media, mask_inline_code

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
