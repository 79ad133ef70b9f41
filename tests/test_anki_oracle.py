"""Anki's own scheduler as the oracle for ours (issue 25): the same grades at the same instants.

``anki_oracle.AnkiOracle`` answers in Anki 26.9 (the ``anki`` package) with its clock set
by libfaketime. The first tests pin what Anki does (the rules in ``docs/anki-rules.md``);
the ``ours`` tests replay the same grades through ``mlsys_srs.scheduling.memory`` and
compare every option of every answer: state, interval (fuzz off), memory state (as Anki
stores it), and with fuzz on, that ours stays inside the range Anki draws from.

Skipped when ``anki`` or libfaketime is missing (``.ci/run`` installs Debian's faketime).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mlsys_srs.config import ScheduleConfig
from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.scheduling.memory import CardSchedule, CardScheduler, stored_memory

from .anki_oracle import (
    AnkiAnswer,
    AnkiConfig,
    AnkiOracle,
    fsrs_interval,
    fuzz_bounds,
    minimum_review_fuzz_interval,
    rust_round,
    unavailable_reason,
)

_REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")

T0 = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
START = T0 - timedelta(days=1)
DEFAULT_DECAY = 0.1542
FSRS45 = (0.4, 0.6, 2.4, 5.8, 4.93, 0.94, 0.86, 0.01, 1.49, 0.14, 0.94, 2.18, 0.05, 0.34, 1.26, 0.29, 2.61)
"""The FSRS-4.5 set of issue 25."""
FSRS5 = (0.40255, 1.18385, 3.173, 15.69105, 7.1949, 0.5345, 1.4604, 0.0046, 1.54575, 0.1192, 1.01925,
         1.9395, 0.11, 0.29605, 2.2698, 0.2315, 2.9898, 0.51655, 0.6621)  # fmt: skip
"""fsrs-rs's FSRS-5 defaults."""


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# -- our scheduler on the same grades -----------------------------------------------------------


def our_config(cfg: AnkiConfig) -> ScheduleConfig:
    """The ScheduleConfig that says what ``cfg`` says."""
    return ScheduleConfig(
        desired_retention=cfg.desired_retention,
        learning_steps=tuple(minutes(m) for m in cfg.learning_steps),
        relearning_steps=tuple(minutes(m) for m in cfg.relearning_steps),
        maximum_interval=cfg.maximum_interval,
        enable_fuzzing=cfg.fuzz,
        parameters=cfg.parameters,
        rollover_hour=cfg.rollover_hour,
        timezone=cfg.timezone,
    )


def our_scheduler(cfg: AnkiConfig) -> CardScheduler:
    return CardScheduler(our_config(cfg), DayClock(ZoneInfo(cfg.timezone), cfg.rollover_hour))


@dataclass(frozen=True)
class Mismatch:
    """One option (rating) at one answer where ours differs from Anki."""

    what: str
    """``kind``, ``days``, ``secs`` or ``memory``."""
    rating: int
    anki: object
    ours: object
    before: str
    """The card's state before the answer (Anki's)."""
    applied: bool
    """The rating that was given (the option the card then took)."""


def compare_options(
    sched: CardScheduler,
    uid: str,
    s: CardSchedule,
    answer: AnkiAnswer,
    memory_tolerance: float = 2e-5,
    memory_floor: float = 1.01e-4,
) -> list[Mismatch]:
    """Ours against Anki for the four options at ``answer.at``: state, interval, memory state.

    Ours stores each option's memory state as Anki stores it (stability to 4 decimals, difficulty
    to 3), so it is compared with Anki's option rounded that way: within ``memory_floor``
    (absolute) plus ``memory_tolerance`` (relative). Difficulty is fsrs-rs's f32 arithmetic and
    agrees to the digit; stability is py-fsrs's f64 arithmetic, 1e-7 to 1e-5 relative from
    fsrs-rs's f32 (the f32 cancellation in ``1 - R`` and ``exp(..) - 1``), which rounds the fourth
    decimal the other way in a few percent of options.
    """
    out = []
    ours = sched.preview(uid, s, answer.at)
    before = answer.current.kind
    for rating, anki in answer.options.items():
        mine = ours[rating]
        if mine.state != anki.kind:
            out.append(Mismatch("kind", rating, anki.kind, mine.state, before, rating == answer.rating))
            continue
        interval = sched.interval(mine, answer.at)
        if anki.kind == "review":
            if interval.days != anki.days:
                out.append(
                    Mismatch("days", rating, anki.days, interval.days, before, rating == answer.rating)
                )
        elif interval.total_seconds() != anki.secs:
            secs = int(interval.total_seconds())
            out.append(Mismatch("secs", rating, anki.secs, secs, before, rating == answer.rating))
        if anki.stability is not None and mine.stability is not None and mine.difficulty is not None:
            assert anki.difficulty is not None
            stability, difficulty = stored_memory(anki.stability, anki.difficulty)
            ds = abs(mine.stability - stability) - memory_tolerance * stability
            dd = abs(mine.difficulty - difficulty) - memory_tolerance * difficulty
            if max(ds, dd) > memory_floor:
                out.append(Mismatch("memory", rating, (anki.stability, anki.difficulty),
                                    (mine.stability, mine.difficulty), before, rating == answer.rating))  # fmt: skip
    return out


