"""The scheduling rules of ``memory``: review days, due dates at day starts, seeded fuzz, replay.

Every stored state is checked against py-fsrs itself, called on a plain timeline
where the days between two reviews are the review days between them (the
convention of Anki and fsrs-rs): that is the oracle.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import fsrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsys_srs.config import ScheduleConfig
from mlsys_srs.history.grading import grade_card
from mlsys_srs.review.session import Session
from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.scheduling.memory import (
    FUZZ_RANGES,
    CardSchedule,
    CardScheduler,
    ResetEvent,
    ReviewEvent,
    SeedEvent,
    full_parameters,
    fuzz_range,
    replay,
    replay_steps,
)
from mlsys_srs.scheduling.queue import todays_queue
from mlsys_srs.store import events as event_store
from mlsys_srs.store import open_db
from mlsys_srs.store.cards import load_card
from mlsys_srs.sync import sync_vault

from .conftest import set_card, write_notes

LA = ZoneInfo("America/Los_Angeles")
CLOCK = DayClock(LA, 4)
CFG = ScheduleConfig(timezone="America/Los_Angeles")  # fuzz on: the shipped default
PLAIN = fsrs.Scheduler(enable_fuzzing=False)
T0 = datetime(2000, 1, 1, 12, tzinfo=UTC)


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LA).astimezone(UTC)


def oracle(before: CardSchedule, rating: int, now: datetime) -> tuple[fsrs.Card, timedelta]:
    """py-fsrs on a plain timeline: the last review at T0, this one ``n`` review days later."""
    if before.state == "new":
        card = fsrs.Card(card_id=1, state=fsrs.State.Learning, step=0, due=T0)
        at = T0
    else:
        n = (CLOCK.day_of(now) - CLOCK.day_of(before.last_review)).days if before.last_review else 0
        state = {
            "learning": fsrs.State.Learning,
            "review": fsrs.State.Review,
            "relearning": fsrs.State.Relearning,
        }
        card = fsrs.Card(
            card_id=1,
            state=state[before.state],
            step=before.step,
            stability=before.stability,
            difficulty=before.difficulty,
            due=T0,
            last_review=T0,
        )
        at = T0 + timedelta(days=max(0, n), hours=3)
    after, _ = PLAIN.review_card(card, fsrs.Rating(rating), at)
    return after, after.due - at


def check_against_oracle(before: CardSchedule, after: CardSchedule, rating: int, now: datetime) -> None:
    expected, interval = oracle(before, rating, now)
    assert after.state == {1: "learning", 2: "review", 3: "relearning"}[int(expected.state)]
    assert after.step == expected.step
    assert after.stability == pytest.approx(expected.stability, rel=1e-12)
    assert after.difficulty == pytest.approx(expected.difficulty, rel=1e-12)
    assert after.last_review == now and after.reps == before.reps + 1
    assert after.due is not None
    if after.state == "review":
        days = interval.days
        lo, hi = fuzz_range(days, CFG.maximum_interval) if days >= 3 else (days, days)
        got = (CLOCK.day_of(after.due) - CLOCK.day_of(now)).days
        assert lo <= got <= hi
        # The start of that review day: 04:00 local, across DST changes too.
        assert after.due == CLOCK.day_start(CLOCK.day_of(after.due))
        assert after.due.astimezone(LA).hour == 4
    else:
        assert after.due == now + interval


def test_fuzz_bands_are_py_fsrs_bands() -> None:
    from fsrs.scheduler import FUZZ_RANGES as PY_FSRS

    assert [(r["start"], r["end"], r["factor"]) for r in PY_FSRS] == list(FUZZ_RANGES)


def test_fsrs5_weights_become_fsrs6_as_anki_converts() -> None:
    w19 = tuple(fsrs.scheduler.DEFAULT_PARAMETERS[:19])
    assert full_parameters(w19) == (*w19, 0.0, 0.5)
    assert len(full_parameters(w19[:17])) == 21
    assert full_parameters(()) == ()
    with pytest.raises(ValueError):
        full_parameters((1.0,) * 20)
    sched = CardScheduler(ScheduleConfig(parameters=w19, timezone="America/Los_Angeles"))
    assert sched.parameters[19:] == (0.0, 0.5)


def test_next_morning_earlier_than_last_time_is_a_new_review_day() -> None:
    sched = CardScheduler(CFG)
    s = CardSchedule(state="review", stability=5.0, difficulty=5.0, due=local(2026, 5, 2, 4),
                     last_review=local(2026, 5, 1, 22), reps=3)  # fmt: skip
    after = sched.grade("card", s, 3, local(2026, 5, 2, 8))  # 10 hours later, the next review day
    check_against_oracle(s, after, 3, local(2026, 5, 2, 8))
    same_day = sched.grade("card", s, 3, local(2026, 5, 2, 3))  # 5 hours later, before 04:00
    assert same_day.stability is not None and after.stability is not None
    assert same_day.stability < after.stability  # the short-term formula


def test_one_day_interval_after_dst_fall_back_is_the_next_review_day() -> None:
    # 2026-11-01: clocks go back at 02:00 in Los Angeles, so review day Oct 31 has 25 hours:
    # 24 hours after 04:30 on Oct 31 is 03:30 on Nov 1, still review day Oct 31.
    sched = CardScheduler(ScheduleConfig(timezone="America/Los_Angeles", enable_fuzzing=False))
    now = local(2026, 10, 31, 4, 30)
    s = CardSchedule(
        state="review", stability=0.1, difficulty=9.0, due=now, last_review=local(2026, 10, 30, 5), reps=2
    )
    after = sched.grade("c", s, 3, now)
    assert after.state == "review" and after.due == local(2026, 11, 1, 4)
    assert CLOCK.day_of(after.due) == CLOCK.day_of(now) + timedelta(days=1)
    assert CLOCK.day_of(now + timedelta(days=1)) == CLOCK.day_of(now)  # what 24 hours would have given


ratings = st.integers(1, 4)
gaps = st.one_of(
    st.timedeltas(timedelta(0), timedelta(minutes=30)),
    st.timedeltas(timedelta(0), timedelta(hours=30)),
    st.timedeltas(timedelta(0), timedelta(days=90)),
)
starts = st.sampled_from(
    [local(2026, 3, 7, 20), local(2026, 10, 31, 23), local(2026, 6, 1, 3, 50), local(2026, 1, 5, 12)]
)


@settings(max_examples=60, deadline=None)
@given(
    start=starts, steps=st.lists(st.tuples(gaps, ratings), min_size=1, max_size=25), uid=st.text(min_size=1)
)
def test_every_grade_matches_py_fsrs_on_review_days(
    start: datetime, steps: list[tuple[timedelta, int]], uid: str
) -> None:
    sched = CardScheduler(CFG)
    s, t = CardSchedule(), start
    for gap, rating in steps:
        t += gap
        previews = sched.preview(uid, s, t)
        after = sched.grade(uid, s, rating, t)
        assert previews[rating] == after  # what the screen shows is what the grade stores
        check_against_oracle(s, after, rating, t)
        s = after
    # Replaying the history gives the same schedule.
    history = []
    t = start
    for gap, rating in steps:
        t += gap
        history.append(ReviewEvent(rating, t))
    assert replay(uid, history, sched) == s


@settings(max_examples=40, deadline=None)
@given(
    stability=st.floats(0.1, 3000),
    difficulty=st.floats(1, 10),
    elapsed=st.timedeltas(timedelta(0), timedelta(days=400)),
    reps=st.integers(1, 50),
    uid=st.text(min_size=1, max_size=12),
    state=st.sampled_from(["review", "learning", "relearning"]),
)
def test_preview_equals_the_due_date_the_grade_gives(
    stability: float, difficulty: float, elapsed: timedelta, reps: int, uid: str, state: str
) -> None:
    sched = CardScheduler(CFG)
    last = local(2026, 2, 1, 9)
    s = CardSchedule(state=state, step=None if state == "review" else 0, stability=stability,
                     difficulty=difficulty, due=last, last_review=last, reps=reps)  # fmt: skip
    now = last + elapsed
    shown = sched.intervals(uid, s, now)
    for rating in (1, 2, 3, 4):
        after = sched.grade(uid, s, rating, now)
        assert after.due is not None
        if after.state == "review":
            assert after.due == CLOCK.day_start(CLOCK.day_of(now) + shown[rating])
        else:
            assert after.due == now + shown[rating]


def test_fuzz_is_seeded_by_uid_and_reps() -> None:
    sched = CardScheduler(CFG)
    s = CardSchedule(state="review", stability=40.0, difficulty=5.0, due=local(2026, 2, 1, 4),
                     last_review=local(2026, 1, 1, 9), reps=5)  # fmt: skip
    now = local(2026, 2, 10, 9)
    days = {sched.grade(f"card-{i}", s, 3, now).due for i in range(40)}
    assert len(days) > 3  # spread across cards
    assert sched.grade("card-1", s, 3, now) == sched.grade("card-1", s, 3, now)


def test_replay_resets_and_seeds() -> None:
    sched = CardScheduler(CFG)
    t = local(2026, 1, 1, 9)
    reviews = [
        ReviewEvent(3, t),
        ReviewEvent(3, t + timedelta(minutes=10)),
        ReviewEvent(3, t + timedelta(days=3)),
    ]
    reset = ResetEvent(t + timedelta(days=4))
    again = ReviewEvent(4, t + timedelta(days=5))
    suspended = CardSchedule(suspended=True)
    out = replay("u", [*reviews, reset, again], sched, suspended)
    assert out == replay("u", [again], sched, suspended)
    assert out.suspended and out.reps == 1
    seed = SeedEvent(t, "review", 30.0, 6.0, t + timedelta(days=30), t)
    after_seed = replay("u", [seed, ReviewEvent(3, t + timedelta(days=30))], sched)
    assert after_seed.stability is not None and after_seed.stability > 30.0
    steps = list(replay_steps("u", [seed], sched))
    assert steps[0][1].state == "review" and steps[0][1].stability == 30.0


# -- through the session: what the screen shows is what is stored ---------------------------------


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = open_db(tmp_path / "srs.db", local(2026, 1, 1, 9))
    yield c
    c.close()


def previews(session: Session, now: datetime) -> dict[int, CardSchedule]:
    """What each grade at ``now`` would store for the card on the session's screen."""
    c = session.card
    assert c is not None
    schedule = CardSchedule(c.state, c.step, c.stability, c.difficulty, c.due, c.last_review, c.reps,
                            c.lapses, c.suspended, c.buried_until)  # fmt: skip
    return session.scheduler.preview(c.uid, schedule, now)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=starts,
    steps=st.lists(
        st.tuples(gaps, st.timedeltas(timedelta(0), timedelta(hours=30)), ratings), min_size=1, max_size=12
    ),
)
def test_session_grades_match_their_previews_and_py_fsrs(
    conn: sqlite3.Connection, tmp_path: Path, start: datetime, steps: list[tuple[timedelta, timedelta, int]]
) -> None:
    vault = tmp_path / "v"
    write_notes(vault, {"a.md": "Q: one?\nA: 1\n"})
    sync_vault(conn, vault, start)
    (card_id,) = [r[0] for r in conn.execute("SELECT id FROM card")]
    # A fresh card for each hypothesis example: no history, a new schedule.
    event_store.delete_reviews(conn, [card_id])
    set_card(conn, card_id, state="new", step=None, stability=None, difficulty=None, due=None,
             last_review=None, reps=0, lapses=0, suspended=False, buried_until=None)  # fmt: skip
    t = start
    for late, think, rating in steps:
        view = load_card(conn, card_id)
        assert view is not None
        before = CardSchedule(view.state, view.step, view.stability, view.difficulty, view.due,
                              view.last_review, view.reps, view.lapses)  # fmt: skip
        if view.due is not None:
            t = max(t, view.due) + late  # on time or late
        clock_now = _Now(t)
        session = Session(
            conn, todays_queue(conn, CFG, CLOCK, t), schedule=CFG, review=_review(), clock=CLOCK,
            now=clock_now,
        )  # fmt: skip
        if session.card is None:
            continue  # e.g. a learning card beyond learn-ahead: not shown yet
        session.reveal()
        clock_now.t = t + think  # the grade comes later than the reveal
        if CLOCK.day_of(clock_now.t) != CLOCK.day_of(t):
            clock_now.t = t
        shown = previews(session, clock_now.t)[rating]
        label = session.intervals()[rating]  # what the screen draws now
        session.grade(rating)
        stored = load_card(conn, card_id)
        assert stored is not None
        after = CardSchedule(stored.state, stored.step, stored.stability, stored.difficulty, stored.due,
                             stored.last_review, stored.reps, stored.lapses, stored.suspended,
                             stored.buried_until)  # fmt: skip
        assert after == shown
        assert after.due is not None
        if after.state == "review":
            assert after.due == CLOCK.day_start(CLOCK.day_of(clock_now.t) + label)
        else:
            assert after.due == clock_now.t + label
        check_against_oracle(before, after, rating, clock_now.t)
        t = clock_now.t


