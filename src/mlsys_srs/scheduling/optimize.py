"""Fitting FSRS parameters to a review history, and judging them on a time split.

Needs the optional extra ``optimizer`` (fsrs-rs-python, the optimizer Anki uses);
``require_optimizer`` says how to install it. Nothing else imports this module,
so ``due`` and ``review`` never load the optimizer.

Training items are Anki's (rslib ``fsrs_items_for_training``/``reviews_for_fsrs``;
docs/anki-rules.md, section 6), with the time between two answers counted in review
days (``DayClock``, as the scheduler counts it):

- A card's history starts at its last run of learning answers (answers given while it
  was new or learning; after a reset, the first answer is one): what came before is
  dropped. A card with no learning answer (it came with a schedule) trains nothing.
- One item per answer after the first whose gap to the previous answer is at least
  one review day, holding the card's answers up to it. Same-day answers stay inside
  later items as 0-day steps but never end one.
- Cram answers are not history; a reset only starts a new history.
- fsrs-rs itself leaves out outliers (the rarest first-rating/first-gap pairs) and
  weighs items by recency; it is called as Anki calls it (card ids, short-term
  stability on, the number of relearning steps, 8 epochs).

The state before each answer comes from the log; a log without it (a CSV with no
``review_state``) is replayed through the scheduler with the configured steps to find
it, as Anki would have recorded it.

Evaluation: parameters are fitted on the items whose last answer is among the
earliest 80% of answers by time and scored on the rest: log loss and RMSE(bins) by
fsrs-rs, and, from the predicted recall computed here, AUC as srs-benchmark defines it
(the probability that a random passed review was predicted a higher recall than a
random failed one; ties count half) and a calibration table (predicted recall against
the share passed, by bin; the calibration error is the count-weighted mean gap over 20
bins). Fitted parameters are adopted only if they beat the ones in use on log loss and
are no worse on RMSE(bins) and calibration error.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.instants import parse_instant
from ..errors import SrsError
from .days import DayClock
from .memory import CardSchedule, ForgettingCurve

if TYPE_CHECKING:
    from ..config import ScheduleConfig

INSTALL_HINT = "pip install 'mlsys-srs[optimizer]'"
MIN_REVIEWS = 400
"""Long-term reviews (a gap of at least one review day) needed before a fit is trusted (Anki's figure)."""
TEST_SHARE = 0.2
"""The latest share of reviews (by time) the parameters are scored on."""
TRAIN_EPOCHS = 8
"""Passes of fsrs-rs's training over the items: Anki's figure (fsrs-rs's default is 5)."""
CALIBRATION_BINS = 20
"""Equal-width bins of predicted recall for the calibration error."""
TABLE_BINS = (0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)
"""Edges of the calibration table's bins (most predictions are above 0.8)."""
LEARNING_STATES = ("new", "learning")
"""States whose answers Anki logs as learning (``RevlogReviewKind::Learning``)."""
_ANKI_STATES = {"0": "new", "1": "learning", "2": "review", "3": "relearning"}


class OptimizerMissing(SrsError):
    """fsrs-rs-python is not installed."""


def require_optimizer() -> Any:
    """The ``fsrs_rs_python`` module, or one clear error saying how to install it."""
    try:
        import fsrs_rs_python
    except ImportError:
        raise OptimizerMissing(f"optimize needs the optimizer extra: {INSTALL_HINT}") from None
    return fsrs_rs_python


@dataclass(frozen=True)
class Answer:
    """One review of one card, for training."""

    card: str
    at: datetime
    rating: int
    reset: bool = False
    """The card was reset (made new) just before this review."""
    state: str | None = None
    """The card's state before the answer (``new``, ``learning``, ``review``, ``relearning``);
    None when the log does not say (``items_from`` then replays the card to find it)."""


@dataclass(frozen=True)
class Item:
    """A training item: ``(rating, review days since the previous review)`` up to one review."""

    reviews: tuple[tuple[int, int], ...]
    at: datetime
    card: str = ""

    @property
    def last_gap(self) -> int:
        """Review days between the item's last two reviews."""
        return self.reviews[-1][1]


def items_from(
    answers: Iterable[Answer], clock: DayClock, schedule: ScheduleConfig | None = None
) -> list[Item]:
    """Training items of every card as Anki builds them, ordered by the time of their last answer.

    Args:
        answers: The answers (cram answers already left out), in any order.
        clock: Review days (the gaps between answers).
        schedule: The steps to replay a card with when its answers carry no state (default:
            the default steps).
    """
    by_card: dict[str, list[Answer]] = {}
    for a in answers:
        by_card.setdefault(a.card, []).append(a)
    items: list[Item] = []
    replayer: _StateReplay | None = None
    for card, seq in by_card.items():
        seq.sort(key=lambda a: a.at)
        states = [a.state for a in seq]
        if any(state is None for state in states):
            replayer = replayer or _StateReplay(schedule)
            states = replayer.states(card, seq)
        learning = [state in LEARNING_STATES for state in states]
        if True not in learning:
            continue  # no learning answer: Anki trains nothing on the card
        start = len(learning) - 1 - learning[::-1].index(True)
        while start > 0 and learning[start - 1]:
            start -= 1  # the first answer of the last run of learning answers
        reviews: list[tuple[int, int]] = []
        prev: date | None = None
        for i, a in enumerate(seq[start:]):
            day = clock.day_of(a.at)
            gap = 0 if prev is None else (day - prev).days
            reviews.append((a.rating, gap))
            prev = day
            if i >= 1 and gap > 0:
                items.append(Item(tuple(reviews), a.at, card))
    items.sort(key=lambda it: it.at)
    return items


class _StateReplay:
    """The state before each answer of a card whose log does not record it: its answers replayed
    through the scheduler (fuzz off: the states do not depend on it), a reset making it new."""

    def __init__(self, schedule: ScheduleConfig | None) -> None:
        from dataclasses import replace

        from ..config import ScheduleConfig
        from .memory import CardScheduler

        self._scheduler = CardScheduler(replace(schedule or ScheduleConfig(), enable_fuzzing=False))

    def states(self, card: str, seq: Sequence[Answer]) -> list[str | None]:
        """The state before each of ``seq`` (one card's answers in time order)."""
        out: list[str | None] = []
        s = CardSchedule()
        for a in seq:
            if a.reset:
                s = CardSchedule()
            out.append(s.state)
            s = self._scheduler.replay_grade(card, s, a.rating, a.at)
        return out


def read_revlog(path: Path) -> list[Answer]:
    """Reviews from a CSV in the fsrs-optimizer schema.

    Columns: ``card_id``, ``review_time`` (milliseconds since the epoch, or ISO 8601),
    ``review_rating`` (1-4; 0 marks a manual reschedule or reset), optional
    ``review_state`` (the card's state before the answer: 0 new, 1 learning, 2 review,
    3 relearning; 4 manual, a reset) and ``review_duration`` (ignored).

    Raises:
        SrsError: the file cannot be read or lacks a column.
    """
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"card_id", "review_time", "review_rating"} - set(reader.fieldnames or ())
            if missing:
                raise SrsError(f"{path}: not a review log: no column {', '.join(sorted(missing))}")
            out: list[Answer] = []
            reset_next: set[str] = set()
            for n, row in enumerate(reader, start=2):
                card = row["card_id"]
                try:
                    rating = int(row["review_rating"])
                    at = _time(row["review_time"])
                except ValueError:
                    raise SrsError(f"{path}:{n}: bad review_time or review_rating") from None
                state = (row.get("review_state") or "").strip()
                if rating == 0 or state == "4":
                    reset_next.add(card)
                    continue
                if not 1 <= rating <= 4:
                    raise SrsError(f"{path}:{n}: review_rating must be 0-4, not {rating}")
                out.append(Answer(card, at, rating, reset=card in reset_next, state=_ANKI_STATES.get(state)))
                reset_next.discard(card)
    except OSError as exc:
        raise SrsError(f"{path}: cannot read the review log ({exc.strerror})") from None
    return out