def replay_both(
    cfg: AnkiConfig, histories: list[list[tuple[int, datetime]]]
) -> tuple[list[AnkiAnswer], list[Mismatch]]:
    """Each history (grades of one new card) answered in Anki and replayed through ours."""
    sched = our_scheduler(cfg)
    with AnkiOracle(cfg, start=min(at for h in histories for _, at in h) - timedelta(days=1)) as oracle:
        cids = oracle.add_cards(len(histories))
        grades = sorted(
            ((cid, rating, at) for cid, h in zip(cids, histories, strict=True) for rating, at in h),
            key=lambda g: g[2],
        )
        answers = oracle.answer_many(grades)
    return answers, replay_ours(sched, answers)


def replay_ours(
    sched: CardScheduler,
    answers: list[AnkiAnswer],
    memory_tolerance: float = 2e-5,
    memory_floor: float = 1.01e-4,
) -> list[Mismatch]:
    """Every answer replayed through ours, each compared with Anki before it is applied."""
    states: dict[int, CardSchedule] = {}
    mismatches = []
    for a in answers:
        s = states.get(a.cid, CardSchedule())
        uid = f"card-{a.cid}"
        mismatches += compare_options(sched, uid, s, a, memory_tolerance, memory_floor)
        states[a.cid] = sched.grade(uid, s, a.rating, a.at)
    return mismatches


# -- Anki's rules, pinned ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oracle() -> object:
    with AnkiOracle(AnkiConfig(), start=START) as o:
        yield o


def test_repro_again_then_easy_gives_two_days(oracle: AnkiOracle) -> None:
    """Issue 25: a new card, Again at 10:00, Easy at 10:01: Anki gives 2 days (Easy's minimum is
    the fuzzed Good + 1, and Good is 1 day)."""
    (cid,) = oracle.add_cards(1)
    first, easy = oracle.answer_many([(cid, 1, T0), (cid, 4, T0 + minutes(1))])
    assert first.chosen.kind == "learning" and first.chosen.secs == 60
    assert easy.options[3].kind == "learning" and easy.options[3].secs == 600  # Good: the next step
    assert easy.chosen.kind == "review" and easy.chosen.days == 2
    assert easy.card.state == "review" and easy.card.ivl == 2 and easy.card.due_in_days() == 2
    assert (
        rust_round(fsrs_interval(easy.chosen.stability or 0, 0.9, DEFAULT_DECAY)) == 0
    )  # FSRS alone: < 1 day


def test_repro_three_agains_then_easy_next_day_preview(oracle: AnkiOracle) -> None:
    """Issue 25: Again, Again, Again, Easy six minutes apart, then the next day's preview:
    Anki shows Hard/Good/Easy = 1/2/3 days."""
    (cid,) = oracle.add_cards(1)
    oracle.answer_many([(cid, r, T0 + minutes(6 * k)) for k, r in enumerate((1, 1, 1, 4))])
    preview = oracle.preview(cid, T0 + timedelta(days=1))
    assert [preview[r].days for r in (2, 3, 4)] == [1, 2, 3]
    assert [preview[r].label for r in (1, 2, 3, 4)] == ["<10m", "1d", "2d", "3d"]
    assert preview[1].kind == "relearning" and preview[1].secs == 600


