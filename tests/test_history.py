"""Review history everywhere: the journal, merging devices, per-vault databases, rebuild, backups, grade."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mlsys_srs import cli
from mlsys_srs.cli import context
from mlsys_srs.history.journal import CardKey, Cursor, Event, Journal, read_new

from .conftest import write_notes

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOTES = {
    "a.md": "# A\n\n"
    + "".join(f"Q: alpha question {i}?\nA: alpha answer {i}.\n\n" for i in range(6))
    + "[[b]]\n",
    "b.md": "# B\n\nbeta one :: first\nbeta two :: second\nbeta three :: third\n\n[[a]]\n",
}
NO_FUZZ = "[schedule]\nenable_fuzzing = false\n"


def iso(t: datetime) -> str:
    return t.isoformat()


class Device:
    """One machine: its own user data folder (database, device id, backups) and config, one vault path."""

    def __init__(self, home: Path, name: str, vault: Path) -> None:
        self.home = home
        self.name = name
        self.vault = vault
        (home / "data").mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(NO_FUZZ)
        self.runner = CliRunner()

    def env(self, at: datetime) -> dict[str, str]:
        return {
            "XDG_DATA_HOME": str(self.home / "data"),
            "MLSYS_SRS_CONFIG": str(self.home / "config.toml"),
            "MLSYS_SRS_DEVICE": self.name,
            "MLSYS_SRS_NOW": iso(at),
        }

    def __call__(self, *args: str, at: datetime, code: int = 0) -> str:
        context.reset_consoles()
        r = self.runner.invoke(
            cli.app, ["--vault", str(self.vault), *args], env=self.env(at), catch_exceptions=False
        )
        assert r.exit_code == code, r.output
        return r.stdout

    def json(self, *args: str, at: datetime) -> object:
        return json.loads(self(*args, "--json", at=at))

    @property
    def db(self) -> Path:
        dbs = list((self.home / "data" / "mlsys-srs" / "vaults").glob("*.db"))
        assert len(dbs) == 1, dbs
        return dbs[0]

    def reviews(self) -> dict[str, tuple[object, ...]]:
        conn = sqlite3.connect(self.db)
        rows = conn.execute(
            "SELECT review.uid, card.uid, review.rating, review.reviewed_at, review.kind FROM review "
            "JOIN card ON card.id = review.card_id"
        ).fetchall()
        conn.close()
        return {r[0]: r[1:] for r in rows}

    def states(self) -> dict[str, tuple[object, ...]]:
        conn = sqlite3.connect(self.db)
        rows = conn.execute(
            "SELECT uid, state, step, round(stability, 9), round(difficulty, 9), due, last_review, reps, lapses, "
            "suspended FROM card WHERE retired = 0"
        ).fetchall()
        conn.close()
        return {r[0]: r[1:] for r in rows}

    def card_ids(self) -> dict[str, int]:
        cards = self.json("cards", at=T0)
        assert isinstance(cards, list)
        return {c["question"]: c["id"] for c in cards}


def share(a: Device, b: Device) -> None:
    """Bring device a's journal file into device b's copy of the vault."""
    folder = b.vault / ".mlsys-srs" / "journal"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(a.vault / ".mlsys-srs" / "journal" / f"{a.name}.jsonl", folder)


def copy_vault(src: Path, dst: Path) -> None:
    """A file copy (as Syncthing, git or rsync would), replacing the destination."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)


# -- the journal file -------------------------------------------------------------------------


def key(uid: str = "u1") -> CardKey:
    return CardKey(uid, None, "forward", None, "a.md", "fp", "question?")


def test_event_lines_round_trip_and_unknown_kinds_are_rejected() -> None:
    ev = Event("01ABC", "review", T0, "laptop", key(), {"rating": 3, "ms": 4000})
    back = Event.from_line(ev.to_line())
    assert back == ev
    with pytest.raises(ValueError):
        Event.from_line(ev.to_line().replace('"review"', '"explode"'))
    with pytest.raises(ValueError):
        Event.from_line('{"kind": "review"}')


