"""Anki in the same order as here, and notes that moved in from Anki going home unchanged.

Every package is imported with the real ``anki`` package (the Rust core of Anki
desktop and the phone apps) with Anki's default import options, and Anki's own
scheduler is asked for its queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mlsys_srs.anki.ids import note_guids
from mlsys_srs.anki.positions import POSITION_LIMIT, assign_bases
from mlsys_srs.config import ScheduleConfig
from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.scheduling.queue import todays_queue
from mlsys_srs.store import open_db
from mlsys_srs.store.cards import list_cards
from mlsys_srs.store.filters import CardFilter

from .conftest import Cli

NOW = "2026-11-30T12:00:00+00:00"
NOTES = Path(__file__).resolve().parent.parent / "notes"


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


def test_bases_are_sparse_and_kept() -> None:
    notes = [("a.md", 3), ("b.md", 2), ("c.md", 5)]
    first = assign_bases(notes, {})
    assert first == [1000, 2000, 3000]  # the i-th note at (i + 1) * 1000
    previous = dict(zip(["a.md", "b.md", "c.md"], first, strict=True))
    # A note inserted goes into the gap; a note appended takes its place on the grid.
    assert assign_bases([notes[0], ("x.md", 4), *notes[1:], ("d.md", 1)], previous) == [
        1000,
        1499,
        2000,
        3000,
        5000,
    ]
    # A note that moved in the order moves; the others stay.
    assert assign_bases([notes[2], notes[0], notes[1]], previous) == [497, 1000, 2000]
    # A note that outgrew its room pushes the next ones along.
    assert assign_bases([("a.md", 1500), *notes[1:]], previous) == [1000, 2500, 3000]
    # Many notes: closer, below Anki's limit of a million.
    many = assign_bases([(f"{i}.md", 1) for i in range(5000)], {})
    assert many[-1] < POSITION_LIMIT and len(set(many)) == 5000


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


# --- notes that moved in go home -------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"an image's bytes"


def build_collection(col: Any) -> None:
    """A collection as a person keeps it: Basic, Basic (and reversed card), Cloze with an extra,
    a note type of its own with a third field, HTML, an image, code, MathJax, literal brackets
    and asterisks, tags, nested decks."""
    basic = col.models.by_name("Basic")
    reverse = col.models.by_name("Basic (and reversed card)")
    cloze = col.models.by_name("Cloze")
    own = col.models.copy(basic, add=False)
    own["name"] = "Vocabulary"
    col.models.add_field(own, col.models.new_field("Example"))
    col.models.add(own)
    gpu, verbs = col.decks.id("GPU"), col.decks.id("Languages::Spanish::Verbs")
    col.media.write_data("warp.png", PNG)

    def add(model: Any, deck: int, tags: list[str], **fields: str) -> None:
        note = col.new_note(model)
        for name, value in fields.items():
            note[name] = value
        note.tags = tags
        col.add_note(note, deck)

    add(basic, gpu, ["cuda", "hardware::gpu"], Front='How many threads in a <b>warp</b>?<br><img src="warp.png">',
        Back="<div>32</div><div>since \\(2^5 = 32\\)</div>")  # fmt: skip
    add(basic, gpu, [], Front="Print the warp size", Back='<pre><code>printf("%d", warpSize);</code></pre>')
    add(
        basic,
        gpu,
        ["syntax"],
        Front="What does [[x]] mean in a wiki?",
        Back="A link; *x* is emphasis in Markdown",
    )
    add(reverse, verbs, ["verbs"], Front="hablar", Back="to <i>speak</i>")
    add(reverse, verbs, [], Front="comer", Back="to eat")
    add(cloze, gpu, ["gpu"], Text="Volta has {{c1::80}} SMs and {{c2::HBM2::memory}}.",
        **{"Back Extra": "V100, <b>2017</b>"})  # fmt: skip
    add(own, verbs, [], Front="ir", Back="to go", Example="<i>Voy</i> a casa.")


def counts(col: Any) -> dict[str, int]:
    return {
        "notes": col.note_count(),
        "cards": col.card_count(),
        "note types": len(col.models.all_names_and_ids()),
        "decks": len(col.decks.all_names_and_ids()),
    }


def fields_of(col: Any) -> dict[str, tuple[str, list[str], list[str]]]:
    """GUID -> (note type, fields, tags) of every note."""
    out = {}
    for nid in col.find_notes(""):
        note = col.get_note(nid)
        out[note.guid] = (note.note_type()["name"], list(note.fields), sorted(note.tags))
    return out


def same_html(a: str, b: str) -> bool:
    """Two fields show the same: the same text, line by line (blanks collapsed), images and code."""
    from bs4 import BeautifulSoup

    def shown(html: str) -> list[str]:
        soup = BeautifulSoup(html.replace("\n", " "), "html.parser")
        for img in soup.find_all("img"):
            img.replace_with(f"[image {img.get('src')}]")
        for br in soup.find_all("br"):
            br.replace_with("\n")
        for block in soup.find_all(["div", "p", "pre", "li"]):
            block.insert_before("\n")
            block.insert_after("\n")
        return [" ".join(line.split()) for line in soup.get_text().split("\n") if line.strip()]

    return shown(a) == shown(b)


def test_an_anki_collection_goes_home_unchanged(
    run: Cli, vault: Path, tmp_path: Path, anki_dir: Callable[[str], Any]
) -> None:
    col = anki_dir("desktop")
    build_collection(col)
    path = col.path
    before, original = counts(col), fields_of(col)
    package = tmp_path / "collection.colpkg"
    col.export_collection_package(str(package), include_media=True, legacy=False)

    # The notes move in after they were last edited in Anki (so the export's are newer: Anki updates
    # a note only from a newer one).
    later = {"MLSYS_SRS_NOW": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
    report = run.json("import", "anki", str(package), env=later)
    assert isinstance(report, dict) and report["notes"]["new"] == 7 and report["unmatched"] == []
    run("check", env=later)
    # Moving in kept the text as it was: an answer that is only code is a code block, literal
    # brackets and asterisks stay literal (no concept link, no emphasis), tags are card tags.
    gpu = (vault / "anki-import" / "GPU.md").read_text()
    assert 'Q: Print the warp size\nA:\n```\nprintf("%d", warpSize);\n```\n^anki-' in gpu
    assert "(code)" not in gpu
    assert "Q: What does \\[\\[x\\]\\] mean in a wiki? #syntax\nA: A link; \\*x\\* is emphasis" in gpu
    cards = {c["question"]: c for c in run.json("cards", env=later)}  # type: ignore[union-attr]
    literal = cards["What does \\[\\[x\\]\\] mean in a wiki? #syntax"]
    assert literal["links"] == [] and literal["tags"] == ["syntax"]
    assert (vault / "anki-import" / "anki-note-types.json").is_file()
    out = tmp_path / "back.apkg"
    run("export", "anki", "--note", "anki-import/**", "-o", str(out), env=later)

    from anki.collection import Collection

    home = Collection(path)
    try:
        log = import_package(home, out)
        assert (len(log.updated), len(log.new), len(log.conflicting), len(log.duplicate)) == (7, 0, 0, 0)
        assert counts(home) == before
        after = fields_of(home)
        assert set(after) == set(original)  # the same GUIDs
        for guid, (kind, fields, tags) in original.items():
            assert after[guid][0] == kind and after[guid][2] == tags, guid
            assert all(same_html(a, b) for a, b in zip(fields, after[guid][1], strict=True)), (
                fields,
                after[guid][1],
            )

        # An edit in the vault goes home too, still to the same note.
        verbs = vault / "anki-import" / "Languages" / "Spanish" / "Verbs.md"
        verbs.write_text(verbs.read_text().replace("comer ::: to eat", "comer ::: to eat, to have lunch"))
        edited = {"MLSYS_SRS_NOW": (datetime.now(UTC) + timedelta(minutes=2)).isoformat()}
        run("export", "anki", "--note", "anki-import/**", "-o", str(out), env=edited)
        log = import_package(home, out)
        assert len(log.updated) == 1 and counts(home) == before  # the others did not change
        (comer,) = [n for n in fields_of(home).values() if n[1][0] == "comer"]
        assert comer == ("Basic (and reversed card)", ["comer", "to eat, to have lunch"], [])
    finally:
        home.close()


def test_notes_moved_in_before_their_note_types_were_kept_get_them_at_the_next_import(
    run: Cli, vault: Path, tmp_path: Path, anki_dir: Callable[[str], Any]
) -> None:
    col = anki_dir("desktop")
    build_collection(col)
    path, before = col.path, counts(col)
    package = tmp_path / "collection.colpkg"
    col.export_collection_package(str(package), include_media=True, legacy=False)
    later = {"MLSYS_SRS_NOW": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
    run("import", "anki", str(package), env=later)
    sidecar = vault / "anki-import" / "anki-note-types.json"
    kept = sidecar.read_text()
    sidecar.unlink()  # as a version that did not keep note types left the vault

    # Without it, the notes go to Anki as mlsys-srs notes: the collection they came from sees
    # conflicting note types and keeps its own notes.
    out = tmp_path / "back.apkg"
    run("export", "anki", "--note", "anki-import/**", "-o", str(out), env=later)
    assert "Vocabulary" not in out.read_bytes().decode("latin-1")

    report = run.json("import", "anki", str(package), env=later)
    assert isinstance(report, dict) and report["notes"]["moved_in_before"] == 7
    assert json.loads(sidecar.read_text())["notes"].keys() == json.loads(kept)["notes"].keys()
    run("export", "anki", "--note", "anki-import/**", "-o", str(out), env=later)

    from anki.collection import Collection

    home = Collection(path)
    try:
        log = import_package(home, out)
        assert (len(log.updated), len(log.new), len(log.conflicting)) == (7, 0, 0)
        assert counts(home) == before
    finally:
        home.close()


@pytest.mark.parametrize("scheduled", [False, True])
def test_moved_in_notes_build_the_same_incrementally(
    run: Cli, vault: Path, tmp_path: Path, anki_dir: Callable[[str], Any], scheduled: bool
) -> None:
    """The export cache serves moved-in notes as any: an incremental package equals a full build."""
    from mlsys_srs.anki.export import export_anki
    from mlsys_srs.anki.progress import SchedulingOptions

    from .test_export_cache import package, same_but_ids

    col = anki_dir("desktop")
    build_collection(col)
    source = tmp_path / "collection.colpkg"
    col.export_collection_package(str(source), include_media=True, legacy=False)
    run("import", "anki", str(source), env={"MLSYS_SRS_NOW": NOW})
    cache = tmp_path / "cache" / "x.sqlite"
    clock = DayClock(UTC, 4)

    def both(now: datetime) -> None:
        conn = open_db(run.db, now)
        try:
            for out, with_cache in ((tmp_path / "inc.apkg", True), (tmp_path / "full.apkg", False)):
                export_anki(
                    conn, CardFilter(), vault=vault, out=out, now=now, clock=clock,
                    scheduling=SchedulingOptions() if scheduled else None, cache=cache if with_cache else None,
                )  # fmt: skip
        finally:
            conn.close()
        same_but_ids(package(tmp_path / "inc.apkg"), package(tmp_path / "full.apkg"))

    both(datetime.fromisoformat(NOW))
    verbs = vault / "anki-import" / "Languages" / "Spanish" / "Verbs.md"
    verbs.write_text(verbs.read_text().replace("comer ::: to eat", "comer ::: to eat, to dine"))
    run("sync", env={"MLSYS_SRS_NOW": NOW})
    cards = run.json("cards", env={"MLSYS_SRS_NOW": NOW})
    assert isinstance(cards, list)
    (reverse,) = [c["id"] for c in cards if c["question"] == "to *speak* #verbs"]
    run("grade", str(reverse), "good", env={"MLSYS_SRS_NOW": "2026-11-30T13:00:00+00:00"})
    both(datetime.fromisoformat("2026-11-30T14:00:00+00:00"))
    inc = package(tmp_path / "inc.apkg")
    assert any(f.startswith("comer\x1fto eat, to dine") for _, f, _, _ in inc["notes"].values())