def test_learning_steps(oracle: AnkiOracle) -> None:
    """Steps 1m 10m: Hard on the first step is their mean (5.5m), Hard on a later step repeats it,
    Good moves on, Good on the last step graduates, Again goes back to the first step."""
    (cid,) = oracle.add_cards(1)
    new = oracle.preview(cid, T0)
    assert [new[r].secs for r in (1, 2, 3)] == [60, 330, 600]
    assert new[4].kind == "review"
    a = oracle.answer(cid, 3, T0)  # -> the 10m step
    assert a.card.remaining_steps == 1
    later = oracle.preview(cid, T0 + minutes(10))
    assert (later[1].secs, later[2].secs) == (60, 600)
    assert later[3].kind == "review"
    assert later[3].days == rust_round(fsrs_interval(later[3].stability or 0, 0.9, DEFAULT_DECAY))


def test_single_learning_step_hard_is_one_and_a_half() -> None:
    """One step (10m): Hard on it is 15m (at most a day more than the step)."""
    with AnkiOracle(AnkiConfig(learning_steps=(10.0,)), start=START) as o:
        (cid,) = o.add_cards(1)
        assert o.preview(cid, T0)[2].secs == 900


def test_stored_memory_state_is_rounded(oracle: AnkiOracle) -> None:
    """Anki stores stability to 4 decimals and difficulty to 3, and the next answer starts there."""
    (cid,) = oracle.add_cards(1)
    a = oracle.answer(cid, 3, T0)
    assert a.chosen.stability is not None and a.card.stability is not None
    assert a.card.stability == pytest.approx(round(a.chosen.stability, 4), abs=1e-6)
    assert a.card.difficulty == pytest.approx(round(a.chosen.difficulty or 0, 3), abs=1e-6)


def test_fuzz_bounds_port_is_anki(oracle: AnkiOracle) -> None:
    """``fuzz_bounds`` (the port) is the range Anki's fuzz draws from: over 150 cards, Anki's
    ``fuzz_delta`` for each interval stays inside it and reaches both ends."""
    with AnkiOracle(AnkiConfig(fuzz=True), start=START) as o:
        cids = o.add_cards(150)
        for interval in [*range(1, 40), 45, 60, 75, 99, 100, 180, 365]:
            lo, hi = fuzz_bounds(interval)
            seen = {interval + o.fuzz_delta(cid, interval) for cid in cids}
            assert min(seen) >= lo and max(seen) <= hi, (interval, sorted(seen), (lo, hi))
            if hi - lo <= 12:
                assert {lo, hi} <= seen, (interval, sorted(seen), (lo, hi))


def test_fuzz_bounds_match_anki_unit_tests() -> None:
    """The port against ``fuzz.rs``'s own test table (lower, upper)."""
    cases = {
        (1.0, 1, 1000): (1, 1), (2.49, 1, 1000): (2, 2), (2.5, 1, 1000): (2, 4), (7.0, 1, 1000): (5, 9),
        (17.0, 1, 1000): (14, 20), (37.0, 1, 1000): (33, 41), (2.0, 3, 1000): (3, 4), (2.0, 3, 3): (3, 3),
        (19.9, 3, 1000): (17, 23), (100.0, 101, 1000): (101, 108), (100.0, 1, 99): (92, 99),
        (100.0, 97, 103): (97, 103),
    }  # fmt: skip
    for (interval, lo, hi), bounds in cases.items():
        assert fuzz_bounds(interval, lo, hi) == bounds, (interval, lo, hi)
    assert minimum_review_fuzz_interval(2.7269483, 4, 36500) == 4
    assert minimum_review_fuzz_interval(2.7269483, 5, 36500) == 0
    assert minimum_review_fuzz_interval(4.591988, 4, 36500) == 5


# -- realistic histories -------------------------------------------------------------------------


