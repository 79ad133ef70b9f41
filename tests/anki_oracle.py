"""An oracle for scheduling tests: Anki's own scheduler (the ``anki`` package), driven at chosen instants.

``AnkiOracle`` runs Anki's Rust scheduler in a worker process whose clock is set by
libfaketime (Debian's ``libfaketime``; ``.ci/run`` installs it): the ``anki``
package has no in-process clock (``rslib/src/timestamp.rs``: ``TimestampSecs::now()``
reads ``SystemTime::now()``; the Python side stamps answers with ``time.time()``),
so the worker is started with ``LD_PRELOAD=libfaketime.so.1``, ``FAKETIME_NO_CACHE=1``
and ``FAKETIME_FMT=%s``, and each request sets ``os.environ["FAKETIME"]`` to the
epoch second of the instant it acts at (libfaketime re-reads ``FAKETIME`` on every
clock call; monotonic clocks are left real). One collection holds every card; a
request/reply is a JSON line, so replaying hundreds of grades takes well under a second.

With ``fuzz=False`` the worker sets ``ANKI_TEST_MODE=1``, Anki's own switch that
disables fuzz (``get_fuzz_seed_for_id_and_reps`` returns no seed) and with it the load
balancer. That switch also moves Anki's clock back two hours while the local hour is 2
or 3 (``timestamp.rs``, ``elapsed()``), so instants in that window are refused when
fuzz is off. With fuzz on, Anki fuzzes with its seed (card id + reps) and no load
balancer (answers do not go through the study queues), and ``fuzz_bounds`` gives the
range it draws from (a port of ``rslib/src/scheduler/states/fuzz.rs`` in f32).

Run as a script (``python anki_oracle.py --worker``) it is the worker; it imports only
the standard library and ``anki``.
"""

from __future__ import annotations

import glob
import json
import math
import os
import struct
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

RATING_NAMES = ("again", "hard", "good", "easy")

LIBFAKETIME_GLOBS = (
    "/usr/lib/*/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
)


def libfaketime_path() -> str | None:
    """The libfaketime shared library (``ANKI_ORACLE_LIBFAKETIME`` overrides), or None."""
    override = os.environ.get("ANKI_ORACLE_LIBFAKETIME")
    if override:
        return override if os.path.exists(override) else None
    for pattern in LIBFAKETIME_GLOBS:
        for path in sorted(glob.glob(pattern)):
            return path
    return None


def unavailable_reason() -> str | None:
    """Why the oracle cannot run here (no ``anki`` package, no libfaketime), or None."""
    try:
        import anki  # noqa: F401
    except ImportError:
        return "the anki package is not installed"
    if sys.platform != "linux":
        return "the oracle needs Linux (LD_PRELOAD libfaketime)"
    if libfaketime_path() is None:
        return "libfaketime is not installed (apt-get install faketime)"
    return None


# -- configuration and results ------------------------------------------------------------


@dataclass(frozen=True)
class AnkiConfig:
    """The deck options (one preset) and day clock the oracle's collection uses."""

    parameters: tuple[float, ...] = ()
    """FSRS weights: 21 (FSRS-6, ``fsrsParams6``), 19 (FSRS-5, ``fsrsParams5``), 17 (FSRS-4.5,
    ``fsrsWeights``) or none (fsrs-rs's FSRS-6 defaults)."""
    desired_retention: float = 0.9
    learning_steps: tuple[float, ...] = (1.0, 10.0)
    """Minutes."""
    relearning_steps: tuple[float, ...] = (10.0,)
    """Minutes."""
    maximum_interval: int = 36500
    fuzz: bool = False
    timezone: str = "UTC"
    """The worker's ``TZ`` (Anki's day boundaries are local time)."""
    rollover_hour: int = 4
    short_term_with_steps: bool = False
    """Anki's ``fsrsShortTermWithStepsEnabled`` (off by default)."""