def test_a_torn_last_line_waits_until_it_is_complete(tmp_path: Path) -> None:
    j = Journal(tmp_path, "laptop")
    j.append([Event("01A", "review", T0, "laptop", key(), {"rating": 3})])
    whole = j.path.read_bytes()
    second = (
        Event("01B", "review", T0 + timedelta(minutes=1), "laptop", key(), {"rating": 1}).to_line().encode()
    )
    j.path.write_bytes(whole + second[:20])  # a crash, or a sync tool, mid-write
    first = read_new(j.path, None, now=T0)
    assert [e.id for e in first.events] == ["01A"] and first.problems == []
    j.path.write_bytes(whole + second)
    again = read_new(j.path, first.cursor, now=T0)
    assert [e.id for e in again.events] == ["01B"]
    assert read_new(j.path, again.cursor, now=T0).unchanged


def test_appending_after_a_torn_line_does_not_glue_onto_it(tmp_path: Path) -> None:
    j = Journal(tmp_path, "laptop")
    j.path.write_bytes(b'{"half a line')
    j.append([Event("01C", "undo", T0, "laptop", key(), {"target": "01A"})])
    res = read_new(j.path, None, now=T0)
    assert [e.id for e in res.events] == ["01C"]
    assert res.problems and res.problems[0][0] == 1  # the torn line, named by its line number


def test_a_replaced_file_is_read_again_from_the_start(tmp_path: Path) -> None:
    j = Journal(tmp_path, "laptop")
    j.append([Event("01A", "review", T0, "laptop", key(), {"rating": 3})])
    first = read_new(j.path, None, now=T0)
    # Another copy of the journal replaces this one (shorter, different first bytes).
    j.path.write_text(Event("01Z", "reset", T0, "laptop", key("u2"), {}).to_line())
    res = read_new(j.path, first.cursor, now=T0)
    assert [e.id for e in res.events] == ["01Z"]
    assert Cursor() != res.cursor


# -- two devices ----------------------------------------------------------------------------


@pytest.fixture
def two(tmp_path: Path) -> tuple[Device, Device, Path]:
    shared = tmp_path / "shared"
    write_notes(shared, NOTES)
    laptop = Device(tmp_path / "laptop", "laptop", tmp_path / "on-laptop")
    desk = Device(tmp_path / "desk", "desk", tmp_path / "on-desk")
    copy_vault(shared, laptop.vault)
    laptop("sync", at=T0)
    copy_vault(laptop.vault, desk.vault)
    desk("sync", at=T0 + timedelta(minutes=3))
    return laptop, desk, shared


