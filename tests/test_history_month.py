"""A simulated month of reviews on the bundled notes: `rebuild --check` finds no difference (issue: history)."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlsys_srs import cli
from mlsys_srs.cli import context
from mlsys_srs.config import ScheduleConfig
from mlsys_srs.history.grading import bury, grade_card, reset, set_suspended, undo_review
from mlsys_srs.history.journal import Journal
from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.scheduling.memory import make_scheduler
from mlsys_srs.scheduling.queue import todays_queue
from mlsys_srs.store import open_db
from mlsys_srs.sync import sync_vault

REPO = Path(__file__).resolve().parent.parent
START = datetime(2026, 10, 1, 7, 0, tzinfo=UTC)


def test_a_month_of_reviews_rebuilds_to_the_same_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Durability is tested elsewhere (SIGKILL tests); here thousands of fsyncs would only cost time.
    monkeypatch.setattr("os.fsync", lambda fd: None)
    vault = tmp_path / "vault"
    shutil.copytree(REPO / "notes", vault, ignore=shutil.ignore_patterns(".mlsys-srs"))
    db = tmp_path / "month.db"
    cfg = ScheduleConfig(new_per_day=8)  # fuzz on, as shipped: seeded, so a replay gives the same dates
    clock = DayClock(UTC, cfg.rollover_hour)
    sched = make_scheduler(cfg, clock)
    journal = Journal(vault / ".mlsys-srs" / "journal", "laptop")
    rng = random.Random(7)
    conn = open_db(db, START)
    sync_vault(conn, vault, START)
    answered = 0
    for day in range(30):
        t = START + timedelta(days=day, minutes=rng.randint(0, 600))
        queue = todays_queue(conn, cfg, clock, t)
        for item in (*queue.learning, *queue.main):
            t += timedelta(seconds=rng.randint(5, 40))
            rating = rng.choices((1, 2, 3, 4), (2, 1, 7, 1))[0]
            res = grade_card(conn, sched, item.id, rating, t, duration_ms=9000, journal=journal)
            answered += 1
            if rng.random() < 0.03:
                undo_review(conn, res.review_id, t + timedelta(seconds=2), journal=journal)
            elif rng.random() < 0.01:
                set_suspended(conn, [item.id], True, t, journal=journal)
            elif rng.random() < 0.01:
                bury(conn, [item.id], clock.day_end(clock.today(t)), t, journal=journal)
            elif rng.random() < 0.005:
                reset(conn, [item.id], t, journal=journal)
    conn.close()
    assert answered > 200
    (tmp_path / "config.toml").write_text("[schedule]\nnew_per_day = 8\ntimezone = 'UTC'\n")
    context.reset_consoles()
    result = CliRunner().invoke(
        cli.app,
        ["--vault", str(vault), "--db", str(db), "rebuild", "--check"],
        env={
            "MLSYS_SRS_CONFIG": str(tmp_path / "config.toml"),
            "MLSYS_SRS_DEVICE": "laptop",
            "MLSYS_SRS_NOW": (START + timedelta(days=31)).isoformat(),
        },
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "no difference" in result.stdout