def simulate(
    cfg: AnkiConfig, cards: int = 50, grades: int = 1000, days: int = 60, seed: int = 25
) -> list[AnkiAnswer]:
    """A plausible study history answered in Anki: ``cards`` new cards introduced over the first
    two thirds of ``days``, each answered when Anki has it due (learning steps minutes later, reviews on
    their day at a daytime hour, sometimes days late), with mixed grades, until ``grades``."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 1, 4, tzinfo=UTC)
    answers: list[AnkiAnswer] = []
    with AnkiOracle(cfg, start=start) as oracle:
        cids = oracle.add_cards(cards, start)
        due = {cid: start + timedelta(days=rng.randrange(days * 2 // 3), hours=rng.randint(6, 20),
                                      minutes=rng.randrange(60)) for cid in cids}  # fmt: skip
        end = start + timedelta(days=days)
        last: dict[int, str] = {}
        while len(answers) < grades and due:
            cid, at = min(due.items(), key=lambda kv: kv[1])
            if at >= end:
                break
            if at.hour in (2, 3):
                at = at.replace(hour=4, minute=rng.randrange(60))
            state = last.get(cid, "new")
            weights = (20, 10, 60, 10) if state in ("new", "learning", "relearning") else (10, 15, 65, 10)
            rating = rng.choices((1, 2, 3, 4), weights)[0]
            a = oracle.answer(cid, rating, at)
            answers.append(a)
            last[cid] = a.card.state
            if a.card.queue == 1:
                nxt = a.card.due_at()
                assert nxt is not None
                due[cid] = nxt + timedelta(minutes=rng.randrange(15))
            else:
                day = a.card.due  # Anki's day number: day n starts at start's rollover + n days (UTC)
                late = rng.choice((0, 0, 0, 0, 1, 2, 5))
                day_start = datetime(2024, 3, 1, cfg.rollover_hour, tzinfo=UTC) + timedelta(days=day + late)
                due[cid] = day_start + timedelta(hours=rng.randint(4, 17), minutes=rng.randrange(60))
    return answers


@pytest.fixture(scope="module")
def history() -> list[AnkiAnswer]:
    return simulate(AnkiConfig())


def test_simulated_history_is_consistent(history: list[AnkiAnswer]) -> None:
    """Anki stores what it offered: the chosen option's interval is the card's."""
    assert len(history) > 300 and len({a.cid for a in history}) == 50
    for a in history:
        assert a.card.state == a.chosen.kind
        if a.chosen.kind == "review":
            assert a.card.ivl == a.chosen.days == a.card.due_in_days()
        # Review options never repeat an interval: Hard < Good < Easy.
        if a.current.kind == "review":
            days = [a.options[r].days for r in (2, 3, 4)]
            assert days == sorted(set(days)), days  # type: ignore[type-var]


def test_review_minimums_without_fuzz(history: list[AnkiAnswer]) -> None:
    """Unfuzzed review options are ``round(FSRS interval)`` raised to the minimums of
    ``passing_fsrs_review_intervals``: at least the previous interval + 1 when it grew (or the
    previous interval while within the fuzz range), Good > Hard, Easy > Good."""
    checked = 0
    for a in history:
        if a.current.kind != "review":
            continue
        prev = a.current.days or 0
        chosen: list[int] = []
        for r in (2, 3, 4):
            o = a.options[r]
            iv = fsrs_interval(o.stability or 0, 0.9, DEFAULT_DECAY)
            minimum = max(minimum_review_fuzz_interval(iv, prev, 36500), 1, *(c + 1 for c in chosen))
            assert o.days == max(rust_round(iv), minimum), (r, iv, prev, chosen, o)
            chosen.append(o.days or 0)
            checked += 1
    assert checked > 100


def test_fuzzed_intervals_stay_in_the_port_bounds() -> None:
    """With fuzz on, every review option of a simulated history is inside ``fuzz_bounds`` with the
    minimums applied before the fuzz; graduating Good/Easy from (re)learning likewise."""
    answers = simulate(AnkiConfig(fuzz=True), seed=7)
    checked = 0
    for a in answers:
        ivs = {r: fsrs_interval(a.options[r].stability or 0, 0.9, DEFAULT_DECAY) for r in (2, 3, 4)}
        if a.current.kind == "review":
            prev = a.current.days or 0
            chosen: list[int] = []
            for r in (2, 3, 4):
                minimum = max(minimum_review_fuzz_interval(ivs[r], prev, 36500), 1, *(c + 1 for c in chosen))
                lo, hi = fuzz_bounds(ivs[r], minimum)
                assert lo <= (a.options[r].days or 0) <= hi, (r, ivs[r], prev, chosen, a.options[r])
                chosen.append(a.options[r].days or 0)
                checked += 1
        elif a.options[4].kind == "review":  # (re)learning: Easy graduates
            good_range = fuzz_bounds(ivs[3], 1)  # Easy's minimum: Good fuzzed from the unrounded interval
            easy = a.options[4].days or 0
            easy_iv = max(rust_round(ivs[4]), 1)
            assert any(
                fuzz_bounds(easy_iv, g + 1)[0] <= easy <= fuzz_bounds(easy_iv, g + 1)[1]
                for g in range(good_range[0], good_range[1] + 1)
            ), (ivs, a.options[4])
            if a.options[3].kind == "review":
                lo, hi = fuzz_bounds(max(rust_round(ivs[3]), 1), 1)
                assert lo <= (a.options[3].days or 0) <= hi
            checked += 1
    assert checked > 100


# -- ours against Anki ----------------------------------------------------------------------------


def test_ours_repro_again_then_easy() -> None:
    """Issue 25: Again at 10:00, Easy at 10:01: two days, as in Anki."""
    _, mismatches = replay_both(AnkiConfig(), [[(1, T0), (4, T0 + minutes(1))]])
    assert mismatches == []


def test_ours_repro_three_agains_then_easy_preview() -> None:
    """Issue 25: Again x3, Easy, then the next day's preview: Hard/Good/Easy = 1/2/3 days, as in Anki."""
    cfg = AnkiConfig()
    sched = our_scheduler(cfg)
    history = [(r, T0 + minutes(6 * k)) for k, r in enumerate((1, 1, 1, 4))]
    with AnkiOracle(cfg, start=START) as o:
        (cid,) = o.add_cards(1)
        o.answer_many([(cid, r, at) for r, at in history])
        anki = o.preview(cid, T0 + timedelta(days=1))
    s = CardSchedule()
    for r, at in history:
        s = sched.grade("x", s, r, at)
    ours = sched.intervals("x", s, T0 + timedelta(days=1))
    assert [ours[r].days for r in (2, 3, 4)] == [anki[r].days for r in (2, 3, 4)]