def test_two_devices_copying_one_vault_converge_and_a_rebuild_equals_them(
    two: tuple[Device, Device, Path],
) -> None:
    laptop, desk, _ = two
    ids_l, ids_d = laptop.card_ids(), desk.card_ids()
    q = sorted(ids_l)
    # Interleaved reviews; the same card answered on both; clocks a few minutes apart.
    laptop("grade", str(ids_l[q[0]]), "good", at=T0 + timedelta(hours=1))
    desk("grade", str(ids_d[q[0]]), "again", at=T0 + timedelta(hours=1, minutes=4))
    desk("grade", str(ids_d[q[1]]), "3", at=T0 + timedelta(hours=2))
    laptop("grade", str(ids_l[q[2]]), "easy", at=T0 + timedelta(hours=2, minutes=1))
    # An undo on the laptop, recorded as a tombstone in its journal.
    from mlsys_srs.config import ScheduleConfig
    from mlsys_srs.history.grading import grade_card, undo_review
    from mlsys_srs.scheduling.memory import make_scheduler
    from mlsys_srs.store import open_db

    conn = open_db(laptop.db, T0)
    j = Journal(laptop.vault / ".mlsys-srs" / "journal", "laptop")
    undone = grade_card(conn, make_scheduler(ScheduleConfig(enable_fuzzing=False)), ids_l[q[3]], 2,
                        T0 + timedelta(hours=3), journal=j)  # fmt: skip
    undo_review(conn, undone.review_id, T0 + timedelta(hours=3, minutes=1), journal=j)
    conn.close()
    # A torn last line in the desk's journal (it was copied mid-write).
    desk_journal = desk.vault / ".mlsys-srs" / "journal" / "desk.jsonl"
    with open(desk_journal, "ab") as fh:
        fh.write(b'{"v":1,"id":"01TORN"')
    # Copy back and forth: each side brings in the other's journal.
    share(desk, laptop)
    share(laptop, desk)
    laptop("sync", at=T0 + timedelta(hours=4))
    desk("sync", at=T0 + timedelta(hours=4, minutes=2))
    assert laptop.reviews() == desk.reviews()
    assert len(laptop.reviews()) == 4  # the undone review is in neither; nothing doubled
    assert laptop.states() == desk.states()
    # Merging again changes nothing.
    before = laptop.reviews(), laptop.states()
    laptop("sync", at=T0 + timedelta(hours=5))
    assert (laptop.reviews(), laptop.states()) == before
    # A third machine rebuilding from the notes and the journals gets the same history.
    laptop("rebuild", "--check", at=T0 + timedelta(hours=5))
    third = Device(laptop.home.parent / "third", "third", laptop.vault.parent / "on-third")
    copy_vault(laptop.vault, third.vault)
    third("sync", at=T0 + timedelta(hours=6))
    assert third.reviews() == laptop.reviews()
    assert third.states() == laptop.states()


def test_the_same_card_answered_on_two_devices_keeps_both_answers(two: tuple[Device, Device, Path]) -> None:
    laptop, desk, _ = two
    q = sorted(laptop.card_ids())[0]
    laptop("grade", str(laptop.card_ids()[q]), "good", at=T0 + timedelta(hours=1))
    desk("grade", str(desk.card_ids()[q]), "again", at=T0 + timedelta(hours=1, minutes=5))
    share(laptop, desk)
    share(desk, laptop)
    laptop("sync", at=T0 + timedelta(hours=2))
    ratings = sorted((r[2], r[1]) for r in laptop.reviews().values())
    assert [r for _, r in ratings] == [3, 1]  # both answers, in time order: Good then Again
    desk("sync", at=T0 + timedelta(hours=2))
    assert laptop.reviews() == desk.reviews()
    assert laptop.states() == desk.states()
    state = laptop.states()[next(iter(laptop.reviews().values()))[0]]  # type: ignore[index]
    assert state[0] == "learning" and state[6] == 2  # a new card: Good, then Again back to step one


def test_events_for_a_card_not_seen_yet_wait_until_it_appears(two: tuple[Device, Device, Path]) -> None:
    laptop, desk, _ = two
    write_notes(laptop.vault, {"c.md": "# C\n\ngamma :: new card\n\n[[a]] [[b]]\n"})
    laptop("sync", at=T0 + timedelta(hours=1))
    laptop("grade", str(laptop.card_ids()["gamma"]), "good", at=T0 + timedelta(hours=1))
    share(laptop, desk)
    out = desk.json("sync", at=T0 + timedelta(hours=2))
    assert out["journal"]["events_pending"] == 1  # type: ignore[index]
    assert desk.reviews() == {}
    write_notes(desk.vault, {"c.md": "# C\n\ngamma :: new card\n\n[[a]] [[b]]\n"})
    out = desk.json("sync", at=T0 + timedelta(hours=3))
    assert out["journal"]["events_pending"] == 0  # type: ignore[index]
    assert desk.reviews() == laptop.reviews()
    assert desk.states() == laptop.states()


# -- one database per vault -------------------------------------------------------------------