def _time(text: str) -> datetime:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    return parse_instant(text)


@dataclass(frozen=True)
class CalibrationBin:
    """Test reviews whose predicted recall was in ``[low, high)``: how many, the mean prediction,
    and the share passed."""

    low: float
    high: float
    count: int
    predicted: float
    actual: float

    def as_json(self) -> dict[str, Any]:
        """The bin, rounded."""
        return {
            "range": f"{self.low:.2f}-{self.high:.2f}",
            "count": self.count,
            "predicted": round(self.predicted, 4),
            "actual": round(self.actual, 4),
        }


@dataclass(frozen=True)
class Score:
    """How well a parameter set predicts the test reviews (lower log loss, RMSE and calibration
    error are better)."""

    log_loss: float
    rmse_bins: float
    auc: float
    calibration_error: float = 0.0
    calibration: tuple[CalibrationBin, ...] = ()

    def as_json(self) -> dict[str, float]:
        """The figures, rounded."""
        return {
            "log_loss": round(self.log_loss, 5),
            "rmse_bins": round(self.rmse_bins, 5),
            "auc": round(self.auc, 5),
            "calibration_error": round(self.calibration_error, 5),
        }


def calibration(
    predicted: Sequence[float], passed: Sequence[bool], edges: Sequence[float]
) -> tuple[CalibrationBin, ...]:
    """The non-empty bins of predicted recall between consecutive ``edges`` (the last bin includes 1)."""
    out = []
    last = len(edges) - 2
    for k, (low, high) in enumerate(pairwise(edges)):
        inside = [
            (p, y)
            for p, y in zip(predicted, passed, strict=True)
            if low <= p < high or (k == last and p == high)
        ]
        if inside:
            n = len(inside)
            out.append(
                CalibrationBin(low, high, n, sum(p for p, _ in inside) / n, sum(y for _, y in inside) / n)
            )
    return tuple(out)