class _Now:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


def _review():  # type: ignore[no-untyped-def]
    from mlsys_srs.config import ReviewConfig

    return ReviewConfig(prerequisite_refresh=False)


def test_grade_card_uses_the_cards_uid(conn: sqlite3.Connection, tmp_path: Path) -> None:
    vault = tmp_path / "v"
    write_notes(vault, {"a.md": "Q: one?\nA: 1\n"})
    t = local(2026, 1, 1, 9)
    sync_vault(conn, vault, t)
    (card_id, uid) = conn.execute("SELECT id, uid FROM card").fetchone()
    sched = CardScheduler(CFG)
    seed = CardSchedule(
        state="review", stability=50.0, difficulty=5.0, due=t, last_review=t - timedelta(days=50), reps=4
    )
    set_card(conn, card_id, state="review", stability=50.0, difficulty=5.0, due=seed.due,
             last_review=seed.last_review, reps=4)  # fmt: skip
    res = grade_card(conn, sched, card_id, 3, t)
    assert res.after == sched.grade(uid, seed, 3, t)


# -- the replay path equals the live grade ---------------------------------------------------------

FSRS5 = (0.40255, 1.18385, 3.173, 15.69105, 7.1949, 0.5345, 1.4604, 0.0046, 1.54575, 0.1192, 1.01925,
         1.9395, 0.11, 0.29605, 2.2698, 0.2315, 2.9898, 0.51655, 0.6621)  # fmt: skip