def test_switching_vaults_with_the_default_database_retires_nothing(tmp_path: Path) -> None:
    dev = Device(tmp_path / "home", "laptop", tmp_path / "first")
    write_notes(dev.vault, NOTES)
    other = tmp_path / "second"
    write_notes(other, {"x.md": "# X\n\nQ: alpha question 0?\nA: alpha answer 0.\n"})
    first = dev.json("sync", at=T0)
    assert first["cards"]["added"] == 9  # type: ignore[index]
    dev.vault, home_vault = other, dev.vault
    second = dev.json("sync", at=T0)
    assert second["cards"]["retired"] == 0 and second["cards"]["added"] == 1  # type: ignore[index]
    dev.vault = home_vault
    again = dev.json("sync", at=T0)
    assert again["cards"]["retired"] == 0 and again["cards"]["added"] == 0  # type: ignore[index]
    info_a = dev.json("info", at=T0)
    dev.vault = other
    info_b = dev.json("info", at=T0)
    assert info_a["vault_id"] != info_b["vault_id"]  # type: ignore[index]
    assert info_a["db"] != info_b["db"]  # type: ignore[index]


def test_a_moved_vault_keeps_its_database(tmp_path: Path) -> None:
    dev = Device(tmp_path / "home", "laptop", tmp_path / "vault")
    write_notes(dev.vault, NOTES)
    dev("sync", at=T0)
    dev("grade", str(dev.card_ids()["beta one"]), "good", at=T0)
    moved = tmp_path / "renamed vault"
    dev.vault.rename(moved)
    dev.vault = moved
    assert len(dev.reviews()) == 1
    assert dev.json("sync", at=T0)["cards"]["retired"] == 0  # type: ignore[index]


def test_the_old_shared_database_is_adopted_by_its_vault(tmp_path: Path) -> None:
    dev = Device(tmp_path / "home", "laptop", tmp_path / "vault")
    write_notes(dev.vault, NOTES)
    legacy = tmp_path / "home" / "data" / "mlsys-srs" / "mlsys-srs.db"
    # The database every vault shared before: created with --db at the old default path.
    context.reset_consoles()
    r = CliRunner().invoke(cli.app, ["--vault", str(dev.vault), "--db", str(legacy), "sync"], env=dev.env(T0))
    assert r.exit_code == 0, r.output
    shutil.rmtree(dev.vault / ".mlsys-srs", ignore_errors=True)  # as it was before vault ids existed
    with sqlite3.connect(legacy) as old:  # a database of then named no vault
        old.execute("DELETE FROM meta WHERE key = 'vault_id'")
    out = dev.json("sync", at=T0)
    assert out["cards"]["added"] == 0  # type: ignore[index]
    assert not legacy.exists() and dev.db.exists()


def test_read_only_commands_on_a_vault_without_a_database_say_so(tmp_path: Path) -> None:
    dev = Device(tmp_path / "home", "laptop", tmp_path / "vault")
    write_notes(dev.vault, NOTES)
    context.reset_consoles()
    r = CliRunner().invoke(cli.app, ["--vault", str(dev.vault), "due"], env=dev.env(T0))
    assert r.exit_code == 1
    assert "no review database for this vault yet" in " ".join(r.output.split())
    assert not (dev.vault / ".mlsys-srs").exists()


def test_vault_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlsys_srs.vault.layout import discover

    root = tmp_path / "brain"
    (root / ".obsidian").mkdir(parents=True)
    deep = root / "ml" / "gpu"
    deep.mkdir(parents=True)
    found = discover(deep)
    assert found.path == root and ".obsidian" in found.reason
    (deep / "notes").mkdir()
    assert discover(deep).path == deep / "notes"