def calibration_error(
    predicted: Sequence[float], passed: Sequence[bool], bins: int = CALIBRATION_BINS
) -> float:
    """The count-weighted mean of ``|mean prediction - share passed|`` over ``bins`` equal-width bins."""
    if not predicted:
        return 0.0
    edges = [k / bins for k in range(bins + 1)]
    return sum(b.count * abs(b.predicted - b.actual) for b in calibration(predicted, passed, edges)) / len(
        predicted
    )


@dataclass(frozen=True)
class Fit:
    """The outcome of ``optimize``."""

    reviews: int
    long_term_reviews: int
    train_items: int
    test_items: int
    enough: bool
    needed: int = MIN_REVIEWS
    default: Score | None = None
    current: Score | None = None
    fitted: Score | None = None
    parameters: tuple[float, ...] = ()
    adopt: bool = False
    reason: str = ""
    retention: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The fit as ``optimize --json`` prints it."""
        return {
            "reviews": self.reviews,
            "long_term_reviews": self.long_term_reviews,
            "train_items": self.train_items,
            "test_items": self.test_items,
            "enough_data": self.enough,
            "reviews_needed": self.needed,
            "scores": {
                k: s.as_json()
                for k, s in (("default", self.default), ("current", self.current), ("fitted", self.fitted))
                if s is not None
            },
            "calibration": {
                k: [b.as_json() for b in s.calibration]
                for k, s in (("default", self.default), ("current", self.current), ("fitted", self.fitted))
                if s is not None
            },
            "parameters": [round(p, 4) for p in self.parameters],
            "adopt": self.adopt,
            "reason": self.reason,
            "suggested_retention": self.retention,
            **self.extra,
        }


def auc(predicted: Sequence[float], passed: Sequence[bool]) -> float:
    """Area under the ROC curve of predicted recall against pass/fail (0.5 when one class is empty).

    The Mann-Whitney statistic, ties counted half, as srs-benchmark computes it with scikit-learn.
    """
    pairs = sorted(zip(predicted, passed, strict=True))
    n_pos = sum(1 for _, y in pairs if y)
    n_neg = len(pairs) - n_pos
    if not n_pos or not n_neg:
        return 0.5
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mean_rank = (i + j + 1) / 2  # ranks i+1 .. j
        rank_sum += mean_rank * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _score(fr: Any, parameters: Sequence[float], test: Sequence[Item]) -> Score:
    model = fr.FSRS(list(parameters))
    ev = model.evaluate([_fr_item(fr, it.reviews) for it in test])
    states = model.memory_state_batch([_fr_item(fr, it.reviews[:-1]) for it in test])
    curve = ForgettingCurve.from_parameters(parameters)
    predicted = [curve.retrievability(it.last_gap, st.stability) for it, st in zip(test, states, strict=True)]
    passed = [it.reviews[-1][0] > 1 for it in test]
    return Score(
        float(ev.log_loss),
        float(ev.rmse_bins),
        auc(predicted, passed),
        calibration_error(predicted, passed),
        calibration(predicted, passed, TABLE_BINS),
    )


def _train(fr: Any, model: Any, items: Sequence[Item], relearning_steps: int) -> tuple[float, ...]:
    """fsrs-rs's ``compute_parameters`` over ``items``, called as Anki calls it: each item's card
    (fsrs-rs's outlier filter and recency weights go by card), short-term stability fitted, the
    number of relearning steps, ``TRAIN_EPOCHS`` epochs."""
    cards: dict[str, int] = {}
    card_ids = [cards.setdefault(it.card, len(cards) + 1) for it in items]
    fitted = model.compute_parameters(
        [_fr_item(fr, it.reviews) for it in items],
        card_ids=card_ids,
        enable_short_term=True,
        num_relearning_steps=relearning_steps,
        training_config=fr.TrainingConfig(num_epochs=TRAIN_EPOCHS),
    )
    return tuple(float(x) for x in fitted)


def _fr_item(fr: Any, reviews: Sequence[tuple[int, int]]) -> Any:
    return fr.FSRSItem([fr.FSRSReview(r, gap) for r, gap in reviews])


def fit(
    answers: Sequence[Answer],
    clock: DayClock,
    current: Sequence[float] = (),
    *,
    schedule: ScheduleConfig | None = None,
    min_reviews: int = MIN_REVIEWS,
    retention: bool = False,
    deck_size: int = 0,
) -> Fit:
    """Fit FSRS parameters to ``answers`` and compare them with the defaults and ``current``.

    Args:
        answers: The reviews (cram answers already left out).
        clock: Review days of the user (the gaps between reviews).
        current: The parameters in use (empty: the defaults).
        schedule: The schedule settings: the steps to find the states of answers a log gives
            without, and the number of relearning steps fsrs-rs is told (default: the defaults).
        min_reviews: Training items (answers a review day or more after the previous one) needed
            for a fit.
        retention: Also suggest a desired retention with fsrs-rs's simulator (advice only).
        deck_size: Cards to simulate for the retention advice (0: as many as were reviewed).

    Raises:
        OptimizerMissing: the optimizer extra is not installed.
    """
    fr = require_optimizer()
    items = items_from(answers, clock, schedule)
    n_long = len(items)
    base = Fit(len(answers), n_long, 0, 0, enough=n_long >= min_reviews, needed=min_reviews)
    if not base.enough:
        return base
    times = sorted(a.at for a in answers)
    cutoff = times[int(len(times) * (1 - TEST_SHARE))]
    train = [it for it in items if it.at < cutoff]
    test = [it for it in items if it.at >= cutoff]
    relearning_steps = len(schedule.relearning_steps) if schedule is not None else 1
    default_params = tuple(float(x) for x in fr.DEFAULT_PARAMETERS)
    model = fr.FSRS(list(default_params))
    fitted_params = _train(fr, model, train, relearning_steps)
    default = _score(fr, default_params, test)
    current_params = tuple(current) or default_params
    now_score = default if tuple(current_params) == default_params else _score(fr, current_params, test)
    fitted = _score(fr, fitted_params, test)
    worse = [
        name
        for name, bad in (
            ("log loss", fitted.log_loss >= now_score.log_loss),
            ("RMSE(bins)", fitted.rmse_bins > now_score.rmse_bins),
            ("calibration error", fitted.calibration_error > now_score.calibration_error),
        )
        if bad
    ]
    adopt = not worse
    reason = (
        "the fitted parameters predict the later reviews better than the ones in use"
        if adopt
        else "the fitted parameters do not predict the later reviews better than the ones in use "
        f"({', '.join(worse)}); keeping them"
    )
    final = fitted_params
    if adopt:
        # Judged on the split; adopted as fitted on the whole history (as Anki does).
        final = _train(fr, model, items, relearning_steps)
    suggested = None
    if retention:
        suggested = suggest_retention(
            fr, final if adopt else current_params, deck_size or len({a.card for a in answers})
        )
    return Fit(
        reviews=len(answers),
        long_term_reviews=n_long,
        train_items=len(train),
        test_items=len(test),
        enough=True,
        needed=min_reviews,
        default=default,
        current=now_score,
        fitted=fitted,
        parameters=final,
        adopt=adopt,
        reason=reason,
        retention=suggested,
    )


def suggest_retention(fr: Any, parameters: Sequence[float], deck_size: int) -> float | None:
    """The desired retention that minimises study time per memorised card, by fsrs-rs's simulator
    (a year of study of ``deck_size`` cards, its default costs); None without a simulator."""
    if not hasattr(fr, "optimal_retention"):
        return None
    cfg = fr.default_simulator_config()
    cfg.deck_size = max(100, min(deck_size, 10_000))
    cfg.learn_span = 365
    return round(float(fr.optimal_retention(cfg, list(parameters))), 2)


def write_parameters(config_path: Path, parameters: Sequence[float]) -> None:
    """Set ``[schedule] parameters`` in the config file, keeping its comments and layout.

    Raises:
        SrsError: the file cannot be read, parsed or written.
    """
    try:
        import tomlkit
    except ImportError:
        raise OptimizerMissing(f"writing the config needs the optimizer extra: {INSTALL_HINT}") from None
    try:
        text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
        doc = tomlkit.parse(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise SrsError(f"{config_path}: cannot read the config file ({exc})") from None
    except tomlkit.exceptions.ParseError as exc:
        raise SrsError(f"{config_path}: invalid TOML: {exc}") from None
    if "schedule" not in doc:
        doc["schedule"] = tomlkit.table()
    arr = tomlkit.array()
    arr.extend(round(float(p), 4) for p in parameters)
    doc["schedule"]["parameters"] = arr
    try:
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    except OSError as exc:
        raise SrsError(f"{config_path}: cannot write the config file ({exc.strerror})") from None
