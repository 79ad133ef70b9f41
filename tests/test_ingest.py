"""Answers given away from the database (the web page offline) are taken once each, at their own
time; one older than an answer given elsewhere is replayed in time order, both answers kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlsys_srs.app.remote import take_answers
from mlsys_srs.app.study import grade
from mlsys_srs.app.syncing import sync
from mlsys_srs.app.workspace import Workspace
from mlsys_srs.core.identity import event_id
from mlsys_srs.history.ingest import Answer
from mlsys_srs.store.cards import load_card

from .conftest import write_notes

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    vault = tmp_path / "v"
    write_notes(vault, {"a.md": "# A\n\nQ: one?\nA: 1\n\nQ: two?\nA: 2\n"})
    w = Workspace.open(vault=vault, db=tmp_path / "srs.db", clock=Clock(T0), device="phone-test")
    sync(w)
    return w


def _reviews(ws: Workspace, card: int) -> list[tuple[str, int, str]]:
    with ws.connect(create=False) as conn:
        return [
            (r[0], r[1], r[2])
            for r in conn.execute(
                "SELECT uid, rating, reviewed_at FROM review WHERE card_id = ? ORDER BY reviewed_at", (card,)
            )
        ]


def _journal(ws: Workspace) -> list[dict[str, object]]:
    j = ws.journal()
    assert j is not None
    return [json.loads(line) for line in j.path.read_text(encoding="utf-8").splitlines()]


def test_an_answer_sent_twice_is_taken_once(ws: Workspace) -> None:
    ws.clock = Clock(T0 + timedelta(minutes=5))
    a = Answer(event_id(T0 + timedelta(minutes=1)), 1, 3, T0 + timedelta(minutes=1), 4000)
    with ws.connect() as conn:
        first = take_answers(ws, conn, [a])
        again = take_answers(ws, conn, [a, a])
    assert first.taken == [a.id] and first.duplicates == []
    assert again.taken == [] and again.duplicates == [a.id, a.id]
    assert _reviews(ws, 1) == [(a.id, 3, "2026-11-30T08:01:00.000000+00:00")]
    assert [e["id"] for e in _journal(ws) if e["kind"] == "review"] == [a.id]
    assert [e["dev"] for e in _journal(ws)] == ["phone-test"]


def test_an_older_answer_is_replayed_in_time_order_with_the_terminals(ws: Workspace, tmp_path: Path) -> None:
    # The terminal grades card 1 at 08:10; the phone's answer from 08:01 arrives at 08:20.
    ws.clock = Clock(T0 + timedelta(minutes=10))
    grade(ws, "1", 1)
    phone = Answer(event_id(T0 + timedelta(minutes=1)), 1, 3, T0 + timedelta(minutes=1), 2000)
    ws.clock = Clock(T0 + timedelta(minutes=20))
    with ws.connect() as conn:
        report = take_answers(ws, conn, [phone])
        after = load_card(conn, 1)
    assert report.taken == [phone.id] and report.replayed == [1]
    rows = _reviews(ws, 1)
    assert [r[1] for r in rows] == [3, 1]  # both kept, in the order given
    assert rows[0][0] == phone.id
    # The same two answers given live, in that order, leave the card in the same state.
    # (Another copy of the vault: this one's journal would merge the answers above into it.)
    write_notes(tmp_path / "v2", {"a.md": (ws.config.vault / "a.md").read_text(encoding="utf-8")})
    other = Workspace.open(vault=tmp_path / "v2", db=tmp_path / "other.db", clock=Clock(T0), device="x")
    sync(other)
    other.clock = Clock(T0 + timedelta(minutes=1))
    grade(other, "1", 3)
    other.clock = Clock(T0 + timedelta(minutes=10))
    grade(other, "1", 1)
    with other.connect(create=False) as conn:
        expected = load_card(conn, 1)
    assert after is not None and expected is not None
    for col in ("state", "step", "stability", "difficulty", "due", "reps", "lapses"):
        assert getattr(after, col) == getattr(expected, col), col


def test_bad_answers_are_refused_and_a_time_ahead_is_taken_as_now(ws: Workspace) -> None:
    now = T0 + timedelta(hours=1)
    ws.clock = Clock(now)
    ahead = Answer(event_id(now), 2, 4, now + timedelta(days=3), 1000)
    bad = [
        Answer(event_id(now), 1, 5, now),
        Answer(event_id(now), 999, 3, now),
        Answer(event_id(now), 1, 3, datetime(1999, 1, 1, tzinfo=UTC)),
        Answer("not/ulid", 1, 3, now),
    ]
    with ws.connect() as conn:
        report = take_answers(ws, conn, [ahead, *bad])
    assert report.taken == [ahead.id]
    assert set(report.refused) == {a.id for a in bad}
    assert _reviews(ws, 2) == [(ahead.id, 4, "2026-11-30T09:00:00.000000+00:00")]
    assert _reviews(ws, 1) == []