def test_a_sync_that_would_retire_most_cards_stops(tmp_path: Path) -> None:
    dev = Device(tmp_path / "home", "laptop", tmp_path / "vault")
    write_notes(
        dev.vault,
        {f"n{i}.md": f"# N{i}\n\n" + "".join(f"q{i}x{k} :: a{k}\n" for k in range(5)) for i in range(6)},
    )
    dev("sync", at=T0)
    for i in range(6):
        (dev.vault / f"n{i}.md").unlink()
    write_notes(dev.vault, {"left.md": "# Left\n\nonly :: one\n"})
    context.reset_consoles()
    r = CliRunner().invoke(cli.app, ["--vault", str(dev.vault), "sync"], env=dev.env(T0), input="")
    assert r.exit_code == 1
    assert "would retire 30 of 30 active cards" in " ".join(r.output.split())
    assert len(dev.json("cards", at=T0)) == 30  # type: ignore[arg-type]  # nothing changed
    out = dev.json("sync", "--yes", at=T0)
    assert out["cards"]["retired"] == 30  # type: ignore[index]


# -- crash safety -----------------------------------------------------------------------------


KILL_AFTER_APPEND = """
import os, signal, sys
from datetime import datetime, timezone
from pathlib import Path
from mlsys_srs.history import journal as jmod
from mlsys_srs.config import ScheduleConfig
from mlsys_srs.history.grading import grade_card
from mlsys_srs.scheduling.memory import make_scheduler
from mlsys_srs.store import open_db

orig = jmod.Journal.append
def append_then_die(self, events):
    orig(self, events)
    os.kill(os.getpid(), signal.SIGKILL)  # after the journal line, before the database commit
jmod.Journal.append = append_then_die
db, folder, card = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
now = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
conn = open_db(db, now)
grade_card(conn, make_scheduler(ScheduleConfig(enable_fuzzing=False)), card, 3, now,
           journal=jmod.Journal(folder, "laptop"))
"""


def test_sigkill_between_journal_append_and_commit_loses_and_doubles_nothing(tmp_path: Path) -> None:
    dev = Device(tmp_path / "home", "laptop", tmp_path / "vault")
    write_notes(dev.vault, NOTES)
    dev("sync", at=T0)
    card = dev.card_ids()["beta two"]
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            KILL_AFTER_APPEND,
            str(dev.db),
            str(dev.vault / ".mlsys-srs" / "journal"),
            str(card),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert dev.reviews() == {}  # the commit never happened
    dev("sync", at=T0 + timedelta(hours=4))
    reviews = dev.reviews()
    assert len(reviews) == 1
    assert dev.states()[next(iter(reviews.values()))[0]][0] == "learning"  # type: ignore[index]
    dev("sync", at=T0 + timedelta(hours=5))
    assert len(dev.reviews()) == 1


# -- rebuild, backups, grade, revlog ------------------------------------------------------------


def test_rebuild_recreates_a_lost_database(tmp_path: Path) -> None:
    dev = Device(tmp_path / "home", "laptop", tmp_path / "vault")
    write_notes(dev.vault, NOTES)
    dev("sync", at=T0)
    ids = dev.card_ids()
    for n, q in enumerate(sorted(ids)):
        dev("grade", str(ids[q]), str(1 + n % 4), at=T0 + timedelta(hours=n))
    dev("suspend", str(ids["beta three"]), at=T0 + timedelta(hours=20))
    dev("reset", str(ids["beta one"]), at=T0 + timedelta(hours=21))
    before = dev.reviews(), dev.states()
    dev("rebuild", "--check", at=T0 + timedelta(days=1))
    dev("rebuild", at=T0 + timedelta(days=1))
    assert (dev.reviews(), dev.states()) == before
    snaps = dev.json("backup", at=T0 + timedelta(days=1))
    assert any(s["reason"] == "before-rebuild" for s in snaps["snapshots"])  # type: ignore[index]


def test_rebuild_check_reports_a_difference(tmp_path: Path) -> None:
    dev = Device(tmp_path / "home", "laptop", tmp_path / "vault")
    write_notes(dev.vault, NOTES)
    dev("sync", at=T0)
    dev("grade", str(dev.card_ids()["beta one"]), "good", at=T0)
    conn = sqlite3.connect(dev.db)
    conn.execute("UPDATE card SET lapses = 7 WHERE question = 'beta one'")  # damage the cache
    conn.commit()
    conn.close()
    out = dev("rebuild", "--check", at=T0, code=1)
    assert "lapses: live 7, rebuilt 0" in out