step_lists = st.lists(st.timedeltas(timedelta(minutes=1), timedelta(hours=30)), max_size=3).map(tuple)
odd_starts = st.builds(
    CardSchedule,
    state=st.sampled_from(["learning", "review", "relearning"]),
    step=st.one_of(st.none(), st.integers(0, 4)),
    stability=st.floats(0.001, 5000) | st.floats(0.001, 5000) | st.none(),
    difficulty=st.floats(1, 10) | st.floats(1, 10) | st.none(),
    due=st.just(local(2026, 3, 1, 9)),
    last_review=st.one_of(st.none(), st.sampled_from([local(2026, 3, 1, 9), local(2026, 3, 8, 3, 59)])),
    reps=st.integers(0, 30),
    lapses=st.integers(0, 9),
    suspended=st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(
    learning=step_lists,
    relearning=step_lists,
    params=st.sampled_from([(), FSRS5]),
    retention=st.sampled_from([0.9, 0.8, 0.97]),
    fuzz=st.booleans(),
    tz=st.sampled_from(["", "UTC", "America/Los_Angeles", "Australia/Lord_Howe", "Asia/Kolkata"]),
    rollover=st.sampled_from([0, 4, 23]),
    start=st.one_of(st.just(CardSchedule()), odd_starts),
    t0=starts,
    steps=st.lists(st.tuples(gaps, ratings), min_size=1, max_size=30),
    uid=st.text(min_size=1, max_size=8),
)
def test_a_replayed_grade_is_exactly_the_live_grade(
    learning: tuple[timedelta, ...],
    relearning: tuple[timedelta, ...],
    params: tuple[float, ...],
    retention: float,
    fuzz: bool,
    tz: str,
    rollover: int,
    start: CardSchedule,
    t0: datetime,
    steps: list[tuple[timedelta, int]],
    uid: str,
) -> None:
    cfg = ScheduleConfig(
        learning_steps=learning,
        relearning_steps=relearning,
        parameters=params,
        desired_retention=retention,
        enable_fuzzing=fuzz,
        timezone=tz,
        rollover_hour=rollover,
        maximum_interval=400,
    )
    sched = CardScheduler(cfg)
    s, t = start, t0
    for gap, rating in steps:
        t += gap
        try:
            live = sched.grade(uid, s, rating, t)
        except (AssertionError, TypeError):  # a schedule py-fsrs does not take (review, no memory state)
            with pytest.raises((AssertionError, TypeError)):
                sched.replay_grade(uid, s, rating, t)
            return
        assert sched.replay_grade(uid, s, rating, t) == live  # every field, floats bit for bit
        s = live


def test_a_replayed_grade_is_the_live_grade_in_every_state_step_and_rating() -> None:
    t = local(2026, 3, 8, 9)
    lists = [(), (timedelta(minutes=1),), (timedelta(minutes=1), timedelta(minutes=10)),
             (timedelta(minutes=5), timedelta(hours=1), timedelta(hours=20))]  # fmt: skip
    for steps in lists:
        for fuzz in (False, True):
            sched = CardScheduler(
                ScheduleConfig(learning_steps=steps, relearning_steps=steps, enable_fuzzing=fuzz)
            )
            for state in ("new", "learning", "review", "relearning"):
                for step in (None, 0, 1, 2, 3, 4):
                    for last in (None, t - timedelta(hours=1), t - timedelta(days=1), t - timedelta(days=30)):
                        memory = (None, None) if state == "new" else (4.5, 6.0)
                        s = CardSchedule(state, step, *memory, due=t, last_review=last, reps=3, lapses=1)
                        for rating in (1, 2, 3, 4):
                            assert sched.replay_grade("u", s, rating, t) == sched.grade("u", s, rating, t)


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"])
def test_review_days_in_the_system_zone_are_those_of_the_general_rule(
    tz: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from mlsys_srs.scheduling.days import SystemLocalTime

    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        local = SystemLocalTime()
        for rollover in (0, 4, 23):
            clock = DayClock(local, rollover)
            for start in (datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 10, 3, tzinfo=UTC)):
                for minutes in range(0, 30 * 24 * 60, 7):  # thirty days around a DST change, every 7 minutes
                    t = start + timedelta(minutes=minutes)
                    general = (t.astimezone(local) - timedelta(hours=rollover)).date()
                    assert clock.day_of(t) == general
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_py_fsrs_without_the_formulas_replays_through_grade(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlsys_srs.scheduling import memory

    monkeypatch.setattr(memory, "_FSRS_INTERNALS", (*memory._FSRS_INTERNALS, "_a_formula_py_fsrs_lacks"))
    sched = CardScheduler(CFG)
    calls: list[int] = []
    grade = sched.grade
    monkeypatch.setattr(sched, "grade", lambda *a: calls.append(1) or grade(*a))
    t = local(2026, 1, 1, 9)
    s = CardSchedule()
    for i, rating in enumerate((3, 3, 1, 4)):
        s = sched.replay_grade("u", s, rating, t + timedelta(days=i))
    assert len(calls) == 4
    assert s == replay("u", [ReviewEvent(r, t + timedelta(days=i)) for i, r in enumerate((3, 3, 1, 4))],
                       CardScheduler(CFG))  # fmt: skip