@dataclass(frozen=True)
class AnkiState:
    """One of Anki's scheduling states (``SchedulingState.normal``): the current one or an option.

    ``kind`` is ``new``, ``learning``, ``review`` or ``relearning``. ``days`` is the review
    interval (``scheduled_days``; for relearning, the interval it will return to review with);
    ``secs`` the (re)learning step (``scheduled_secs``). Memory states are as the state carries
    them (full f32 precision, not yet rounded for storage).
    """

    kind: str
    days: int | None
    secs: int | None
    stability: float | None
    difficulty: float | None
    remaining_steps: int | None = None
    label: str = ""
    """Anki's button text for an option (``describe_next_states``), e.g. ``10m`` or ``3d``."""

    @property
    def interval(self) -> timedelta:
        """The interval as a person sees it: ``secs`` while (re)learning, else ``days``."""
        if self.kind in ("learning", "relearning"):
            return timedelta(seconds=self.secs or 0)
        return timedelta(days=self.days or 0)


@dataclass(frozen=True)
class AnkiCard:
    """A card as Anki stored it after an answer (``cards`` row, memory state rounded as stored)."""

    ctype: int
    """0 new, 1 learning, 2 review, 3 relearning."""
    queue: int
    """0 new, 1 learning (due in seconds), 2 review, 3 interday learning (due in days), -1 suspended."""
    ivl: int
    due: int
    today: int
    """Anki's day number at the answer (``sched.today``): review/interday ``due - today`` is in days."""
    remaining_steps: int
    reps: int
    lapses: int
    stability: float | None
    difficulty: float | None

    @property
    def state(self) -> str:
        """The card type as this project names states."""
        return ("new", "learning", "review", "relearning")[self.ctype]

    def due_at(self) -> datetime | None:
        """The due instant of an intraday (re)learning card (queue 1), else None."""
        return datetime.fromtimestamp(self.due, UTC) if self.queue == 1 else None

    def due_in_days(self) -> int | None:
        """Days from the answer's day to the due day (queues 2 and 3), else None."""
        return self.due - self.today if self.queue in (2, 3) else None


@dataclass(frozen=True)
class AnkiAnswer:
    """One answer: the options Anki offered at ``at`` and the card it stored."""

    cid: int
    rating: int
    at: datetime
    current: AnkiState
    options: dict[int, AnkiState]
    """Rating (1-4) -> the state that rating gives at ``at``; ``options[rating]`` was applied."""
    card: AnkiCard

    @property
    def chosen(self) -> AnkiState:
        """The option that was applied."""
        return self.options[self.rating]


# -- the oracle -----------------------------------------------------------------------------


class AnkiOracleError(RuntimeError):
    """The worker failed (its traceback is the message)."""