def test_backups_are_listed_and_restored(tmp_path: Path) -> None:
    dev = Device(tmp_path / "home", "laptop", tmp_path / "vault")
    write_notes(dev.vault, NOTES)
    dev("sync", at=T0)
    dev("sync", at=T0 + timedelta(days=1))  # the daily snapshot, before the day's first write
    dev("grade", str(dev.card_ids()["beta one"]), "good", at=T0 + timedelta(days=1))
    snaps = dev.json("backup", at=T0 + timedelta(days=1))["snapshots"]  # type: ignore[index]
    assert [s["reason"] for s in snaps] == ["daily"]
    dev("backup", "restore", snaps[0]["name"], at=T0 + timedelta(days=1, hours=1))
    assert dev.reviews() == {}
    names = [s["reason"] for s in dev.json("backup", at=T0 + timedelta(days=1))["snapshots"]]  # type: ignore[index]
    assert names == ["daily", "before-restore"]
    dev("backup", "restore", "nope.db", at=T0, code=1)


def test_grade_answers_like_the_session_and_prints_json(tmp_path: Path) -> None:
    dev = Device(tmp_path / "home", "laptop", tmp_path / "vault")
    write_notes(dev.vault, NOTES)
    dev("sync", at=T0)
    cid = dev.card_ids()["beta one"]
    out = dev.json("grade", str(cid), "Good", at=T0)
    assert out["state"] == "learning" and out["reps"] == 1  # type: ignore[index]
    uid = dev.json("cards", at=T0)[0]["uid"]  # type: ignore[index]
    dev("grade", uid, "4", at=T0 + timedelta(minutes=1))
    dev("grade", str(cid), "meh", at=T0, code=2)
    dev("grade", "99999", "good", at=T0, code=1)
    lines = (dev.vault / ".mlsys-srs" / "journal" / "laptop.jsonl").read_text().splitlines()
    assert [json.loads(x)["kind"] for x in lines] == ["review", "review"]


def test_export_revlog_in_the_fsrs_optimizer_schema(tmp_path: Path) -> None:
    dev = Device(tmp_path / "home", "laptop", tmp_path / "vault")
    write_notes(dev.vault, NOTES)
    dev("sync", at=T0)
    cid = dev.card_ids()["beta one"]
    dev("grade", str(cid), "again", at=T0)
    dev("grade", str(cid), "good", at=T0 + timedelta(minutes=2))
    out = dev("export", "revlog", at=T0)
    lines = out.strip().splitlines()
    assert lines[0] == "card_id,review_time,review_rating,review_state,review_duration"
    rows = [x.split(",") for x in lines[1:]]
    assert [r[2] for r in rows] == ["1", "3"]
    assert [r[3] for r in rows] == ["0", "1"]  # new, then learning
    assert int(rows[0][1]) == int(T0.timestamp() * 1000)
    assert rows[0][0] == rows[1][0]


