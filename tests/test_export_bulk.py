"""The export writes notes and cards in bulk exactly as genanki's per-note writer would."""

from __future__ import annotations

import itertools
import json
import sqlite3
import warnings

import genanki
from hypothesis import given
from hypothesis import strategies as st

from mlsys_srs.anki.collection import write_notes as _write_notes
from mlsys_srs.anki.ids import guid_for
from mlsys_srs.anki.notetypes import AnkiNote as _AnkiNote
from mlsys_srs.anki.notetypes import note_types as _models

TS = 1_790_000_000.5


def _rows(cur: sqlite3.Cursor) -> tuple[object, ...]:
    models = json.loads(cur.execute("SELECT models FROM col").fetchone()[0])
    return (
        cur.execute("SELECT * FROM notes ORDER BY id").fetchall(),
        cur.execute("SELECT * FROM cards ORDER BY id").fetchall(),
        cur.execute("SELECT decks FROM col").fetchone(),
        json.dumps(models, sort_keys=True),
    )


def test_bulk_notes_equal_genankis() -> None:
    basic, cloze = _models()
    specs = [
        ("A", basic, ["front", "back", "ctx", "src"], ["t1", "domain"]),
        ("B", cloze, ["{{c1::x}} and {{c3::y}} {{c0::z}}", "", "ctx", "src"], ["t2"]),
        ("A", cloze, ["{{c2::only}}", "", "", ""], []),
        ("B", basic, ["", "no front", "", ""], ["x"]),
        ("A", cloze, ["no deletion", "", "", ""], []),
    ]
    decks = {name: genanki.Deck(i + 10, name) for i, name in enumerate(["Root", "A", "B"])}
    ours: dict[str, list[_AnkiNote]] = {}
    for i, (deck, model, fields, tags) in enumerate(specs):
        decks[deck].add_note(genanki.Note(model, list(fields), tags=tags, guid=f"g{i}"))
        ours.setdefault(deck, []).append(_AnkiNote(model, list(fields), tags, f"g{i}"))
    theirs_db, ours_db = sqlite3.connect(":memory:").cursor(), sqlite3.connect(":memory:").cursor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        genanki.Package(list(decks.values())).write_to_db(theirs_db, TS, itertools.count(int(TS * 1000)))
    empty = {name: genanki.Deck(d.deck_id, name) for name, d in decks.items()}
    genanki.Package(list(empty.values())).write_to_db(ours_db, TS, itertools.count())
    _write_notes(ours_db, [(empty[name], ours.get(name, [])) for name in empty], TS)
    assert _rows(ours_db) == _rows(theirs_db)
    assert len(_rows(ours_db)[1]) == 1 + 2 + 1  # c1, c3; c2; the basic card with a front


@given(st.lists(st.one_of(st.text(max_size=30), st.integers()), min_size=1, max_size=4))
def test_guid_for_equals_genankis(values: list[object]) -> None:
    assert guid_for(*values) == genanki.guid_for(*values)
