"""Shaping the workload end to end: recorded due dates, postpone, advance, a break, the vault's shared config."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsys_srs.app.study import StudyPlan, start_session
from mlsys_srs.app.workspace import Workspace
from mlsys_srs.history.reader import Event, Quarantined, Waiting, read_line
from mlsys_srs.scheduling.balance import DayRules
from mlsys_srs.scheduling.memory import ForgettingCurve
from mlsys_srs.scheduling.move_rules import Curve, MoveCard, advance, postpone, postpone_key, spread_break

from .conftest import Cli, write_notes

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOTES = {
    f"{d:02d}-topic{d}/note{i}.md": f"# Note {d}.{i}\n\n"
    + "\n".join(f"Question {d}.{i}.{k} :: answer {k}" for k in range(3))
    + f"\n\nPair {d}.{i} ::: its other side\n"
    for d in (1, 2)
    for i in range(4)
}
"""Two domains, eight notes, 40 cards (each note has a `:::` pair: two siblings)."""
C = ForgettingCurve.from_parameters(())
CURVE = Curve(C.decay, C.factor, 0.9)


class Study:
    """A vault studied day by day through the application layer, on a clock the test sets."""

    def __init__(self, root: Path, device: str = "laptop", config: str = "") -> None:
        self.root = root
        self.vault = root / "vault"
        self.db = root / f"{device}.db"
        self.config = root / f"{device}.toml"
        self.config.write_text(config or '[schedule]\ntimezone = "UTC"\n')
        self.device = device
        self.t = T0

    def workspace(self) -> Workspace:
        return Workspace.open(vault=self.vault, db=self.db, config_path=self.config, clock=lambda: self.t,
                              device=self.device)  # fmt: skip

    def days(self, n: int, seed: int = 1, *, weights: tuple[int, ...] = (10, 10, 70, 10)) -> None:
        """Review every card the queue shows, each day for ``n`` days, with seeded grades."""
        rng = random.Random(seed)
        for _ in range(n):
            ws = self.workspace()
            with ws.connect() as conn:
                s = start_session(ws, conn, ws.card_filter(), StudyPlan(), clock=lambda: self.t)
                for _ in range(400):
                    if s.finished:
                        break
                    s.reveal()
                    self.t += timedelta(seconds=30)
                    s.grade(rng.choices((1, 2, 3, 4), weights)[0])
            self.t = self.t.replace(hour=9, minute=0, second=0) + timedelta(days=1)

    def cli(self) -> Cli:
        return Cli(self.vault, self.db)

    def env(self) -> dict[str, str]:
        return {"MLSYS_SRS_NOW": self.t.isoformat(), "MLSYS_SRS_CONFIG": str(self.config),
                "MLSYS_SRS_DEVICE": self.device}  # fmt: skip

    def run(self, *args: str, code: int = 0) -> str:
        return str(self.cli()(*args, code=code, env=self.env()).stdout)

    def json(self, *args: str) -> object:
        return json.loads(self.run(*args, "--json"))

    def states(self) -> dict[str, tuple[object, ...]]:
        conn = sqlite3.connect(self.db)
        rows = conn.execute(
            "SELECT uid, state, round(stability, 6), due, last_review, reps FROM card"
        ).fetchall()
        conn.close()
        return {r[0]: r[1:] for r in rows}

    def journal(self) -> list[dict[str, object]]:
        path = self.vault / ".mlsys-srs" / "journal" / f"{self.device}.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.fixture
def study(tmp_path: Path) -> Study:
    s = Study(tmp_path)
    write_notes(s.vault, NOTES)
    s.run("sync")
    return s


# -- recorded due dates ---------------------------------------------------------------------------


def test_each_grade_records_the_day_it_chose_and_a_rebuild_takes_it(study: Study) -> None:
    study.days(25)
    events = [e for e in study.journal() if e["kind"] == "review"]
    in_review = [e for e in events if "due" in e]
    assert len(in_review) > 40
    conn = sqlite3.connect(study.db)
    dues = dict(conn.execute("SELECT uid, due_after FROM review").fetchall())
    conn.close()
    for e in in_review:
        assert str(dues[e["id"]]).startswith(str(e["due"]))  # review days start at 04:00 UTC, on that date
    study.run("rebuild", "--check")


def test_a_replay_takes_the_recorded_day_whatever_the_load(study: Study) -> None:
    from mlsys_srs.config import ScheduleConfig
    from mlsys_srs.history.replay import replay_events
    from mlsys_srs.scheduling.memory import make_scheduler
    from mlsys_srs.store.events import ReplayEvent

    sched = make_scheduler(ScheduleConfig(timezone="UTC"))
    at = "2026-11-02T09:00:00.000000+00:00"
    later = "2026-11-02T09:11:00.000000+00:00"
    events = [
        ReplayEvent("e1", "review", at, '{"rating": 3}'),
        ReplayEvent("e2", "review", later, '{"rating": 3, "due": "2026-11-09"}'),
    ]
    r = replay_events(events, sched, card_id=1, uid="u", leech_threshold=8)
    assert r.schedule.due == datetime(2026, 11, 9, 4, tzinfo=UTC)
    # Without the recorded day (an older version's event): the plain fuzz draw, as before.
    old = replay_events([*events[:1], events[1]._replace(data='{"rating": 3}')], sched, card_id=1, uid="u",
                        leech_threshold=8)  # fmt: skip
    from mlsys_srs.scheduling.memory import ReviewEvent, replay

    assert old.schedule == replay(
        "u", [ReviewEvent(3, T0), ReviewEvent(3, T0 + timedelta(minutes=11))], sched
    )


def test_a_move_event_sets_the_due_day_of_a_card_in_review() -> None:
    from mlsys_srs.config import ScheduleConfig
    from mlsys_srs.history.replay import replay_events
    from mlsys_srs.scheduling.memory import make_scheduler
    from mlsys_srs.store.events import ReplayEvent

    sched = make_scheduler(ScheduleConfig(timezone="UTC"))
    grades = [
        ReplayEvent(f"e{i}", "review", f"2026-11-02T09:{i:02d}:00.000000+00:00", '{"rating": 3}')
        for i in (0, 11)
    ]
    move = ReplayEvent("m", "move", "2026-11-03T09:00:00.000000+00:00",
                       '{"due": "2026-11-20", "from": "2026-11-05", "why": "postpone", "batch": "b"}')  # fmt: skip
    r = replay_events([*grades, move], sched, card_id=1, uid="u", leech_threshold=8)
    assert r.schedule.state == "review" and r.schedule.due == datetime(2026, 11, 20, 4, tzinfo=UTC)
    undo = ReplayEvent("x", "undo", "2026-11-03T10:00:00.000000+00:00", '{"target": "m"}')
    plain = replay_events(grades, sched, card_id=1, uid="u", leech_threshold=8)
    assert (
        replay_events([*grades, move, undo], sched, card_id=1, uid="u", leech_threshold=8).schedule
        == plain.schedule
    )
    # A new card is not moved.
    assert replay_events([move], sched, card_id=1, uid="u", leech_threshold=8).schedule.due is None


NOW = datetime(2026, 12, 7, 8, tzinfo=UTC)
CARD = {"uid": "0123456789abcdef", "path": "a.md", "fp": "x", "q": "one?"}


def event(**over: object) -> str:
    base: dict[str, object] = {"v": 1, "id": "01JEVT0000000000000000000A", "kind": "move",
                               "at": "2026-12-06T08:00:00.000000+00:00", "dev": "phone", "card": CARD,
                               "due": "2026-12-20", "from": "2026-12-07", "why": "postpone", "batch": "01JB"}  # fmt: skip
    base.update(over)
    return json.dumps({k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"due": "2026-13-40"}, "not a date"),
        ({"due": "20261220"}, "YYYY-MM-DD"),
        ({"due": None}, "due"),
        ({"why": "Post pone"}, "why"),
        ({"batch": "x y"}, "batch"),
        ({"kind": "review", "rating": 3, "due": 5}, "due"),
    ],
)
def test_a_bad_recorded_day_is_quarantined(over: dict[str, object], words: str) -> None:
    got = read_line(event(**over), now=NOW, max_answer_ms=60_000)
    assert isinstance(got, Quarantined) and words in got.reason, got


def test_a_move_is_read_and_a_version_without_it_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlsys_srs.history import reader

    got = read_line(event(), now=NOW, max_answer_ms=60_000)
    assert isinstance(got, Event) and got.data["due"] == "2026-12-20"
    review = read_line(
        event(kind="review", rating=3, why=None, batch=None, **{"from": None}), now=NOW, max_answer_ms=60_000
    )
    assert isinstance(review, Event) and review.data["due"] == "2026-12-20"
    monkeypatch.delitem(reader.KIND_FIELDS, "move")  # an older version
    older = read_line(event(), now=NOW, max_answer_ms=60_000)
    assert isinstance(older, Waiting) and older.reason == "newer"


# -- two devices, any merge order ------------------------------------------------------------------


def _merged(
    root: Path, journals: dict[str, Path], order: list[str], name: str
) -> dict[str, tuple[object, ...]]:
    """A fresh device that syncs the vault and merges the journals in ``order``, one at a time."""
    s = Study(root, name)
    s.vault = root / f"vault-{name}"
    shutil.copytree(root / "vault-clean", s.vault)
    s.run("sync")
    folder = s.vault / ".mlsys-srs" / "journal"
    folder.mkdir(parents=True, exist_ok=True)
    for dev in order:
        shutil.copy(journals[dev], folder / f"{dev}.jsonl")
        s.t = T0 + timedelta(days=40)
        s.run("sync")
    return s.states()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    days_a=st.integers(8, 16),
    days_b=st.integers(8, 16),
    seed=st.integers(0, 1000),
    easy=st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=7, max_size=7),
)
def test_two_devices_merged_in_either_order_agree_with_what_each_graded(
    tmp_path_factory: pytest.TempPathFactory, days_a: int, days_b: int, seed: int, easy: list[float]
) -> None:
    root = tmp_path_factory.mktemp("devices")
    write_notes(root / "vault-clean", NOTES)
    config = f'[schedule]\ntimezone = "UTC"\neasy_days = {json.dumps(easy)}\n'
    devices = {}
    for name, n in (("laptop", days_a), ("desk", days_b)):
        d = Study(root, name, config)
        d.vault = root / f"vault-{name}"
        shutil.copytree(root / "vault-clean", d.vault)
        d.run("sync")
        d.days(n, seed=seed + len(name))  # each device balances under its own load
        devices[name] = d
    (root / "vault-clean" / ".mlsys-srs").mkdir(exist_ok=True)
    (root / "vault-clean" / ".mlsys-srs" / "config.toml").write_text(config)
    journals = {n: d.vault / ".mlsys-srs" / "journal" / f"{n}.jsonl" for n, d in devices.items()}
    one = _merged(root, journals, ["laptop", "desk"], "one")
    two = _merged(root, journals, ["desk", "laptop"], "two")
    assert one == two
    devices["laptop"].run("rebuild", "--check")  # its own journal rebuilds what it graded live
    # A card graded on one device only has, merged, the schedule that device's grades gave it.
    a, b = devices["laptop"].states(), devices["desk"].states()
    only_a = [u for u in a if a[u][4] is not None and b[u][4] is None]
    for uid in only_a:
        assert one[uid] == a[uid]


# -- postpone and advance: the rules -------------------------------------------------------------------


TODAY = date(2027, 3, 1)


def card(cid: int, stability: float, last_ago: int, interval: int) -> MoveCard:
    last = TODAY - timedelta(days=last_ago)
    return MoveCard(cid, f"u{cid}", "d", last + timedelta(days=interval), last, stability)


def test_postpone_takes_the_cards_that_suffer_least_and_moves_each_5_to_10_percent_of_its_interval() -> None:
    cards = [
        card(1, 10.0, 10, 10),  # due today, a short interval
        card(2, 120.0, 100, 100),  # due today, a long interval and high recall: suffers least
        card(3, 10.0, 15, 10),  # five days overdue: suffers most
        card(4, 50.0, 5, 50),  # not due: never postponed
    ]
    moved, safe, held = postpone(cards, 2, TODAY, CURVE, 36500)
    assert [m.card.card_id for m in moved] == [2, 1]
    keys = sorted((postpone_key(c, TODAY, CURVE), c.card_id) for c in cards[:3])
    assert [cid for _, cid in keys][:2] == [2, 1] and safe == sum(1 for k, _ in keys if k < 0.15)
    for m in moved:
        ivl = m.card.interval
        assert (m.after - TODAY).days >= 1 and ivl * 1.05 <= (m.after - m.card.last).days <= ivl * 1.1 + 1
        assert m.recall_after < m.recall_before
    # An overdue card keeps its delay and gains the same share: from today on.
    (m,) = postpone([cards[2]], 1, TODAY, CURVE, 36500)[0]
    assert (m.after - TODAY).days == (m.after - m.card.last).days - 15 >= 1
    assert held == 0
    assert postpone([card(5, 10.0, 10, 10)], 1, TODAY, CURVE, 10) == ([], 1, 1)  # the maximum interval


def test_advance_takes_the_cards_closest_to_their_due_and_makes_them_due_today() -> None:
    cards = [card(1, 10.0, 9, 10), card(2, 10.0, 2, 10), card(3, 30.0, 25, 30), card(4, 10.0, 0, 10)]
    moved, safe = advance(cards, 2, TODAY, CURVE)
    assert [m.card.card_id for m in moved] == [
        1,
        3,
    ]  # 9 of 10 days and 25 of 30 gone; card 4 was answered today
    assert all(m.after == TODAY for m in moved) and safe == 1


def test_a_break_spreads_its_cards_before_and_after_by_load_and_by_what_each_can_afford() -> None:
    first, last = TODAY + timedelta(days=5), TODAY + timedelta(days=9)
    short = [card(i, 3.0, 1, 6) for i in range(1, 7)]  # short intervals: cannot wait past the break
    long = [card(i, 200.0, 193, 200) for i in range(10, 16)]  # can afford to wait a few days
    load = {TODAY + timedelta(days=d): n for d, n in {1: 4, 2: 4, 3: 4, 4: 4, 10: 0, 11: 0, 12: 0}.items()}
    moved = spread_break([*short, *long], first, last, TODAY, load, CURVE, DayRules(), spread=3)
    assert len(moved) == 12
    day = {m.card.card_id: m.after for m in moved}
    assert all(TODAY <= day[c.card_id] < first for c in short)
    assert all(not first <= d <= last for d in day.values())
    assert any(day[c.card_id] > last for c in long)
    after: dict[date, int] = dict(load)
    for d in day.values():
        after[d] = after.get(d, 0) + 1
    for days in ((2, 3, 4), (10, 11, 12)):  # levelled before the break, and after it
        loads = [after.get(TODAY + timedelta(days=d), 0) for d in days]
        assert max(loads) - min(loads) <= 1, loads
    # A minimum easy day takes nothing while another day is open.
    wednesday = TODAY + timedelta(days=2)
    week = tuple(0.0 if i == wednesday.weekday() else 1.0 for i in range(7))
    again = spread_break([*short, *long], first, last, TODAY, load, CURVE, DayRules(easy_days=week), spread=3)
    assert all(m.after != wednesday for m in again)


# -- postpone, advance and a break through the CLI -------------------------------------------------------


def test_postpone_dry_run_changes_nothing_then_moves_replays_everywhere_and_undoes(study: Study) -> None:
    study.days(20)
    study.t += timedelta(days=4)  # four days away: cards pile up
    before = study.states()
    dry = study.json("postpone", "5", "--dry-run")
    assert dry["moved"] == 5 and dry["dry_run"] and study.states() == before  # type: ignore[index]
    assert sum(d["before"] for d in dry["load"]) == sum(d["after"] for d in dry["load"])  # type: ignore[index]
    done = study.json("postpone", "5")
    assert done["cards"] == dry["cards"]  # type: ignore[index]
    moved = {c["uid"]: c for c in done["cards"]}  # type: ignore[index]
    after = study.states()
    for uid, c in moved.items():
        assert str(after[uid][2]).startswith(c["to"])
    moves = [e for e in study.journal() if e["kind"] == "move"]
    assert (
        len(moves) == 5
        and {e["why"] for e in moves} == {"postpone"}
        and len({e["batch"] for e in moves}) == 1
    )
    study.run("rebuild", "--check")
    undone = study.json("postpone", "--undo")
    assert undone["restored"] == 5  # type: ignore[index]
    assert study.states() == before
    study.run("rebuild", "--check")
    assert "nothing to undo" in study.run("postpone", "--undo")


def test_advance_makes_cards_due_today_and_the_due_count_grows(study: Study) -> None:
    study.days(20)
    due = study.json("due")["due_today"]  # type: ignore[index]
    out = study.json("advance", "3")
    assert out["moved"] == 3  # type: ignore[index]
    assert study.json("due")["due_today"] == due + 3  # type: ignore[index]
    study.run("rebuild", "--check")


def test_a_break_keeps_its_period_and_later_answers_avoid_it(study: Study) -> None:
    study.days(15)
    first, last = study.t.date() + timedelta(days=3), study.t.date() + timedelta(days=8)
    text = study.run("break", first.isoformat(), last.isoformat(), "--dry-run")
    assert "(break)" in text and "--dry-run: nothing was changed" in text
    out = study.json("vacation", first.isoformat(), last.isoformat())
    cfg = (study.vault / ".mlsys-srs" / "config.toml").read_text()
    assert f'breaks = ["{first}/{last}"]' in cfg
    conn = sqlite3.connect(study.db)
    dues = [r[0] for r in conn.execute("SELECT due FROM card WHERE state = 'review'")]
    conn.close()
    assert not any(first.isoformat() <= d[:10] <= last.isoformat() for d in dues), out
    study.days(2)  # the answers of the next days do not land in the break
    conn = sqlite3.connect(study.db)
    dues = [r[0] for r in conn.execute("SELECT due FROM card WHERE state = 'review'")]
    conn.close()
    assert not any(first.isoformat() <= d[:10] <= last.isoformat() for d in dues)
    study.run("rebuild", "--check")
    study.run("break", "--undo")
    assert "breaks" not in (study.vault / ".mlsys-srs" / "config.toml").read_text()


def test_workload_commands_refuse_what_makes_no_sense(study: Study) -> None:
    study.run("postpone", code=2)
    study.run("postpone", "0", code=2)
    study.run("break", "2026-12-10", "2026-12-01", code=2)
    study.run("break", "2026-10-01", "2026-10-02", code=2)
    study.run("break", "tomorrow", "2026-12-02", code=2)
    study.run("plan", "--domain", "topic1", "--by", "2020-01-01", code=2)
    study.run("plan", "--by", "2027-01-01", code=2)


# -- the vault's shared config: newer settings are a warning -----------------------------------------------


def test_an_unknown_key_in_the_vaults_config_is_a_warning(study: Study) -> None:
    (study.vault / ".mlsys-srs" / "config.toml").write_text(
        "[schedule]\nnew_per_day = 5\nfuture_setting = 3\n\n[future_section]\nx = 1\n"
    )
    r = study.cli()("due", env=study.env())
    assert "warning:" in r.stderr and "future_setting" in r.stderr and "future_section" in r.stderr
    assert "new" in r.stdout
    # The machine's own config is still strict: a typo there is an error.
    study.config.write_text("[schedule]\nnew_per_dya = 5\n")
    r = study.cli()("due", env=study.env(), code=1)
    assert "new_per_day" in r.stderr


def test_a_bad_value_in_the_vaults_config_is_still_an_error(study: Study) -> None:
    (study.vault / ".mlsys-srs" / "config.toml").write_text("[schedule]\neasy_days = [1, 1]\n")
    r = study.cli()("due", env=study.env(), code=1)
    assert "easy_days" in r.stderr