# -- merging is order-independent (hypothesis) -----------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=st.lists(
        st.tuples(
            st.sampled_from(["laptop", "desk"]), st.integers(0, 5), st.integers(1, 4), st.integers(0, 600)
        ),
        min_size=1,
        max_size=12,
    ),
    order=st.permutations(["laptop", "desk"]),
)
def test_merging_journals_in_any_order_gives_the_same_history(
    tmp_path_factory: pytest.TempPathFactory, plan: list[tuple[str, int, int, int]], order: list[str]
) -> None:
    from mlsys_srs.config import ScheduleConfig
    from mlsys_srs.core.identity import event_id
    from mlsys_srs.history.merge import key_of, merge_journals
    from mlsys_srs.scheduling.memory import make_scheduler
    from mlsys_srs.store import open_db
    from mlsys_srs.store.events import keyed_cards
    from mlsys_srs.sync import sync_vault

    root = tmp_path_factory.mktemp("merge")
    write_notes(root / "vault", NOTES)
    journals = root / "vault" / ".mlsys-srs" / "journal"
    conn = open_db(root / "a.db", T0)
    sync_vault(conn, root / "vault", T0)
    cards = sorted(keyed_cards(conn), key=lambda c: c.uid)
    by_device: dict[str, list[Event]] = {"laptop": [], "desk": []}
    for dev, card, rating, minutes in plan:
        at = T0 + timedelta(minutes=minutes)
        by_device[dev].append(Event(event_id(at), "review", at, dev, key_of(cards[card]), {"rating": rating}))
    sched = ScheduleConfig(enable_fuzzing=False)
    results = []
    for variant, devices in enumerate((order, list(reversed(order)))):
        db = open_db(root / f"m{variant}.db", T0)
        sync_vault(db, root / "vault", T0)
        for dev in devices:
            shutil.rmtree(journals, ignore_errors=True)
            Journal(journals, dev).append(by_device[dev])
            merge_journals(db, journals, lambda: make_scheduler(sched), leech_threshold=8, now=T0)
        merge_journals(db, journals, lambda: make_scheduler(sched), leech_threshold=8, now=T0)  # idempotent
        results.append(
            (
                sorted(db.execute("SELECT uid, rating, reviewed_at FROM review").fetchall()),
                sorted(db.execute("SELECT uid, state, stability, due, reps FROM card").fetchall()),
            )
        )
        db.close()
    conn.close()
    assert results[0] == results[1]
    assert len(results[0][0]) == len(plan)


