"""A card as the web page shows it: its sides as HTML from the parse the Anki export uses, the
interval each grade gives, where it comes from, and its images by server-side names.

Note text is escaped exactly as in the Anki export (``render.html``: raw HTML off, so a
``<script>`` in a note is shown as text); formulas are MathML made here (``render.mathml``);
the cloze deletion of the card is marked. An image is looked up in the vault as Obsidian
finds it (``render.media``, confined to the vault) and named by the server: the page asks
for ``media/<name>`` and gets only a file this module named, never a path it chose.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..core.fmt import format_interval
from ..parse.text import IMAGE_EXTENSIONS
from ..scheduling.memory import CardSchedule

if TYPE_CHECKING:
    from ..scheduling.memory import CardScheduler
    from ..store.cards import CardView

CLOZE_GAP = "[...]"
"""How a cloze card's question shows its deletion (as the parser writes it)."""


def schedule_of(card: CardView) -> CardSchedule:
    """The scheduling columns of a card, for an interval preview."""
    return CardSchedule(**{f.name: getattr(card, f.name) for f in dataclasses.fields(CardSchedule)})


class CardPages:
    """Renders cards for the page; one per server (it remembers the media files it named)."""

    def __init__(self, vault: Path) -> None:
        from ..render.embeds import NoteLibrary
        from ..render.html import MarkdownRenderer
        from ..render.mathml import tex_to_mathml
        from ..render.media import MediaBundle
        from ..vault.layout import strict_line_breaks

        self.media = MediaBundle(vault)
        library = NoteLibrary(vault)
        # Line breaks kept as Obsidian (and the review screen) shows them, unless its "strict line breaks".
        breaks = not strict_line_breaks(vault)
        self._basic = MarkdownRenderer(self._image, breaks=breaks, math=tex_to_mathml, library=library)
        self._cloze = MarkdownRenderer(
            self._image, breaks=breaks, math=tex_to_mathml, cloze=True, library=library
        )

    def _image(self, ref: str, note: str, line: int) -> str | None:
        name = self.media.add(ref, note, line)
        return None if name is None else "media/" + quote(name)

    def media_file(self, name: str) -> Path | None:
        """The vault file behind a name this renderer gave an image (None for any other name)."""
        path = self.media.files.get(name)
        if path is None or path.suffix.lower().lstrip(".") not in IMAGE_EXTENSIONS:
            return None
        return path

    def sides(self, card: CardView) -> tuple[str, str]:
        """The question and the answer as HTML."""
        question = self._basic.render(card.question, note=card.note, line=card.line)
        if card.kind == "cloze":
            question = question.replace(CLOZE_GAP, f'<mark class="cloze">{CLOZE_GAP}</mark>')
            answer = self._cloze.render(card.source, note=card.note, line=card.line, cloze=card.cloze or 1)
        else:
            answer = self._basic.render(card.answer, note=card.note, line=card.line)
        return question, answer

    def payload(
        self,
        card: CardView,
        *,
        scheduler: CardScheduler | None,
        now: datetime,
        reason: str = "",
        early: str = "",
    ) -> dict[str, Any]:
        """The card as the page's JSON: where it is from, its sides, and with ``scheduler`` the
        interval each grade would give at ``now`` (``{"1": "1m", ...}``)."""
        from ..review.screen import context_line

        question, answer = self.sides(card)
        intervals: dict[str, str] = {}
        if scheduler is not None:
            for rating, delta in scheduler.intervals(card.uid, schedule_of(card), now).items():
                intervals[str(rating)] = format_interval(delta)
        return {
            "id": card.id,
            "note": card.note,
            "line": card.line,
            "context": context_line(card.domain, card.title, card.context),
            "kind": card.kind,
            "state": card.state,
            "question": question,
            "answer": answer,
            "tags": list(card.tags),
            "intervals": intervals,
            "reason": reason,
            "early": early,
        }
