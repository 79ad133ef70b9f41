"""The figures only charts draw (``compute_stats(charts=True)``, ``stats --json``), on known histories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from mlsys_srs.insights.charts import Charts
from mlsys_srs.insights.stats import compute_stats
from mlsys_srs.scheduling.memory import ForgettingCurve

from .stats_history import CLOCK, History, inline_cards, local

NOW = local(2026, 3, 15, 12)
CURVE = ForgettingCurve.from_parameters()
Notes = Callable[[dict[str, str]], None]


@pytest.fixture
def history(run, notes: Notes, db_path: Path) -> Iterator[History]:  # type: ignore[no-untyped-def]
    """A synced vault with 4 cards in each of the domains ml and sys (empty history)."""
    notes({"01-ml/attention.md": inline_cards("ml", 4), "02-sys/caches.md": inline_cards("sys", 4)})
    run("sync", "-q")
    h = History(db_path, NOW)
    yield h
    h.close()


def charts(h: History, days: int = 28, *, answered: bool = True) -> Charts:
    result = compute_stats(h.conn, CLOCK, NOW, days=days, charts=True, answered=answered)
    assert result.charts is not None
    return result.charts


def test_memorised_sums_recall_from_each_answer_to_the_next(history: History) -> None:
    a, b = history.cards("01-ml/attention.md")[:2]
    history.review(a, local(2026, 3, 1, 10), before="new", stability_after=2.0)
    history.review(a, local(2026, 3, 5, 10), before="review", stability_after=10.0)
    history.review(b, local(2026, 3, 10, 10), before="new", stability_after=4.0)
    c = charts(history)
    assert c.first == local(2026, 2, 16).date()
    day = {c.first + timedelta(days=i): v for i, v in enumerate(c.memorised)}
    assert day[local(2026, 2, 28).date()] == 0
    assert day[local(2026, 3, 1).date()] == pytest.approx(1.0)
    assert day[local(2026, 3, 4).date()] == pytest.approx(CURVE.retrievability(3, 2.0))
    assert day[local(2026, 3, 9).date()] == pytest.approx(CURVE.retrievability(4, 10.0))
    assert day[local(2026, 3, 15).date()] == pytest.approx(
        CURVE.retrievability(10, 10.0) + CURVE.retrievability(5, 4.0)
    )


def test_calibration_bins_predicted_recall_against_passes(history: History) -> None:
    a, b = history.cards("01-ml/attention.md")[:2]
    for card, rating in ((a, 3), (b, 1)):
        history.review(card, local(2026, 3, 1, 10), before="new", stability_after=5.0)
        history.review(card, local(2026, 3, 6, 10), rating, before="review", stability_after=12.0)
    c = compute_stats(history.conn, CLOCK, NOW, days=28)
    p = CURVE.retrievability(5, 5.0)  # review days elapsed, as FSRS counts them
    assert p == pytest.approx(0.9)
    hits = [bin_ for bin_ in c.calibration if bin_.reviews]
    assert len(hits) == 1
    assert hits[0].reviews == 2 and hits[0].passed == 1
    assert hits[0].predicted == pytest.approx(p)
    assert hits[0].actual == 0.5
    assert hits[0].low <= p < hits[0].high or p == hits[0].high == 1.0


def test_retention_by_week_counts_review_answers_per_domain(history: History) -> None:
    ml = history.cards("01-ml/attention.md")
    net = history.cards("02-sys/caches.md")
    history.review(ml[0], local(2026, 3, 14, 10), 3)
    history.review(ml[1], local(2026, 3, 14, 11), 1)
    history.review(ml[2], local(2026, 3, 14, 12), 3, before="learning")  # not a review-state answer
    history.review(net[0], local(2026, 3, 3, 10), 4)
    r = compute_stats(history.conn, CLOCK, NOW, days=28).retention_by_week
    assert r is not None and r.desired == 0.9
    assert len(r.weeks) == 4
    assert r.weeks[-1].end == local(2026, 3, 15).date()
    assert r.weeks[-1].start == local(2026, 3, 9).date()
    assert (r.weeks[-1].reviews, r.weeks[-1].passed) == (2, 1)
    assert (r.weeks[2].reviews, r.weeks[2].passed) == (1, 1)
    by_domain = dict(r.domains)
    assert [w.reviews for w in by_domain["ml"]] == [0, 0, 0, 2]
    assert [w.reviews for w in by_domain["sys"]] == [0, 0, 1, 0]


def test_answer_buttons_time_and_distributions(history: History) -> None:
    a, b, c_, _ = history.cards("01-ml/attention.md")
    history.review(a, local(2026, 3, 14, 10), 1, before="learning", duration_ms=4000)
    history.review(a, local(2026, 3, 14, 11), 3, before="review", duration_ms=6000)
    history.review(b, local(2026, 3, 13, 10), 4, before="new", duration_ms=1000)
    history.study(a, stability=3.0, last_review=local(2026, 3, 14, 11), due=local(2026, 3, 17))
    history.study(b, stability=400.0, last_review=local(2026, 3, 13, 10), due=local(2027, 3, 17))
    history.study(
        c_, stability=30.0, last_review=local(2026, 3, 1, 10), due=local(2026, 3, 30), suspended=True
    )
    c = charts(history)
    buttons = dict(c.answer_buttons)
    assert buttons["learning"] == (1, 0, 0, 0)
    assert buttons["review"] == (0, 0, 1, 0)
    assert buttons["new"] == (0, 0, 0, 1)
    assert c.time_ms[-3:] == (1000, 10000, 0)
    d = c.distributions
    assert d.studied == 2  # the suspended card is not studied
    assert sum(d.stability.counts) == 2
    assert d.stability.counts[2] == 1  # 2-4 days
    assert d.stability.counts[-2] == 1  # 365-730 days
    assert sum(d.recall.counts) == 2 and d.recall.counts[-1] == 2
    assert c.answered[local(2026, 3, 14).date()] == (a,)
    # The cards of each day are the report's alone: stats --json does not gather them.
    assert charts(history, answered=False).answered == {}
    j = c.as_json()
    assert j["distributions"]["stability_days"]["edges"][-1] is None


def test_stats_json_has_the_chart_figures(run, history: History) -> None:  # type: ignore[no-untyped-def]
    import json

    out = json.loads(run("stats", "--json", env={"MLSYS_SRS_NOW": NOW.isoformat()}).output)
    for key in (
        "memorised",
        "time_per_day",
        "answer_buttons",
        "distributions",
        "calibration",
        "retention_by_week",
    ):
        assert key in out
    assert "answered" not in out
    assert out["forecast"]["domains"] == []
