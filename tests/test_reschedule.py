"""Recomputing schedules: the review-days migration (done by sync, after a backup), workload."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mlsys_srs.config import ScheduleConfig
from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.scheduling.memory import CardSchedule, CardScheduler, ResetEvent, ReviewEvent, replay
from mlsys_srs.scheduling.reschedule import history_from_log, workload
from mlsys_srs.store import open_db
from mlsys_srs.store.backup import backup_database
from mlsys_srs.store.events import set_meta
from mlsys_srs.store.schedules import logged_reviews, recompute_pending
from mlsys_srs.sync import sync_vault

from .conftest import Cli, add_review, set_card, write_notes

LA = ZoneInfo("America/Los_Angeles")
CLOCK = DayClock(LA, 4)
CFG = ScheduleConfig(timezone="America/Los_Angeles")
T = datetime(2026, 3, 1, 18, tzinfo=UTC)


def test_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "a.db", T)
    set_meta(conn, "x", "y")
    path = backup_database(conn, tmp_path / "backups", "review days!", T)
    again = backup_database(conn, tmp_path / "backups", "review days!", T)
    assert path.name == "20260301T180000000000Z-review-days.db" and again != path
    copy = sqlite3.connect(path)
    assert copy.execute("SELECT value FROM meta WHERE key = 'x'").fetchone() == ("y",)


def test_reset_points_are_inferred_from_the_log(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "a.db", T)
    write_notes(tmp_path / "v", {"a.md": "Q: q\nA: a\n"})
    sync_vault(conn, tmp_path / "v", T)
    add_review(conn, 1, T, 3, before="new")
    add_review(conn, 1, T + timedelta(days=2), 3, before="review")
    add_review(conn, 1, T + timedelta(days=9), 4, before="new")  # after a reset
    add_review(conn, 1, T + timedelta(days=10), 3, before="review", kind="cram")
    rows = list(logged_reviews(conn))
    assert len(rows) == 3  # the cram answer is not history
    events = history_from_log(rows)
    assert [type(e) for e in events] == [ReviewEvent, ReviewEvent, ResetEvent, ReviewEvent]


def test_migration_asks_and_sync_recomputes_after_a_backup(run: Cli, notes, isolated_user_dirs: Path) -> None:  # type: ignore[no-untyped-def]
    (isolated_user_dirs / "config.toml").write_text('[schedule]\ntimezone = "America/Los_Angeles"\n')
    notes({"a.md": "Q: one?\nA: 1\n\nQ: two?\nA: 2\n"})
    run("sync")
    conn = sqlite3.connect(run.db, isolation_level=None)
    ids = [r[0] for r in conn.execute("SELECT id FROM card ORDER BY id")]
    # A history scheduled the old way: 24-hour periods, due at the hour of the review.
    t1, t2 = datetime(2026, 3, 1, 6, tzinfo=UTC), datetime(2026, 3, 3, 15, tzinfo=UTC)
    add_review(conn, ids[0], t1, 3, before="new", after="review")
    add_review(conn, ids[0], t2, 3, before="review")
    set_card(conn, ids[0], state="review", stability=9.0, difficulty=5.0, due=t2 + timedelta(days=9),
             last_review=t2, reps=2, suspended=True)  # fmt: skip
    # Pretend the database predates m003.
    conn.execute("DELETE FROM schema_migration WHERE name = 'm003_review_days'")
    conn.close()
    env = {"MLSYS_SRS_NOW": "2026-03-05T18:00:00+00:00"}
    run("due", env=env)  # opening migrates; due has no recompute to do
    check = sqlite3.connect(run.db)
    assert recompute_pending(check)
    result = run("sync", env=env)
    assert "schedules recomputed" in result.stderr
    folder = isolated_user_dirs / ".local" / "share" / "mlsys-srs" / "backups"
    backups = [p for p in folder.rglob("*-review-days.db") if "before-m003" not in p.name]
    assert len(backups) == 1
    assert len(list(folder.rglob("*-before-m003-review-days.db"))) == 1  # the migration's own snapshot
    # The backup holds the old schedule; the database the replayed one.
    old = sqlite3.connect(backups[0]).execute("SELECT due FROM card WHERE id = ?", (ids[0],)).fetchone()
    assert old == ((t2 + timedelta(days=9)).isoformat(timespec="microseconds"),)
    uid = check.execute("SELECT uid FROM card WHERE id = ?", (ids[0],)).fetchone()[0]
    expected = replay(uid, [ReviewEvent(3, t1), ReviewEvent(3, t2)], CardScheduler(CFG, CLOCK),
                      CardSchedule(suspended=True))  # fmt: skip
    row = check.execute(
        "SELECT state, stability, due, suspended FROM card WHERE id = ?", (ids[0],)
    ).fetchone()
    assert row[0] == expected.state and row[1] == expected.stability and row[3] == 1
    assert expected.due is not None and row[2] == expected.due.isoformat(timespec="microseconds")
    assert not recompute_pending(check)
    assert "schedules recomputed" not in run("sync", env=env).stderr
    assert [p for p in backups[0].parent.glob("*-review-days.db") if "before-m003" not in p.name] == backups


def test_workload_counts_by_review_day() -> None:
    now = datetime(2026, 3, 1, 18, tzinfo=UTC)
    dues = [now - timedelta(days=3), CLOCK.day_start(CLOCK.today(now) + timedelta(days=6)),
            CLOCK.day_start(CLOCK.today(now) + timedelta(days=7)), now + timedelta(days=40), None]  # fmt: skip
    w = workload(dues, CLOCK, now)
    assert (w.next_7_days, w.next_30_days) == (2, 3)


def test_calibration_bins_predicted_recall_and_weekly_retention(run: Cli, notes) -> None:  # type: ignore[no-untyped-def]
    from mlsys_srs.config import ScheduleConfig
    from mlsys_srs.insights.stats import compute_stats
    from mlsys_srs.scheduling.memory import ForgettingCurve

    notes({"a.md": "Q: one?\nA: 1\n\nQ: two?\nA: 2\n"})
    run("sync")
    conn = sqlite3.connect(run.db, isolation_level=None)
    a, b = [r[0] for r in conn.execute("SELECT id FROM card ORDER BY id")]
    t = datetime(2026, 3, 2, 18, tzinfo=UTC)  # a Monday, 10:00 in Los Angeles
    add_review(conn, a, t, 3, before="new", stability_after=10.0)
    add_review(conn, a, t + timedelta(days=5), 3, before="review", stability_after=30.0)
    add_review(conn, b, t, 3, before="new", stability_after=1.0)
    add_review(conn, b, t + timedelta(days=10), 1, before="review", stability_after=0.5)
    add_review(conn, b, t + timedelta(days=10, minutes=5), 3, before="relearning", stability_after=0.6)
    st = compute_stats(
        conn, CLOCK, t + timedelta(days=12), days=30, schedule=ScheduleConfig(desired_retention=0.85)
    )
    curve = ForgettingCurve.from_parameters(())
    # Elapsed time in review days (Los Angeles, rollover 4 am), as FSRS counts it.
    high, low = curve.retrievability(5, 10.0), curve.retrievability(10, 1.0)
    assert sum(b.reviews for b in st.calibration) == 2
    hi_bin = st.calibration[int(high * 10)]
    lo_bin = st.calibration[int(low * 10)]
    assert (hi_bin.reviews, hi_bin.actual) == (1, 1.0) and hi_bin.predicted == pytest.approx(high)
    assert (lo_bin.reviews, lo_bin.actual) == (1, 0.0)
    rbw = st.retention_by_week
    assert rbw is not None and rbw.desired == 0.85
    assert [(w.reviews, w.passed) for w in rbw.weeks if w.reviews] == [(1, 1), (1, 0)]
    data = run.json("stats", env={"MLSYS_SRS_NOW": "2026-03-14T18:00:00+00:00"})["calibration"]  # type: ignore[index]
    assert sum(b["reviews"] for b in data) == 2 and len(data) == 10
