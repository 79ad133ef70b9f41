"""Statistics over hand-written review histories: a fixed clock in Los Angeles, rollover at 4 am."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import fsrs
import pytest
from fsrs.scheduler import DEFAULT_PARAMETERS

from mlsys_srs.config import ScheduleConfig
from mlsys_srs.insights.stats import Stats, compute_stats
from mlsys_srs.insights.streaks import compute_streak, review_streak
from mlsys_srs.insights.weakness import Retention, retention_windows, weakness_score
from mlsys_srs.scheduling.memory import ForgettingCurve
from mlsys_srs.store.filters import CardFilter

from .stats_history import CLOCK, History, inline_cards, local

NOW = local(2026, 3, 15, 12)  # a Sunday, one week after DST began (2026-03-08)
Notes = Callable[[dict[str, str]], None]


@pytest.fixture
def history(run, notes: Notes, db_path: Path) -> Iterator[History]:  # type: ignore[no-untyped-def]
    """A synced vault with 12 cards in each of the domains ml, sys and net (empty history)."""
    notes(
        {
            "01-ml/attention.md": inline_cards("ml", 12),
            "02-sys/caches.md": inline_cards("sys", 12),
            "03-net/tcp.md": inline_cards("net", 12),
        }
    )
    run("sync", "-q")
    h = History(db_path, NOW)
    yield h
    h.close()


def stats(h: History, now: datetime = NOW, **kw: object) -> Stats:
    return compute_stats(h.conn, CLOCK, now, **kw)  # type: ignore[arg-type]


# -- the forgetting curve -----------------------------------------------------------


@pytest.mark.parametrize("w20", [None, 0.3])
def test_forgetting_curve_matches_py_fsrs(w20: float | None) -> None:
    params = list(DEFAULT_PARAMETERS)
    if w20 is not None:
        params[20] = w20
    sched = fsrs.Scheduler(parameters=params, enable_fuzzing=False)
    curve = ForgettingCurve.from_parameters(() if w20 is None else params)
    last = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
    for stability in (0.3, 2.5, 40.0, 900.0):
        for elapsed in (0, 0.4, 1, 2.7, 10, 99.9, 365):
            at = last + timedelta(days=elapsed)
            card = fsrs.Card(
                card_id=1,
                state=fsrs.State.Review,
                stability=stability,
                difficulty=5.0,
                due=at,
                last_review=last,
            )
            expected = sched.get_card_retrievability(card, at)
            assert curve.at(at, last, stability) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_forgetting_curve_is_0_9_at_one_stability() -> None:
    # By definition of FSRS stability: R = 90% after S days.
    curve = ForgettingCurve.from_parameters()
    assert curve.retrievability(17, 17.0) == pytest.approx(0.9)


# -- today --------------------------------------------------------------------------


def test_today_counts_reviews_after_the_rollover_only(history: History) -> None:
    a, b, c, d, e, f, g = history.cards("01-ml/attention.md")[:7]
    history.review(a, local(2026, 3, 15, 3, 59), 1, duration_ms=5000)  # still Saturday's review day
    history.review(b, local(2026, 3, 15, 4, 0), 3, duration_ms=8000)
    history.review(c, local(2026, 3, 15, 11, 0), 1, duration_ms=30000)
    history.review(d, local(2026, 3, 15, 11, 5), 3, before="new", after="learning", duration_ms=2000)
    # Due before the next rollover (Monday 4 am) counts as today; later does not.
    history.study(e, stability=5, last_review=local(2026, 3, 10), due=local(2026, 3, 16, 3, 0))
    history.study(f, stability=5, last_review=local(2026, 3, 10), due=local(2026, 3, 16, 4, 0))
    history.study(g, stability=5, last_review=local(2026, 3, 1), due=local(2026, 3, 5), suspended=1)

    s = stats(history, schedule=ScheduleConfig(new_per_day=5))
    t = s.today
    assert t.day == date(2026, 3, 15)
    assert (t.reviewed, t.again, t.time_ms) == (3, 1, 40000)
    assert t.again_rate == pytest.approx(1 / 3)
    assert t.due_left == 1
    # 36 cards, 3 studied (e, f, g): 33 new; 1 new card was started today, limit 5.
    assert t.new_left == 4
    assert t.left == 5


def test_review_limit_caps_what_is_left(history: History) -> None:
    ids = history.cards("02-sys/caches.md")
    for cid in ids[:6]:
        history.study(cid, stability=5, last_review=local(2026, 3, 1), due=local(2026, 3, 14))
    history.review(ids[0], local(2026, 3, 15, 9), 3)
    history.review(ids[1], local(2026, 3, 15, 9), 3)
    s = stats(history, schedule=ScheduleConfig(reviews_per_day=3, new_per_day=0))
    assert s.today.due_left == 1  # 6 due, limit 3, 2 done
    assert s.today.new_left == 0


# -- streaks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_day", "current", "longest", "end"),
    [
        ([1, 1, 0, 1, 1, 1, 0], 3, 3, 5),  # today not studied yet: the run to yesterday stands
        ([1, 1, 0, 1, 1, 1, 2], 4, 4, 6),
        ([1, 1, 1, 0, 0], 0, 3, 2),  # yesterday missed
        ([0, 0, 0], 0, 0, None),
        ([5], 1, 1, 0),
    ],
)
def test_streak_runs(per_day: list[int], current: int, longest: int, end: int | None) -> None:
    first = date(2026, 1, 1)
    s = compute_streak(per_day, first, None, False)
    assert (s.current, s.longest) == (current, longest)
    assert s.longest_end == (None if end is None else first + timedelta(days=end))
    assert s.studied_today == bool(per_day[-1])


def test_streak_across_the_spring_dst_change_and_rollover(history: History) -> None:
    card = history.cards("01-ml/attention.md")[0]
    # Just after the 4 am rollover each day, 2026-03-01 .. 03-14 (DST starts 03-08 at 2 am):
    # in UTC these are 12:10 before the change and 11:10 after it.
    for day in range(1, 15):
        history.review(card, local(2026, 3, day, 4, 10))
    # Just before the rollover on Sunday: still Saturday 03-14's review day.
    history.review(card, local(2026, 3, 15, 3, 50))
    s = stats(history)
    assert s.streak.studied_today is False
    assert s.streak.current == 14
    assert s.streak.longest == 14
    assert s.streak.longest_end == date(2026, 3, 14)
    heat = dict(s.heatmap.days())
    assert heat[date(2026, 3, 14)] == 2
    assert heat[date(2026, 3, 8)] == 1
    assert heat[date(2026, 3, 15)] == 0
    assert s.heatmap.total == 15
    assert s.heatmap.days_studied == 14


def test_streak_across_the_autumn_dst_change(history: History) -> None:
    card = history.cards("01-ml/attention.md")[0]
    now = local(2026, 11, 4, 12)  # DST ended 2026-11-01 at 2 am (1 am happened twice)
    for day in (28, 29, 30, 31):
        history.review(card, local(2026, 10, day, 4, 5))
    for day in (1, 2, 3, 4):
        history.review(card, local(2026, 11, day, 4, 5))
    # 2026-11-01 03:30 (after the repeated hour) still belongs to 10-31.
    history.review(card, local(2026, 11, 1, 3, 30))
    s = stats(history, now=now)
    assert s.streak.studied_today is True
    assert (s.streak.current, s.streak.longest) == (8, 8)
    assert dict(s.heatmap.days())[date(2026, 10, 31)] == 2


def test_a_missed_day_breaks_the_streak(history: History) -> None:
    card = history.cards("01-ml/attention.md")[0]
    for day in (1, 2, 3, 4, 6, 7, 14):
        history.review(card, local(2026, 3, day, 9))
    s = stats(history)
    assert (s.streak.current, s.streak.longest) == (1, 4)
    assert s.streak.longest_end == date(2026, 3, 4)


def _empty_days_history(history: History, *, also_overdue: bool) -> None:
    x, y = history.cards("01-ml/attention.md")[:2]
    # x: reviewed 03-10, next due 03-13; reviewed 03-13, next due 03-20.
    history.review(x, local(2026, 3, 10, 9), due_after=local(2026, 3, 13, 9))
    history.review(x, local(2026, 3, 13, 10), due_after=local(2026, 3, 20, 9))
    if also_overdue:
        # y: reviewed 03-10, due 03-11, never reviewed again: something is due every day since.
        history.review(y, local(2026, 3, 10, 9, 5), due_after=local(2026, 3, 11, 9))


def test_empty_days_break_the_streak_by_default(history: History) -> None:
    _empty_days_history(history, also_overdue=False)
    s = stats(history)
    assert (s.streak.current, s.streak.longest) == (0, 1)


def test_empty_days_keep_the_streak_when_configured(history: History) -> None:
    _empty_days_history(history, also_overdue=False)
    s = stats(history, keep_streak_on_empty_days=True)
    # 03-11, 03-12 and 03-14 had nothing due: neutral. The streak counts review days.
    assert s.streak.current == 2
    assert s.streak.longest == 2
    assert s.streak.longest_end == date(2026, 3, 13)


def test_a_day_with_cards_due_still_breaks_the_streak(history: History) -> None:
    _empty_days_history(history, also_overdue=True)
    s = stats(history, keep_streak_on_empty_days=True)
    assert (s.streak.current, s.streak.longest) == (0, 1)


def test_retired_and_suspended_cards_are_not_due_after_they_leave(history: History) -> None:
    x, y, z = history.cards("01-ml/attention.md")[:3]
    history.review(x, local(2026, 3, 13, 9), due_after=local(2026, 3, 14, 9))
    history.review(y, local(2026, 3, 13, 9), due_after=local(2026, 3, 14, 9))
    history.review(z, local(2026, 3, 13, 9), due_after=local(2026, 3, 14, 9))
    history.set_card(y, suspended=1)
    history.set_card(z, retired=1, retired_at=local(2026, 3, 13, 20))
    assert stats(history, keep_streak_on_empty_days=True).streak.current == 0  # x due 03-14
    assert review_streak(history.conn, CLOCK, NOW, keep_streak_on_empty_days=True).current == 0
    history.set_card(x, retired=1, retired_at=local(2026, 3, 13, 21))
    assert stats(history, keep_streak_on_empty_days=True).streak.current == 1
    # The end of a session reads the same spans from the database: the same streak.
    assert review_streak(history.conn, CLOCK, NOW, keep_streak_on_empty_days=True).current == 1


# -- retention ----------------------------------------------------------------------


def test_true_retention_per_window_and_domain(history: History) -> None:
    ml = history.cards("01-ml/attention.md")
    net = history.cards("03-net/tcp.md")
    for cid, rating in zip(ml, (3, 3, 1, 4), strict=False):
        history.review(cid, local(2026, 3, 14, 9), rating)
    history.review(ml[5], local(2026, 3, 1, 9), 1)  # 14 days ago
    history.review(ml[6], local(2026, 3, 1, 9), 1)
    for cid in ml[7:11]:
        history.review(cid, local(2025, 6, 1, 9), 3)
    history.review(ml[0], local(2026, 3, 14, 10), 1, before="learning")  # not a review-state answer
    history.review(ml[0], local(2024, 1, 1, 10), 1)  # older than a year
    history.review(net[0], local(2026, 3, 14, 9), 1)
    history.review(net[1], local(2026, 3, 14, 9), 3)
    # The 7-day window starts at the rollover of 03-09.
    history.review(net[2], local(2026, 3, 9, 4, 0), 3)
    history.review(net[3], local(2026, 3, 9, 3, 59), 3)

    s = stats(history)
    assert [r.days for r in s.retention] == [7, 30, 365]
    assert [(r.passed, r.reviews) for r in s.retention] == [(5, 7), (6, 10), (10, 14)]
    by = {d.domain: d for d in s.domains}
    assert [(r.passed, r.reviews) for r in by["ml"].retention] == [(3, 4), (3, 6), (7, 10)]
    assert [(r.passed, r.reviews) for r in by["net"].retention] == [(2, 3), (3, 4), (3, 4)]
    assert [r.reviews for r in by["sys"].retention] == [0, 0, 0]
    assert by["ml"].retention[0].rate == pytest.approx(0.75)


def test_days_sets_the_longest_window(history: History) -> None:
    ml = history.cards("01-ml/attention.md")
    history.review(ml[0], local(2026, 3, 1, 9), 1)
    history.review(ml[1], local(2026, 3, 14, 9), 3)
    assert retention_windows(14) == (7, 14)
    assert retention_windows(7) == (7,)
    assert retention_windows(90) == (7, 30, 90)
    s = stats(history, days=14)
    # 03-01 is outside the 14 days (which start at 03-02).
    assert [(r.days, r.passed, r.reviews) for r in s.retention] == [(7, 1, 1), (14, 1, 1)]
    assert len(s.heatmap.counts) == 14
    assert s.heatmap.first == date(2026, 3, 2)
    assert s.heatmap.total == 1  # 03-01 is before the window


# -- weak domains -------------------------------------------------------------------


def test_weakness_score_formula() -> None:
    # retention* = (6 + 5 * 0.8) / (10 + 5) = 2/3
    r = Retention(days=365, reviews=10, passed=6)
    score = weakness_score(r, 0.8, 1.0, 0.25)
    assert score == pytest.approx(0.4 * (1 / 3) + 0.3 * 0.2 + 0.2 * 0.5 + 0.1 * 0.25)
    assert weakness_score(Retention(days=7), None, None, None) is None
    # No reviews in the window: retention* is mean R itself.
    assert weakness_score(Retention(days=7), 0.9, 0.0, 0.0) == pytest.approx(0.7 * 0.1)


def test_weak_domains_are_ranked_with_their_numbers(history: History) -> None:
    ml = history.cards("01-ml/attention.md")[:4]
    sys_ = history.cards("02-sys/caches.md")[:4]
    net = history.cards("03-net/tcp.md")[:4]
    # ml: weak (low stability, long since review, 3 lapses each, overdue).
    for cid in ml:
        history.study(
            cid, stability=2.0, last_review=local(2026, 3, 5, 9), due=local(2026, 3, 7, 9), lapses=3
        )
    for cid, rating in zip(ml, (1, 1, 3, 1), strict=True):
        history.review(cid, local(2026, 3, 5, 9), rating)
    # sys: middling.
    for cid in sys_:
        history.study(
            cid, stability=10.0, last_review=local(2026, 3, 10, 9), due=local(2026, 3, 20, 9), lapses=1
        )
    for cid, rating in zip(sys_, (3, 1, 3, 3), strict=True):
        history.review(cid, local(2026, 3, 10, 9), rating)
    # net: strong.
    for cid in net:
        history.study(cid, stability=100.0, last_review=local(2026, 3, 14, 9), due=local(2026, 6, 1, 9))
        history.review(cid, local(2026, 3, 14, 9), 3)

    s = stats(history)
    assert [d.domain for d in s.weak_domains] == ["ml", "sys", "net"]
    ml_w = next(d for d in s.domains if d.domain == "ml").weakness
    assert (ml_w.cards, ml_w.studied, ml_w.lapses, ml_w.overdue) == (12, 4, 12, 4)
    assert (ml_w.retention.reviews, ml_w.retention.passed) == (4, 1)
    # R from py-fsrs itself: 10 whole days after the last review at S = 2.
    card = fsrs.Card(
        card_id=1,
        state=fsrs.State.Review,
        stability=2.0,
        difficulty=5.0,
        due=NOW,
        last_review=local(2026, 3, 5, 9),
    )
    r = fsrs.Scheduler().get_card_retrievability(card, NOW)
    assert ml_w.retrievability == pytest.approx(r)
    smoothed = (1 + 5 * r) / (4 + 5)
    assert ml_w.score == pytest.approx(0.4 * (1 - smoothed) + 0.3 * (1 - r) + 0.2 * 3 / 4 + 0.1 * 1.0)
    js = s.as_json()
    assert [d["domain"] for d in js["weak_domains"]] == ["ml", "sys", "net"]
    assert js["weak_domains"][0]["lapses_per_card"] == 3.0
    assert js["weak_domains"][0]["overdue_share"] == 1.0


def test_domain_without_studied_cards_has_no_score(history: History) -> None:
    cid = history.cards("01-ml/attention.md")[0]
    history.study(cid, stability=10.0, last_review=local(2026, 3, 10), due=local(2026, 3, 20))
    s = stats(history)
    assert [d.domain for d in s.weak_domains] == ["ml"]
    assert {d.domain: d.weakness.score for d in s.domains}["sys"] is None


# -- forecast and counts ------------------------------------------------------------


def test_forecast_buckets_by_review_day(history: History) -> None:
    c = history.cards("01-ml/attention.md")
    last = local(2026, 3, 1)
    history.study(c[0], stability=5, last_review=last, due=local(2026, 3, 10))  # overdue
    history.study(c[1], stability=5, last_review=last, due=local(2026, 3, 15, 20))
    history.study(c[2], stability=5, last_review=last, due=local(2026, 3, 16, 3, 59))  # still today
    history.study(c[3], stability=5, last_review=last, due=local(2026, 3, 16, 4, 0))  # tomorrow
    history.study(c[4], stability=5, last_review=last, due=local(2026, 4, 13, 12))  # day 29
    history.study(c[5], stability=5, last_review=last, due=local(2026, 4, 14, 12))  # day 30: beyond
    history.study(c[6], stability=5, last_review=last, due=local(2026, 3, 16, 9), suspended=1)
    history.study(
        c[7],
        stability=0.1,
        last_review=local(2026, 3, 15, 11),
        due=local(2026, 3, 15, 12, 10),
        state="learning",
    )
    fc = stats(history).forecast
    assert len(fc.counts) == 30
    assert fc.first == date(2026, 3, 15)
    assert fc.overdue == 1
    assert fc.counts[0] == 4
    assert fc.counts[1] == 1
    assert fc.counts[29] == 1
    assert sum(fc.counts) == 6


def test_card_counts_by_state(history: History) -> None:
    c = history.cards("01-ml/attention.md")
    last = local(2026, 3, 1, 9)
    history.study(c[0], stability=30, last_review=last, due=last + timedelta(days=21))  # mature
    history.study(c[1], stability=30, last_review=last, due=last + timedelta(days=21, seconds=-1))  # young
    history.study(c[2], stability=2, last_review=last, due=last + timedelta(days=2))  # young
    history.study(c[3], stability=1, last_review=last, due=last + timedelta(minutes=10), state="learning")
    history.study(c[4], stability=1, last_review=last, due=last + timedelta(minutes=10), state="relearning")
    history.study(c[5], stability=30, last_review=last, due=last + timedelta(days=40), suspended=1)
    history.set_card(c[6], retired=1)
    history.set_card(c[7], suspended=1, retired=1)
    n = stats(history).counts
    assert (n.mature, n.young, n.learning, n.suspended, n.retired) == (1, 2, 2, 1, 2)
    assert n.new == 36 - 8
    assert n.total == 36


# -- leeches and lapses -------------------------------------------------------------


def test_leeches_and_most_lapsed(history: History) -> None:
    ml = history.cards("01-ml/attention.md")
    sys_ = history.cards("02-sys/caches.md")
    last = local(2026, 3, 1)
    history.study(ml[2], stability=1, last_review=last, due=last, lapses=9, suspended=1)
    history.tag(ml[2], "leech")
    history.study(ml[3], stability=1, last_review=last, due=last, lapses=8)  # tagged, then unsuspended
    history.tag(ml[3], "leech")
    history.study(sys_[0], stability=1, last_review=last, due=last, lapses=8, suspended=1)
    history.tag(sys_[0], "leech")
    history.study(sys_[1], stability=1, last_review=last, due=last, lapses=20, retired=1)  # retired: gone
    for i, cid in enumerate(sys_[2:12]):
        history.study(cid, stability=1, last_review=last, due=last, lapses=1 + i % 3)
    s = stats(history)
    assert [(c.note, c.line, c.lapses) for c in s.leeches] == [
        ("01-ml/attention.md", 5, 9),
        ("02-sys/caches.md", 3, 8),
    ]
    assert len(s.most_lapsed) == 10
    assert [c.lapses for c in s.most_lapsed][:3] == [9, 8, 8]
    assert [c.lapses for c in s.most_lapsed] == sorted((c.lapses for c in s.most_lapsed), reverse=True)
    assert s.most_lapsed[1].note == "01-ml/attention.md"  # ties by path, then line
    assert s.most_lapsed[1].line == 6


# -- scope --------------------------------------------------------------------------


def test_domain_filter_limits_every_figure(history: History) -> None:
    ml = history.cards("01-ml/attention.md")
    net = history.cards("03-net/tcp.md")
    history.review(ml[0], local(2026, 3, 14, 9), 1)
    history.review(net[0], local(2026, 3, 14, 9), 3)
    history.review(net[0], local(2026, 3, 15, 9), 3)
    s = stats(history, flt=CardFilter(domains=("net",)))
    assert [d.domain for d in s.domains] == ["net"]
    assert (s.retention[0].passed, s.retention[0].reviews) == (2, 2)
    assert s.today.reviewed == 1
    assert s.counts.total == 12
    assert s.scope["domains"] == ["net"]


def test_stats_command_json(run, notes: Notes, db_path: Path, vault: Path) -> None:  # type: ignore[no-untyped-def]
    Path(os.environ["MLSYS_SRS_CONFIG"]).write_text(
        '[schedule]\ntimezone = "America/Los_Angeles"\nrollover_hour = 4\nnew_per_day = 3\n', encoding="utf-8"
    )
    notes({"01-ml/a.md": inline_cards("ml", 3), "02-sys/b.md": inline_cards("sys", 3)})
    (vault / "decks").mkdir()
    (vault / "decks" / "systems.toml").write_text('domains = ["sys"]\n', encoding="utf-8")
    run("sync", "-q")
    h = History(db_path, NOW)
    sys_card = h.cards("02-sys/b.md")[0]
    h.review(sys_card, local(2026, 3, 15, 3, 30), 1)  # yesterday in Los Angeles
    h.review(sys_card, local(2026, 3, 15, 5), 3, duration_ms=61000)
    h.close()
    env = {"MLSYS_SRS_NOW": NOW.isoformat()}
    data = run.json("stats", env=env)
    assert isinstance(data, dict)
    assert data["today"]["day"] == "2026-03-15"
    assert data["today"]["reviewed"] == 1
    assert data["today"]["time_ms"] == 61000
    assert data["today"]["new_left"] == 3
    assert data["streak"]["current"] == 2
    assert data["heatmap"]["days"] == {"2026-03-14": 1, "2026-03-15": 1}
    assert len(data["forecast"]["days"]) == 30
    assert data["counts"]["new"] == 6
    assert [r["days"] for r in data["retention"]] == [7, 30, 365]
    assert data["retention"][0] == {"days": 7, "reviews": 2, "passed": 1, "rate": 0.5, "answers": 2}
    for key in ("weak_domains", "leeches", "most_lapsed", "domains", "scope"):
        assert key in data
    deck = run.json("stats", "--deck", "systems", "--days", "30", env=env)
    assert isinstance(deck, dict)
    assert deck["scope"]["deck"] == "systems"
    assert deck["counts"]["total"] == 3
    assert [r["days"] for r in deck["retention"]] == [7, 30]
    assert len(deck["heatmap"]["days"]) == 2
    only_ml = run.json("stats", "--domain", "ml", env=env)
    assert isinstance(only_ml, dict)
    assert only_ml["today"]["reviewed"] == 0
    assert json.dumps(only_ml)  # plain data throughout


def test_stats_help_documents_the_weakness_score(run) -> None:  # type: ignore[no-untyped-def]
    out = run("stats", "--help").stdout
    assert "0.4" in out and "retention" in out and "overdue share" in out
    assert "--domain" in out and "--deck" in out and "--days" in out and "--json" in out
