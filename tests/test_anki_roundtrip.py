"""Anki in the same order as here, and notes that moved in from Anki going home unchanged.

Every package is imported with the real ``anki`` package (the Rust core of Anki
desktop and the phone apps) with Anki's default import options, and Anki's own
scheduler is asked for its queue.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mlsys_srs.anki.ids import note_guids
from mlsys_srs.config import ScheduleConfig
from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.scheduling.queue import todays_queue
from mlsys_srs.store import open_db
from mlsys_srs.store.cards import list_cards
from mlsys_srs.store.filters import CardFilter

from .conftest import Cli

NOW = "2026-11-30T12:00:00+00:00"
NOTES = Path(__file__).resolve().parent.parent / "notes"


@pytest.fixture
def anki_dir(tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    """Fresh Anki collections (closed at the end)."""
    from anki.collection import Collection

    opened: list[Any] = []

    def make(name: str) -> Any:
        folder = tmp_path / name
        folder.mkdir()
        col = Collection(str(folder / "collection.anki2"))
        opened.append(col)
        return col

    yield make
    for col in opened:
        with contextlib.suppress(Exception):  # exporting a collection package closes it
            col.close()


def import_package(col: Any, package: Path) -> Any:
    """Import with Anki's default options (no scheduling, no deck presets, notes and note types
    updated when newer)."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    request = ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions())
    return col.import_anki_package(request).log


# --- learning order ------------------------------------------------------------------------


def ours(db: Path, limit: int) -> list[int]:
    """The first ``limit`` new cards ``review`` introduces (siblings not held back, as in Anki)."""
    conn = open_db(db, datetime.fromisoformat(NOW))
    try:
        cfg = replace(ScheduleConfig(), new_per_day=limit, bury_new_siblings=False)
        queue = todays_queue(conn, cfg, DayClock(UTC, 4), datetime.fromisoformat(NOW))
        return [it.id for it in queue.main if it.state == "new"]
    finally:
        conn.close()


def anki_new_cards(col: Any, root: str, limit: int) -> list[Any]:
    """The first ``limit`` new cards Anki's scheduler introduces from the deck ``root``."""
    conf = col.decks.get_config(1)
    conf["new"]["perDay"] = limit  # the default preset's limit is 20 a day, per deck
    conf["rev"]["perDay"] = limit  # ... and new cards count against the review limit (200)
    col.decks.update_config(conf)
    col.decks.select(col.decks.id_for_name(root))
    queued = col.sched.get_queued_cards(fetch_limit=limit)
    return [col.get_card(q.card.id) for q in queued.cards]


def texts_by_id(run: Cli) -> dict[int, str]:
    """Card id -> what Anki shows as the first field (the question; a cloze's text)."""
    cards = run.json("cards", env={"MLSYS_SRS_NOW": NOW})
    assert isinstance(cards, list)
    return {c["id"]: c["question"] if c["kind"] != "cloze" else c["source"] for c in cards}


ORDERED = {
    # Learning order: numbered folders by number; in a folder its index note, the notes it links
    # to in the order it links them, then the rest by name; in a note, by line. Note names and
    # domains are chosen so that no alphabetical order gives the same.
    "10-late/aardvark.md": "Q: Late one?\nA: 1\n",
    "02-systems/systems-moc.md": "# Systems\n\n- [[zebra]]\n- [[apple]]\n\nQ: Systems overview?\nA: s\n",
    "02-systems/apple.md": "Q: Apple one?\nA: 1\n\nQ: Apple two?\nA: 2\n",
    "02-systems/zebra.md": "Q: Zebra one?\nA: 1\n",
    "02-systems/mango.md": "Q: Mango one?\nA: 1\n",
    "1-alpha/zulu.md": "Q: Alpha zulu?\nA: 1\n",
    "1-alpha/bravo.md": "Q: Alpha bravo?\nA: 1\n",
    "attic/aaa.md": "Q: Attic one?\nA: 1\n",
}


def test_anki_introduces_new_cards_in_learning_order(
    run: Cli, notes: Callable[[dict[str, str]], None], tmp_path: Path, anki_dir: Callable[[str], Any]
) -> None:
    notes(ORDERED)
    run("sync", env={"MLSYS_SRS_NOW": NOW})
    text = texts_by_id(run)
    expected = [text[i] for i in ours(run.db, 100)]
    assert expected[:4] == ["Alpha bravo?", "Alpha zulu?", "Systems overview?", "Zebra one?"]
    assert expected[-2:] == ["Late one?", "Attic one?"]

    out = tmp_path / "deck.apkg"
    summary = run.json("export", "anki", "-o", str(out), env={"MLSYS_SRS_NOW": NOW})
    assert isinstance(summary, dict)
    assert summary["decks"] == [
        "MLSys",
        "MLSys::01 Alpha",
        "MLSys::02 Systems",
        "MLSys::10 Late",
        "MLSys::Attic",
    ]
    col = anki_dir("anki")
    import_package(col, out)
    assert [c.note().fields[0] for c in anki_new_cards(col, "MLSys", 100)] == expected

    # Sparse positions: a note added between two others is introduced between them, also in the
    # collection that already holds the others (an import never moves a card it has).
    before = {c.note().fields[0]: c.due for c in anki_new_cards(col, "MLSys", 100)}
    notes({"02-systems/systems-moc.md": ORDERED["02-systems/systems-moc.md"].replace("- [[apple]]", "- [[kiwi]]\n- [[apple]]"),
           "02-systems/kiwi.md": "Q: Kiwi one?\nA: 1\n"})  # fmt: skip
    run("sync", env={"MLSYS_SRS_NOW": NOW})
    text = texts_by_id(run)
    expected = [text[i] for i in ours(run.db, 100)]
    assert expected.index("Kiwi one?") == expected.index("Zebra one?") + 1
    run("export", "anki", "-o", str(out), env={"MLSYS_SRS_NOW": NOW})
    import_package(col, out)
    got = anki_new_cards(col, "MLSys", 100)
    assert [c.note().fields[0] for c in got] == expected
    assert {c.note().fields[0]: c.due for c in got if c.note().fields[0] != "Kiwi one?"} == before


def test_anki_takes_the_bundled_notes_in_learning_order(
    tmp_path: Path, anki_dir: Callable[[str], Any]
) -> None:
    """The bundled knowledge base: Anki's first 300 new cards (all cards of a note gathered in
    order, as ``review`` with siblings not held back) are ``review``'s."""
    run = Cli(NOTES, tmp_path / "db.sqlite")
    run("sync", env={"MLSYS_SRS_NOW": NOW})
    expected = ours(run.db, 300)
    out = tmp_path / "mlsys.apkg"
    run("export", "anki", "-o", str(out), env={"MLSYS_SRS_NOW": NOW})
    col = anki_dir("anki")
    conf = col.decks.get_config(1)
    conf["newSortOrder"] = 1  # "order gathered" (the default sorts a day's cards by template)
    col.decks.update_config(conf)
    import_package(col, out)
    got = anki_new_cards(col, "MLSys", 300)
    conn = open_db(run.db, datetime.fromisoformat(NOW))
    named = {key: card.id for key, card in note_guids(list_cards(conn, CardFilter())).items()}
    conn.close()
    assert [named[(c.note().guid, c.ord)] for c in got] == expected