@dataclass
class AnkiOracle:
    """Anki's scheduler in a worker process with a settable clock: one collection, many cards.

    Use as a context manager. ``start`` is when the collection is created (its day 0);
    every instant given later must be at or after it, in whole seconds (fractions are
    truncated, as Anki's clock is in seconds).
    """

    config: AnkiConfig = field(default_factory=AnkiConfig)
    start: datetime = datetime(2024, 1, 1, 12, tzinfo=UTC)
    _proc: subprocess.Popen[str] | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> AnkiOracle:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Start the worker and create the collection at ``start``."""
        lib = libfaketime_path()
        if lib is None:
            raise AnkiOracleError("libfaketime not found (apt-get install faketime)")
        env = dict(os.environ)
        env.update(
            LD_PRELOAD=lib,
            FAKETIME_NO_CACHE="1",
            FAKETIME_FMT="%s",
            FAKETIME_DONT_FAKE_MONOTONIC="1",
            FAKETIME=str(self._secs(self.start, check=False)),
            TZ=self.config.timezone,
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.pop("ANKI_TEST_MODE", None)
        if not self.config.fuzz:
            env["ANKI_TEST_MODE"] = "1"
        self._proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
        )
        cfg = self.config
        self._call(
            "init",
            t=self._secs(self.start),
            parameters=list(cfg.parameters),
            desired_retention=cfg.desired_retention,
            learning_steps=list(cfg.learning_steps),
            relearning_steps=list(cfg.relearning_steps),
            maximum_interval=cfg.maximum_interval,
            rollover_hour=cfg.rollover_hour,
            short_term_with_steps=cfg.short_term_with_steps,
        )

    def close(self) -> None:
        """Stop the worker (its collection is in a temporary folder it removes)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write(json.dumps({"op": "close"}) + "\n")
                proc.stdin.flush()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    # -- requests --------------------------------------------------------------------------

    def add_cards(self, n: int, at: datetime | None = None) -> list[int]:
        """Add ``n`` Basic notes (one new card each) at ``at`` (default ``start``); their card ids."""
        ids: list[int] = self._call("add", n=n, t=self._secs(at or self.start))
        return ids

    def answer(self, cid: int, rating: int, at: datetime) -> AnkiAnswer:
        """Answer card ``cid`` with ``rating`` (1-4) at ``at``, as the reviewer does."""
        return self.answer_many([(cid, rating, at)])[0]

    def answer_many(self, grades: Iterable[tuple[int, int, datetime]]) -> list[AnkiAnswer]:
        """Answer each ``(cid, rating, at)`` in the order given (one round trip for all)."""
        items = [(cid, rating, at) for cid, rating, at in grades]
        for _, rating, _ in items:
            if rating not in (1, 2, 3, 4):
                raise ValueError(f"rating must be 1-4, not {rating!r}")
        raw = self._call("answer", items=[[cid, r, self._secs(at)] for cid, r, at in items])
        return [_answer(cid, r, at, out) for (cid, r, at), out in zip(items, raw, strict=True)]

    def preview(self, cid: int, at: datetime) -> dict[int, AnkiState]:
        """The four options Anki would offer for ``cid`` at ``at`` (nothing is answered)."""
        raw = self._call("preview", cid=cid, t=self._secs(at))
        return {i + 1: _state(raw["options"][i]) for i in range(4)}

    def current(self, cid: int, at: datetime) -> AnkiState:
        """Anki's current state of ``cid`` at ``at``."""
        return _state(self._call("preview", cid=cid, t=self._secs(at))["current"])

    def card(self, cid: int, at: datetime | None = None) -> AnkiCard:
        """The stored card (``today`` as of ``at``, default ``start``)."""
        return _card(self._call("card", cid=cid, t=self._secs(at or self.start)))

    def fuzz_delta(self, cid: int, interval: int) -> int:
        """Anki's ``fuzz_delta`` backend call: how its fuzz moves ``interval`` for this card now
        (seed card id + reps - 1; bounds ``constrained_fuzz_bounds(interval, 1, maximum)``)."""
        delta: int = self._call("fuzz_delta", cid=cid, interval=interval)
        return delta

    def memory_state(self, cid: int, at: datetime) -> tuple[float, float] | None:
        """Anki's ``compute_memory_state``: stability and difficulty recomputed from the revlog."""
        raw = self._call("memory_state", cid=cid, t=self._secs(at))
        return None if raw is None else (raw[0], raw[1])

    def compute_params(
        self, at: datetime, current: tuple[float, ...] = (), relearning_steps: int = 1
    ) -> tuple[int, list[float]]:
        """Anki's ``compute_fsrs_params`` over the whole collection at ``at``: the number of training
        items it built (``fsrs_items``, before fsrs-rs's outlier filter) and the parameters (the
        ``current`` ones when the fitted set is not better on those items)."""
        raw = self._call("compute_params", t=self._secs(at, check=False), current=list(current),
                         relearning_steps=relearning_steps)  # fmt: skip
        return int(raw["items"]), [float(x) for x in raw["params"]]

    def revlog(self, cid: int) -> list[dict[str, Any]]:
        """The card's revlog rows (id, ease, ivl, lastIvl, factor, type), oldest first."""
        rows: list[dict[str, Any]] = self._call("revlog", cid=cid)
        return rows

    # -- plumbing --------------------------------------------------------------------------

    def _secs(self, at: datetime, check: bool = True) -> int:
        if at.tzinfo is None:
            raise ValueError("instants must be timezone-aware")
        secs = math.floor(at.timestamp())
        if check and not self.config.fuzz:
            from zoneinfo import ZoneInfo

            hour = at.astimezone(ZoneInfo(self.config.timezone)).hour
            if hour in (2, 3):
                raise ValueError(
                    f"{at.isoformat()} is at local hour {hour}: with fuzz off (ANKI_TEST_MODE) Anki "
                    "moves its clock back 2 hours between 02:00 and 04:00, so it cannot act then"
                )
        return secs

    def _call(self, op: str, **args: Any) -> Any:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise AnkiOracleError("the oracle is not open")
        proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise AnkiOracleError(f"the worker died (exit {proc.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise AnkiOracleError(reply["error"])
        return reply["ok"]


def _state(raw: dict[str, Any]) -> AnkiState:
    return AnkiState(
        kind=raw["kind"],
        days=raw.get("days"),
        secs=raw.get("secs"),
        stability=raw.get("s"),
        difficulty=raw.get("d"),
        remaining_steps=raw.get("steps"),
        label=raw.get("label", ""),
    )


def _card(raw: dict[str, Any]) -> AnkiCard:
    return AnkiCard(**raw)


def _answer(cid: int, rating: int, at: datetime, raw: dict[str, Any]) -> AnkiAnswer:
    return AnkiAnswer(
        cid=cid,
        rating=rating,
        at=at,
        current=_state(raw["current"]),
        options={i + 1: _state(raw["options"][i]) for i in range(4)},
        card=_card(raw["card"]),
    )


# -- Anki's arithmetic, in f32 ----------------------------------------------------------------


def f32(x: float) -> float:
    """``x`` rounded to the nearest f32 (an f32 operation on f32 operands, done in f64, then this,
    is exactly the f32 operation)."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def rust_round(x: float) -> int:
    """Rust's ``f32::round``: half away from zero (Python's ``round`` goes to even)."""
    r = math.floor(abs(x))
    if abs(x) - r >= 0.5:
        r += 1
    return int(math.copysign(r, x)) if r else 0


FUZZ_RANGES = ((2.5, 7.0, 0.15), (7.0, 20.0, 0.1), (20.0, 3.4028234663852886e38, 0.05))
"""``fuzz.rs`` ``FUZZ_RANGES``: (start, end, factor)."""


def fuzz_delta(interval: float) -> float:
    """``fuzz.rs`` ``fuzz_delta``: 0 under 2.5 days, else 1 + the banded factors (f32)."""
    interval = f32(interval)
    if interval < 2.5:
        return 0.0
    delta = 1.0
    for start, end, factor in FUZZ_RANGES:
        delta = f32(delta + f32(f32(factor) * max(f32(min(interval, end) - start), 0.0)))
    return delta


def fuzz_bounds(interval: float, minimum: int = 1, maximum: int = 36500) -> tuple[int, int]:
    """``fuzz.rs`` ``constrained_fuzz_bounds``: the days Anki's fuzz (or load balancer) may pick
    for ``interval`` (f32, unrounded) within ``[minimum, maximum]``.

    The interval is first clamped to ``[min(minimum, maximum), maximum]``; the bounds are
    ``round(interval -/+ delta)`` clamped likewise; a one-day range above 2 and under the maximum
    is widened to two days.
    """
    minimum = min(minimum, maximum)
    iv = f32(min(max(f32(interval), float(minimum)), float(maximum)))
    delta = fuzz_delta(iv)
    lower = max(rust_round(f32(iv - delta)), 0)
    upper = max(rust_round(f32(iv + delta)), 0)
    lower = min(max(lower, minimum), maximum)
    upper = min(max(upper, minimum), maximum)
    if upper == lower and 2 < upper < maximum:
        upper = lower + 1
    return lower, upper


def with_review_fuzz(fuzz_factor: float | None, interval: float, minimum: int, maximum: int) -> int:
    """``fuzz.rs`` ``with_review_fuzz``: no factor -> ``round(interval)`` clamped; else
    ``floor(lower + factor * (1 + upper - lower))`` over ``fuzz_bounds``."""
    if fuzz_factor is None:
        return min(max(rust_round(f32(interval)), minimum), maximum)
    lower, upper = fuzz_bounds(interval, minimum, maximum)
    return math.floor(f32(lower + f32(f32(fuzz_factor) * float(1 + upper - lower))))


def minimum_review_fuzz_interval(interval: float, previous: int, maximum: int) -> int:
    """``fuzz.rs`` ``minimum_review_fuzz_interval``: ``previous + 1`` when the interval grew, else
    ``previous`` while it is within the fuzz range's top, else 0."""
    rounded = rust_round(f32(interval))
    _, upper = fuzz_bounds(interval, 1, maximum)
    if rounded > previous:
        return previous + 1
    if previous <= upper:
        return previous
    return 0


