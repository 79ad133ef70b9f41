"""Journal lines read strictly: each one becomes a typed, bounded event, waits, or is quarantined.

A journal line comes from another device, another version or a file-sync tool: nothing in it
is trusted. ``read_line`` gives one of three answers:

- an ``Event`` whose every field was checked: a known kind and version; an id, device and card
  key of bounded length with no control characters; an instant in a sane window (not before
  2000, not more than a day ahead of this device's clock); a rating of 1 to 4; a finite answer
  time, capped as the review screen caps it; a bury's ``until``, an import's state, the review
  day a grade or a ``move`` recorded (``due``, a date ``YYYY-MM-DD``) checked the same way;
- ``Waiting``: a valid line this device cannot apply yet, either dated in the future (it is
  applied on its day) or written by a newer version (a kind or format version this one does
  not know: it is applied after an upgrade);
- ``Quarantined``: a line that is not a valid event, with the reason, never applied and never
  fatal.

Each kind's own fields are checked by one function of ``KIND_FIELDS``; a kind added later adds
its own (a version that does not know it keeps its lines waiting as ``newer``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..core.instants import parse_instant
from .journal import FORMAT_VERSION, CardKey, Event

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No event is older than this: an earlier date is a damaged line (and would make every chart span millennia)."""
AHEAD = timedelta(days=1)
"""An event at most this far ahead of this device's clock is applied (clocks disagree); later ones wait."""
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""A date past this is damaged, not merely early."""
MAX_LINE = 256 * 1024
"""Bytes of one journal line; a real one is well under 4 KB."""
MAX_ANSWER_MS = 24 * 3600 * 1000
"""Answer times above this are damaged; valid ones are then capped by the reader's own setting."""

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_UID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_BLOCK_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_DAY_RE = re.compile(r"^(?:20|21)\d\d-\d\d-\d\d$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Waiting:
    """A valid line that cannot be applied yet: ``reason`` is ``future`` or ``newer``."""

    id: str
    reason: str
    due: datetime | None
    """When it can be applied (a future event: a day before its time); None for a newer version's."""
    text: str


@dataclass(frozen=True)
class Quarantined:
    """A line that is not a valid event, and why."""

    reason: str


class _Bad(ValueError):
    """A field fails its check (the message names it)."""


def _reject_constant(name: str) -> float:
    raise _Bad(f"{name} is not a number JSON allows")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
"""One decoder (``json.loads`` with an option builds a new one per call): NaN and Infinity refused."""


def _text(
    obj: dict[str, Any],
    key: str,
    limit: int,
    *,
    required: bool = True,
    pattern: re.Pattern[str] | None = None,
) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _Bad(f"{key} missing or not text")
    if len(value) > limit:
        raise _Bad(f"{key} is longer than {limit} characters")
    if pattern is not None and not pattern.match(value):
        raise _Bad(f"{key} {value[:40]!r} has characters an id cannot have")
    if pattern is None and _CONTROL_RE.search(value):
        raise _Bad(f"{key} holds control characters")
    return value


def _instant(value: Any, what: str) -> datetime:
    if not isinstance(value, str) or len(value) > 64:
        raise _Bad(f"{what} is not a time")
    try:
        when = parse_instant(value, require_offset=True, what=what)
    except (ValueError, OverflowError) as exc:
        raise _Bad(f"{what}: {exc}") from None
    if not EARLIEST <= when < LATEST:
        raise _Bad(f"{what} {value} is outside 2000-2199")
    return when


_SEEN_IDS: dict[str, bool] = {}
"""Devices (and other short ids) already checked."""


def _short_id(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if type(value) is str and _SEEN_IDS.get(value):
        return value
    checked = _text(obj, key, 64, pattern=_ID_RE)
    assert checked is not None
    if key == "dev" and len(_SEEN_IDS) < 10_000:
        _SEEN_IDS[checked] = True
    return checked


def _rating(data: dict[str, Any]) -> None:
    r = data.get("rating")
    if isinstance(r, bool) or not isinstance(r, int) or not 1 <= r <= 4:
        raise _Bad(f"rating {r!r} is not 1, 2, 3 or 4")


def _answer(data: dict[str, Any]) -> None:
    _rating(data)
    if "ms" in data and data["ms"] is not None:
        ms = data["ms"]
        if isinstance(ms, bool) or not isinstance(ms, int | float) or not math.isfinite(ms) or ms < 0:
            raise _Bad(f"ms {ms!r} is not an answer time")
        if ms > MAX_ANSWER_MS:
            raise _Bad(f"ms {ms!r} is longer than a day")
    if "first" in data and not isinstance(data["first"], bool):
        raise _Bad("first is not true or false")
    if "due" in data:
        _day(data["due"], "due")


def _day(value: Any, what: str) -> None:
    """A review day: ``YYYY-MM-DD`` in 2000-2199."""
    if not isinstance(value, str) or not _DAY_RE.match(value):
        raise _Bad(f"{what} {str(value)[:40]!r} is not a date YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{what} {value!r} is not a date") from None


def _move(data: dict[str, Any]) -> None:
    """A due date moved by a command (postpone, advance, break, plan): the day, why, its batch."""
    _day(data.get("due"), "due")
    if "from" in data and data["from"] is not None:
        _day(data["from"], "from")
    why = data.get("why")
    if not isinstance(why, str) or not _KIND_RE.match(why):
        raise _Bad(f"why {str(why)[:40]!r} is not a name")
    if "batch" in data:
        _text(data, "batch", 64, pattern=_ID_RE)


def _undo(data: dict[str, Any]) -> None:
    _text(data, "target", 64, pattern=_ID_RE)


def _bury(data: dict[str, Any]) -> None:
    until = data.get("until")
    if until is not None:
        _instant(until, "until")


def _plain(data: dict[str, Any]) -> None:
    """suspend, unsuspend, reset, purge: a ``kept`` mark at most."""
    if "kept" in data:
        _text(data, "kept", 64, pattern=_ID_RE)


_STATES = ("new", "learning", "review", "relearning")


def _import(data: dict[str, Any]) -> None:
    state = data.get("state")
    if state is None:
        return
    if not isinstance(state, dict):
        raise _Bad("state is not an object")
    if state.get("state") not in _STATES:
        raise _Bad(f"state.state {state.get('state')!r} is not a card state")
    for key in ("due", "last_review"):
        if state.get(key) is not None:
            _instant(state[key], f"state.{key}")
    for key, low, high in (("stability", 0.0, 1e6), ("difficulty", 1.0, 10.0)):
        v = state.get(key)
        if v is not None and (
            isinstance(v, bool)
            or not isinstance(v, int | float)
            or not math.isfinite(v)
            or not low <= v <= high
        ):
            raise _Bad(f"state.{key} {v!r} is out of range")
    for key in ("reps", "lapses", "step"):
        v = state.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 1_000_000):
            raise _Bad(f"state.{key} {v!r} is out of range")


KIND_FIELDS: dict[str, Callable[[dict[str, Any]], None]] = {
    "review": _answer,
    "cram": _answer,
    "undo": _undo,
    "bury": _bury,
    "suspend": _plain,
    "unsuspend": _plain,
    "reset": _plain,
    "purge": _plain,
    "import": _import,
    "move": _move,
}
"""Each kind this version knows, with the check of its own fields."""


_CARDS: dict[tuple[Any, ...], CardKey] = {}
"""Card keys already checked, by their fields: a journal names the same cards again and again."""


def _card(value: Any) -> CardKey:
    if not isinstance(value, dict):
        raise _Bad("card missing")
    get = value.get
    key = (get("uid"), get("block"), get("dir"), get("cloze"), get("path"), get("fp"), get("q"))
    try:
        known = _CARDS.get(key)
    except TypeError:  # a list or an object where text belongs: checked (and refused) below
        known = None
    if known is not None:
        return known
    uid = _text(value, "uid", 64, pattern=_UID_RE)
    assert uid is not None
    block = value.get("block")
    if block is not None and (not isinstance(block, str) or not _BLOCK_RE.match(block)):
        raise _Bad("card.block is not a block id")
    direction = value.get("dir") or "forward"
    if direction not in ("forward", "reverse"):
        raise _Bad(f"card.dir {direction!r} is not forward or reverse")
    cloze = value.get("cloze")
    if cloze is not None and (isinstance(cloze, bool) or not isinstance(cloze, int) or not 1 <= cloze <= 999):
        raise _Bad(f"card.cloze {cloze!r} is not 1 to 999")
    fields = {"path": 4096, "fp": 128, "q": 16384}
    out: dict[str, str] = {}
    for name, limit in fields.items():
        v = value.get(name)
        if v is None or v == "":
            out[name] = ""
            continue
        if not isinstance(v, str) or len(v) > limit:
            raise _Bad(f"card.{name} is not text of at most {limit} characters")
        if name != "q" and _CONTROL_RE.search(v):
            raise _Bad(f"card.{name} holds control characters")
        out[name] = v
    card = CardKey(uid, block or None, direction, cloze, out["path"], out["fp"], out["q"])
    if len(_CARDS) < 100_000:
        _CARDS[key] = card
    return card


_FAST_KINDS = ("review", "cram")
"""The kinds nearly every line holds: ``read_line`` checks their lines without a call per field."""
_HEAD = frozenset({"v", "id", "kind", "at", "dev", "card"})
_ANSWER_FIELDS = frozenset({"rating", "ms", "first", "due"})
_GOOD_DAYS: set[str] = set()
"""Review days (``due``) already checked."""


def read_line(text: str, *, now: datetime, max_answer_ms: int) -> Event | Waiting | Quarantined:
    """One journal line, checked: an event to apply, one that waits, or the reason it is refused.

    Args:
        text: The line, without its newline.
        now: This device's clock (UTC-aware): later events wait until a day before their time.
        max_answer_ms: Answer times are capped at this (the review screen's own cap).
    """
    event = _read_answer(text, now, max_answer_ms)
    return event if event is not None else _read_checked(text, now=now, max_answer_ms=max_answer_ms)


def _read_answer(text: str, now: datetime, max_answer_ms: int) -> Event | Waiting | None:
    """The common line, checked by the very rules of ``_read_checked`` without a call per field: a
    review or cram answer (a rating; an answer time in whole milliseconds, a first mark, a review
    day at most), by a device already seen, dated in UTC. None: any other line, or any doubt
    (``_read_checked`` then checks it field by field, and says why it refuses it)."""
    if len(text) > MAX_LINE:
        return None
    try:
        obj, end = _DECODER.raw_decode(text)
    except Exception:  # not JSON, NaN, too deep: the full check says which
        return None
    if end != len(text) or type(obj) is not dict:
        return None
    get = obj.get
    eid, kind, at, dev, version = get("id"), get("kind"), get("at"), get("dev"), get("v", 1)
    if not (
        type(kind) is str
        and kind in _FAST_KINDS
        and type(eid) is str
        and len(eid) <= 64
        and _ID_RE.match(eid)
        and type(dev) is str
        and _SEEN_IDS.get(dev)
        and type(at) is str
        and len(at) <= 64
        and type(version) is int
        and 1 <= version <= FORMAT_VERSION
    ):
        return None
    try:
        when = datetime.fromisoformat(at)
    except Exception:  # the full check says why
        return None
    if when.tzinfo is not UTC or not EARLIEST <= when < LATEST:
        return None
    data = {k: v for k, v in obj.items() if k not in _HEAD}
    rating, ms, due = data.get("rating"), data.get("ms"), data.get("due")
    if not (
        data.keys() <= _ANSWER_FIELDS
        and type(rating) is int
        and 1 <= rating <= 4
        and (ms is None or (type(ms) is int and 0 <= ms <= MAX_ANSWER_MS))
        and type(data.get("first", False)) is bool
        and ("due" not in data or (type(due) is str and (due in _GOOD_DAYS or _good_day(due))))
    ):
        return None
    try:
        card = _card(get("card"))
    except _Bad:
        return None
    if when > now + AHEAD:
        return Waiting(eid, "future", when - AHEAD, text)
    if ms is not None and ms > max_answer_ms:
        data["ms"] = max_answer_ms  # as the review screen logs a long answer
    return Event(eid, kind, when, dev, card, data)


def _good_day(value: str) -> bool:
    """``value`` passes ``_day`` (remembered when it does)."""
    try:
        _day(value, "due")
    except _Bad:
        return False
    if len(_GOOD_DAYS) < 100_000:
        _GOOD_DAYS.add(value)
    return True


def _read_checked(text: str, *, now: datetime, max_answer_ms: int) -> Event | Waiting | Quarantined:
    """``read_line``, every field checked one by one, with the reason of a refusal."""
    if len(text) > MAX_LINE:
        return Quarantined(f"longer than {MAX_LINE // 1024} KB")
    try:
        obj = _DECODER.decode(text)
    except _Bad as exc:
        return Quarantined(str(exc))
    except (ValueError, RecursionError):
        return Quarantined("not JSON")
    if not isinstance(obj, dict):
        return Quarantined("not a JSON object")
    try:
        eid = _text(obj, "id", 64, pattern=_ID_RE)
        device = _short_id(obj, "dev")
        kind = obj.get("kind")
        if not isinstance(kind, str) or not _KIND_RE.match(kind):
            raise _Bad("kind missing or not a name")
        at = _instant(obj.get("at"), "at")
        card = _card(obj.get("card"))
        version = obj.get("v", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise _Bad(f"v {version!r} is not a format version")
        assert eid is not None and device is not None
        if version > FORMAT_VERSION or kind not in KIND_FIELDS:
            return Waiting(eid, "newer", None, text)
        for k in ("v", "id", "kind", "at", "dev", "card"):
            obj.pop(k, None)
        data = obj  # the kind's own fields
        KIND_FIELDS[kind](data)
    except _Bad as exc:
        return Quarantined(str(exc))
    if at > now + AHEAD:
        return Waiting(eid, "future", at - AHEAD, text)
    if kind in ("review", "cram") and isinstance(data.get("ms"), int | float) and data["ms"] > max_answer_ms:
        data["ms"] = max_answer_ms  # as the review screen logs a long answer
    return Event(eid, kind, at, device, card, data)
