"""Fitting FSRS parameters to a review history, and judging them on a time split.

Needs the optional extra ``optimizer`` (fsrs-rs-python, the optimizer Anki uses);
``require_optimizer`` says how to install it. Nothing else imports this module,
so ``due`` and ``review`` never load the optimizer.

Training data follow fsrs-rs and Anki: each card's reviews, with the time between
two reviews counted in review days (``DayClock``), split where the card was reset;
for every review after a card's first, one item made of the reviews up to it.
Cram answers are not history. Items whose reviews are all on one day are left out
(they carry no long-term memory).

Evaluation: parameters are fitted on the items whose last review is among the
earliest 80% of reviews by time and scored on the rest, leaving out items whose last
gap is zero days (same-day reviews): log loss and RMSE(bins) by fsrs-rs, and AUC
of the predicted recall computed here, as srs-benchmark defines it (the
probability that a random passed review was predicted a higher recall than a
random failed one; ties count half). Fitted parameters are adopted only if they
beat the ones in use on both log loss and RMSE(bins).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ..core.instants import parse_instant
from ..errors import SrsError
from .days import DayClock
from .memory import ForgettingCurve

INSTALL_HINT = "pip install 'mlsys-srs[optimizer]'"
MIN_REVIEWS = 400
"""Long-term reviews (a gap of at least one review day) needed before a fit is trusted (Anki's figure)."""
TEST_SHARE = 0.2
"""The latest share of reviews (by time) the parameters are scored on."""
TRAIN_EPOCHS = 10
"""Passes of fsrs-rs's training over the items (its default is 5; on the real log in the tests 10
fit the later reviews better and still take under 0.1 s)."""


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


@dataclass(frozen=True)
class Item:
    """A training item: ``(rating, review days since the previous review)`` up to one review."""

    reviews: tuple[tuple[int, int], ...]
    at: datetime

    @property
    def last_gap(self) -> int:
        """Review days between the item's last two reviews."""
        return self.reviews[-1][1]

    @property
    def long_term(self) -> bool:
        """At least one gap of a review day or more (fsrs-rs needs one)."""
        return any(gap > 0 for _, gap in self.reviews[1:])


def items_from(answers: Iterable[Answer], clock: DayClock) -> list[Item]:
    """Training items of every card, ordered by the time of their last review."""
    by_card: dict[str, list[Answer]] = {}
    for a in answers:
        by_card.setdefault(a.card, []).append(a)
    items: list[Item] = []
    for seq in by_card.values():
        seq.sort(key=lambda a: a.at)
        reviews: list[tuple[int, int]] = []
        prev: date | None = None
        for a in seq:
            if a.reset:
                reviews, prev = [], None
            day = clock.day_of(a.at)
            reviews.append((a.rating, 0 if prev is None else (day - prev).days))
            prev = day
            if len(reviews) >= 2:
                items.append(Item(tuple(reviews), a.at))
    items.sort(key=lambda it: it.at)
    return items


def read_revlog(path: Path) -> list[Answer]:
    """Reviews from a CSV in the fsrs-optimizer schema.

    Columns: ``card_id``, ``review_time`` (milliseconds since the epoch, or ISO 8601),
    ``review_rating`` (1-4; 0 marks a manual reschedule or reset), optional
    ``review_state`` (4: manual, a reset) and ``review_duration`` (ignored).

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
                if rating == 0 or (row.get("review_state") or "").strip() == "4":
                    reset_next.add(card)
                    continue
                if not 1 <= rating <= 4:
                    raise SrsError(f"{path}:{n}: review_rating must be 0-4, not {rating}")
                out.append(Answer(card, at, rating, reset=card in reset_next))
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
class Score:
    """How well a parameter set predicts the test reviews (lower log loss and RMSE are better)."""

    log_loss: float
    rmse_bins: float
    auc: float

    def as_json(self) -> dict[str, float]:
        """The figures, rounded."""
        return {
            "log_loss": round(self.log_loss, 5),
            "rmse_bins": round(self.rmse_bins, 5),
            "auc": round(self.auc, 5),
        }


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
    return Score(
        float(ev.log_loss), float(ev.rmse_bins), auc(predicted, [it.reviews[-1][0] > 1 for it in test])
    )


def _fr_item(fr: Any, reviews: Sequence[tuple[int, int]]) -> Any:
    return fr.FSRSItem([fr.FSRSReview(r, gap) for r, gap in reviews])


def fit(
    answers: Sequence[Answer],
    clock: DayClock,
    current: Sequence[float] = (),
    *,
    min_reviews: int = MIN_REVIEWS,
    retention: bool = False,
    deck_size: int = 0,
) -> Fit:
    """Fit FSRS parameters to ``answers`` and compare them with the defaults and ``current``.

    Args:
        answers: The reviews (cram answers already left out).
        clock: Review days of the user (the gaps between reviews).
        current: The parameters in use (empty: the defaults).
        min_reviews: Long-term reviews needed for a fit.
        retention: Also suggest a desired retention with fsrs-rs's simulator (advice only).
        deck_size: Cards to simulate for the retention advice (0: as many as were reviewed).

    Raises:
        OptimizerMissing: the optimizer extra is not installed.
    """
    fr = require_optimizer()
    items = items_from(answers, clock)
    long_term = [it for it in items if it.long_term]
    n_long = sum(1 for it in items if it.last_gap > 0)
    base = Fit(len(answers), n_long, 0, 0, enough=n_long >= min_reviews, needed=min_reviews)
    if not base.enough:
        return base
    times = sorted(a.at for a in answers)
    cutoff = times[int(len(times) * (1 - TEST_SHARE))]
    train = [it for it in long_term if it.at < cutoff]
    test = [it for it in long_term if it.at >= cutoff and it.last_gap > 0]
    config = fr.TrainingConfig(num_epochs=TRAIN_EPOCHS)
    default_params = tuple(float(x) for x in fr.DEFAULT_PARAMETERS)
    model = fr.FSRS(list(default_params))
    fitted_params = tuple(
        float(x)
        for x in model.compute_parameters([_fr_item(fr, it.reviews) for it in train], training_config=config)
    )
    default = _score(fr, default_params, test)
    current_params = tuple(current) or default_params
    now_score = default if tuple(current_params) == default_params else _score(fr, current_params, test)
    fitted = _score(fr, fitted_params, test)
    adopt = fitted.log_loss < now_score.log_loss and fitted.rmse_bins <= now_score.rmse_bins
    reason = (
        "the fitted parameters predict the later reviews better than the ones in use"
        if adopt
        else "the fitted parameters do not predict the later reviews better than the ones in use; keeping them"
    )
    final = fitted_params
    if adopt:
        # Judged on the split; adopted as fitted on the whole history (as Anki does).
        final = tuple(
            float(x)
            for x in model.compute_parameters(
                [_fr_item(fr, it.reviews) for it in long_term], training_config=config
            )
        )
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