def fsrs_interval(stability: float, desired_retention: float, decay: float) -> float:
    """fsrs-rs ``next_interval`` (unrounded days, f32): ``S / factor * (DR ** (1 / -decay) - 1)``."""
    d = f32(-decay)
    factor = f32(f32(math.exp(f32(f32(math.log(f32(0.9))) / d))) - 1.0)
    power = f32(f32(desired_retention) ** f32(1.0 / d))
    return f32(f32(f32(stability) / factor) * f32(power - 1.0))


# -- the worker (runs under libfaketime; standard library and anki only) ----------------------


def _worker_main() -> None:  # pragma: no cover - runs in the worker process
    import shutil
    import tempfile
    import traceback

    state: dict[str, Any] = {}

    def set_now(t: int) -> None:
        os.environ["FAKETIME"] = str(int(t))

    def to_state(st: Any, label: str = "") -> dict[str, Any]:
        which = st.WhichOneof("kind")
        if which != "normal":
            raise ValueError(f"unexpected filtered state: {st}")
        n = st.normal
        kind = n.WhichOneof("kind")
        out: dict[str, Any] = {"kind": kind, "label": label}
        mem = None
        if kind == "learning":
            out.update(secs=n.learning.scheduled_secs, steps=n.learning.remaining_steps)
            mem = n.learning.memory_state if n.learning.HasField("memory_state") else None
        elif kind == "review":
            out.update(days=n.review.scheduled_days)
            mem = n.review.memory_state if n.review.HasField("memory_state") else None
        elif kind == "relearning":
            r = n.relearning
            out.update(days=r.review.scheduled_days, secs=r.learning.scheduled_secs,
                       steps=r.learning.remaining_steps)  # fmt: skip
            mem = r.learning.memory_state if r.learning.HasField("memory_state") else None
        if mem is not None:
            out.update(s=mem.stability, d=mem.difficulty)
        return out

    def card_dict(cid: int) -> dict[str, Any]:
        col = state["col"]
        c = col.get_card(cid)
        ms = c.memory_state
        return {
            "ctype": int(c.type),
            "queue": int(c.queue),
            "ivl": int(c.ivl),
            "due": int(c.due),
            "today": int(col.sched.today),
            "remaining_steps": int(c.left % 1000),
            "reps": int(c.reps),
            "lapses": int(c.lapses),
            "stability": float(ms.stability) if ms is not None else None,
            "difficulty": float(ms.difficulty) if ms is not None else None,
        }

    def options(cid: int) -> tuple[Any, dict[str, Any]]:
        col = state["col"]
        st = col._backend.get_scheduling_states(cid)
        labels = [
            s.replace("\u2068", "").replace("\u2069", "") for s in col._backend.describe_next_states(st)
        ]
        opts = [st.again, st.hard, st.good, st.easy]
        return st, {
            "current": to_state(st.current),
            "options": [to_state(o, lab) for o, lab in zip(opts, labels, strict=True)],
        }

    def op_init(req: dict[str, Any]) -> Any:
        from anki.collection import Collection

        set_now(req["t"])
        folder = tempfile.mkdtemp(prefix="anki-oracle-")
        state["folder"] = folder
        col = Collection(os.path.join(folder, "collection.anki2"))
        state["col"] = col
        col.set_config("rollover", int(req["rollover_hour"]))
        col.set_config("fsrs", True)
        col.set_config("fsrsShortTermWithStepsEnabled", bool(req["short_term_with_steps"]))
        conf = col.decks.get_config(1)
        params = [float(x) for x in req["parameters"]]
        key = {0: None, 17: "fsrsWeights", 19: "fsrsParams5", 21: "fsrsParams6"}[len(params)]
        for k in ("fsrsWeights", "fsrsParams5", "fsrsParams6"):
            conf[k] = params if k == key else []
        conf["desiredRetention"] = float(req["desired_retention"])
        conf["new"]["delays"] = [float(x) for x in req["learning_steps"]]
        conf["lapse"]["delays"] = [float(x) for x in req["relearning_steps"]]
        conf["lapse"]["leechAction"] = 1  # tag only: a leech stays answerable
        conf["rev"]["maxIvl"] = int(req["maximum_interval"])
        col.decks.update_config(conf)
        state["model"] = col.models.by_name("Basic")
        return {"crt": col.crt}

    def op_add(req: dict[str, Any]) -> Any:
        col = state["col"]
        set_now(req["t"])
        ids = []
        for _ in range(int(req["n"])):
            note = col.new_note(state["model"])
            note["Front"] = f"q{len(state.setdefault('notes', []))}"
            col.add_note(note, 1)
            state["notes"].append(note.id)
            ids.append(note.card_ids()[0])
        return ids

    def op_answer(req: dict[str, Any]) -> Any:
        from anki.scheduler_pb2 import CardAnswer

        col = state["col"]
        out = []
        for cid, rating, t in req["items"]:
            set_now(t)
            st, opts = options(cid)
            new = (st.again, st.hard, st.good, st.easy)[rating - 1]
            col._backend.answer_card(
                CardAnswer(
                    card_id=cid,
                    current_state=st.current,
                    new_state=new,
                    rating=rating - 1,
                    answered_at_millis=int(t) * 1000,
                    milliseconds_taken=1000,
                )
            )
            opts["card"] = card_dict(cid)
            out.append(opts)
        return out

    def op_preview(req: dict[str, Any]) -> Any:
        set_now(req["t"])
        return options(req["cid"])[1]

    def op_card(req: dict[str, Any]) -> Any:
        set_now(req["t"])
        return card_dict(req["cid"])

    def op_fuzz_delta(req: dict[str, Any]) -> Any:
        return state["col"]._backend.fuzz_delta(card_id=req["cid"], interval=req["interval"])

    def op_memory_state(req: dict[str, Any]) -> Any:
        set_now(req["t"])
        r = state["col"]._backend.compute_memory_state(req["cid"])
        if not r.HasField("state"):
            return None
        return [r.state.stability, r.state.difficulty]

    def op_compute_params(req: dict[str, Any]) -> Any:
        set_now(req["t"])
        r = state["col"]._backend.compute_fsrs_params(
            search="",
            current_params=[float(x) for x in req["current"]],
            ignore_revlogs_before_ms=0,
            num_of_relearning_steps=int(req["relearning_steps"]),
            health_check=False,
        )
        return {"items": r.fsrs_items, "params": list(r.params)}

    def op_revlog(req: dict[str, Any]) -> Any:
        rows = state["col"].db.all(
            "select id, ease, ivl, lastIvl, factor, type from revlog where cid = ? order by id", req["cid"]
        )
        keys = ("id", "ease", "ivl", "lastIvl", "factor", "type")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    ops = {
        "init": op_init,
        "add": op_add,
        "answer": op_answer,
        "preview": op_preview,
        "card": op_card,
        "fuzz_delta": op_fuzz_delta,
        "memory_state": op_memory_state,
        "revlog": op_revlog,
        "compute_params": op_compute_params,
    }
    try:
        for line in sys.stdin:
            req = json.loads(line)
            if req["op"] == "close":
                break
            try:
                reply = {"ok": ops[req["op"]](req)}
            except Exception:
                reply = {"error": traceback.format_exc()}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    finally:
        col = state.get("col")
        if col is not None:
            col.close(downgrade=False)
        if "folder" in state:
            shutil.rmtree(state["folder"], ignore_errors=True)


if __name__ == "__main__" and sys.argv[1:] == ["--worker"]:
    _worker_main()