def test_ours_learning_steps_match() -> None:
    """The learning-step rules already agree (Hard on the first step, Good moving on, Again)."""
    _, mismatches = replay_both(AnkiConfig(), [[(3, T0), (2, T0 + minutes(10)), (1, T0 + minutes(21))]])
    assert [m for m in mismatches if m.what in ("secs", "kind")] == []


def test_ours_fsrs5_parameters_match() -> None:
    """A 19-weight FSRS-5 set schedules as in Anki (w19 = 0, decay 0.5)."""
    cfg = AnkiConfig(parameters=FSRS5)
    _, mismatches = replay_both(cfg, [[(3, T0), (3, T0 + minutes(10)), (3, T0 + timedelta(days=3))]])
    assert [m for m in mismatches if m.what == "memory"] == []


def test_ours_fsrs45_parameters_match() -> None:
    """A 17-weight FSRS-4.5 set is converted as Anki converts it: a new card graded Good gets
    difficulty 5.366 in both, and a short history agrees everywhere."""
    cfg = AnkiConfig(parameters=FSRS45)
    history = [(3, T0), (3, T0 + minutes(10)), (2, T0 + timedelta(days=3)), (1, T0 + timedelta(days=9))]
    answers, mismatches = replay_both(cfg, [history])
    assert answers[0].options[3].difficulty == pytest.approx(5.366, abs=1e-3)
    new = our_scheduler(cfg).grade("x", CardSchedule(), 3, T0)
    assert new.difficulty == 5.366
    assert mismatches == []


def test_fsrs45_conversion_in_anki() -> None:
    """Anki (fsrs-rs ``check_and_fill_parameters``) converts FSRS-4.5: a new card graded Good gets
    D = (w4 + 2 w5) - exp(w5' * 2) + 1 with w5' = ln(3 w5 + 1) / 3."""
    import math

    w4, w5 = FSRS45[4], FSRS45[5]
    w4c, w5c = w4 + 2 * w5, math.log(3 * w5 + 1) / 3
    expected = w4c - math.exp(w5c * 2) + 1
    with AnkiOracle(AnkiConfig(parameters=FSRS45), start=START) as o:
        (cid,) = o.add_cards(1)
        good = o.preview(cid, T0)[3]
    assert good.difficulty == pytest.approx(expected, rel=1e-5)
    assert good.stability == pytest.approx(FSRS45[2], rel=1e-6)


