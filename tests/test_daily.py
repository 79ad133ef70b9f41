"""The daily loop: study modes (cram, ahead, forgotten, weak, preview), search, filter typos, --version."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from mlsys_srs.insights.stats import compute_stats
from mlsys_srs.review.session import Session
from mlsys_srs.scheduling.queue import study_queue, todays_queue
from mlsys_srs.store import open_db
from mlsys_srs.store.schedules import logged_reviews
from mlsys_srs.sync import sync_vault

from .conftest import Cli, write_notes
from .test_session import CFG, CLOCK, REVIEW, START, FakeClock, answer

NOTES = {
    "01-math/algebra.md": "# Algebra\n\nQ: What is a group?\nA: A set with an associative operation.\n\n"
    "Q: What is a ring?\nA: A group with a second operation.\n",
    "02-systems/buses.md": "# Buses\n\nQ: What is a bus?\nA: Shared wires.\n\n"
    "Q: Why does ring all-reduce scale?\nA: Each GPU sends 2(N-1)/N of the data.\n",
    "03-db/commits.md": "# Commits\n\nSee [[algebra]].\n\nQ: What is a commit?\nA: A durable transaction end.\n\n"
    "Q: Ring buffers and all of the reduce steps?\nA: Not the phrase.\n",
}


@pytest.fixture
def conn(tmp_path: Path, vault: Path) -> Iterator[sqlite3.Connection]:
    write_notes(vault, NOTES)
    c = open_db(tmp_path / "srs.db", START)
    sync_vault(c, vault, START)
    yield c
    c.close()


def ids(conn: sqlite3.Connection) -> dict[str, int]:
    return {q: i for i, q in conn.execute("SELECT id, question FROM card WHERE retired = 0")}


def schedules(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT id, state, due, stability, difficulty, reps, lapses, last_review FROM card ORDER BY id"
    ).fetchall()


def session(conn: sqlite3.Connection, clock: FakeClock, queue: Any, mode: str = "review") -> Session:
    return Session(conn, queue, schedule=CFG, review=REVIEW, clock=CLOCK, now=clock, mode=mode)


def study_all_once(conn: sqlite3.Connection, clock: FakeClock) -> None:
    """Graduate every card with Easy in a normal review, then move a few days on."""
    s = session(conn, clock, todays_queue(conn, CFG, CLOCK, clock()))
    while not s.finished:
        clock.tick(seconds=5)
        answer(s, 4)
    clock.tick(days=2)


def test_cram_answers_leave_every_due_date_unchanged(conn: sqlite3.Connection) -> None:
    clock = FakeClock()
    study_all_once(conn, clock)
    before = schedules(conn)
    reviews_before = conn.execute("SELECT count(*) FROM review WHERE kind = 'review'").fetchone()[0]
    s = session(conn, clock, study_queue(conn, CFG, CLOCK, clock(), mode="cram"), mode="cram")
    assert s.progress().left == 6
    seen = []
    while not s.finished:
        clock.tick(seconds=5)
        seen.append(answer(s, 1 if len(seen) == 0 else 3))
    assert len(seen) == 7  # the card answered Again came back once at the end
    assert seen[-1] == seen[0]
    assert schedules(conn) == before
    assert conn.execute("SELECT count(*) FROM review WHERE kind = 'cram'").fetchone()[0] == 7
    assert conn.execute("SELECT count(*) FROM review WHERE kind = 'review'").fetchone()[0] == reviews_before
    assert conn.execute("SELECT count(*) FROM event WHERE kind = 'cram'").fetchone()[0] == 7
    summary = s.summary()
    assert summary.mode == "cram" and summary.reviews == 7 and summary.by_grade == (1, 0, 6, 0)
    # Cram answers are not the cards' reviews: not in optimize's training data, not in retention.
    assert all(r.rating == 4 for r in logged_reviews(conn))
    stats = compute_stats(conn, CLOCK, clock(), schedule=CFG)
    assert all(r.reviews == 0 for r in stats.retention)
    assert sum(b.reviews for b in stats.calibration) == 0
    assert stats.today.crammed == 7 and stats.today.reviewed == 0


def test_cram_with_reschedule_grades_as_reviews(conn: sqlite3.Connection) -> None:
    clock = FakeClock()
    study_all_once(conn, clock)
    before = dict((r[0], r[2]) for r in schedules(conn))
    s = session(conn, clock, study_queue(conn, CFG, CLOCK, clock(), mode="cram"), mode="review")
    cid = answer(s, 3)
    after = dict((r[0], r[2]) for r in schedules(conn))
    assert after[cid] != before[cid]
    assert conn.execute("SELECT kind FROM review ORDER BY id DESC LIMIT 1").fetchone() == ("review",)


def test_cram_of_new_cards_does_not_use_the_new_card_limit(conn: sqlite3.Connection) -> None:
    clock = FakeClock()
    s = session(conn, clock, study_queue(conn, CFG, CLOCK, clock(), mode="cram"), mode="cram")
    answer(s, 3)
    q = todays_queue(conn, CFG, CLOCK, clock())
    assert q.count("new") == 6 - 0 and q.held_new == 0  # nothing was introduced
    assert conn.execute("SELECT count(*) FROM card WHERE state = 'new'").fetchone() == (6,)


def test_ahead_forgotten_weak_and_preview_pick_their_cards(conn: sqlite3.Connection) -> None:
    clock = FakeClock()
    by_q = ids(conn)
    s = session(conn, clock, todays_queue(conn, CFG, CLOCK, clock()))
    while not s.finished:
        clock.tick(seconds=5)
        assert s.card is not None
        # The commit card is failed first, then graduates; the others graduate at once.
        if s.card.question == "What is a commit?" and s.card.state == "new":
            answer(s, 1)
        else:
            answer(s, 4)
    now = clock()
    # Failed once, the commit card graduated with a short interval (two days: Anki's Easy is at
    # least a day after Good): the only one due within two days.
    soon = study_queue(conn, CFG, CLOCK, now, mode="ahead", days=2)
    assert [it.id for it in soon.main] == [by_q["What is a commit?"]]
    ahead = study_queue(conn, CFG, CLOCK, now, mode="ahead", days=60)
    assert {it.id for it in ahead.main} == set(by_q.values())
    dues = [it.due for it in ahead.main]
    assert dues == sorted(dues)  # by due time
    forgotten = study_queue(conn, CFG, CLOCK, now, mode="forgotten", days=1)
    assert [it.id for it in forgotten.main] == [by_q["What is a commit?"]]
    algebra = conn.execute("SELECT id FROM note WHERE path = '01-math/algebra.md'").fetchone()[0]
    weak = study_queue(conn, CFG, CLOCK, now, mode="weak", note_ids=[algebra])
    assert {it.id for it in weak.main} == {by_q["What is a group?"], by_q["What is a ring?"]}
    assert study_queue(conn, CFG, CLOCK, now, mode="preview").main == ()


def test_preview_shows_new_cards_and_logs_nothing(conn: sqlite3.Connection) -> None:
    clock = FakeClock()
    s = session(conn, clock, study_queue(conn, CFG, CLOCK, clock(), mode="preview"), mode="preview")
    assert not s.grades_logged
    seen = 0
    while not s.finished:
        s.key(" ")
        s.key("3")  # a grade key only goes on
        seen += 1
    assert seen == 6
    assert conn.execute("SELECT count(*) FROM review").fetchone() == (0,)
    assert s.summary().viewed == 6


# -- the CLI ------------------------------------------------------------------------------------


@pytest.fixture
def synced(run: Cli, notes: Any) -> Cli:
    notes(NOTES)
    run("sync")
    return run


def test_search_ranks_the_exact_phrase_first(synced: Cli) -> None:
    found = json.loads(synced("cards", "--search", "ring all-reduce", "--json").stdout)
    assert found[0]["question"] == "Why does ring all-reduce scale?"
    # The words apart (ring, all, reduce) match too, after the phrase.
    assert "Ring buffers and all of the reduce steps?" in [c["question"] for c in found[1:]]
    assert json.loads(synced("cards", "--search", "zzzz", "--json").stdout) == []
    # Search words are words: FTS syntax in them is not interpreted.
    synced("cards", "--search", 'ring" OR *', "--json")


def test_search_follows_edits_and_renames(synced: Cli, vault: Path) -> None:
    (vault / "02-systems/buses.md").rename(vault / "02-systems/interconnects.md")
    text = (vault / "01-math/algebra.md").read_text().replace("associative operation", "monoid law")
    (vault / "01-math/algebra.md").write_text(text)
    synced("sync")
    assert [c["question"] for c in json.loads(synced("cards", "-s", "monoid", "--json").stdout)] == [
        "What is a group?"
    ]
    by_note = json.loads(synced("cards", "-s", "interconnects", "--json").stdout)
    assert {c["note"] for c in by_note} == {"02-systems/interconnects.md"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("cards", "--domain", "sytems"), "--domain sytems: no card has this domain; did you mean systems?"),
        (("due", "--domain", "mathh"), "did you mean math?"),
        (("stats", "--tag", "interveiw"), "--tag interveiw: no card has this tag"),
    ],
)
def test_unknown_domain_or_tag_fails_with_the_closest(
    synced: Cli, args: tuple[str, ...], message: str
) -> None:
    result = synced(*args, code=2)
    assert message in " ".join(result.stderr.split())


def test_known_nested_tag_parent_is_accepted(run: Cli, notes: Any) -> None:
    notes({"01-a/x.md": "---\ntags: [gpu/cuda]\n---\n# X\n\nQ: q?\nA: a\n"})
    run("sync")
    assert len(json.loads(run("cards", "--tag", "gpu", "--json").stdout)) == 1


def test_version_prints_the_package_version(run: Cli) -> None:
    assert run("--version").stdout.strip() == f"mlsys-srs {version('mlsys-srs')}"


def test_flags_show_no_bool_type_in_help(run: Cli) -> None:
    out = run("cards", "--help").stdout
    assert "--json" in out and "<bool>" not in out and "BOOLEAN" not in out


def test_cards_filters_recall_lapses_due_within(synced: Cli, db_path: Path) -> None:
    with sqlite3.connect(db_path) as c:
        c.execute(
            "UPDATE card SET state = 'review', stability = 1.0, lapses = 4, "
            "last_review = '2026-11-01T00:00:00.000000+00:00', due = '2026-11-25T00:00:00.000000+00:00' "
            "WHERE question = 'What is a bus?'"
        )
    env = {"MLSYS_SRS_NOW": "2026-11-22T08:00:00+00:00"}
    got = json.loads(synced("cards", "--max-recall", "0.8", "--json", env=env).stdout)
    assert [c["question"] for c in got] == ["What is a bus?"] and got[0]["recall"] < 0.8
    assert len(json.loads(synced("cards", "--min-lapses", "3", "--json", env=env).stdout)) == 1
    assert len(json.loads(synced("cards", "--due-within", "7d", "--json", env=env).stdout)) == 1
    assert json.loads(synced("cards", "--due-within", "1d", "--json", env=env).stdout) == []


def test_cards_table_is_one_card_a_line(synced: Cli) -> None:
    out = synced("cards", env={"COLUMNS": "60"}).stdout
    lines = out.splitlines()
    assert lines[0] == "6 cards"
    assert len(lines) == 8 and all(len(line) <= 60 for line in lines)
    assert any("buses.md:" in line and "Shared wires." in line for line in lines)


def test_a_learning_card_shown_early_says_so(conn: sqlite3.Connection) -> None:
    from rich.console import Console

    from mlsys_srs.review.screen import layout

    clock = FakeClock()
    s = session(conn, clock, todays_queue(conn, CFG, CLOCK, clock()))
    first = answer(s, 3)  # new -> learning, next step in 10 minutes
    while not s.finished and s.card is not None and s.card.id != first:
        answer(s, 4)
    assert s.card is not None and s.card.id == first  # shown within the learn-ahead window
    frame = layout(s, [], 60, Console(width=60))
    text = "\n".join(line.plain for line in frame.header)
    assert "early: learning step due in" in text
    assert all(line.cell_len <= 60 for line in (*frame.header, *frame.body, *frame.footer))