def test_a_replay_shared_out_over_the_cores_equals_one_on_this_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlsys_srs.core.workers as workers_module
    import mlsys_srs.history.replay as history_module
    import mlsys_srs.sync.parallel as parallel
    from mlsys_srs.config import ScheduleConfig
    from mlsys_srs.core.identity import event_id
    from mlsys_srs.history.merge import key_of, merge_journals
    from mlsys_srs.scheduling.memory import make_scheduler
    from mlsys_srs.store import open_db
    from mlsys_srs.store.events import keyed_cards
    from mlsys_srs.sync import sync_vault

    write_notes(tmp_path / "vault", NOTES)
    journals = tmp_path / "vault" / ".mlsys-srs" / "journal"
    results = []
    for parallel_min in (10**9, 1):  # one core, then forked workers for any number of cards
        monkeypatch.setattr(history_module, "PARALLEL_REPLAY_MIN", parallel_min)
        monkeypatch.setattr(parallel, "PARALLEL_MIN", min(parallel_min, 1000))
        monkeypatch.setattr(workers_module.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
        db = open_db(tmp_path / f"p{parallel_min}.db", T0)
        sync_vault(db, tmp_path / "vault", T0)
        if parallel_min == 10**9:
            cards = sorted(keyed_cards(db), key=lambda c: c.uid)
            events = [
                Event(
                    event_id(at := T0 + timedelta(hours=h)),
                    "review",
                    at,
                    "phone",
                    key_of(cards[h % len(cards)]),
                    {"rating": 1 + h % 4},
                )
                for h in range(60)
            ]
            Journal(journals, "phone").append(events)
        merge_journals(
            db,
            journals,
            lambda: make_scheduler(ScheduleConfig()),
            leech_threshold=8,
            now=T0 + timedelta(days=3),
        )
        results.append(
            (
                sorted(db.execute("SELECT uid, rating, reviewed_at, stability_after FROM review").fetchall()),
                sorted(
                    db.execute(
                        "SELECT uid, state, stability, difficulty, due, reps, lapses FROM card"
                    ).fetchall()
                ),
            )
        )
        db.close()
    assert results[0] == results[1] and len(results[0][0]) == 60


@pytest.mark.parametrize(("cores", "here_weight"), [(2, 0), (2, 10**6), (3, 7)])
def test_a_replay_over_forked_workers_stores_every_card_once_in_order(
    monkeypatch: pytest.MonkeyPatch, cores: int, here_weight: int
) -> None:
    """Two cores fork one worker (this process replays its own share too); the workers' cards go in
    small shares; the caller's ``meanwhile`` work runs once, before anything is stored."""
    import mlsys_srs.core.workers as workers_module
    import mlsys_srs.history.replay as replay_module
    from mlsys_srs.config import ScheduleConfig
    from mlsys_srs.scheduling.memory import make_scheduler
    from mlsys_srs.store.events import ReplayEvent

    monkeypatch.setattr(replay_module, "PARALLEL_REPLAY_MIN", 1)
    monkeypatch.setattr(replay_module, "WORKER_SHARE_EVENTS", 7)
    monkeypatch.setattr(workers_module.os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    at = "2026-11-02T08:00:00.000000+00:00"
    work = [
        (
            cid,
            f"uid{cid:04d}",
            [ReplayEvent(f"e{cid}-{k}", "review", at, '{"rating": 3}') for k in range(1 + cid % 3)],
        )
        for cid in range(1, 41)
    ]
    log: list[str] = []
    stored: list[int] = []

    def store(part: list[tuple[int, dict[str, object], list[object], bool]]) -> None:
        log.append("store")
        stored.extend(cid for cid, _, _, _ in part)

    replay_module._replay_many(
        work,
        make_scheduler(ScheduleConfig()),
        8,
        "suspend",
        store,
        lambda: log.append("meanwhile"),
        here_weight,
    )
    assert stored == [cid for cid, _, _ in work]
    assert log.count("meanwhile") == 1 and log[0] == "meanwhile" and log.count("store") > 2


def test_a_card_keeps_its_uid_when_the_same_merge_brings_history_under_it(tmp_path: Path) -> None:
    """A card found by its key adopts the uid an event names it by only if it has no history of its
    own, counting the events of the same merge (they are history too, stored or not yet)."""
    import dataclasses

    from mlsys_srs.config import ScheduleConfig
    from mlsys_srs.core.identity import event_id
    from mlsys_srs.history.merge import key_of, merge_journals
    from mlsys_srs.scheduling.memory import make_scheduler
    from mlsys_srs.store import open_db
    from mlsys_srs.store.events import keyed_cards
    from mlsys_srs.sync import sync_vault

    write_notes(tmp_path / "vault", NOTES)
    journals = tmp_path / "vault" / ".mlsys-srs" / "journal"
    db = open_db(tmp_path / "a.db", T0)
    sync_vault(db, tmp_path / "vault", T0)
    first, second = sorted(keyed_cards(db), key=lambda c: c.uid)[:2]
    at = [T0 + timedelta(minutes=m) for m in range(3)]
    events = [
        # Known elsewhere by another uid, then answered under its own: it keeps its own.
        Event(event_id(at[0]), "review", at[0], "phone", dataclasses.replace(key_of(first), uid="elsewhere-1"),
              {"rating": 3}),
        Event(event_id(at[1]), "review", at[1], "phone", key_of(first), {"rating": 3}),
        # Known elsewhere by another uid only: it takes that uid.
        Event(event_id(at[2]), "review", at[2], "phone", dataclasses.replace(key_of(second), uid="elsewhere-2"),
              {"rating": 3}),
    ]  # fmt: skip
    Journal(journals, "phone").append(events)
    report = merge_journals(db, journals, lambda: make_scheduler(ScheduleConfig()), leech_threshold=8, now=T0)
    assert report.events_new == 3 and report.events_pending == 0 and report.cards_replayed == 2
    uids = dict(db.execute("SELECT id, uid FROM card WHERE id IN (?, ?)", (first.id, second.id)).fetchall())
    assert uids == {first.id: first.uid, second.id: "elsewhere-2"}
    per_card = dict(db.execute("SELECT card_id, count(*) FROM event GROUP BY card_id").fetchall())
    assert per_card == {first.id: 2, second.id: 1}
    assert db.execute("SELECT count(*) FROM review").fetchone()[0] == 3
    db.close()