def summarize(mismatches: list[Mismatch]) -> Counter[tuple[str, str, int]]:
    return Counter((m.what, m.before, m.rating) for m in mismatches)


def test_ours_realistic_history(history: list[AnkiAnswer]) -> None:
    """About 400 grades over 50 cards in 60 days: every option at every answer, ours against Anki."""
    mismatches = replay_ours(our_scheduler(AnkiConfig()), history)
    applied = sum(m.applied for m in mismatches)
    print(
        f"{len(mismatches)} of {4 * len(history)} options differ, {applied} of {len(history)} applied grades:"
    )
    print(dict(summarize(mismatches)))
    for m in mismatches[:40]:
        print(m)
    assert mismatches == []


def test_ours_realistic_history_high_retention() -> None:
    """The same at desired retention 0.97 (short intervals: the ordering minimums matter most)."""
    cfg = AnkiConfig(desired_retention=0.97)
    mismatches = replay_ours(our_scheduler(cfg), simulate(cfg, seed=97))
    print(f"{len(mismatches)} options differ: {dict(summarize(mismatches))}")
    assert mismatches == []


def test_ours_memory_states_are_ankis_stored_states(history: list[AnkiAnswer]) -> None:
    """Every option's memory state, as Anki would store it: difficulty to the digit (fsrs-rs's f32
    arithmetic); stability to the digit in at least 95% of options, else within one unit of the
    fourth decimal and 2e-5 relative (py-fsrs computes it in f64, fsrs-rs in f32)."""
    sched = our_scheduler(AnkiConfig())
    states: dict[int, CardSchedule] = {}
    exact = total = 0
    for a in history:
        s = states.get(a.cid, CardSchedule())
        uid = f"card-{a.cid}"
        ours = sched.preview(uid, s, a.at)
        for rating, option in a.options.items():
            assert option.stability is not None and option.difficulty is not None
            stability, difficulty = stored_memory(option.stability, option.difficulty)
            mine = ours[rating]
            assert mine.difficulty == difficulty
            assert mine.stability == pytest.approx(stability, abs=1.01e-4 + 2e-5 * stability)
            exact += mine.stability == stability
            total += 1
        states[a.cid] = sched.grade(uid, s, a.rating, a.at)
        assert a.card.difficulty == pytest.approx(states[a.cid].difficulty, abs=1e-6)  # Anki's stored card
    assert exact >= 0.95 * total, (exact, total)


