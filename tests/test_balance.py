"""The day chosen inside the fuzz range: Anki's load balancer, easy days, breaks, a plan's window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_srs.config import ScheduleConfig
from mlsys_srs.scheduling.balance import (
    DayContext,
    DayRules,
    Plan,
    choose_day,
    day_weight,
    easy_day_minimums,
    pick_day,
    sibling_factors,
    weighted_index,
)
from mlsys_srs.scheduling.daily_load import Workload
from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.scheduling.fuzz import fuzz_range, fuzzed_days, passing_review_days
from mlsys_srs.scheduling.memory import CardSchedule, CardScheduler, ForgettingCurve

MONDAY = date(2027, 1, 4)
CURVE = ForgettingCurve.from_parameters(())


def ctx(load: dict[int, int] | None = None, **kw: object) -> DayContext:
    """A context on MONDAY with the load given by day offset."""
    loads = {MONDAY + timedelta(days=d): n for d, n in (load or {}).items()}
    return DayContext(MONDAY, loads, **kw)  # type: ignore[arg-type]


# -- Anki's weights ------------------------------------------------------------------------------


def test_a_day_weighs_inverse_count_to_the_2_15_times_inverse_interval_cubed() -> None:
    assert day_weight(10, 4) == pytest.approx((1 / 4) ** 2.15 * (1 / 10) ** 3)
    assert day_weight(3, 1) == pytest.approx(1 / 27)
    assert day_weight(30, 0) == 1.0  # an empty day weighs 1, whatever its interval (as Anki)
    assert day_weight(30, 0, sibling=0.2) == 0.2  # ours: its sibling modifier still applies


def test_sibling_modifiers_are_ankis_worked_example() -> None:
    # load_balancer.rs: days 2 and 8 hold a sibling; the modifiers of days 0-10.
    got = sibling_factors(0, 10, [2, 8])
    want = [0.4, 0.2, 0.000001, 0.2, 0.32, 0.36, 0.32, 0.2, 0.000001, 0.2, 0.4]
    assert got == pytest.approx(want)


def test_the_draw_walks_the_cumulative_weights() -> None:
    assert [weighted_index([1, 1, 2], f) for f in (0.0, 0.24, 0.26, 0.49, 0.51, 0.99)] == [0, 0, 1, 1, 2, 2]
    assert weighted_index([0, 0, 5], 0.0) == 2


def test_a_busy_day_is_rarely_chosen_and_an_empty_one_nearly_always() -> None:
    assert fuzz_range(5.0, 1, 100) == (4, 6)
    c = ctx({4: 40, 5: 0, 6: 40})
    chosen = [choose_day(i / 100, 5.0, 1, 100, c) for i in range(100)]
    assert chosen.count(5) >= 99  # a busy day keeps a weight, tiny but not nothing
    c = ctx({4: 5, 5: 50, 6: 5})
    chosen = [choose_day(i / 100, 5.0, 1, 100, c) for i in range(100)]
    assert chosen.count(5) <= 1
    # Between two equal loads the shorter interval is likelier, by (6/4)^3 = 3.4.
    w4, w5, w6 = day_weight(4, 5), day_weight(5, 50), day_weight(6, 5)
    assert chosen.count(4) == pytest.approx(100 * w4 / (w4 + w5 + w6), abs=1)


def test_a_sibling_day_is_nearly_excluded() -> None:
    sib = frozenset({MONDAY + timedelta(days=5)})
    c = ctx({4: 3, 5: 3, 6: 3}, siblings=sib)
    chosen = {choose_day(i / 200, 5.0, 1, 100, c) for i in range(200)}
    assert chosen == {4, 6}
    off = ctx({4: 3, 5: 3, 6: 3}, siblings=sib, rules=DayRules(siblings=False))
    assert 5 in {choose_day(i / 200, 5.0, 1, 100, off) for i in range(200)}


@settings(max_examples=300, deadline=None)
@given(
    interval=st.floats(1.0, 400.0),
    minimum=st.integers(1, 120),
    fraction=st.floats(0.0, 0.999999),
)
def test_with_nothing_to_balance_exclude_or_cap_the_day_is_the_plain_fuzz_draw(
    interval: float, minimum: int, fraction: float
) -> None:
    plain = ctx(rules=DayRules(balance=False))
    assert choose_day(fraction, interval, minimum, 36500, plain) == fuzzed_days(
        fraction, interval, minimum, 36500
    )
    # Over 90 days (interval or minimum) Anki does not balance: the plain draw, whatever the load.
    if int(interval) > 90 or minimum > 90:
        busy = ctx({d: d % 7 for d in range(400)})
        assert choose_day(fraction, interval, minimum, 36500, busy) == fuzzed_days(
            fraction, interval, minimum, 36500
        )


def test_fuzz_off_means_no_balancing() -> None:
    c = ctx({10: 100})
    assert choose_day(None, 10.0, 1, 100, c) == 10


def test_goods_minimum_is_the_day_chosen_for_hard_plus_one() -> None:
    chosen = []

    def choose(k: int, iv: float, lo: int, hi: int) -> int:
        chosen.append((k, lo))
        return fuzz_range(iv, lo, hi)[1]  # the latest day of each range

    days = passing_review_days([10.0, 11.0, 30.0], 8, 36500, 0.5, choose)
    assert chosen[1][1] == days[0] + 1 and chosen[2][1] == days[1] + 1
    assert days[0] < days[1] < days[2]


# -- easy days -------------------------------------------------------------------------------------


def test_a_reduced_day_is_minimum_when_over_its_share_as_in_anki() -> None:
    # Anki: normalized = count / 0.5 against the other days' cards per unit of load.
    assert easy_day_minimums([1.0, 0.5, 1.0], [4, 2, 4]) == [False, False, False]  # 2/0.5 = 4 <= 8/2
    assert easy_day_minimums([1.0, 0.5, 1.0], [4, 3, 4]) == [False, True, False]  # 6 > 4
    assert easy_day_minimums([1.0, 0.0, 1.0], [9, 0, 9]) == [False, True, False]
    assert easy_day_minimums([0.0, 0.0], [0, 0]) == [True, True]


def test_a_minimum_day_gets_a_card_only_when_no_other_day_of_the_range_can() -> None:
    # 2027-01-10 is a Sunday; range 9-11 holds Wed 13 ... use a range over a Sunday.
    sunday = (date(2027, 1, 10) - MONDAY).days
    rules = DayRules(easy_days=(1, 1, 1, 1, 1, 1, 0.0))
    lo, hi = sunday - 1, sunday + 1
    days = list(range(lo, hi + 1))
    # Empty and minimum: still never chosen (Anki's code would give it full weight).
    c = ctx({lo: 30, sunday: 0, hi: 30}, rules=rules)
    assert {pick_day(days, i / 100, c, 10.0) for i in range(100)} == {lo, hi}
    # A range of only the minimum day: it is chosen.
    assert pick_day([sunday], 0.5, c, 10.0) == sunday


def test_a_break_is_left_out_while_another_day_remains() -> None:
    first = MONDAY + timedelta(days=4)
    rules = DayRules(balance=False, days_off=((first, first + timedelta(days=1)),))
    c = ctx(rules=rules)
    assert {choose_day(i / 50, 5.0, 1, 100, c) for i in range(50)} == {6}
    only = ctx(rules=DayRules(balance=False, days_off=((MONDAY, MONDAY + timedelta(days=400)),)))
    assert choose_day(0.3, 10.0, 1, 100, only) == fuzzed_days(0.3, 10.0, 1, 100)


# -- a plan's window ---------------------------------------------------------------------------------


def plan(by_days: int, target: float = 0.95) -> Plan:
    return Plan(MONDAY + timedelta(days=by_days), target, CURVE.decay, CURVE.factor)


def test_the_plan_window_ends_the_day_before_the_date_and_starts_where_recall_on_it_reaches_the_target() -> (
    None
):
    p = plan(30)
    assert p.window(MONDAY, 1000.0) is None  # recall on the date is enough without a review
    s = 20.0
    assert p.recall(30, s) < 0.95
    lo, hi = p.window(MONDAY, s)  # type: ignore[misc]
    assert hi == 29
    assert p.recall(30 - lo, s) >= 0.95 > p.recall(30 - lo + 1, s)
    assert p.window(MONDAY + timedelta(days=30), s) is None  # the date has come: free again
    assert plan(1).window(MONDAY, 0.5) == (1, 1)  # the day before is tomorrow... and the date


def test_a_plan_narrows_a_range_that_runs_past_the_date() -> None:
    p = plan(20)
    c = ctx(rules=DayRules(balance=False), plan=p)
    s = 15.0
    lo, hi = p.window(MONDAY, s)  # type: ignore[misc]
    for f in (0.0, 0.3, 0.7, 0.99):
        day = choose_day(f, 40.0, 1, 36500, c, s)
        assert lo <= day <= hi
    # A range inside the window is left alone.
    assert choose_day(0.5, 5.0, 1, 36500, c, s) == fuzzed_days(0.5, 5.0, 1, 36500)
    assert choose_day(None, 40.0, 1, 36500, c, s) == hi


# -- through the scheduler -----------------------------------------------------------------------------


T = datetime(2027, 1, 4, 9, tzinfo=UTC)


def review_card(stability: float, days_ago: int, interval: int) -> CardSchedule:
    last = T - timedelta(days=days_ago)
    return CardSchedule("review", None, stability, 5.0, last + timedelta(days=interval), last, 5, 0)


@settings(max_examples=60, deadline=None)
@given(
    stability=st.floats(1.0, 60.0),
    days_ago=st.integers(1, 60),
    load=st.dictionaries(st.integers(1, 99), st.integers(0, 60), max_size=60),
    sibling=st.integers(1, 40),
    easy=st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=7, max_size=7),
    uid=st.text("abcdef0123456789", min_size=4, max_size=8),
)
def test_with_balancing_on_the_preview_is_the_grade(
    stability: float, days_ago: int, load: dict[int, int], sibling: int, easy: list[float], uid: str
) -> None:
    sched = CardScheduler(ScheduleConfig(timezone="UTC", easy_days=tuple(easy)), DayClock(UTC, 4))
    today = sched.clock.today(T)
    sched.workload = Workload(
        DayRules(easy_days=tuple(easy)),
        {today + timedelta(days=d): n for d, n in load.items()},
        siblings=lambda _uid: [today + timedelta(days=sibling)],
    )
    s = review_card(stability, days_ago, days_ago)
    outcomes = sched.outcomes(uid, s, T)
    for rating in (1, 2, 3, 4):
        assert outcomes[rating].schedule == sched.grade(uid, s, rating, T)
    assert outcomes[2].schedule.due <= outcomes[3].schedule.due <= outcomes[4].schedule.due  # type: ignore[operator]
    # A replay of the grade with the day it recorded gives the same schedule, load or no load.
    for rating in (2, 3, 4):
        after = outcomes[rating].schedule
        assert after.due is not None
        recorded = sched.clock.day_of(after.due)
        assert sched.replay_grade(uid, s, rating, T, recorded) == after


def test_a_balanced_grade_avoids_the_busy_day_the_plain_draw_would_choose() -> None:
    sched = CardScheduler(ScheduleConfig(timezone="UTC"), DayClock(UTC, 4))
    s = review_card(10.0, 10, 10)
    plain = sched.grade("card-1", s, 3, T)
    assert plain.due is not None
    busy = sched.clock.day_of(plain.due)
    today = sched.clock.today(T)
    sched.workload = Workload(DayRules(), {busy: 500})
    balanced = sched.grade("card-1", s, 3, T)
    assert balanced.due is not None and sched.clock.day_of(balanced.due) != busy
    assert (balanced.stability, balanced.difficulty) == (plain.stability, plain.difficulty)
    # The workload hears where the card went.
    sched.workload.moved(today, sched.clock.day_of(balanced.due))
    assert sched.workload.load[sched.clock.day_of(balanced.due)] == 1
