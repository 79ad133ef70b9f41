"""``import anki``: reviews come back from Anki, and an Anki collection moves in with its history.

Every collection here is made and answered by the real ``anki`` package (the
Rust core of Anki desktop and the phone apps), and exported as a ``.colpkg``
the way File > Export writes it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mlsys_srs.anki.collection import AnkiImportError, Revlog, open_collection
from mlsys_srs.anki.fields import card_lines, to_markdown
from mlsys_srs.anki.ids import anki_block_id
from mlsys_srs.anki.revlog import revlog_kind

from .conftest import Cli

PNG = b"\x89PNG\r\n\x1a\n" + b"an image's bytes"

NOTES = {
    "04-distributed-systems/raft.md": """# Raft

Q: What does a Raft follower do when its election timeout fires?
A: It becomes a candidate and asks for votes.

C: Raft elects {{c1::a leader}} per {{c2::term}}.

Leader lease ::: a time-bounded promise that no other leader exists
""",
}


def _answer(col: Any, cid: int, rating: int) -> None:
    from anki.scheduler.v3 import CardAnswer

    card = col.get_card(cid)
    card.start_timer()
    states = col._backend.get_scheduling_states(cid)
    ratings = {1: CardAnswer.AGAIN, 2: CardAnswer.HARD, 3: CardAnswer.GOOD, 4: CardAnswer.EASY}
    col.sched.answer_card(col.sched.build_answer(card=card, states=states, rating=ratings[rating]))


def _db(run: Cli) -> sqlite3.Connection:
    return sqlite3.connect(run.db)


def _ids_by_question(run: Cli) -> dict[str, int]:
    return {c["question"]: c["id"] for c in json.loads(run("cards", "--json").stdout)}


# --- the round trip ------------------------------------------------------------------------


def test_reviews_done_in_anki_come_back_once_and_reschedule_the_cards(
    run: Cli, notes: Callable[[dict[str, str]], None], tmp_path: Path, anki_dir: Callable[[str], Any]
) -> None:
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    notes(NOTES)
    real_now = datetime.now(UTC).replace(microsecond=0)
    earlier = (real_now - timedelta(days=3)).isoformat()
    run("sync", env={"MLSYS_SRS_NOW": earlier})
    ids = _ids_by_question(run)
    follower = ids["What does a Raft follower do when its election timeout fires?"]
    lease = ids["Leader lease"]
    run("grade", str(follower), "good", env={"MLSYS_SRS_NOW": earlier})
    run(
        "grade",
        str(follower),
        "good",
        env={"MLSYS_SRS_NOW": (real_now - timedelta(days=3, minutes=-11)).isoformat()},
    )
    out = tmp_path / "deck.apkg"
    run("export", "anki", "--with-scheduling", "-o", str(out), env={"MLSYS_SRS_NOW": real_now.isoformat()})

    # On the phone: import with scheduling, answer three cards (again, good, a lapse).
    col = anki_dir("phone")
    col.import_anki_package(
        ImportAnkiPackageRequest(
            package_path=str(out), options=ImportAnkiPackageOptions(with_scheduling=True)
        )
    )
    assert col.db.scalar("SELECT count() FROM revlog") == 2  # our two reviews went with the package
    by_front = {col.get_note(n).fields[0]: col.get_note(n) for n in col.find_notes("")}
    (follower_cid,) = by_front["What does a Raft follower do when its election timeout fires?"].card_ids()
    (lease_cid,) = by_front["Leader lease"].card_ids()
    _answer(col, lease_cid, 1)
    _answer(col, lease_cid, 3)
    _answer(col, follower_cid, 1)  # a lapse of a review card
    anki_reviews = col.db.all(
        f"SELECT id, cid, ease FROM revlog WHERE cid IN ({lease_cid}, {follower_cid}) ORDER BY id"
    )[2:]
    assert [e for _, _, e in anki_reviews] == [1, 3, 1]
    package = tmp_path / "phone.colpkg"
    col.export_collection_package(str(package), include_media=True, legacy=False)

    later = (real_now + timedelta(minutes=5)).isoformat()
    dry = json.loads(
        run("import", "anki", str(package), "--dry-run", "--json", env={"MLSYS_SRS_NOW": later}).stdout
    )
    assert dry["events"]["reviews"] == 3 and dry["skipped"]["own_reviews"] == 2
    before_dry = _db(run).execute("SELECT count(*) FROM review").fetchone()[0]
    assert before_dry == 2  # a dry run changes nothing

    report = json.loads(run("import", "anki", str(package), "--json", env={"MLSYS_SRS_NOW": later}).stdout)
    assert report["notes"]["ours"] == 4 and report["notes"]["new"] == 0 and report["files"] == []
    assert report["events"] == {"reviews": 3, "cram": 0, "resets": 0}
    assert report["skipped"]["own_reviews"] == 2 and report["unmatched"] == []

    lease_card = json.loads(run("card", str(lease), "--json", env={"MLSYS_SRS_NOW": later}).stdout)
    assert [(h["rating"], h["at"]) for h in lease_card["history"]] == [
        (e, datetime.fromtimestamp(i / 1000, UTC).isoformat(timespec="microseconds"))
        for i, c, e in anki_reviews
        if c == lease_cid
    ]
    follower_card = json.loads(run("card", str(follower), "--json", env={"MLSYS_SRS_NOW": later}).stdout)
    assert [h["rating"] for h in follower_card["history"]] == [3, 3, 1]
    assert follower_card["lapses"] == 1 and follower_card["state"] == "relearning"
    last_answer = datetime.fromtimestamp(anki_reviews[-1][0] / 1000, UTC)
    due = datetime.fromisoformat(follower_card["due"])
    # The relearning step (10m, plus Anki's step fuzz of up to a quarter) follows the lapse.
    assert last_answer < due <= last_answer + timedelta(minutes=13)
    assert datetime.fromisoformat(lease_card["due"]) > datetime.fromisoformat(lease_card["last_review"])

    # Importing again changes nothing; neither does a rebuild from the journal.
    snapshot = _db(run).execute("SELECT * FROM review ORDER BY uid").fetchall()
    again = json.loads(run("import", "anki", str(package), "--json", env={"MLSYS_SRS_NOW": later}).stdout)
    assert again["events"] == {"reviews": 0, "cram": 0, "resets": 0}
    assert again["skipped"]["already_imported"] == 3 and again["cards_replayed"] == 0
    assert _db(run).execute("SELECT * FROM review ORDER BY uid").fetchall() == snapshot
    run("rebuild", "--check", env={"MLSYS_SRS_NOW": later})

    # The phone workflow continues: review here, export again; the package carries all five reviews.
    run("grade", str(lease), "good", env={"MLSYS_SRS_NOW": (real_now + timedelta(days=2)).isoformat()})
    out2 = tmp_path / "deck2.apkg"
    run("export", "anki", "--with-scheduling", "-o", str(out2), env={"MLSYS_SRS_NOW": later})
    col2 = anki_dir("phone2")
    col2.import_anki_package(
        ImportAnkiPackageRequest(
            package_path=str(out2), options=ImportAnkiPackageOptions(with_scheduling=True)
        )
    )
    assert col2.db.scalar("SELECT count() FROM revlog") == 6


# --- moving in -----------------------------------------------------------------------------

YEAR_AGO = datetime(2025, 11, 1, 9, 0, tzinfo=UTC)


def _build_collection(col: Any) -> dict[str, Any]:
    """Basic, reversed and cloze notes with HTML, an image, nested decks and a year of reviews."""
    basic = col.models.by_name("Basic")
    reverse = col.models.by_name("Basic (and reversed card)")
    cloze = col.models.by_name("Cloze")
    verbs = col.decks.id("Languages::Spanish::Verbs")
    gpu = col.decks.id("GPU")
    col.media.write_data("warp.png", PNG)
    notes = {}
    n = col.new_note(basic)
    n["Front"] = 'How many threads in a <b>warp</b>?<br><img src="warp.png">'
    n["Back"] = "<div>32</div><div>since \\(2^5 = 32\\)</div><pre><code>warpSize == 32</code></pre>"
    n.tags = ["cuda", "hardware::gpu"]
    col.add_note(n, gpu)
    notes["basic"] = n
    n = col.new_note(reverse)
    n["Front"] = "hablar"
    n["Back"] = "to <i>speak</i>"
    col.add_note(n, verbs)
    notes["reverse"] = n
    n = col.new_note(cloze)
    n["Text"] = "Volta has {{c1::80}} SMs and {{c2::HBM2::memory}}.<br>Q: not a new card"
    col.add_note(n, gpu)
    notes["cloze"] = n
    n = col.new_note(basic)
    n["Front"] = "ir (present, yo)"
    n["Back"] = "voy"
    col.add_note(n, col.decks.id("Languages::Spanish"))
    notes["parent"] = n
    rows = []
    rid = int(YEAR_AGO.timestamp() * 1000)
    for k, cid in enumerate(sorted(c for note in notes.values() for c in note.card_ids())):
        at = rid + k * 1000
        plan = [(3, 0), (3, 0), (3, 1), (1, 1), (3, 2), (4, 1), (3, 1), (2, 1), (3, 1), (3, 1)]
        for j, (ease, kind) in enumerate(plan):
            rows.append((at + j * 36 * 86_400_000, cid, -1, ease, 10, 5, 2500, 5000 + j, kind))
        if k == 0:
            rows.append((at + 40 * 86_400_000 + 1, cid, -1, 0, 0, 10, 0, 0, 4))  # Forget
            rows.append((at + 41 * 86_400_000, cid, -1, 0, 12, 10, 2500, 0, 4))  # set due date: skipped
            rows.append((at + 42 * 86_400_000, cid, -1, 3, 1, 1, 2500, 3000, 3))  # a cram answer
    col.db.executemany("INSERT INTO revlog VALUES (?,?,?,?,?,?,?,?,?)", rows)
    return {"notes": notes, "revlog": rows}


def test_an_anki_collection_moves_in_with_its_history(
    run: Cli, vault: Path, tmp_path: Path, anki_dir: Callable[[str], Any]
) -> None:
    col = anki_dir("desktop")
    built = _build_collection(col)
    notes = built["notes"]
    package = tmp_path / "collection.colpkg"
    col.export_collection_package(str(package), include_media=True, legacy=False)
    now = {"MLSYS_SRS_NOW": "2026-11-30T12:00:00+00:00"}

    dry = json.loads(run("import", "anki", str(package), "--dry-run", "--json", env=now).stdout)
    assert dry["notes"]["new"] == 4 and dry["media"] == 1
    assert not (vault / "anki-import").exists()

    report = json.loads(run("import", "anki", str(package), "--json", env=now).stdout)
    assert sorted(report["files"]) == [
        "anki-import/GPU.md",
        "anki-import/Languages/Spanish.md",
        "anki-import/Languages/Spanish/Verbs.md",
    ]
    assert report["unmatched"] == [] and report["cards_matched"] == 6
    assert (vault / "anki-import" / "media" / "warp.png").read_bytes() == PNG
    gpu = (vault / "anki-import" / "GPU.md").read_text()
    assert "Q: How many threads in a **warp**?" in gpu and "![](media/warp.png)" in gpu
    assert "$2^5 = 32$" in gpu and "```\nwarpSize == 32\n```" in gpu
    assert "#cuda #hardware/gpu" in gpu
    assert "C: Volta has {{c1::80}} SMs and {{c2::HBM2::memory}}." in gpu and "Q\\: not a new card" in gpu
    verbs = (vault / "anki-import" / "Languages" / "Spanish" / "Verbs.md").read_text()
    assert f"hablar ::: to *speak* ^{anki_block_id(notes['reverse'].guid)}" in verbs
    run("check", env=now)  # exit 0: no problem in the notes that moved in

    cards = json.loads(run("cards", "--json", env=now).stdout)
    assert len(cards) == 6 and all(c["block_id"].startswith("anki-") for c in cards)
    # Histories equal the revlog (answers only; Forget is a reset, set due date is not history).
    conn = _db(run)
    revlog = built["revlog"]
    expected = sorted(
        (datetime.fromtimestamp(r[0] / 1000, UTC), r[3], "cram" if r[8] == 3 else "review")
        for r in revlog
        if r[3] > 0
    )
    got = sorted(
        (datetime.fromisoformat(at), rating, kind)
        for at, rating, kind in conn.execute("SELECT reviewed_at, rating, kind FROM review")
    )
    assert got == expected
    assert conn.execute("SELECT count(*) FROM event WHERE kind = 'reset'").fetchone()[0] == 1
    # States equal a replay of the journal.
    run("rebuild", "--check", env=now)
    states = {s for (s,) in conn.execute("SELECT state FROM card")}
    assert states == {"review"}

    # A second import adds nothing and overwrites nothing.
    mtimes = {p: p.stat().st_mtime_ns for p in (vault / "anki-import").rglob("*") if p.is_file()}
    again = json.loads(run("import", "anki", str(package), "--json", env=now).stdout)
    assert again["notes"]["moved_in_before"] == 4 and again["files"] == []
    assert again["events"] == {"reviews": 0, "cram": 0, "resets": 0}
    assert {p: p.stat().st_mtime_ns for p in (vault / "anki-import").rglob("*") if p.is_file()} == mtimes


def test_a_new_note_in_an_existing_deck_goes_to_a_new_file(
    run: Cli, vault: Path, tmp_path: Path, anki_dir: Callable[[str], Any]
) -> None:
    col = anki_dir("desktop")
    basic = col.models.by_name("Basic")
    n = col.new_note(basic)
    n["Front"], n["Back"] = "one", "1"
    col.add_note(n, col.decks.id("Numbers"))
    first = tmp_path / "first.colpkg"
    col.export_collection_package(str(first), include_media=False, legacy=False)
    run("import", "anki", str(first))
    before = (vault / "anki-import" / "Numbers.md").read_bytes()

    from anki.collection import Collection

    col = Collection(str(tmp_path / "desktop" / "collection.anki2"))
    n = col.new_note(col.models.by_name("Basic"))
    n["Front"], n["Back"] = "two", "2"
    col.add_note(n, col.decks.id("Numbers"))
    second = tmp_path / "second.colpkg"
    col.export_collection_package(str(second), include_media=False, legacy=False)
    report = json.loads(run("import", "anki", str(second), "--json").stdout)
    assert report["files"] == ["anki-import/Numbers 2.md"] and report["notes"]["moved_in_before"] == 1
    assert (vault / "anki-import" / "Numbers.md").read_bytes() == before
    assert "Q: two" in (vault / "anki-import" / "Numbers 2.md").read_text()


def test_a_profile_collection_is_copied_and_refused_while_anki_has_it_open(
    run: Cli, vault: Path, tmp_path: Path, anki_dir: Callable[[str], Any]
) -> None:
    col = anki_dir("profile")
    n = col.new_note(col.models.by_name("Basic"))
    n["Front"], n["Back"] = "open?", "yes"
    col.add_note(n, col.decks.id("Default"))
    path = tmp_path / "profile" / "collection.anki2"
    result = run("import", "anki", str(path), code=1)
    assert "close Anki" in result.output and "File > Export" in result.output
    col.close()
    listing = sorted(p.name for p in path.parent.iterdir())
    run("import", "anki", str(path))
    assert sorted(p.name for p in path.parent.iterdir()) == listing  # nothing left beside it
    assert "Q: open?" in (vault / "anki-import" / "Default.md").read_text()


def test_a_file_that_is_not_a_collection_is_one_clear_error(run: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "notes.apkg"
    bad.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    result = run("import", "anki", str(bad), code=1)
    assert "notes.apkg" in result.output and "Traceback" not in result.output
    with pytest.raises(AnkiImportError):
        open_collection(tmp_path / "missing.colpkg")


@pytest.mark.parametrize(
    ("ease", "ivl", "factor", "kind", "expected"),
    [
        (3, 10, 2500, 1, "review"),
        (1, -600, 0, 0, "review"),
        (3, 1, 2500, 3, "cram"),
        (0, 0, 0, 4, "reset"),
        (0, 12, 2500, 4, None),
        (0, 12, 2500, 5, None),
        (3, 12, 2500, 5, None),
    ],
)
def test_revlog_kinds(ease: int, ivl: int, factor: int, kind: int, expected: str | None) -> None:
    assert revlog_kind(Revlog(1, 1, ease, ivl, 0, factor, 0, kind)) == expected


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("a<br>b", "a\nb"),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("<b>bold</b> and <i>it</i>", "**bold** and *it*"),
        ('<img src="x y.png">', "![](<media/x y.png>)"),
        ("\\(x^2\\) and \\[E=mc^2\\]", "$x^2$ and $$E=mc^2$$"),
        ("<code>a_b*c</code>", "`a_b*c`"),
        ("<h2>Title</h2>text", "**Title**\ntext"),
        ("Q: looks like a card", "Q\\: looks like a card"),
        ("&nbsp;x &lt;tag&gt;", "x <tag>"),
        # Text stays text: what our parser or Markdown would read as markup is escaped.
        ("see [[x]] and *x*", "see \\[\\[x\\]\\] and \\*x\\*"),
        ("<div>see [[x]] and *x*</div>", "see \\[\\[x\\]\\] and \\*x\\*"),
        ("_x_ but snake_case", "\\_x\\_ but snake_case"),
        (
            "costs $5, `tick`, ~~no~~ #define but C# and #1",
            "costs \\$5, \\`tick\\`, \\~\\~no\\~\\~ \\#define but C# and #1",
        ),
        ("[x](y) as text", "[x\\](y) as text"),
        ("\\(a*b < c\\)", "$a*b < c$"),
        ("<code>[[x]]*y*</code>", "`[[x]]*y*`"),
    ],
)
def test_anki_html_becomes_markdown_that_stays_in_one_card(html: str, markdown: str) -> None:
    md = to_markdown(html, lambda name: f"media/{name}" if name.endswith(".png") else None)
    assert "\n".join(card_lines(md, keep_fences=False)) == markdown


def test_notes_that_moved_in_go_back_to_anki_under_their_own_guids(
    run: Cli, vault: Path, tmp_path: Path, anki_dir: Callable[[str], Any]
) -> None:
    """Move in, then export: the collection they came from sees the notes it has (by GUID), not copies."""
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    col = anki_dir("desktop")
    notes = _build_collection(col)["notes"]
    path = col.path
    package = tmp_path / "collection.colpkg"
    col.export_collection_package(str(package), include_media=True, legacy=False)
    now = {"MLSYS_SRS_NOW": "2026-11-30T12:00:00+00:00"}
    run("import", "anki", str(package), env=now)
    out = tmp_path / "back.apkg"
    run("export", "anki", "-o", str(out), env=now)

    original = Collection(path)
    try:
        before = original.note_count()
        guids = {n.guid for n in notes.values()}
        request = ImportAnkiPackageRequest(package_path=str(out), options=ImportAnkiPackageOptions())
        original.import_anki_package(request)
        after = [original.get_note(nid).guid for nid in original.find_notes("")]
        # One note per original GUID, still; the reverse side of the reversed note is that note's
        # second card again (its note type came back with it: see tests/test_anki_roundtrip.py).
        assert sorted(g for g in after if g in guids) == sorted(guids)
        assert original.note_count() == before
    finally:
        original.close()