def ours_outside_fuzz_ranges(answers: list[AnkiAnswer], cfg: AnkiConfig) -> Counter[str]:
    """Options of ours (fuzz on, same grades and instants) outside the range Anki would draw
    from, by option: for review days, the range of the FSRS interval of the option's memory state
    (Anki's unrounded one: ours is the same before it is stored) with the minimums of ours' own
    card (its last interval, its chosen Hard and Good); for (re)learning steps, Anki's step plus
    at most a quarter (5 minutes)."""
    sched = our_scheduler(cfg)
    decay = cfg.parameters[20] if len(cfg.parameters) == 21 else DEFAULT_DECAY
    states: dict[int, CardSchedule] = {}
    out: Counter[str] = Counter()
    for a in answers:
        uid = f"c{a.cid}"
        s = states.get(a.cid, CardSchedule())
        ours = sched.preview(uid, s, a.at)
        ivs = {r: fsrs_interval(a.options[r].stability or 0, cfg.desired_retention, decay) for r in (2, 3, 4)}
        for r in (1, 2, 3, 4):
            if ours[r].state != "review":
                step = a.options[r].secs or 0
                late = (ours[r].due - a.at).total_seconds() if ours[r].due is not None else -1
                if not step <= late < step + max(1, min(step // 4, 300)):
                    out[f"{ours[r].state} step {RATING[r]}"] += 1
        if s.state == "review" and s.due is not None and s.last_review is not None:
            prev = (sched.clock.day_of(s.due) - sched.clock.day_of(s.last_review)).days
            chosen: list[int] = []
            for r in (2, 3, 4):
                minimum = max(minimum_review_fuzz_interval(ivs[r], prev, cfg.maximum_interval), 1,
                              *(c + 1 for c in chosen))  # fmt: skip
                lo, hi = fuzz_bounds(ivs[r], minimum, cfg.maximum_interval)
                days = sched.interval(ours[r], a.at).days
                if not lo <= days <= hi:
                    out[f"review {RATING[r]}"] += 1
                chosen.append(days)
        elif ours[4].state == "review":
            easy_iv = max(rust_round(ivs[4]), 1)
            days = sched.interval(ours[4], a.at).days
            good_lo, good_hi = fuzz_bounds(ivs[3], 1, cfg.maximum_interval)
            if not any(
                fuzz_bounds(easy_iv, g + 1)[0] <= days <= fuzz_bounds(easy_iv, g + 1)[1]
                for g in range(good_lo, good_hi + 1)
            ):
                out[f"{s.state} Easy"] += 1
        states[a.cid] = sched.grade(uid, s, a.rating, a.at)
    return out


RATING = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


def test_ours_fuzz_inside_anki_ranges() -> None:
    """Fuzz on: every graduating and review option of ours, and every step's due, inside the range
    Anki draws from (ours draws its own day in it: the seed is the uid, not Anki's card id)."""
    cfg = AnkiConfig(fuzz=True)
    out = ours_outside_fuzz_ranges(simulate(cfg, seed=7), cfg)
    print(dict(out))
    assert not out


@pytest.mark.parametrize(
    "cfg",
    [
        AnkiConfig(learning_steps=(), relearning_steps=()),
        AnkiConfig(learning_steps=(10.0,), relearning_steps=()),
        AnkiConfig(learning_steps=(1.0, 10.0, 60.0), relearning_steps=(10.0, 60.0)),
        AnkiConfig(parameters=FSRS5),
        AnkiConfig(parameters=FSRS45, desired_retention=0.85),
        AnkiConfig(maximum_interval=20, desired_retention=0.8),
    ],
    ids=["no-steps", "one-step", "three-steps", "fsrs5", "fsrs45", "max-20"],
)
def test_ours_histories_under_other_settings(cfg: AnkiConfig) -> None:
    """Other steps (none: Anki's short-term learning under half a day; one; three), FSRS-5 and
    FSRS-4.5 sets, a short maximum interval: every option agrees, fuzz off."""
    answers = simulate(cfg, grades=250, seed=len(cfg.learning_steps) + cfg.maximum_interval)
    mismatches = replay_ours(our_scheduler(cfg), answers)
    print(f"{len(mismatches)} of {4 * len(answers)} options differ: {dict(summarize(mismatches))}")
    assert mismatches == []


REAL_LOG = Path(__file__).resolve().parents[2] / "shared" / "data" / "review-log-real.csv"


@pytest.mark.skipif(not REAL_LOG.exists(), reason="the shared real review log is not beside the repo")
def test_optimize_builds_ankis_training_items() -> None:
    """Part of the real log (its first 400 cards) answered in Anki: Anki's ``compute_fsrs_params``
    builds as many items as ``optimize.items_from`` (from the answers alone, states found by
    replaying them) and fits initial stabilities (w0-w3) within 10% of ours on the same items."""
    from mlsys_srs.scheduling.optimize import _train, items_from, read_revlog, require_optimizer

    answers = sorted(read_revlog(REAL_LOG), key=lambda a: a.at)
    first: dict[str, datetime] = {}
    for a in answers:
        first.setdefault(a.card, a.at)
    cards = sorted(first, key=first.__getitem__)[:400]
    chosen = set(cards)
    answers = [a for a in answers if a.card in chosen]
    with AnkiOracle(AnkiConfig(fuzz=True), start=answers[0].at - timedelta(days=1)) as o:
        cids = dict(zip(cards, o.add_cards(len(cards)), strict=True))
        o.answer_many([(cids[a.card], a.rating, a.at) for a in answers])
        n, params = o.compute_params(answers[-1].at + timedelta(hours=1))
    items = items_from(answers, DayClock(UTC, 4))
    assert len(items) == n
    fr = require_optimizer()
    ours = _train(fr, fr.FSRS(list(fr.DEFAULT_PARAMETERS)), items, 1)
    for w, a in zip(ours[:4], params[:4], strict=True):
        assert w == pytest.approx(a, rel=0.1), (ours[:4], params[:4])
