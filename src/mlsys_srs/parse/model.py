"""Values the parser returns: parsed notes, cards, links and diagnostics.

They are frozen dataclasses so that a parse result can be shared and compared
freely; nothing here knows about the database or the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]
CardKind = Literal["basic", "cloze"]
Syntax = Literal["qa", "inline", "multiline", "cloze", "callout"]
Direction = Literal["forward", "reverse"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found in a note, addressed by vault-relative path and 1-based line."""

    path: str
    line: int
    message: str
    severity: Severity = "error"
    code: str = "format"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Link:
    """A concept link as written: `[[Target#Heading|alias]]` or `[text](target.md)`."""

    target: str
    line: int
    heading: str | None = None
    block: str | None = None
    display: str | None = None
    markdown: bool = False
    embed: bool = False


@dataclass(frozen=True, slots=True)
class ParsedCard:
    """One card found in a note.

    ``question`` and ``answer`` are Markdown as shown to the learner: for a
    cloze card the question has this card's deletions hidden and the answer is
    the full text. ``source`` keeps the card's text with any cloze shorthand
    rewritten into Anki's ``{{cN::text}}`` form (block id removed).
    """

    kind: CardKind
    syntax: Syntax
    direction: Direction
    cloze: int | None
    question: str
    answer: str
    source: str
    line: int
    end_line: int
    block_id: str | None
    tags: tuple[str, ...]
    links: tuple[str, ...]
    context: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class ParsedNote:
    """Everything the parser reads from one note."""

    path: str
    title: str
    domain: str
    tags: tuple[str, ...]
    aliases: tuple[str, ...]
    srs: bool
    cards: tuple[ParsedCard, ...]
    links: tuple[Link, ...]
    media: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """The diagnostics of severity ``error``."""
        return tuple(d for d in self.diagnostics if d.severity == "error")
