"""A date to be ready by: the window rule, the moves that start a plan, new cards, and the guarantee."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

from mlsys_srs.scheduling.balance import DayRules, Plan
from mlsys_srs.scheduling.memory import ForgettingCurve
from mlsys_srs.scheduling.move_rules import MoveCard
from mlsys_srs.scheduling.plan import new_pace, plan_moves, window_days

from .conftest import write_notes
from .test_report import ARTIFACTS, Browser, browser  # noqa: F401  (the browser fixture)
from .test_workload import CURVE, NOTES, Study

C = ForgettingCurve.from_parameters(())
TODAY = date(2027, 1, 4)


def plan(days: int, target: float = 0.95) -> Plan:
    return Plan(TODAY + timedelta(days=days), target, C.decay, C.factor)


def card(cid: int, stability: float, last_ago: int, due_in: int) -> MoveCard:
    return MoveCard(
        cid, f"u{cid}", "d", TODAY + timedelta(days=due_in), TODAY - timedelta(days=last_ago), stability
    )


def test_a_card_that_would_miss_the_target_is_given_the_days_before_the_date_that_reach_it() -> None:
    p = plan(20)
    c = card(1, 30.0, 10, 25)  # due after the date; recall on it 30 days after its review: under 95%
    assert p.recall(30, 30.0) < 0.95
    days = window_days(c, p, TODAY)
    assert days is not None and days[-1] == p.by - timedelta(days=1)
    for d in days:
        assert p.recall((p.by - d).days, 30.0) >= 0.95  # a review that day reaches the target on the date
    assert p.recall((p.by - days[0]).days + 1, 30.0) < 0.95  # and the day before the window does not
    assert window_days(card(2, 3000.0, 10, 25), p, TODAY) is None  # strong enough already
    assert window_days(card(3, 30.0, 10, 5), p, TODAY) is None  # due before the date: its grade plans it
    assert window_days(c, p, p.by) is None  # the date has come


def test_starting_a_plan_levels_the_moved_cards_over_their_windows() -> None:
    p = plan(20)
    cards = [card(i, 30.0, 10, 25 + i % 3) for i in range(12)]
    window = window_days(cards[0], p, TODAY)
    assert window is not None
    load = {d: 5 for d in window}
    load[window[-1]] = 50  # the day before the date is full already
    moved = plan_moves(cards, p, TODAY, load, CURVE, DayRules())
    assert len(moved) == 12
    per_day: dict[date, int] = {}
    for m in moved:
        assert m.after in window
        per_day[m.after] = per_day.get(m.after, 0) + 1
    assert window[-1] not in per_day
    assert max(per_day.values()) - min(per_day.get(d, 0) for d in window[:-1]) <= 1


def test_new_cards_are_paced_to_be_introduced_a_week_before_the_date() -> None:
    assert new_pace(100, TODAY, TODAY + timedelta(days=57)) == (2, TODAY + timedelta(days=50))
    assert new_pace(100, TODAY, TODAY + timedelta(days=8)) == (15, TODAY + timedelta(days=6))
    assert new_pace(0, TODAY, TODAY + timedelta(days=8))[0] == 0


def _recall_on(study: Study, domain: str, by: date, target: float) -> tuple[int, int, int]:
    """Cards of the domain: in all, never answered, and predicted under the target at the start of ``by``."""
    conn = sqlite3.connect(study.db)
    rows = conn.execute(
        "SELECT card.state, card.stability, card.last_review FROM card JOIN note ON note.id = card.note_id "
        "WHERE note.domain = ?",
        (domain,),
    ).fetchall()
    conn.close()
    p = Plan(by, target, C.decay, C.factor)
    new = sum(1 for r in rows if r[0] == "new")
    # Review days start at 04:00 UTC: a review before that belongs to the previous day.
    under = sum(
        1
        for state, s, last in rows
        if state != "new"
        and p.recall((by - (date.fromisoformat(last[:10]) - timedelta(days=last[11:13] < "04"))).days, s)
        < target
    )
    return len(rows), new, under


def test_a_plan_makes_every_card_of_its_selection_reach_the_target_on_the_date(tmp_path: Path) -> None:
    study = Study(tmp_path, config='[schedule]\ntimezone = "UTC"\nnew_per_day = 3\n')
    write_notes(study.vault, NOTES)
    study.run("sync")
    study.days(12, weights=(0, 0, 1, 0))  # some cards learned; most of topic2 still new
    by = study.t.date() + timedelta(days=24)
    dry = study.json("plan", "--domain", "topic2", "--by", by.isoformat(), "--dry-run")
    assert not (study.vault / ".mlsys-srs" / "config.toml").exists()
    out = study.json("plan", "--domain", "topic2", "--by", by.isoformat())
    assert out["at_target_planned"] == 1.0 and out["moved"] == dry["moved"]  # type: ignore[index]
    assert out["new_cards"] > 0 and out["new_per_day"] >= 1  # type: ignore[index]
    cfg = (study.vault / ".mlsys-srs" / "config.toml").read_text()
    assert f'by = "{by}"' in cfg and 'domains = ["topic2"]' in cfg
    shown = study.run("plan")
    assert "ready by" in shown and "topic2" in shown
    assert study.json("due")["plan"]["by"] == by.isoformat()  # type: ignore[index]
    study.run("rebuild", "--check")
    # Every day until the date, every card shown is answered Good.
    study.days(24, weights=(0, 0, 1, 0))
    assert study.t.date() == by
    total, new, under = _recall_on(study, "topic2", by, 0.95)
    assert new == 0 and under == 0, (total, new, under)
    study.run("rebuild", "--check")
    assert "plan ended" in study.run("plan", "--clear")
    assert "[plan]" not in (study.vault / ".mlsys-srs" / "config.toml").read_text()
    assert "no plan" in study.run("plan")


def test_the_report_marks_the_plan_and_the_break_on_the_forecast(tmp_path: Path, browser: Browser) -> None:  # noqa: F811
    study = Study(tmp_path)
    write_notes(study.vault, NOTES)
    study.run("sync")
    study.days(10)
    today = study.t.date()
    study.run("plan", "--domain", "topic1", "--by", (today + timedelta(days=20)).isoformat())
    study.run("break", (today + timedelta(days=5)).isoformat(), (today + timedelta(days=7)).isoformat())
    stats = study.json("stats")
    workload = stats["workload"]  # type: ignore[index]
    assert workload["plan"]["by"] == (today + timedelta(days=20)).isoformat()
    assert workload["breaks"] == [{"from": (today + timedelta(days=5)).isoformat(),
                                   "to": (today + timedelta(days=7)).isoformat()}]  # fmt: skip
    text = study.run("stats")
    assert "plan: topic1 ready by" in text and "break " in text
    page = tmp_path / "report.html"
    study.run("report", "--out", str(page))
    browser.open(page)
    line = browser.page.locator("#backlog-line").inner_text()
    assert "Plan: topic1 ready by" in line and "Break " in line
    shapes = browser.page.locator("#chart-forecast .shapelayer path").count()
    assert shapes >= 2  # the break shaded, the date marked
    browser.page.screenshot(path=str(ARTIFACTS / "report-forecast-plan-break-1280x800.png"))
    assert browser.clean()
