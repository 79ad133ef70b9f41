"""Scheduling: the fsrs wrapper, today's queue, the day boundary, grade/undo writes, `due`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mlsys_srs.config import ScheduleConfig
from mlsys_srs.core.fmt import format_interval
from mlsys_srs.history.grading import grade_card, undo_review
from mlsys_srs.insights.streaks import review_streak
from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.scheduling.memory import (
    CardSchedule,
    ForgettingCurve,
    is_new_leech,
    make_scheduler,
)
from mlsys_srs.scheduling.queue import QueueItem, build_queue, due_summary, interleave_by_domain, todays_queue
from mlsys_srs.store import dt_to_db, open_db
from mlsys_srs.store.filters import CardFilter
from mlsys_srs.store.schema import CARD_SCHEDULE_COLUMNS as SCHEDULE_COLUMNS
from mlsys_srs.sync import sync_vault

from .conftest import Cli, set_card, write_notes

LA = ZoneInfo("America/Los_Angeles")
CLOCK = DayClock(LA, 4)
CFG = ScheduleConfig(enable_fuzzing=False, timezone="America/Los_Angeles")
# 2026-11-22 08:00 in Los Angeles (PST, UTC-8): review day 2026-11-22.
NOW = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    """A Los Angeles wall time as a UTC instant."""
    return datetime(y, mo, d, h, mi, tzinfo=LA).astimezone(UTC)


# -- the fsrs wrapper --------------------------------------------------------------------------


def test_new_card_is_fsrs_learning_step_zero() -> None:
    # A new card is py-fsrs's Learning card at step 0: Again gives the first step.
    after = make_scheduler(CFG).grade("u", CardSchedule(), 1, NOW)
    assert after.state == "learning" and after.step == 0
    assert after.due == NOW + timedelta(minutes=1)


def test_good_on_new_card_moves_to_second_learning_step() -> None:
    sched = make_scheduler(CFG)
    after = sched.grade("u", CardSchedule(), 3, NOW)
    assert after.state == "learning" and after.step == 1
    # Second learning step of the default (1m, 10m).
    assert after.due == NOW + timedelta(minutes=10)
    assert after.reps == 1 and after.lapses == 0
    assert after.last_review == NOW


def test_easy_on_new_card_graduates_with_interval_equal_to_stability() -> None:
    sched = make_scheduler(CFG)
    after = sched.grade("u", CardSchedule(), 4, NOW)
    assert after.state == "review" and after.step is None
    # At desired retention 0.9 the FSRS interval equals the stability, here w[3];
    # it lands on the start (04:00 local) of the review day that many days ahead.
    assert after.stability == pytest.approx(sched.parameters[3])
    assert after.due == local(2026, 11, 22 + round(sched.parameters[3]), 4)


def test_again_on_review_card_is_a_lapse_into_relearning() -> None:
    sched = make_scheduler(CFG)
    before = CardSchedule(
        state="review",
        stability=20.0,
        difficulty=5.0,
        due=NOW,
        last_review=NOW - timedelta(days=20),
        reps=5,
        lapses=2,
    )
    after = sched.grade("u", before, 1, NOW)
    assert after.state == "relearning" and after.step == 0
    assert after.due == NOW + timedelta(minutes=10)
    assert after.lapses == 3 and after.reps == 6
    assert after.stability is not None and after.stability < 20.0
    # Again while still learning is not a lapse.
    learning = sched.grade("u", CardSchedule(), 1, NOW)
    assert learning.lapses == 0


def test_configured_steps_and_retention_reach_the_scheduler() -> None:
    cfg = ScheduleConfig(
        enable_fuzzing=False,
        learning_steps=(timedelta(minutes=5),),
        desired_retention=0.8,
        maximum_interval=30,
    )
    sched = make_scheduler(cfg)
    assert sched.learning_steps == (timedelta(minutes=5),)
    assert sched.maximum_interval == 30 and sched.desired_retention == 0.8
    after = sched.grade("u", CardSchedule(), 1, NOW)
    assert after.due == NOW + timedelta(minutes=5)


def test_schedule_raw_round_trip_is_exact() -> None:
    s = CardSchedule(
        "review", None, 3.25, 6.5, NOW, NOW - timedelta(days=3), 4, 1, True, NOW + timedelta(hours=5)
    )
    assert CardSchedule.from_raw(s.to_raw()) == s
    assert set(s.to_raw()) == set(SCHEDULE_COLUMNS)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=30), "30s"),
        (timedelta(minutes=1), "1m"),
        (timedelta(minutes=10), "10m"),
        (timedelta(hours=5), "5h"),
        (timedelta(days=1), "1d"),
        (timedelta(days=8), "8d"),
        (timedelta(days=45), "1.5mo"),
        (timedelta(days=730), "2y"),
    ],
)
def test_format_interval(delta: timedelta, text: str) -> None:
    assert format_interval(delta) == text


def test_leech_at_threshold_then_every_half_threshold() -> None:
    assert is_new_leech(7, 8, 8)
    assert not is_new_leech(6, 7, 8)
    assert not is_new_leech(8, 9, 8)
    assert is_new_leech(11, 12, 8)
    assert not is_new_leech(8, 8, 8)  # no lapse this time
    assert not is_new_leech(7, 8, 0)  # disabled


def test_recall_is_90_percent_one_stability_after_the_last_review() -> None:
    # FSRS defines stability as the time for recall probability to fall to 90%.
    curve = ForgettingCurve.from_parameters(())
    last = NOW - timedelta(days=12)
    assert curve.at(NOW, last, 12.0) == pytest.approx(0.9)
    assert curve.at(NOW, NOW, 12.0) == pytest.approx(1.0)
    assert curve.at(NOW, None, None) == 0.0


def test_one_decay_rule_for_every_parameter_set() -> None:
    from fsrs.scheduler import DEFAULT_PARAMETERS, FSRS_DEFAULT_DECAY

    from mlsys_srs.scheduling.memory import DEFAULT_DECAY, decay_of

    assert pytest.approx(FSRS_DEFAULT_DECAY) == DEFAULT_DECAY
    assert decay_of(()) == DEFAULT_DECAY  # none: py-fsrs's default
    six = [*DEFAULT_PARAMETERS[:20], 0.31]
    assert decay_of(six) == 0.31  # FSRS-6 (21 weights): the last one
    assert decay_of(DEFAULT_PARAMETERS[:19]) == 0.5  # FSRS-5 (19 weights)
    assert decay_of(DEFAULT_PARAMETERS[:17]) == 0.5  # FSRS-4.5 (17 weights)
    # The curve follows the rule: at t = 2S, a heavier decay forgets faster.
    slow, fast = (
        ForgettingCurve.from_parameters(six),
        ForgettingCurve.from_parameters(DEFAULT_PARAMETERS[:19]),
    )
    assert slow.retrievability(20, 10.0) != fast.retrievability(20, 10.0)


@pytest.mark.parametrize("n_weights", [0, 17, 19, 21])
def test_the_curve_is_py_fsrs_own_to_the_last_bit(n_weights: int) -> None:
    # The replay's fast path takes recall from ForgettingCurve where py-fsrs computes it itself.
    import fsrs
    from fsrs.scheduler import DEFAULT_PARAMETERS

    from mlsys_srs.scheduling.memory import full_parameters

    params = full_parameters(DEFAULT_PARAMETERS[:n_weights])
    sched = fsrs.Scheduler(parameters=params) if params else fsrs.Scheduler()
    curve = ForgettingCurve.from_parameters(params)
    assert (curve.decay, curve.factor) == (-sched._DECAY, sched._FACTOR)
    for stability, days in ((0.3, 1), (2.5, 4), (40.0, 33), (900.0, 365)):
        expected = (1 + sched._FACTOR * days / stability) ** sched._DECAY
        assert curve.retrievability(days, stability) == expected


def test_daily_recall_is_the_curve_day_by_day() -> None:
    curve = ForgettingCurve.from_parameters(())
    totals = [0.0] * 10
    curve.add_daily(totals, 2, 3.5, 4, 9)
    assert totals[:4] == [0.0] * 4 and totals[9] == 0.0
    for d in range(4, 9):
        assert totals[d] == pytest.approx(curve.retrievability(d - 2, 3.5), rel=1e-14)


# -- queue building (pure) ---------------------------------------------------------------------


def item(i: int, state: str = "review", *, note: int | None = None, line: int | None = None, domain: str = "d",
         due: datetime | None = None, stability: float | None = None, last: datetime | None = None) -> QueueItem:  # fmt: skip
    if state != "new" and due is None:
        due = NOW - timedelta(hours=1)
    return QueueItem(
        id=i,
        note_id=note if note is not None else i,
        line=line if line is not None else 1,
        domain=domain,
        path=f"{domain}/n{note if note is not None else i}.md",
        state=state,
        due=due,
        stability=stability,
        last_review=last,
    )


END = CLOCK.day_end(CLOCK.today(NOW))


def test_queue_learning_first_then_reviews_by_retrievability_then_new() -> None:
    cands = [
        item(1, "new"),
        item(2, "review", stability=30.0, last=NOW - timedelta(days=31)),  # R ~ 0.9
        item(3, "review", stability=2.0, last=NOW - timedelta(days=10)),  # far overdue: lowest R
        item(4, "learning", due=NOW + timedelta(minutes=5)),
        item(5, "relearning", due=NOW - timedelta(minutes=5)),
    ]
    q = build_queue(cands, now=NOW, day_end=END)
    assert [it.id for it in q.learning] == [5, 4]
    assert [it.id for it in q.main] == [3, 2, 1]


def test_queue_leaves_out_cards_due_after_today() -> None:
    cands = [
        item(1, due=END - timedelta(seconds=1)),
        item(2, due=END),
        item(3, "learning", due=END + timedelta(hours=1)),
    ]
    q = build_queue(cands, now=NOW, day_end=END)
    assert [it.id for it in q.main] == [1]
    assert q.learning == ()


def test_new_limit_and_review_limit() -> None:
    cands = [item(i, "new") for i in range(1, 6)] + [item(i, stability=1.0, last=NOW) for i in range(6, 10)]
    q = build_queue(cands, now=NOW, day_end=END, new_left=2, reviews_left=3)
    assert q.count("new") == 2 and q.held_new == 3
    assert q.count("review") == 3 and q.held_reviews == 1


def test_total_limit_keeps_learning_then_reviews_then_new() -> None:
    cands = [item(1, "learning"), item(2), item(3), item(4, "new"), item(5, "new")]
    q = build_queue(cands, now=NOW, day_end=END, total_limit=3)
    assert [it.id for it in q.learning] == [1]
    assert [it.id for it in q.main] == [2, 3]


def test_siblings_are_not_shown_on_the_same_day() -> None:
    # Cards 1 and 2 are the two sides of one ::: line; 3 and 4 two clozes of one paragraph.
    cands = [
        item(1, "new", note=10, line=5),
        item(2, "new", note=10, line=5),
        item(3, "review", note=11, line=2),
        item(4, "new", note=11, line=2),
        item(5, "new", note=12, line=1),
        item(6, "new", note=12, line=9),  # same note, other line: not a sibling
    ]
    q = build_queue(cands, now=NOW, day_end=END)
    assert [it.id for it in q.main] == [3, 1, 5, 6]
    assert q.held_siblings == 2
    # A sibling reviewed earlier today holds the whole group back.
    q2 = build_queue(cands, now=NOW, day_end=END, reviewed_groups={(10, 5)})
    assert 1 not in [it.id for it in q2.main] and 2 not in [it.id for it in q2.main]
    # A sibling still in learning takes the group too, but learning cards are never held.
    q3 = build_queue(
        [item(7, "learning", note=13, line=1), item(8, "review", note=13, line=1)], now=NOW, day_end=END
    )
    assert [it.id for it in q3.learning] == [7] and q3.main == ()


def test_cards_interleave_across_domains() -> None:
    items = [item(i, "new", domain="a") for i in range(1, 4)] + [
        item(i, "new", domain="b") for i in range(4, 6)
    ]
    assert [it.domain for it in interleave_by_domain(items)] == ["a", "b", "a", "b", "a"]
    q = build_queue(items, now=NOW, day_end=END, new_left=4, new_order="interleave")
    # The limit takes new cards from both domains, not the first note's cards.
    assert sorted(it.domain for it in q.main) == ["a", "a", "b", "b"]


# -- the database side -----------------------------------------------------------------------


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = open_db(tmp_path / "srs.db", NOW)
    yield c
    c.close()


def sync(conn: sqlite3.Connection, vault: Path, files: dict[str, str], now: datetime = NOW) -> dict[str, int]:
    """Write notes, sync, and return {question: card id}."""
    write_notes(vault, files)
    sync_vault(conn, vault, now)
    return {q: i for i, q in conn.execute("SELECT id, question FROM card WHERE retired = 0")}


def card_row(conn: sqlite3.Connection, card_id: int) -> tuple[Any, ...]:
    return tuple(conn.execute("SELECT * FROM card WHERE id = ?", (card_id,)).fetchone())


def test_grade_commits_review_row_and_undo_restores_exactly(conn: sqlite3.Connection, vault: Path) -> None:
    ids = sync(conn, vault, {"a.md": "Q: one?\nA: 1\n"})
    cid = ids["one?"]
    set_card(conn, cid, state="review", stability=4.5, difficulty=6.25, due=NOW - timedelta(days=1),
             last_review=NOW - timedelta(days=5), reps=3, lapses=1)  # fmt: skip
    before = card_row(conn, cid)
    res = grade_card(conn, make_scheduler(CFG), cid, 3, NOW, duration_ms=4200)
    row = conn.execute(
        "SELECT card_id, rating, reviewed_at, duration_ms, state_before, state_after, stability_after, "
        'difficulty_after, due_after, "before" FROM review'
    ).fetchone()
    assert row[:6] == (cid, 3, dt_to_db(NOW), 4200, "review", "review")
    assert row[6] == res.after.stability and row[8] == dt_to_db(res.after.due)
    snap = json.loads(row[9])
    assert snap["stability"] == 4.5 and snap["reps"] == 3 and snap["due"] == dt_to_db(NOW - timedelta(days=1))
    assert card_row(conn, cid) != before
    assert conn.execute("SELECT reps, lapses FROM card WHERE id = ?", (cid,)).fetchone() == (4, 1)

    undo_review(conn, res.review_id, NOW)
    assert card_row(conn, cid) == before
    assert conn.execute("SELECT count(*) FROM review").fetchone()[0] == 0


def test_leech_is_tagged_and_suspended_and_undo_removes_both(conn: sqlite3.Connection, vault: Path) -> None:
    ids = sync(conn, vault, {"a.md": "Q: hard?\nA: yes\n"})
    cid = ids["hard?"]
    set_card(conn, cid, state="review", stability=1.0, difficulty=9.0, due=NOW, last_review=NOW - timedelta(days=1),
             reps=20, lapses=7)  # fmt: skip
    before = card_row(conn, cid)
    res = grade_card(conn, make_scheduler(CFG), cid, 1, NOW, leech_threshold=8)
    assert res.leech
    assert conn.execute("SELECT suspended, lapses FROM card WHERE id = ?", (cid,)).fetchone() == (1, 8)
    tags = {t for (t,) in conn.execute("SELECT tag FROM card_tag WHERE card_id = ?", (cid,))}
    assert "leech" in tags
    undo_review(conn, res.review_id, NOW)
    assert card_row(conn, cid) == before
    assert not conn.execute("SELECT 1 FROM card_tag WHERE card_id = ? AND tag = 'leech'", (cid,)).fetchone()


def test_day_boundary_is_4am_local_time(conn: sqlite3.Connection, vault: Path) -> None:
    ids = sync(conn, vault, {"a.md": "Q: early?\nA: 1\n\nQ: late?\nA: 2\n"})
    # Day 2026-11-22 (LA) runs until 2026-11-23 04:00 local = 12:00 UTC.
    set_card(conn, ids["early?"], state="review", stability=3.0, difficulty=5.0,
             due=local(2026, 11, 23, 3, 30), last_review=local(2026, 11, 20, 9))  # fmt: skip
    set_card(conn, ids["late?"], state="review", stability=3.0, difficulty=5.0,
             due=local(2026, 11, 23, 4, 30), last_review=local(2026, 11, 20, 9))  # fmt: skip
    evening = local(2026, 11, 22, 20)
    q = todays_queue(conn, CFG, CLOCK, evening)
    assert [it.id for it in q.main] == [ids["early?"]]
    # 03:59 the next morning is still 2026-11-22's review day ...
    assert [it.id for it in todays_queue(conn, CFG, CLOCK, local(2026, 11, 23, 3, 59)).main] == [
        ids["early?"]
    ]
    # ... and at 04:00 the new day includes the later card too.
    got = {it.id for it in todays_queue(conn, CFG, CLOCK, local(2026, 11, 23, 4, 0)).main}
    assert got == {ids["early?"], ids["late?"]}


def test_new_limit_counts_cards_introduced_today(conn: sqlite3.Connection, vault: Path) -> None:
    text = "\n\n".join(f"Q: q{i}?\nA: {i}" for i in range(6)) + "\n"
    ids = sync(conn, vault, {"a.md": text})
    cfg = ScheduleConfig(enable_fuzzing=False, new_per_day=4)
    sched = make_scheduler(cfg)
    # Introduced at 03:30 local: the previous review day, so it does not count today.
    grade_card(conn, sched, ids["q0?"], 3, local(2026, 11, 22, 3, 30))
    # Introduced today at 07:00, then reviewed again: counts once.
    grade_card(conn, sched, ids["q1?"], 1, local(2026, 11, 22, 7))
    grade_card(conn, sched, ids["q1?"], 3, local(2026, 11, 22, 7, 5))
    q = todays_queue(conn, cfg, CLOCK, NOW)
    assert q.count("new") == 3  # 4 - 1 introduced today
    assert q.held_new == 1
    assert q.count("new") == len([it for it in q.main if it.state == "new"])
    # --new N replaces the daily allowance for a session.
    assert todays_queue(conn, cfg, CLOCK, NOW, new_limit=1).count("new") == 1


def test_queue_skips_suspended_buried_retired_and_filters(conn: sqlite3.Connection, vault: Path) -> None:
    ids = sync(
        conn,
        vault,
        {
            "01-gpu/a.md": "Q: susp?\nA: 1\n\nQ: buried?\nA: 2\n\nQ: fine? #hot\nA: 3\n\nQ: gone?\nA: 4\n",
            "02-db/b.md": "Q: other?\nA: 5\n",
        },
    )
    set_card(conn, ids["susp?"], suspended=1)
    set_card(conn, ids["buried?"], buried_until=CLOCK.day_end(CLOCK.today(NOW)))
    sync(conn, vault, {"01-gpu/a.md": "Q: susp?\nA: 1\n\nQ: buried?\nA: 2\n\nQ: fine? #hot\nA: 3\n"})
    got = {it.id for it in todays_queue(conn, CFG, CLOCK, NOW).main}
    assert got == {ids["fine? #hot"], ids["other?"]}
    assert {it.id for it in todays_queue(conn, CFG, CLOCK, NOW, CardFilter(domains=("db",))).main} == {
        ids["other?"]
    }
    assert {it.id for it in todays_queue(conn, CFG, CLOCK, NOW, CardFilter(tags=("hot",))).main} == {
        ids["fine? #hot"]
    }
    by_glob = todays_queue(conn, CFG, CLOCK, NOW, CardFilter(note_globs=("01-*",))).main
    assert {it.id for it in by_glob} == {ids["fine? #hot"]}
    # The next morning the buried card is back.
    tomorrow = NOW + timedelta(days=1)
    assert ids["buried?"] in {it.id for it in todays_queue(conn, CFG, CLOCK, tomorrow).main}


def test_review_streak_counts_consecutive_review_days(conn: sqlite3.Connection, vault: Path) -> None:
    ids = sync(conn, vault, {"a.md": "Q: s?\nA: 1\n"})
    cid = ids["s?"]
    sched = make_scheduler(CFG)
    assert review_streak(conn, CLOCK, NOW).current == 0
    # 2026-11-20 and 2026-11-21 (the latter at 02:00 on the 22nd, before the rollover).
    grade_card(conn, sched, cid, 3, local(2026, 11, 20, 12))
    grade_card(conn, sched, cid, 3, local(2026, 11, 22, 2))
    # Nothing yet today: a streak ending yesterday still counts.
    assert review_streak(conn, CLOCK, NOW).current == 2
    grade_card(conn, sched, cid, 3, NOW)
    assert review_streak(conn, CLOCK, NOW).current == 3
    # Two days later with no reviews in between: broken.
    assert review_streak(conn, CLOCK, NOW + timedelta(days=2)).current == 0


def test_due_summary_counts_by_domain_and_next_due(conn: sqlite3.Connection, vault: Path) -> None:
    ids = sync(
        conn,
        vault,
        {
            "01-gpu/a.md": "Q: now?\nA: 1\n\nQ: tonight?\nA: 2\n\nQ: later?\nA: 3\n",
            "02-db/b.md": "Q: new?\nA: 4\n",
        },
    )
    common = {"state": "review", "stability": 3.0, "difficulty": 5.0, "last_review": NOW - timedelta(days=3)}
    set_card(conn, ids["now?"], due=NOW - timedelta(hours=2), **common)
    set_card(conn, ids["tonight?"], due=local(2026, 11, 22, 22), **common)
    set_card(conn, ids["later?"], due=local(2026, 11, 25, 9), **common)
    s = due_summary(conn, CFG, CLOCK, NOW)
    # A review card is due on its review day: "tonight?" (22:00 today) is shown now, as
    # `review` shows it, so it is due now and not the next card.
    assert (s.due_now, s.due_today, s.new_available) == (2, 2, 1)
    assert {d.domain: (d.due_now, d.due_today, d.new) for d in s.domains} == {
        "gpu": (2, 2, 0),
        "db": (0, 0, 1),
    }
    # "later?" (09:00 on the 25th) comes at the start of that review day.
    assert s.next_due == local(2026, 11, 25, 4)
    # Filtered to the db domain: nothing scheduled there.
    assert due_summary(conn, CFG, CLOCK, NOW, CardFilter(domains=("db",))).next_due is None


# -- the scripting commands -------------------------------------------------------------------


def test_suspend_unsuspend_bury_reset_commands(run: Cli, notes, isolated_user_dirs: Path) -> None:  # type: ignore[no-untyped-def]
    (isolated_user_dirs / "config.toml").write_text('[schedule]\ntimezone = "America/Los_Angeles"\n')
    notes({"a.md": "Q: one?\nA: 1\n\nQ: two?\nA: 2\n"})
    run("sync")
    ids = sorted(c["id"] for c in run.json("cards"))  # type: ignore[union-attr]
    env = {"MLSYS_SRS_NOW": "2026-11-22T16:00:00+00:00"}  # 08:00 in Los Angeles
    out = run.json("suspend", *map(str, ids), env=env)
    assert [c["suspended"] for c in out] == [True, True]  # type: ignore[union-attr]
    assert run.json("due", env=env)["new_available"] == 0  # type: ignore[index]
    assert "unsuspended 1 card: " in run("unsuspend", str(ids[0])).stdout
    assert [c["suspended"] for c in run.json("cards")] == [False, True]  # type: ignore[union-attr]
    assert run.json("due", env=env)["new_available"] == 1  # type: ignore[index]
    buried = run.json("bury", str(ids[0]), env=env)
    # Until the next review day starts: 04:00 in Los Angeles, 12:00 UTC.
    assert buried[0]["buried_until"] == "2026-11-23T12:00:00.000000+00:00"  # type: ignore[index]
    assert run.json("due", env=env)["new_available"] == 0  # type: ignore[index]
    assert run.json("due", env=env)["next_due"] is None  # type: ignore[index]
    # Still buried at 03:59 the next morning, back at 04:00.
    assert run.json("due", env={"MLSYS_SRS_NOW": "2026-11-23T11:59:00+00:00"})["new_available"] == 0  # type: ignore[index]
    assert run.json("due", env={"MLSYS_SRS_NOW": "2026-11-23T12:00:00+00:00"})["new_available"] == 1  # type: ignore[index]
    db = sqlite3.connect(run.db)
    set_card(db, ids[1], state="review", stability=2, difficulty=5, reps=4, lapses=1,
             due=datetime(2026, 11, 25, tzinfo=UTC), buried_until=datetime(2026, 11, 23, 12, tzinfo=UTC))  # fmt: skip
    db.commit()
    (reset,) = run.json("reset", str(ids[1]))  # type: ignore[misc]
    assert {k: reset[k] for k in SCHEDULE_COLUMNS} == {
        "state": "new", "step": None, "stability": None, "difficulty": None, "due": None,
        "last_review": None, "reps": 0, "lapses": 0, "buried_until": None,
        "suspended": True,  # suspension is kept
    }  # fmt: skip


def test_unknown_card_id_changes_nothing(run: Cli, notes) -> None:  # type: ignore[no-untyped-def]
    notes({"a.md": "Q: one?\nA: 1\n"})
    run("sync")
    (card,) = run.json("cards")  # type: ignore[misc]
    result = run("suspend", str(card["id"]), "999", code=1)
    assert "999" in result.stderr
    assert run.json("cards")[0]["suspended"] is False  # type: ignore[index]


def test_due_json_and_text(run: Cli, notes, isolated_user_dirs: Path) -> None:  # type: ignore[no-untyped-def]
    (isolated_user_dirs / "config.toml").write_text(
        '[schedule]\ntimezone = "America/Los_Angeles"\nnew_per_day = 2\n'
    )
    notes({"03-databases/a.md": "Q: a?\nA: 1\n\nQ: b?\nA: 2\n\nQ: c?\nA: 3\n"})
    run("sync")
    env = {"MLSYS_SRS_NOW": "2026-11-22T16:00:00+00:00"}
    data = run.json("due", env=env)
    assert data["new_available"] == 2 and data["new_held_back"] == 1  # type: ignore[index]
    assert data["today"] == "2026-11-22"  # type: ignore[index]
    assert data["domains"] == [{"domain": "databases", "due_now": 0, "due_today": 0, "new": 2}]  # type: ignore[index]
    # The held-back new card becomes available at the next 04:00 in Los Angeles.
    assert data["next_due"] == "2026-11-23T12:00:00.000000+00:00"  # type: ignore[index]
    text = run("due", env=env).stdout
    assert "0 due now" in text and "2 new" in text and "databases" in text
