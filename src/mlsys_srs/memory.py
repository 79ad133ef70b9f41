"""The FSRS adapter: a card's stored schedule <-> py-fsrs, grading, previews, the forgetting curve.

The one place that knows py-fsrs. ``fsrs`` itself is imported only where a
card is graded or previewed, so ``mlsys-srs due`` does not pay for it; the
forgetting curve (``ForgettingCurve``) is plain arithmetic with one decay rule,
used alike by the queue, ``stats``, ``graph`` and the Anki export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .store.db import dt_from_db, dt_to_db

if TYPE_CHECKING:
    import fsrs

    from .config import ScheduleConfig

RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
"""Grade number -> name, as FSRS and Anki call them."""

DEFAULT_DECAY = 0.1542
"""FSRS-6 default decay (``fsrs.scheduler.FSRS_DEFAULT_DECAY``; a test checks it), kept here so
the forgetting curve does not need to import fsrs."""

LEGACY_DECAY = 0.5
"""The fixed decay of FSRS-4.5 and FSRS-5 parameter sets (17 or 19 weights)."""


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

    def at(self, now: datetime, last_review: datetime | None, stability: float | None) -> float:
        """Retrievability at ``now``, counting whole elapsed days as py-fsrs does (0 if never reviewed)."""
        if last_review is None:
            return 0.0
        return self.retrievability(max(0, (now - last_review).days), stability)


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
    padding = {17: (0.0, 0.0, 0.0, LEGACY_DECAY), 19: (0.0, LEGACY_DECAY), 21: ()}
    if len(values) not in padding:
        raise ConfigError(f"{where}schedule.parameters must be 17, 19 or 21 FSRS weights, not {len(values)}")
    for i, (x, low, high) in enumerate(
        zip(values, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=False)
    ):
        if not math.isfinite(x) or not low <= x <= high:
            raise ConfigError(
                f"{where}schedule.parameters: weight {i} is {x}, outside py-fsrs's bounds {low} to {high}"
            )
    return values + padding[len(values)]


def make_scheduler(cfg: ScheduleConfig, *, fuzz: bool | None = None) -> fsrs.Scheduler:
    """A py-fsrs ``Scheduler`` with the configured retention, steps, interval cap and weights.

    ``fuzz`` overrides ``cfg.enable_fuzzing`` (previews use an unfuzzed copy).

    Raises:
        ConfigError: the weights are not a valid FSRS parameter set.
    """
    import fsrs

    kw: dict[str, Any] = {}
    if cfg.parameters:
        kw["parameters"] = fsrs_parameters(cfg.parameters, cfg.origin)
    return fsrs.Scheduler(
        desired_retention=cfg.desired_retention,
        learning_steps=cfg.learning_steps,
        relearning_steps=cfg.relearning_steps,
        maximum_interval=cfg.maximum_interval,
        enable_fuzzing=cfg.enable_fuzzing if fuzz is None else fuzz,
        **kw,
    )


_TO_FSRS_STATE = {"new": 1, "learning": 1, "review": 2, "relearning": 3}
_FROM_FSRS_STATE = {1: "learning", 2: "review", 3: "relearning"}


def to_fsrs_card(card_id: int, s: CardSchedule, now: datetime) -> fsrs.Card:
    """The ``fsrs.Card`` of a stored card; a new card is a Learning card at step 0."""
    import fsrs

    if s.state == "new":
        return fsrs.Card(card_id=card_id, state=fsrs.State.Learning, step=0, due=now)
    state = fsrs.State(_TO_FSRS_STATE[s.state])
    step = s.step if s.step is not None or state == fsrs.State.Review else 0
    return fsrs.Card(
        card_id=card_id,
        state=state,
        step=None if state == fsrs.State.Review else step,
        stability=s.stability,
        difficulty=s.difficulty,
        due=s.due or now,
        last_review=s.last_review,
    )


def apply_rating(
    scheduler: fsrs.Scheduler, card_id: int, s: CardSchedule, rating: int, now: datetime
) -> CardSchedule:
    """The card's schedule after grading it ``rating`` (1-4) at ``now``.

    ``reps`` counts every review; ``lapses`` counts Again on a card in review.
    Suspension and burial are left as they were.
    """
    import fsrs

    if rating not in RATINGS:
        raise ValueError(f"rating must be 1-4, not {rating!r}")
    card, _ = scheduler.review_card(to_fsrs_card(card_id, s, now), fsrs.Rating(rating), now)
    return replace(
        s,
        state=_FROM_FSRS_STATE[int(card.state)],
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
        reps=s.reps + 1,
        lapses=s.lapses + (1 if s.state == "review" and rating == 1 else 0),
    )


def preview_intervals(
    scheduler: fsrs.Scheduler, card_id: int, s: CardSchedule, now: datetime
) -> dict[int, timedelta]:
    """The interval each grade would give, ``{1: 10m, 2: ..., 3: ..., 4: ...}``."""
    out = {}
    for rating in RATINGS:
        after = apply_rating(scheduler, card_id, s, rating, now)
        assert after.due is not None
        out[rating] = after.due - now
    return out


def is_new_leech(lapses_before: int, lapses_after: int, threshold: int) -> bool:
    """True when this lapse makes the card a leech.

    As in Anki: at the threshold, then again every half threshold (a leech that
    was unsuspended and keeps failing is caught again). ``threshold`` 0 disables.
    """
    if threshold <= 0 or lapses_after <= lapses_before or lapses_after < threshold:
        return False
    return (lapses_after - threshold) % max(1, threshold // 2) == 0
