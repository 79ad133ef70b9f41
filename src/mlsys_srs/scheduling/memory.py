"""The FSRS adapter: a card's stored schedule <-> py-fsrs, grading, previews, replay, the forgetting curve.

The one place that knows py-fsrs. ``fsrs`` itself is imported only where a
card is graded or previewed, so ``mlsys-srs due`` does not pay for it; the
forgetting curve (``ForgettingCurve``) is plain arithmetic with one decay rule,
used alike by the queue, ``stats``, ``graph`` and the Anki export.

Scheduling rules (``CardScheduler``), the same for a live grade, its preview and ``replay``:

- **Review days.** The time elapsed since the last review is the number of
  review-day boundaries (``DayClock``: rollover hour, zone) between the two, as
  Anki and fsrs-rs count it, not 24-hour periods. py-fsrs counts
  ``(now - last_review).days``, so it is fed a synthetic timeline on which every
  instant of a review day is that day's midnight UTC; 0 elapsed days selects
  FSRS's short-term (same-day) formula.
- **Due dates.** An interval of n >= 1 days lands on the start of review day
  today + n (DST-safe, whatever the hour of the review); learning and
  relearning steps are minutes from now.
- **Fuzz.** Done here, not by py-fsrs (whose fuzz draws from the global
  ``random``): the Anki/py-fsrs fuzz range around the interval, and a draw
  determined by the card's ``uid`` and review count. The preview of a grade is
  therefore exactly what that grade schedules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..core.states import CardState
from ..errors import ConfigError
from ..store.db import dt_from_db, dt_to_db
from .days import DayClock, zone

if TYPE_CHECKING:
    import fsrs

    from ..config import ScheduleConfig

RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
"""Grade number -> name, as FSRS and Anki call them."""

DEFAULT_DECAY = 0.1542
"""FSRS-6 default decay (``fsrs.scheduler.FSRS_DEFAULT_DECAY``; a test checks it), kept here so
the forgetting curve does not need to import fsrs."""

LEGACY_DECAY = 0.5
"""The fixed decay of FSRS-4.5 and FSRS-5 parameter sets (17 or 19 weights)."""


def full_parameters(parameters: Sequence[float]) -> tuple[float, ...]:
    """An FSRS parameter set as FSRS-6's 21 weights, converting older sets as Anki does.

    FSRS-5 (19 weights) gets ``0.0, 0.5`` appended (no short-term stability exponent,
    decay 0.5); FSRS-4.5 (17 weights) ``0.0, 0.0`` first. Empty stays empty (py-fsrs's
    defaults).

    Raises:
        ValueError: not 0, 17, 19 or 21 weights.
    """
    p = tuple(float(x) for x in parameters)
    if not p:
        return p
    if len(p) == 17:
        p = (*p, 0.0, 0.0)
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

        The curve of ``retrievability`` for a span of days, one multiply and one power per day.
        """
        k = self.factor / stability
        base = 1 - k * reviewed  # 1 + k * (d - reviewed)
        power = -self.decay
        for d in range(start, stop):
            totals[d] += (base + k * d) ** power


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

    An FSRS-4.5 or FSRS-5 set is completed as an FSRS-6 set that schedules the
    same way (no same-day stability change, decay 0.5, as ``decay_of`` says).
    Checked here, where the scheduler is built, so that ``due`` never imports
    fsrs.

    Raises:
        ConfigError: a weight is missing, not finite or outside py-fsrs's bounds.
    """
    import math

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


_TO_FSRS_STATE = {s.value: s.fsrs_state for s in CardState}

FUZZ_RANGES = ((2.5, 7.0, 0.15), (7.0, 20.0, 0.1), (20.0, float("inf"), 0.05))
"""(start, end, factor) of each fuzz band, as py-fsrs's ``FUZZ_RANGES`` and Anki (a test checks it)."""


def fuzz_range(interval_days: int, maximum_interval: int) -> tuple[int, int]:
    """The days a fuzzed ``interval_days`` may become (py-fsrs/Anki's bands, capped)."""
    delta = 1.0
    for start, end, factor in FUZZ_RANGES:
        delta += factor * max(min(float(interval_days), end) - start, 0.0)
    lo = max(2, round(interval_days - delta))
    hi = min(round(interval_days + delta), maximum_interval)
    return min(lo, hi), hi


