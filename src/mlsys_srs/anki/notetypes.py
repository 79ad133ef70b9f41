"""Our two Anki note types: their fixed ids, fields, templates and CSS, and which cards a note makes.

``mlsys-srs Basic`` (Front, Back, Context, Source) and ``mlsys-srs Cloze`` (Text,
Extra, Context, Source) have fixed ids, so every export lands on the same note
types. Anki replaces a note type on import only when its modification time is
newer: ``TEMPLATES_MTIME`` is bumped with the templates, so a user's own styling
survives re-imports until then.

``AnkiNote`` is a note as genanki's ``Note`` would write it, without genanki's
per-note overhead; ``card_ords`` gives the same cards genanki would.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

BASIC_MODEL_ID = 1733210001
CLOZE_MODEL_ID = 1733210002
BASIC_MODEL_NAME = "mlsys-srs Basic"
CLOZE_MODEL_NAME = "mlsys-srs Cloze"
TEMPLATES_MTIME = 1795305600
"""When the note types' templates and CSS last changed (Unix time). Anki replaces a
note type on import only when this is newer, so a user's own styling survives
re-imports until the templates here change; bump it with them."""

CSS = """\
.card { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
  font-size: 20px; line-height: 1.45; text-align: left; color: #1f2328; background: #fff; }
.nightMode.card, .nightMode .card { color: #e6e6e6; background: #1e1e1e; }
.context { font-size: 0.7em; color: #777; margin-bottom: 0.8em; }
.source { font-size: 0.65em; color: #888; margin-top: 1.2em; }
.source a { color: inherit; }
pre { background: #f6f8fa; color: #1f2328; padding: 0.6em 0.8em; border-radius: 6px;
  overflow-x: auto; font-size: 0.8em; line-height: 1.35; }
code { font-family: "JetBrains Mono", Menlo, Consolas, monospace; font-size: 0.9em; }
img { max-width: 100%; }
table { border-collapse: collapse; }
td, th { border: 1px solid #bbb; padding: 0.2em 0.5em; }
.tag { font-size: 0.7em; color: #777; }
.cloze { font-weight: bold; color: #0b57d0; }
.nightMode .cloze { color: #8ab4f8; }
"""
_CONTEXT = '{{#Context}}<div class="context">{{Context}}</div>{{/Context}}\n'
_SOURCE = '\n{{#Source}}<div class="source">{{Source}}</div>{{/Source}}'
BASIC_TEMPLATES = [
    {
        "name": "Card 1",
        "qfmt": _CONTEXT + '<div class="front">{{Front}}</div>',
        "afmt": '{{FrontSide}}\n<hr id="answer">\n<div class="back">{{Back}}</div>' + _SOURCE,
    }
]
CLOZE_TEMPLATES = [
    {
        "name": "Cloze",
        "qfmt": _CONTEXT + '<div class="text">{{cloze:Text}}</div>',
        "afmt": _CONTEXT
        + '<div class="text">{{cloze:Text}}</div>\n{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}'
        + _SOURCE,
    }
]


def note_types() -> tuple[Any, Any]:
    """The Basic and Cloze note types, as genanki models."""
    import genanki

    fields = ("Front", "Back", "Context", "Source")
    basic = genanki.Model(
        BASIC_MODEL_ID,
        BASIC_MODEL_NAME,
        fields=[{"name": f} for f in fields],
        templates=[dict(t) for t in BASIC_TEMPLATES],
        css=CSS,
    )
    cloze = genanki.Model(
        CLOZE_MODEL_ID,
        CLOZE_MODEL_NAME,
        fields=[{"name": f} for f in ("Text", "Extra", "Context", "Source")],
        templates=[dict(t) for t in CLOZE_TEMPLATES],
        css=CSS,
        model_type=genanki.Model.CLOZE,
    )
    return basic, cloze


class AnkiNote:
    """One Anki note as genanki's ``Note`` would write it, without its per-note overhead."""

    __slots__ = ("fields", "guid", "mod", "model", "ords", "positions", "tags")

    def __init__(
        self, model: Any, fields: list[str], tags: list[str], guid: str, ords: list[int] | None = None
    ) -> None:
        """A note of ``model``; ``ords``: its cards' template ordinals (default: the cards genanki makes)."""
        self.model = model
        self.fields = fields
        self.tags = tags
        self.guid = guid
        self.ords = card_ords(model, fields) if ords is None else ords
        self.mod: int | None = None
        """The note's modification time (None: the export's)."""
        self.positions: dict[int, int] = {}
        """Each card's new-card position in Anki (its ``due`` while new), by ordinal (none: 0)."""


_CLOZE_NUMBER_RE = re.compile(r"{{c(\d+)::.+?}}", re.DOTALL)


def card_ords(model: Any, fields: list[str]) -> list[int]:
    """The card ordinals genanki makes for a note (``Note.cards``), in its order."""
    if model.model_type == model.CLOZE:
        # As genanki's Note._cloze_cards: the {{cN::}} numbers of the fields the template reads.
        ords: set[int] = set()
        qfmt = model.templates[0]["qfmt"]
        names = set(
            re.findall(r"{{[^}]*?cloze:(?:[^}]?:)*(.+?)}}", qfmt) + re.findall("<%cloze:(.+?)%>", qfmt)
        )
        for name in names:
            idx = next((i for i, f in enumerate(model.fields) if f["name"] == name), -1)
            value = fields[idx] if idx >= 0 else ""
            ords.update(int(m) - 1 for m in _CLOZE_NUMBER_RE.findall(value) if int(m) > 0)
        return list(ords)
    return [o for o, op, req in _requirements(model) if op(fields[i] for i in req)]


@lru_cache(maxsize=8)
def _requirements(model: Any) -> list[tuple[int, Any, list[int]]]:
    """genanki's ``model._req`` (which fields each card needs), worked out once per model."""
    ops = {"any": any, "all": all}
    return [(o, ops[any_or_all], req) for o, any_or_all, req in model._req]
