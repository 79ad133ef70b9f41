"""`purge --retired`: long-retired cards deleted for good, on every device, through the journal."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from .conftest import write_notes
from .test_history import NOTES, T0, Device, copy_vault, share


def setup(tmp_path: Path) -> tuple[Device, Device]:
    shared = tmp_path / "shared"
    write_notes(shared, NOTES)
    laptop = Device(tmp_path / "laptop", "laptop", tmp_path / "on-laptop")
    desk = Device(tmp_path / "desk", "desk", tmp_path / "on-desk")
    copy_vault(shared, laptop.vault)
    laptop("sync", at=T0)
    copy_vault(laptop.vault, desk.vault)
    desk("sync", at=T0 + timedelta(minutes=3))
    return laptop, desk


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_purge_on_one_device_deletes_there_and_on_the_other_and_rebuilds_clean(tmp_path: Path) -> None:
    laptop, desk = setup(tmp_path)
    ids = laptop.card_ids()
    laptop("grade", str(ids["beta one"]), "good", at=T0 + timedelta(hours=1))
    laptop("grade", str(ids["beta two"]), "good", at=T0 + timedelta(hours=1))
    share(laptop, desk)
    desk("sync", at=T0 + timedelta(hours=1, minutes=5))
    assert len(desk.reviews()) == 2
    # "beta one" leaves the note on both machines; "beta two" only on the laptop.
    b = NOTES["b.md"]
    write_notes(
        laptop.vault, {"b.md": b.replace("beta one :: first\n", "").replace("beta two :: second\n", "")}
    )
    write_notes(desk.vault, {"b.md": b.replace("beta one :: first\n", "")})
    laptop("sync", at=T0 + timedelta(hours=2))
    desk("sync", at=T0 + timedelta(hours=2))
    # Retired a few hours ago: not old enough.
    out = laptop("purge", "--retired", "--older-than", "90d", at=T0 + timedelta(days=30))
    assert "purged 0 retired cards" in out
    later = T0 + timedelta(days=100)
    dry = laptop.json("purge", "--retired", "--older-than", "90d", "--dry-run", at=later)
    assert dry["dry_run"] and sorted(c["question"] for c in dry["cards"]) == ["beta one", "beta two"]  # type: ignore[index]
    assert rows(laptop.db, "SELECT count(*) FROM card WHERE retired = 1") == [(2,)]
    out = laptop("purge", "--retired", "--older-than", "90d", "--yes", at=later)
    assert "b.md" in out and "purged 2 retired cards" in out
    assert rows(laptop.db, "SELECT count(*) FROM card WHERE retired = 1") == [(0,)]
    assert laptop.reviews() == {}
    assert rows(laptop.db, "SELECT kind, count(*) FROM event GROUP BY kind") == [("purge", 2)]
    assert rows(laptop.db, "SELECT count(*) FROM card_tag WHERE card_id NOT IN (SELECT id FROM card)") == [
        (0,)
    ]
    # The desk merges the purge: the retired card goes, the one still in its note stays.
    share(laptop, desk)
    context_out = desk.runner.invoke(
        __import__("mlsys_srs.cli", fromlist=["app"]).app,
        ["--vault", str(desk.vault), "sync", "--json"],
        env=desk.env(later),
        catch_exceptions=False,
    )
    assert context_out.exit_code == 0
    assert "purged on device laptop is still in this note here; kept" in context_out.stderr
    questions = {c["question"] for c in desk.json("cards", at=later)}  # type: ignore[union-attr]
    assert "beta one" not in questions and "beta two" in questions
    assert rows(desk.db, "SELECT count(*) FROM card WHERE retired = 1") == [(0,)]
    kept = [r for r in desk.reviews().values()]
    assert len(kept) == 1  # beta two's answer stays with it
    out = desk.json("sync", at=later + timedelta(hours=1))
    assert out["journal"]["events_pending"] == 0  # type: ignore[index]
    # Both rebuild to what they hold: the purge is handled, never left waiting.
    laptop("rebuild", "--check", at=later + timedelta(hours=1))
    desk("rebuild", "--check", at=later + timedelta(hours=1))
    # The text coming back makes a new card, without the purged history.
    write_notes(laptop.vault, {"b.md": b})
    laptop("sync", at=later + timedelta(hours=2))
    again = laptop.json("cards", at=later + timedelta(hours=2))
    one = [c for c in again if c["question"] == "beta one"]  # type: ignore[union-attr]
    assert len(one) == 1 and one[0]["state"] == "new" and one[0]["reps"] == 0
    assert laptop.reviews() == {}
    laptop("sync", at=later + timedelta(hours=3))
    assert laptop.reviews() == {}
    # A rebuild agrees: the purged history stays gone for the card whose text came back...
    laptop("rebuild", "--check", at=later + timedelta(hours=3))
    # ...and stays whole for the card the desk kept (it said so in its journal).
    desk_journal = desk.vault / ".mlsys-srs" / "journal" / "desk.jsonl"
    assert '"kept"' in desk_journal.read_text()
    desk("sync", at=later + timedelta(hours=4))
    desk("rebuild", "--check", at=later + timedelta(hours=4))
    desk("rebuild", at=later + timedelta(hours=4))
    assert len(desk.reviews()) == 1


def test_purge_needs_retired_and_a_duration(tmp_path: Path) -> None:
    laptop, _ = setup(tmp_path)
    laptop("purge", at=T0, code=2)
    laptop("purge", "--retired", "--older-than", "soon", at=T0, code=2)


def test_a_terminal_asks_before_purging(tmp_path: Path) -> None:
    import os
    import subprocess

    from .test_review_e2e import SCRIPT, Screen

    laptop, _ = setup(tmp_path)
    write_notes(laptop.vault, {"b.md": NOTES["b.md"].replace("beta one :: first\n", "")})
    laptop("sync", at=T0 + timedelta(hours=1))
    later = T0 + timedelta(days=100)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_COLOR": "1", **laptop.env(later)}
    args = [str(SCRIPT), "--vault", str(laptop.vault), "purge", "--retired"]
    no = Screen(args, env)
    no.expect("Delete 1 retired card for good? [y/N]")
    no.send("n\r")
    assert no.wait() == 1
    assert rows(laptop.db, "SELECT count(*) FROM card WHERE retired = 1") == [(1,)]
    yes = Screen(args, env)
    yes.expect("[y/N]")
    yes.send("y\r")
    assert yes.wait() == 0
    assert "purged 1 retired card" in yes.text
    assert rows(laptop.db, "SELECT count(*) FROM card WHERE retired = 1") == [(0,)]
    # Not a terminal: no question.
    done = subprocess.run(args, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True)
    assert "purged 0 retired cards" in done.stdout
