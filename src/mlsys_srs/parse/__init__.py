"""Card syntax, frontmatter, links and tags: pure functions from text to values.

``parse_note(text, path)`` is the single entry point for reading a note; every
command (sync, check, cards, export) goes through it.
"""

from .link_resolver import LinkResolver
from .model import Diagnostic, Link, ParsedCard, ParsedNote
from .parser import domain_of, parse_note
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