def fuzz_fraction(uid: str, reps: int) -> float:
    """A number in [0, 1) fixed by a card's identity and review count: the fuzz draw."""
    digest = hashlib.blake2b(f"fuzz\0{uid}\0{reps}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def fuzzed_interval(uid: str, reps: int, interval_days: int, maximum_interval: int) -> int:
    """``interval_days`` fuzzed deterministically (intervals under 2.5 days are kept)."""
    if interval_days < 2.5:
        return interval_days
    lo, hi = fuzz_range(interval_days, maximum_interval)
    return min(lo + int(fuzz_fraction(uid, reps) * (hi - lo + 1)), hi)


def _day_instant(day: date) -> datetime:
    """A review day on the synthetic timeline py-fsrs is fed: its midnight, UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


_FSRS_INTERNALS = (
    "_initial_stability",
    "_initial_difficulty",
    "_short_term_stability",
    "_next_stability",
    "_next_difficulty",
    "_next_interval",
)
"""The py-fsrs scheduler's own formulas ``CardScheduler.replay_grade`` calls (py-fsrs 6)."""


class CardScheduler:
    """py-fsrs under this tool's rules: review days, due dates at day starts, seeded fuzz.

    One per configuration and day clock; ``grade``, ``preview`` and ``replay`` all go
    through ``grade``, so a preview is exactly what the grade then schedules.
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
        self._learning_steps = tuple(self.fsrs.learning_steps)
        self._ratings: dict[int, fsrs.Rating] = {}
        self._initial_stability: dict[int, float] = {}
        self._initial_difficulty: dict[int, float] = {}
        f = self.fsrs
        if all(hasattr(f, name) for name in _FSRS_INTERNALS):
            # ``replay_grade``'s fast path uses py-fsrs's own formulas; a py-fsrs without them
            # (another version) leaves ``_ratings`` empty and every replay goes through ``grade``.
            self._ratings = {int(r): r for r in fsrs.Rating}
            self._initial_stability = {int(r): f._initial_stability(rating=r) for r in fsrs.Rating}
            self._initial_difficulty = {
                int(r): f._initial_difficulty(rating=r, clamp=True) for r in fsrs.Rating
            }
        # py-fsrs's own curve: the same decay and factor, computed the same way (a test checks it).
        self._curve = ForgettingCurve.from_parameters(self.parameters)
        self._relearning_steps = tuple(self.fsrs.relearning_steps)
        self._day_memo: tuple[datetime, date] | None = None
        self._day_starts: dict[date, datetime] = {}

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

    def _to_fsrs(self, s: CardSchedule, at: datetime) -> fsrs.Card:
        import fsrs

        if s.state == "new":
            return fsrs.Card(card_id=0, state=fsrs.State.Learning, step=0, due=at)
        state = fsrs.State(_TO_FSRS_STATE[s.state])
        step = s.step if s.step is not None or state == fsrs.State.Review else 0
        last = _day_instant(self.clock.day_of(s.last_review)) if s.last_review is not None else None
        return fsrs.Card(
            card_id=0,
            state=state,
            step=None if state == fsrs.State.Review else step,
            stability=s.stability,
            difficulty=s.difficulty,
            due=at,
            last_review=last,
        )

    def grade(self, uid: str, s: CardSchedule, rating: int, now: datetime) -> CardSchedule:
        """The card's schedule after grading it ``rating`` (1-4) at ``now`` (UTC-aware).

        ``uid`` is the card's stable identity (``card.uid``), which with ``s.reps``
        seeds the fuzz. ``reps`` counts every review; ``lapses`` counts Again on a
        card in review. Suspension and burial are left as they were.
        """
        import fsrs

        if rating not in RATINGS:
            raise ValueError(f"rating must be 1-4, not {rating!r}")
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        today = self.clock.day_of(now)
        at = _day_instant(today)
        card, _ = self.fsrs.review_card(self._to_fsrs(s, at), fsrs.Rating(rating), at)
        interval = card.due - at
        if card.state == fsrs.State.Review:
            days = interval.days
            if self.fuzz:
                days = fuzzed_interval(uid, s.reps, days, self.maximum_interval)
            due = self.clock.day_start(today + timedelta(days=days))
        else:
            due = now + interval
        return replace(
            s,
            state=CardState.from_fsrs(int(card.state)).value,
            step=card.step,
            stability=card.stability,
            difficulty=card.difficulty,
            due=due,
            last_review=now,
            reps=s.reps + 1,
            lapses=s.lapses + (1 if s.state == "review" and rating == 1 else 0),
        )

    def replay_grade(self, uid: str, s: CardSchedule, rating: int, now: datetime) -> CardSchedule:
        """Exactly what ``grade`` returns, computed without py-fsrs's ``Card`` objects, for replaying
        long histories (a journal merge, an import, a rebuild).

        The FSRS formulas are py-fsrs's own (its scheduler's stability, difficulty and interval
        methods, called with the same arguments in the same order, so every float is the same);
        only the state machine around them (learning and relearning steps, as in
        ``fsrs.Scheduler.review_card``) is walked here, on review days rather than instants.
        A schedule ``grade`` would reject or that py-fsrs does not expect (a card in review with
        no memory state) goes through ``grade`` itself. A test checks the two agree.
        """
        state = s.state
        grade = self._ratings.get(rating)
        if grade is None or now.tzinfo is None:
            return self.grade(uid, s, rating, now)
        if state == "new":
            code, step, since = 1, 0, None
            stability = self._initial_stability[rating]
            difficulty = self._initial_difficulty[rating]
        elif state not in _TO_FSRS_STATE or s.stability is None or s.difficulty is None:
            return self.grade(uid, s, rating, now)
        else:
            code = _TO_FSRS_STATE[state]
            step = 0 if s.step is None else s.step
            since = None
            if s.last_review is not None:
                # The day of the last review first: in a replay it is the previous grade's ``now``,
                # whose day ``_day_of`` still holds.
                last_day = self._day_of(s.last_review)
                since = (self._day_of(now) - last_day).days
            stability, difficulty = self._next_memory(s.stability, s.difficulty, since, grade)
        today = self._day_of(now)
        interval: timedelta | None = None
        if code == 2:
            if rating == 1 and self._relearning_steps:
                code, step, interval = 3, 0, self._relearning_steps[0]
        else:
            steps = self._learning_steps if code == 1 else self._relearning_steps
            if not steps or (step >= len(steps) and rating != 1):
                code = 2
            elif rating == 1:
                step, interval = 0, steps[0]
            elif rating == 2:
                if step == 0 and len(steps) == 1:
                    interval = steps[0] * 1.5
                elif step == 0 and len(steps) >= 2:
                    interval = (steps[0] + steps[1]) / 2.0
                else:
                    interval = steps[step]
            elif rating == 3 and step + 1 != len(steps):
                step += 1
                interval = steps[step]
            else:  # Good on the last step, or Easy: graduates
                code = 2
        if interval is None:  # in review: whole days, fuzzed, to the start of that review day
            days = self.fsrs._next_interval(stability=stability)
            if self.fuzz:
                days = fuzzed_interval(uid, s.reps, days, self.maximum_interval)
            due = self._day_start(today + timedelta(days=days))
        else:
            due = now + interval
        return CardSchedule(
            CardState.from_fsrs(code).value,
            None if code == 2 else step,
            stability,
            difficulty,
            due,
            now,
            s.reps + 1,
            s.lapses + (1 if state == "review" and rating == 1 else 0),
            s.suspended,
            s.buried_until,
        )

    def _next_memory(
        self, stability: float, difficulty: float, since: int | None, rating: fsrs.Rating
    ) -> tuple[float, float]:
        """Stability and difficulty after a review of a card that has a memory state, as
        ``fsrs.Scheduler.review_card`` updates them in every state (``since``: review days since
        the last review, None without one)."""
        f = self.fsrs
        if since is not None and since < 1:
            new_stability = f._short_term_stability(stability=stability, rating=rating)
        else:
            # py-fsrs's ``get_card_retrievability`` on this timeline (0 without a last review).
            r: float = 0 if since is None else self._curve.retrievability(since, stability)
            new_stability = f._next_stability(
                difficulty=difficulty, stability=stability, retrievability=r, rating=rating
            )
        return new_stability, f._next_difficulty(difficulty=difficulty, rating=rating)

    def _day_of(self, instant: datetime) -> date:
        """``clock.day_of``, remembering the last answer (a replay asks for each instant twice)."""
        memo = self._day_memo
        if memo is not None and memo[0] == instant:
            return memo[1]
        day = self.clock.day_of(instant)
        self._day_memo = (instant, day)
        return day

    def _day_start(self, day: date) -> datetime:
        """``clock.day_start``, remembered by day."""
        start = self._day_starts.get(day)
        if start is None:
            start = self._day_starts[day] = self.clock.day_start(day)
        return start

    def preview(self, uid: str, s: CardSchedule, now: datetime) -> dict[int, CardSchedule]:
        """What each grade (1-4) at ``now`` would make of the card: exactly what ``grade`` returns."""
        return {rating: self.grade(uid, s, rating, now) for rating in RATINGS}

    def interval(self, after: CardSchedule, now: datetime) -> timedelta:
        """The interval a grade at ``now`` gave, for people: whole review days for a card in
        review (due on the start of a later day), else the time until its next step."""
        assert after.due is not None
        if after.state == "review":
            return timedelta(days=(self.clock.day_of(after.due) - self.clock.day_of(now)).days)
        return after.due - now

    def intervals(self, uid: str, s: CardSchedule, now: datetime) -> dict[int, timedelta]:
        """The interval each grade at ``now`` would give (``1 Again 10m  2 Hard 1d ...``)."""
        return {r: self.interval(after, now) for r, after in self.preview(uid, s, now).items()}


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
