"""The FSRS adapter: a card's stored schedule <-> FSRS, grading, previews, replay, the forgetting curve.

The one place that knows py-fsrs. ``fsrs`` itself is imported only where a
card is graded or previewed, so ``mlsys-srs due`` does not pay for it; the
forgetting curve (``ForgettingCurve``) is plain arithmetic with one decay rule,
used alike by the queue, ``stats``, ``graph`` and the Anki export.

Scheduling rules (``CardScheduler``), the same for a live grade, its preview and ``replay``,
are Anki's (docs/anki-rules.md; ``tests/test_anki_oracle.py`` replays histories through
Anki itself); py-fsrs gives the memory formulas only:

- **Review days.** The time elapsed since the last review is the number of
  review-day boundaries (``DayClock``: rollover hour, zone) between the two, as
  Anki and fsrs-rs count it, not 24-hour periods; 0 elapsed days selects FSRS's
  short-term (same-day) formula.
- **States and steps.** Anki's learning and relearning steps (Hard on the first
  step is the mean of the first two, Hard never graduates, Easy always does),
  and Anki's interval rules on top of FSRS: a passing review is at least the
  last interval + 1 when it grew, Good at least Hard + 1, Easy at least Good + 1,
  a graduating Easy at least a day after Good (``fuzz``).
- **Memory states** are stored as Anki stores them (stability to 4 decimals,
  difficulty to 3: ``stored_memory``), and the next answer starts from there.
- **Due dates.** An interval of n >= 1 days lands on the start of review day
  today + n (DST-safe, whatever the hour of the review); learning and
  relearning steps are seconds from now.
- **Fuzz.** Done here, not by py-fsrs (whose fuzz draws from the global
  ``random``): Anki's fuzz range (``fuzz.fuzz_range``) with the minimums
  inside it, and a draw determined by the card's ``uid`` and review count;
  learning steps get Anki's +0-25% (at most 5 minutes). The preview of a grade is
  therefore exactly what that grade schedules.
- **The day inside the range.** With a ``workload`` (the cards due on each coming day, the
  card's siblings, easy days, breaks, a plan), a live grade and its preview choose the day
  with ``balance.choose_day`` (Anki's load balancer and ours); without one, the plain draw.
  A replay (``replay_grade``) never balances: it takes the day the live grade recorded in
  its journal event (``recorded``), so every device replays alike whatever load it saw; an
  event without one (from an older version) gets the plain draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..core.states import CardState
from ..errors import ConfigError
from ..store.db import dt_from_db, dt_to_db
from .days import DayClock, zone
from .fuzz import f32, fuzz_fraction, fuzzed_days, learning_step_fuzz, passing_review_days, rust_round

if TYPE_CHECKING:
    import fsrs

    from ..config import ScheduleConfig
    from .balance import DayContext
    from .daily_load import Workload

RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
"""Grade number -> name, as FSRS and Anki call them."""

DEFAULT_DECAY = 0.1542
"""FSRS-6 default decay (``fsrs.scheduler.FSRS_DEFAULT_DECAY``; a test checks it), kept here so
the forgetting curve does not need to import fsrs."""

LEGACY_DECAY = 0.5
"""The fixed decay of FSRS-4.5 and FSRS-5 parameter sets (17 or 19 weights)."""


def full_parameters(parameters: Sequence[float]) -> tuple[float, ...]:
    """An FSRS parameter set as FSRS-6's 21 weights, converting older sets as Anki does
    (fsrs-rs ``check_and_fill_parameters``).

    FSRS-4.5 (17 weights): ``w4' = w4 + 2 w5``, ``w5' = ln(3 w5 + 1) / 3``, ``w6' = w6 + 0.5``
    (FSRS-5's initial difficulty ``w4 - exp(w5 (G - 1)) + 1`` and difficulty step, fitted to
    FSRS-4.5's linear ones), then ``0, 0`` (no short-term stability change), ``0`` and decay
    ``0.5``. FSRS-5 (19 weights): ``0`` (w19) and decay ``0.5`` appended. Empty stays empty
    (the FSRS-6 defaults).

    Raises:
        ValueError: not 0, 17, 19 or 21 weights.
    """
    p = tuple(float(x) for x in parameters)
    if not p:
        return p
    if len(p) == 17:
        w4, w5, w6 = p[4], p[5], p[6]
        p = (*p[:4], w4 + 2 * w5, math.log(3 * w5 + 1) / 3, w6 + 0.5, *p[7:], 0.0, 0.0)
    if len(p) == 19:
        p = (*p, 0.0, LEGACY_DECAY)
    if len(p) != 21:
        raise ValueError(f"FSRS parameters are 17, 19 or 21 numbers, not {len(parameters)}")
    return p


def review_days_between(clock: DayClock, earlier: datetime, later: datetime) -> int:
    """Review-day boundaries crossed from ``earlier`` to ``later`` (0: the same review day)."""
    return max(0, (clock.day_of(later) - clock.day_of(earlier)).days)


def decay_of(parameters: Sequence[float]) -> float:
    """The decay of an FSRS parameter set: weight 20 of FSRS-6 (21 weights); 0.5 for
    FSRS-4.5/5 sets (17 or 19 weights); py-fsrs's default when none are given."""
    if not parameters:
        return DEFAULT_DECAY
    if len(parameters) > 20:
        return float(parameters[20])
    return LEGACY_DECAY


@dataclass(frozen=True)
class ForgettingCurve:
    """The FSRS forgetting curve of one parameter set: ``R = (1 + factor * t / S) ** -decay``."""

    decay: float
    factor: float

    @classmethod
    def from_parameters(cls, parameters: Sequence[float] = ()) -> ForgettingCurve:
        """The curve of ``parameters`` (empty: py-fsrs's defaults), by ``decay_of``'s rule."""
        decay = decay_of(parameters)
        return cls(decay=decay, factor=0.9 ** (1 / -decay) - 1)

    def retrievability(self, elapsed_days: float, stability: float | None) -> float:
        """Probability of recall ``elapsed_days`` after the last review at ``stability`` (0 without one)."""
        if stability is None or stability <= 0:
            return 0.0
        return float((1 + self.factor * max(0.0, elapsed_days) / stability) ** -self.decay)

    def at(
        self,
        now: datetime,
        last_review: datetime | None,
        stability: float | None,
        clock: DayClock | None = None,
    ) -> float:
        """Retrievability at ``now`` (0 if never reviewed).

        Elapsed time is counted in review days with ``clock`` (as the scheduler counts it),
        else in whole 24-hour days.
        """
        if last_review is None:
            return 0.0
        if clock is not None:
            return self.retrievability(review_days_between(clock, last_review, now), stability)
        return self.retrievability(max(0, (now - last_review).days), stability)

    def add_daily(self, totals: list[float], reviewed: int, stability: float, start: int, stop: int) -> None:
        """Add to ``totals[d]``, for each day ``d`` in ``start..stop-1``, the retrievability
        ``d - reviewed`` days after a review on day ``reviewed`` left ``stability`` (> 0).

        The curve of ``retrievability`` for a span of days, one addition and one power per day
        (the base steps by ``k``: within a few ulps of ``1 + k * (d - reviewed)``).
        """
        k = self.factor / stability
        x = 1 + k * (start - reviewed)
        power = -self.decay
        for d in range(start, stop):
            totals[d] += x**power
            x += k


@dataclass(frozen=True)
class CardSchedule:
    """A card's scheduling columns, parsed."""

    state: str = "new"
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: datetime | None = None
    last_review: datetime | None = None
    reps: int = 0
    lapses: int = 0
    suspended: bool = False
    buried_until: datetime | None = None

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> CardSchedule:
        """From the stored column values (``SCHEDULE_COLUMNS`` -> value as stored)."""
        return cls(
            state=str(raw["state"]),
            step=raw["step"],
            stability=raw["stability"],
            difficulty=raw["difficulty"],
            due=dt_from_db(raw["due"]),
            last_review=dt_from_db(raw["last_review"]),
            reps=int(raw["reps"]),
            lapses=int(raw["lapses"]),
            suspended=bool(raw["suspended"]),
            buried_until=dt_from_db(raw["buried_until"]),
        )

    def to_raw(self) -> dict[str, Any]:
        """The column values as they are stored."""
        return {
            "state": self.state,
            "step": self.step,
            "stability": self.stability,
            "difficulty": self.difficulty,
            "due": dt_to_db(self.due),
            "last_review": dt_to_db(self.last_review),
            "reps": self.reps,
            "lapses": self.lapses,
            "suspended": int(self.suspended),
            "buried_until": dt_to_db(self.buried_until),
        }


def fsrs_parameters(parameters: Sequence[float], origin: str = "") -> tuple[float, ...]:
    """The 21 weights py-fsrs takes for a configured set of 17, 19 or 21.

    An FSRS-4.5 or FSRS-5 set is converted as Anki converts it (``full_parameters``:
    FSRS-4.5's w4-w6 rewritten for FSRS-5's difficulty formulas, then no same-day
    stability change and decay 0.5, as ``decay_of`` says). The weights given are
    checked against py-fsrs's bounds (for a 17-weight set, its first 17); checked
    here, where the scheduler is built, so that ``due`` never imports fsrs.

    Raises:
        ConfigError: a weight is missing, not finite or outside py-fsrs's bounds.
    """
    from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

    where = f"{origin}: " if origin else ""
    values = tuple(float(x) for x in parameters)
    if len(values) not in (17, 19, 21):
        raise ConfigError(f"{where}schedule.parameters must be 17, 19 or 21 FSRS weights, not {len(values)}")
    for i, (x, low, high) in enumerate(
        zip(values, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=False)
    ):
        if not math.isfinite(x) or not low <= x <= high:
            raise ConfigError(
                f"{where}schedule.parameters: weight {i} is {x}, outside py-fsrs's bounds {low} to {high}"
            )
    return full_parameters(values)


_STATES = frozenset(s.value for s in CardState)

_FSRS_INTERNALS = (
    "_initial_stability",
    "_initial_difficulty",
    "_short_term_stability",
    "_next_stability",
)
"""The py-fsrs scheduler's own formulas ``CardScheduler`` calls (py-fsrs 6); without them (another
py-fsrs version) the memory state comes from ``fsrs.Scheduler.review_card``, which calls the same."""

DAY_SECS = 86400


def stored_memory(stability: float, difficulty: float) -> tuple[float, float]:
    """A memory state as Anki stores it: stability to 4 decimals, difficulty to 3.

    Anki rounds in f32 (``CardData::convert_to_json``: ``(v * 10^k).round() / 10^k``, half away
    from zero) and continues from the stored value at the next answer; so do we, at every grade
    (live or replayed), so that both schedulers start each answer from the same state.
    """
    return _to_places(stability, 10000.0), _to_places(difficulty, 1000.0)


def _to_places(value: float, scale: float) -> float:
    """``round(f32(f32(value) * scale)) / scale`` for ``value >= 0``: in f64 when the f32 steps
    (at most 1.2e-7 relative) cannot move the product across a half, else in f32."""
    x = value * scale
    tolerance = 2.5e-7 * x + 1e-9
    if tolerance < 0.25 and abs(x % 1.0 - 0.5) > tolerance:
        return int(x + 0.5) / scale
    return rust_round(f32(f32(value) * scale)) / scale


def allows_short_term(parameters: Sequence[float]) -> bool:
    """Whether a (re)learning card with no steps may stay in learning for less than half a day
    (Anki's ``fsrs_allow_short_term``: the default set, or a set of 19 or more weights with
    w17 and w18 above 0; never an FSRS-4.5 set)."""
    if not parameters:
        return True
    return len(parameters) >= 19 and parameters[17] > 0 and parameters[18] > 0


def _step_secs(steps: Iterable[timedelta]) -> tuple[int, ...]:
    return tuple(int(step.total_seconds()) for step in steps)


def hard_step_secs(steps: Sequence[int], index: int) -> int:
    """The delay of Hard on (re)learning step ``index`` (Anki's ``hard_delay_secs``): the step
    itself, except on the first step: the mean of the first two steps, or 1.5 times a single step
    (at most a day more), rounded to whole days when over a day."""
    if index > 0:
        return steps[index]
    one = len(steps) == 1
    secs = min(steps[0] * 3 // 2, steps[0] + DAY_SECS) if one else (steps[0] + steps[1]) // 2
    if secs > DAY_SECS:
        secs = rust_round(f32(f32(float(secs)) / DAY_SECS)) * DAY_SECS
    return secs


class Difficulty:
    """FSRS difficulty as fsrs-rs computes it, in f32 (``init_difficulty``, ``next_difficulty``,
    ``mean_reversion``): the stored difficulty (3 decimals) is then Anki's to the last digit."""

    def __init__(self, parameters: Sequence[float]) -> None:
        """The formulas of a full (21-weight) parameter set (empty: py-fsrs's defaults)."""
        if not parameters:
            from fsrs.scheduler import DEFAULT_PARAMETERS

            parameters = DEFAULT_PARAMETERS
        w = [f32(x) for x in parameters]
        self._w7 = w[7]
        self._initial = {r: self._init(w, r) for r in RATINGS}
        self._easy = self._init(w, 4)  # unclamped: the mean-reversion target
        self._delta = {r: f32(-w[6] * (r - 3)) for r in RATINGS}

    @staticmethod
    def _init(w: Sequence[float], rating: int) -> float:
        return f32(f32(w[4] - f32(math.exp(f32(w[5] * (rating - 1))))) + 1.0)

    def after(self, difficulty: float | None, rating: int) -> float:
        """The difficulty after ``rating`` (the initial one when ``difficulty`` is None), unrounded."""
        if difficulty is None:
            return min(max(self._initial[rating], 1.0), 10.0)
        d = min(max(f32(difficulty), 1.0), 10.0)
        d = f32(d + f32(f32(f32(10.0 - d) * self._delta[rating]) / 9.0))
        d = f32(f32(self._w7 * f32(self._easy - d)) + d)
        return min(max(d, 1.0), 10.0)

    def stored_after(self, difficulty: float | None, rating: int) -> float:
        """``after``, rounded as Anki stores it (3 decimals): computed in f64, and in f32 only when
        the two could round apart (within 0.01 of a half in the last digit, or near a clamp)."""
        if difficulty is not None and 1.0 <= difficulty <= 10.0:
            d = difficulty + (10.0 - difficulty) * self._delta[rating] / 9.0
            d = self._w7 * (self._easy - d) + d
            x = d * 1000.0
            if 1000.1 < x < 9999.9 and abs(x % 1.0 - 0.5) > 0.01:
                return int(x + 0.5) / 1000
        return _to_places(self.after(difficulty, rating), 1000.0)


def _day_instant(day: date) -> datetime:
    """A review day on the synthetic timeline py-fsrs is fed: its midnight, UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True)
class Outcome:
    """What one grade would do: the ``schedule`` it stores and its ``interval`` for people (review
    days, or the step before its fuzz)."""

    schedule: CardSchedule
    interval: timedelta


class CardScheduler:
    """FSRS under Anki's rules: review days, due dates at day starts, Anki's interval rules and
    fuzz range, a seeded fuzz draw, memory states stored as Anki stores them.

    One per configuration and day clock. ``grade``, ``preview`` and ``replay_grade`` are one
    computation (``_answer``), so a preview is exactly what the grade then schedules and a replay
    exactly what live grading stored.

    ``workload``: where live grades and previews choose their day (``daily_load.Workload``: the
    load per day, siblings, easy days, breaks, a plan); None: the plain fuzz draw. Replays never
    use it.
    """

    def __init__(self, cfg: ScheduleConfig, clock: DayClock | None = None) -> None:
        """Build the scheduler of ``cfg`` (``clock`` default: the zone and rollover of ``cfg``)."""
        import fsrs

        kw: dict[str, Any] = {}
        if cfg.parameters:
            kw["parameters"] = fsrs_parameters(cfg.parameters, getattr(cfg, "origin", ""))
        self.cfg = cfg
        self.clock = clock or DayClock(zone(cfg.timezone), cfg.rollover_hour)
        self.fuzz = cfg.enable_fuzzing
        self.fsrs = fsrs.Scheduler(
            desired_retention=cfg.desired_retention,
            learning_steps=cfg.learning_steps,
            relearning_steps=cfg.relearning_steps,
            maximum_interval=cfg.maximum_interval,
            enable_fuzzing=False,
            **kw,
        )
        self._learn_secs = _step_secs(self.fsrs.learning_steps)
        self._relearn_secs = _step_secs(self.fsrs.relearning_steps)
        self._max_days = max(int(cfg.maximum_interval), 1)
        self._short_term = allows_short_term(cfg.parameters)
        self._ratings: dict[int, fsrs.Rating] = {}
        self._initial_stability: dict[int, float] = {}
        f = self.fsrs
        if all(hasattr(f, name) for name in _FSRS_INTERNALS):
            self._ratings = {int(r): r for r in fsrs.Rating}
            self._initial_stability = {int(r): f._initial_stability(rating=r) for r in fsrs.Rating}
        self._difficulty = Difficulty(self.parameters)
        # py-fsrs's own curve: the same decay and factor, computed the same way (a test checks it).
        self._curve = ForgettingCurve.from_parameters(self.parameters)
        # fsrs-rs's ``next_interval`` in f32: S / factor * (DR ** (1 / -decay) - 1).
        decay = f32(-self._curve.decay)
        self._ivl_factor = f32(f32(math.exp(f32(f32(math.log(f32(0.9))) / decay))) - 1.0)
        self._ivl_scale = f32(f32(f32(cfg.desired_retention) ** f32(1.0 / decay)) - 1.0)
        self._day_memo: tuple[datetime, date] | None = None
        self._day_starts: dict[date, datetime] = {}
        self._start_days: dict[datetime, date] = {}
        self.workload: Workload | None = None

    @property
    def parameters(self) -> tuple[float, ...]:
        """The 21 FSRS weights in use."""
        return tuple(self.fsrs.parameters)

    @property
    def maximum_interval(self) -> int:
        """The longest interval, in days."""
        return int(self.fsrs.maximum_interval)

    @property
    def learning_steps(self) -> tuple[timedelta, ...]:
        """The learning steps."""
        return tuple(self.fsrs.learning_steps)

    @property
    def desired_retention(self) -> float:
        """The target probability of recall."""
        return float(self.fsrs.desired_retention)

    def fsrs_interval(self, stability: float) -> float:
        """FSRS's interval for ``stability`` at the desired retention: unrounded days, in f32 as
        fsrs-rs computes it (``next_interval``)."""
        return f32(f32(f32(stability) / self._ivl_factor) * self._ivl_scale)

    def grade(self, uid: str, s: CardSchedule, rating: int, now: datetime) -> CardSchedule:
        """The card's schedule after grading it ``rating`` (1-4) at ``now`` (UTC-aware).

        ``uid`` is the card's stable identity (``card.uid``), which with ``s.reps``
        seeds the fuzz. ``reps`` counts every review; ``lapses`` counts Again on a
        card in review. Suspension and burial are left as they were.
        """
        if rating not in RATINGS:
            raise ValueError(f"rating must be 1-4, not {rating!r}")
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return self._answer(uid, s, rating, now, self.clock.day_of, self._context)[0]

    def replay_grade(
        self, uid: str, s: CardSchedule, rating: int, now: datetime, recorded: date | None = None
    ) -> CardSchedule:
        """What ``grade`` returned, for replaying long histories (a journal merge, an import, a
        rebuild): the same computation, remembering review days and day starts between grades.

        ``recorded``: the review day the live grade chose (its journal event's ``due``), used
        instead of choosing again when the answer schedules the card for a later day; without it
        (an older event), the plain fuzz draw. A replay never consults the ``workload``.
        """
        if (not self._ratings or rating not in RATINGS or now.tzinfo is None) and (
            recorded is None and self.workload is None
        ):
            return self.grade(uid, s, rating, now)
        if rating not in RATINGS:
            raise ValueError(f"rating must be 1-4, not {rating!r}")
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        day_of = self._day_of if self._ratings else self.clock.day_of
        return self._answer(uid, s, rating, now, day_of, None, recorded)[0]

    def _context(self, uid: str, today: date) -> DayContext | None:
        """The workload's context for a live answer of ``uid`` on ``today`` (None without one)."""
        workload = self.workload
        return None if workload is None else workload.context(uid, today)

    def _answer(
        self,
        uid: str,
        s: CardSchedule,
        rating: int,
        now: datetime,
        day_of: Callable[[datetime], date],
        context: Callable[[str, date], DayContext | None] | None = None,
        recorded: date | None = None,
    ) -> tuple[CardSchedule, int | None]:
        """Anki's answer to ``rating`` (docs/anki-rules.md, sections 2-4): the memory state, then
        the state, step and interval by Anki's rules, the fuzz inside Anki's range.

        ``context`` gives the day context of a live answer (``balance.choose_day``); ``recorded``
        is a replayed answer's recorded review day (taken when the answer schedules a later day).

        Returns the schedule and, for a (re)learning step, the step in seconds before its fuzz.
        """
        state = s.state
        if state not in _STATES:
            raise ValueError(f"unknown card state {state!r}")
        since: int | None = None
        last_day: date | None = None
        if s.last_review is not None:
            # The day of the last review first: in a replay it is the previous grade's ``now``.
            last_day = day_of(s.last_review)
        today = day_of(now)
        if last_day is not None:
            since = (today - last_day).days
        fraction = fuzz_fraction(uid, s.reps) if self.fuzz else None
        stability = self._next_stability(s, since, rating, today)
        interval = self.fsrs_interval
        maximum = self._max_days
        fixed: int | None = None
        if recorded is not None:
            fixed = (recorded - today).days
            if fixed < 1:
                fixed = None  # not a later day: a damaged event; choose as if it had none
        ctx = None if context is None or fixed is not None else context(uid, today)
        if ctx is None:

            def pick(iv: float, minimum: int, top: int, stab: float) -> int:
                return fuzzed_days(fraction, iv, minimum, top)
        else:
            from .balance import choose_day

            def pick(iv: float, minimum: int, top: int, stab: float) -> int:
                return choose_day(fraction, iv, minimum, top, ctx, stab)

        days: int | None = None
        secs = 0
        step: int | None = None
        lapses = s.lapses
        if state == "review":
            if rating == 1:
                lapses += 1
                again = interval(stability)
                if self._relearn_secs:
                    new_state, step, secs = "relearning", 0, self._relearn_secs[0]
                elif self._short_term and again < 0.5:
                    new_state, step, secs = "relearning", 0, int(f32(again * DAY_SECS))
                else:
                    # Anki: no fuzz and no minimum; ours also keeps it within the maximum interval.
                    new_state, days = "review", min(max(rust_round(again), 1), maximum)
            elif fixed is not None:
                new_state, days = "review", fixed
            else:
                # Good needs Hard's day, Easy Hard's and Good's.
                stabs = [self._next_stability(s, since, r, today) for r in range(2, rating)]
                stabs.append(stability)
                ivs = [interval(x) for x in stabs]
                new_state = "review"
                previous = self._current_interval(s, last_day, day_of)
                choose = None if ctx is None else (lambda k, iv, lo, hi: pick(iv, lo, hi, stabs[k]))
                days = passing_review_days(ivs, previous, maximum, fraction, choose)[-1]
        else:
            steps = self._relearn_secs if state == "relearning" else self._learn_secs
            new_state = "relearning" if state == "relearning" else "learning"
            index = min(s.step or 0, len(steps) - 1) if steps else 0
            if rating == 4:
                new_state = "review"
                if fixed is not None:
                    days = fixed
                else:
                    # Easy graduates, at least a day after Good fuzzed from its unrounded interval.
                    good_stability = self._next_stability(s, since, 3, today)
                    good = pick(interval(good_stability), 1, maximum, good_stability)
                    days = pick(max(rust_round(interval(stability)), 1), good + 1, maximum, stability)
            elif steps and rating == 1:
                step, secs = 0, steps[0]
            elif steps and rating == 2:
                step, secs = index, hard_step_secs(steps, index)
            elif steps and index + 1 < len(steps):
                step, secs = index + 1, steps[index + 1]
            else:  # Good on the last step, or no steps: graduates (or short-term, without steps)
                iv = interval(stability)
                if not steps and self._short_term and iv < 0.5:
                    step, secs = 0, int(f32(iv * DAY_SECS))
                else:
                    new_state = "review"
                    days = fixed if fixed is not None else pick(max(rust_round(iv), 1), 1, maximum, stability)
        if days is not None:
            due = self._day_start(today + timedelta(days=days))
        else:
            due = now + timedelta(seconds=learning_step_fuzz(fraction, secs))
        known = s.state != "new" and s.stability is not None and s.difficulty is not None
        difficulty = self._difficulty.stored_after(s.difficulty if known else None, rating)
        stability = _to_places(stability, 10000.0)
        after = CardSchedule(
            new_state,
            step,
            stability,
            difficulty,
            due,
            now,
            s.reps + 1,
            lapses,
            s.suspended,
            s.buried_until,
        )
        return after, None if days is not None else secs

    def _current_interval(
        self, s: CardSchedule, last_day: date | None, day_of: Callable[[datetime], date]
    ) -> int:
        """A card in review's current interval (Anki's ``scheduled_days``): review days from its last
        review (``last_day``) to its due day."""
        if s.due is None or last_day is None:
            return 0
        due_day = self._start_days.get(s.due)
        if due_day is None:
            due_day = self.clock.day_of(s.due)
        return max(0, (due_day - last_day).days)

    def _next_stability(self, s: CardSchedule, since: int | None, rating: int, today: date) -> float:
        """Stability after ``rating`` (unrounded), as fsrs-rs's ``next_states``: the initial one
        without a memory state (a new card), the short-term formula on the day of the last review,
        else the long-term one at the retrievability of ``since`` review days."""
        stability, difficulty = s.stability, s.difficulty
        if s.state == "new" or stability is None or difficulty is None:
            if not self._ratings:
                return self._stability_by_review_card(None, since, rating, today)
            return self._initial_stability[rating]
        if not self._ratings:
            return self._stability_by_review_card(s, since, rating, today)
        f = self.fsrs
        grade = self._ratings[rating]
        if since is not None and since < 1:
            return float(f._short_term_stability(stability=stability, rating=grade))
        # py-fsrs's ``get_card_retrievability`` on this timeline (0 without a last review).
        r: float = 0 if since is None else self._curve.retrievability(since, stability)
        return float(
            f._next_stability(difficulty=difficulty, stability=stability, retrievability=r, rating=grade)
        )

    def _stability_by_review_card(
        self, s: CardSchedule | None, since: int | None, rating: int, today: date
    ) -> float:
        """``_next_stability`` through py-fsrs's public ``review_card`` (a py-fsrs without the
        formulas ``_FSRS_INTERNALS`` names), on a timeline where review days are whole days."""
        import fsrs

        at = _day_instant(today)
        if s is None:
            card = fsrs.Card(card_id=0, state=fsrs.State.Learning, step=0, due=at)
        else:
            last = None if since is None else at - timedelta(days=since)
            card = fsrs.Card(card_id=0, state=fsrs.State.Review, stability=s.stability,
                             difficulty=s.difficulty, due=at, last_review=last)  # fmt: skip
        after, _ = self.fsrs.review_card(card, fsrs.Rating(rating), at)
        assert after.stability is not None
        return float(after.stability)

    def _day_of(self, instant: datetime) -> date:
        """``clock.day_of``, remembering the last answer (a replay asks for each instant twice)."""
        memo = self._day_memo
        if memo is not None and memo[0] == instant:
            return memo[1]
        day = self.clock.day_of(instant)
        self._day_memo = (instant, day)
        return day

    def day_start(self, day: date) -> datetime:
        """The instant review day ``day`` starts (``clock.day_start``, remembered)."""
        return self._day_start(day)

    def _day_start(self, day: date) -> datetime:
        """``clock.day_start``, remembered by day (and the day of each start)."""
        start = self._day_starts.get(day)
        if start is None:
            start = self._day_starts[day] = self.clock.day_start(day)
            self._start_days[start] = day
        return start

    def preview(self, uid: str, s: CardSchedule, now: datetime) -> dict[int, CardSchedule]:
        """What each grade (1-4) at ``now`` would make of the card: exactly what ``grade`` returns."""
        return {rating: self.grade(uid, s, rating, now) for rating in RATINGS}

    def outcomes(self, uid: str, s: CardSchedule, now: datetime) -> dict[int, Outcome]:
        """Each grade's outcome at ``now``: the schedule ``grade`` would store and its interval as
        the grade buttons show it (``intervals``)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        out = {}
        for rating in RATINGS:
            after, secs = self._answer(uid, s, rating, now, self.clock.day_of, self._context)
            shown = self.interval(after, now) if secs is None else timedelta(seconds=secs)
            out[rating] = Outcome(after, shown)
        return out

    def interval(self, after: CardSchedule, now: datetime) -> timedelta:
        """The time from ``now`` to ``after``'s due: whole review days for a card in review (due
        on the start of a later day), else the time until its next step (fuzz included)."""
        assert after.due is not None
        if after.state == "review":
            return timedelta(days=(self.clock.day_of(after.due) - self.clock.day_of(now)).days)
        return after.due - now

    def intervals(self, uid: str, s: CardSchedule, now: datetime) -> dict[int, timedelta]:
        """The interval each grade at ``now`` would give, as the grade buttons show it
        (``1 Again 10m  2 Hard 1d ...``): review days, or the (re)learning step as configured
        (as Anki shows it: the card comes back up to a quarter of the step later, at most 5
        minutes, by the step fuzz)."""
        return {r: o.interval for r, o in self.outcomes(uid, s, now).items()}


def make_scheduler(cfg: ScheduleConfig, clock: DayClock | None = None) -> CardScheduler:
    """The ``CardScheduler`` of ``cfg`` (``clock`` default: the zone and rollover hour of ``cfg``)."""
    return CardScheduler(cfg, clock)


# -- replay ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewEvent:
    """A review: grade ``rating`` (1-4) given at ``at``."""

    rating: int
    at: datetime


@dataclass(frozen=True)
class ResetEvent:
    """The card was made new again at ``at`` (``mlsys-srs reset``)."""

    at: datetime


@dataclass(frozen=True)
class SeedEvent:
    """A memory state set from outside at ``at`` (an import of another tool's schedule)."""

    at: datetime
    state: str
    stability: float | None
    difficulty: float | None
    due: datetime | None
    last_review: datetime | None


HistoryEvent = ReviewEvent | ResetEvent | SeedEvent


def replay_steps(
    uid: str,
    history: Iterable[HistoryEvent],
    scheduler: CardScheduler,
    start: CardSchedule | None = None,
) -> Iterator[tuple[HistoryEvent, CardSchedule]]:
    """Each event of ``replay`` with the card's schedule after it."""
    s = start or CardSchedule()
    for ev in sorted(history, key=lambda e: e.at):
        if isinstance(ev, ReviewEvent):
            s = scheduler.replay_grade(uid, s, ev.rating, ev.at)
        elif isinstance(ev, ResetEvent):
            s = replace(s, state="new", step=None, stability=None, difficulty=None, due=None,
                        last_review=None, reps=0, lapses=0)  # fmt: skip
        else:
            s = replace(
                s,
                state=ev.state,
                step=None if ev.state in ("review", "new") else 0,
                stability=ev.stability,
                difficulty=ev.difficulty,
                due=ev.due,
                last_review=ev.last_review,
            )
        yield ev, s


def replay(
    uid: str,
    history: Iterable[HistoryEvent],
    scheduler: CardScheduler,
    start: CardSchedule | None = None,
) -> CardSchedule:
    """A card's schedule after its history, exactly as live grading would have left it.

    Args:
        uid: The card's stable identity (``card.uid``): with the review count it seeds
            the fuzz, so the result is the same on every device.
        history: The card's events: ``ReviewEvent(rating, at)``, ``ResetEvent(at)``
            (new again: memory, reps and lapses forgotten) and ``SeedEvent`` (a memory
            state imported from another tool: state, stability, difficulty, due, last
            review). Taken in time order (a stable sort by ``at``: events at the same
            instant keep the order given). Cram answers are not history.
        scheduler: ``CardScheduler(cfg, clock)``: the settings and review-day clock to
            replay with (build one and reuse it for many cards).
        start: The schedule before the first event (default: a new card). Its
            ``suspended`` and ``buried_until`` are carried through unchanged: replay
            does not decide suspension or burial.

    Returns:
        The ``CardSchedule`` after the last event (``start`` if there is none).
    """
    s = start or CardSchedule()
    for _, after in replay_steps(uid, history, scheduler, start):
        s = after
    return s


def is_new_leech(lapses_before: int, lapses_after: int, threshold: int) -> bool:
    """True when this lapse makes the card a leech.

    As in Anki: at the threshold, then again every half threshold (a leech that
    was unsuspended and keeps failing is caught again). ``threshold`` 0 disables.
    """
    if threshold <= 0 or lapses_after <= lapses_before or lapses_after < threshold:
        return False
    return (lapses_after - threshold) % max(1, threshold // 2) == 0
