"""History across devices: recording events, merging journals, replaying a card's history.

The journal (``history/journal.py``) is the record; this module keeps the database in
step with it:

- ``record`` stores events a command made here (in the caller's transaction)
  and appends them to this device's journal before the commit;
- ``merge_journals`` reads what is new in every device's journal, stores the
  events it did not know (by id, so merging twice changes nothing), matches
  each to its card (by uid, else by the card's key; an event for a card not
  known yet waits and applies when the card appears) and replays every
  touched card;
- ``replay_card`` recomputes a card's schedule and review rows from its events
  in time order, as Anki keeps both answers when a card was reviewed on two
  devices;
- ``seed_journal`` writes the history a database already holds into this
  device's journal the first time the journal is used, so a rebuild loses
  nothing from before.

Nothing here reads the clock: ``now`` is passed in.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.workers import cyclic_gc_paused
from ..store import card_sync as sync_store
from ..store import cards as card_store
from ..store import events as event_store
from ..store.cards import CardView
from ..store.db import dt_to_db, page_cache, transaction
from ..store.events import EventRow, EventValues, KeyedCard, ReplayEvent
from .journal import CardKey, Cursor, Event, Journal, journal_files, read_new
from .replay import replay_cards

if TYPE_CHECKING:
    from ..scheduling.memory import CardScheduler

SEEDED = "journal_seeded"
"""``meta`` key: this database's own history has been written into a journal."""


def key_of(card: CardView | KeyedCard) -> CardKey:
    """The key a journal event names a card by."""
    if isinstance(card, CardView):
        return CardKey(
            card.uid, card.block_id, card.direction, card.cloze, card.note, card.fingerprint, card.question
        )
    return CardKey(
        card.uid, card.block_id, card.direction, card.cloze, card.path, card.fingerprint, card.question
    )


def card_key(conn: sqlite3.Connection, card_id: int) -> CardKey:
    """The key of a stored card.

    Raises:
        CardNotFound: no such card.
    """
    from ..errors import CardNotFound

    card = event_store.keyed_card(conn, card_id)
    if card is None:
        raise CardNotFound(f"no card with id {card_id}")
    return key_of(card)


def event_row(ev: Event, card_id: int | None) -> EventRow:
    """An event as the store keeps it."""
    return EventRow(
        ev.id,
        ev.device,
        ev.kind,
        ev.at,
        ev.card.uid,
        json.dumps(ev.card.as_json(), ensure_ascii=False),
        json.dumps(ev.data, ensure_ascii=False),
        card_id,
    )


class _RowMaker:
    """``event_row`` for many events: the JSON of a card key, and of event data, is made once
    for all the events that carry an equal one (a journal names a card many times, and most
    reviews carry the same few data)."""

    def __init__(self) -> None:
        self.keys: dict[CardKey, str] = {}
        self.data: dict[str, str] = {}
        self.same: dict[int, tuple[CardKey, str]] = {}
        """By ``id`` of a card key object (the reader hands out one per card): the key, kept alive so
        that its id is never another's, and its JSON; spares hashing the key's seven fields."""

    def __call__(self, ev: Event, card_id: int | None) -> EventRow:
        """``event_row(ev, card_id)``."""
        key, data = self._json(ev)
        return EventRow(ev.id, ev.device, ev.kind, ev.at, ev.card.uid, key, data, card_id)

    def values(self, ev: Event, card_id: int | None) -> EventValues:
        """The event's row as ``event_store.add_events`` writes it."""
        key, data = self._json(ev)
        return (ev.id, ev.device, ev.kind, dt_to_db(ev.at), ev.card.uid, key, data, card_id)

    def _json(self, ev: Event) -> tuple[str, str]:
        card = ev.card
        seen = self.same.get(id(card))
        if seen is not None and seen[0] is card:
            key = seen[1]
        else:
            known = self.keys.get(card)
            key = known if known is not None else json.dumps(card.as_json(), ensure_ascii=False)
            self.keys[card] = key
            self.same[id(card)] = (card, key)
        # ``repr`` tells JSON values apart where ``==`` does not (1, 1.0 and True).
        shown = repr(ev.data)
        data = self.data.get(shown)
        if data is None:
            data = self.data[shown] = json.dumps(ev.data, ensure_ascii=False)
        return key, data


def record(
    conn: sqlite3.Connection, journal: Journal | None, events: Sequence[tuple[Event, int | None]]
) -> None:
    """Store events made here and append them to this device's journal (durable before the commit).

    Call inside the transaction that applies the events, so that a failed
    append (disk full) rolls the change back: nothing is recorded half.
    """
    event_store.insert_events(conn, (event_row(ev, cid) for ev, cid in events))
    if journal is not None:
        journal.append(ev for ev, _ in events)


# -- replay -----------------------------------------------------------------------------


# -- merging journals -----------------------------------------------------------------------


@dataclass
class MergeReport:
    """What a merge read and changed."""

    files: int = 0
    events_read: int = 0
    events_new: int = 0
    events_pending: int = 0
    cards_replayed: int = 0
    problems: list[str] = field(default_factory=list)
    quarantined: int = 0
    """Journal lines found invalid by this merge (each also named in ``problems``, up to a bound)."""

    def as_dict(self) -> dict[str, object]:
        """Plain data for ``--json``."""
        return {
            "files": self.files,
            "events_read": self.events_read,
            "events_new": self.events_new,
            "events_pending": self.events_pending,
            "cards_replayed": self.cards_replayed,
            "quarantined": self.quarantined,
            "problems": list(self.problems),
        }


class _Matcher:
    """Finds the local card of an event: by uid, else by block key, path and fingerprint, fingerprint, question."""

    def __init__(self, cards: Iterable[KeyedCard]) -> None:
        self.by_uid: dict[str, KeyedCard] = {}
        self.by_block: dict[tuple[str, str, int], KeyedCard] = {}
        self.by_path_fp: dict[tuple[str, str], KeyedCard] = {}
        self.by_fp: dict[str, list[KeyedCard]] = {}
        self.by_question: dict[tuple[str, str], KeyedCard] = {}
        for c in cards:
            self.by_uid[c.uid] = c
            if c.block_id:
                self.by_block.setdefault((c.block_id, c.direction, c.cloze or 0), c)
            self.by_path_fp.setdefault((c.path, c.fingerprint), c)
            self.by_fp.setdefault(c.fingerprint, []).append(c)
            self.by_question.setdefault((c.path, c.question), c)

    def find(self, key: CardKey) -> tuple[KeyedCard | None, bool]:
        """The card and whether it was found by its uid."""
        hit = self.by_uid.get(key.uid)
        if hit is not None:
            return hit, True
        if key.block:
            hit = self.by_block.get((key.block, key.direction, key.cloze or 0))
            if hit is not None:
                return hit, False
        hit = self.by_path_fp.get((key.path, key.fingerprint))
        if hit is None:
            same = self.by_fp.get(key.fingerprint, [])
            hit = same[0] if len(same) == 1 else None
        if hit is None and key.question:
            hit = self.by_question.get((key.path, key.question))
        return hit, False

    def forget(self, card: KeyedCard) -> None:
        """Stop matching a card (purged here)."""
        self.by_uid.pop(card.uid, None)
        if card.block_id and self.by_block.get((card.block_id, card.direction, card.cloze or 0)) == card:
            del self.by_block[(card.block_id, card.direction, card.cloze or 0)]
        if self.by_path_fp.get((card.path, card.fingerprint)) == card:
            del self.by_path_fp[(card.path, card.fingerprint)]
        self.by_fp[card.fingerprint] = [c for c in self.by_fp.get(card.fingerprint, []) if c.id != card.id]
        if self.by_question.get((card.path, card.question)) == card:
            del self.by_question[(card.path, card.question)]


def _apply_purges(
    conn: sqlite3.Connection,
    purges: Sequence[EventRow],
    matcher: _Matcher,
    report: MergeReport,
    journal: Journal | None,
) -> None:
    """Delete here the cards another device purged, if they are retired here too.

    A card still active here is still in a note: it stays (with a problem line), as a purge only
    removes what the notes no longer have, and this device records that it kept it (a no-op
    suspend or unsuspend with ``{"kept": purge id}``, just after the purge), so that a rebuild
    anywhere keeps its history too, where a card whose text merely came back starts afresh.
    """
    from ..core.identity import event_id

    if not purges:
        return
    gone: list[int] = []
    kept_before = event_store.kept_purges(conn)
    marks: list[tuple[Event, int | None]] = []
    for r in purges:
        key = CardKey.from_json(json.loads(r.card_key))
        card, _ = matcher.find(key)
        if card is None:
            continue
        if not card.retired:
            report.problems.append(
                f"{card.path}: a card purged on device {r.device} is still in this note here; kept"
                f" ({card.question[:60]})"
            )
            if journal is not None and r.id not in kept_before:
                at = r.at + timedelta(microseconds=1)
                kind = "suspend" if card_store.schedule_of(conn, card.id)["suspended"] else "unsuspend"
                named = dataclasses.replace(key_of(card), uid=r.card_uid)
                marks.append((Event(event_id(at), kind, at, journal.device, named, {"kept": r.id}), card.id))
                kept_before.add(r.id)
            continue
        gone.append(card.id)
        matcher.forget(card)
    if gone:
        sync_store.delete_cards(conn, gone)
    if marks:
        record(conn, journal, marks)


_ToMatch = tuple[str, str, datetime, CardKey]
"""An event to match to its card: its id, the card uid it names, its time and the card's key."""


def _resolve(
    conn: sqlite3.Connection,
    events: Sequence[_ToMatch],
    matcher: _Matcher,
    unstored_uids: set[str],
) -> tuple[list[tuple[int, str]], set[int], list[str]]:
    """Match events to cards; a card found by key adopts the event's uid when it has no history of its own.

    Returns ``(card id, event id)`` of the matched events, the cards matched and the ids of the
    events to forget. An event from before its card was purged is forgotten rather than matched or
    left waiting: the card is gone for good, and its text coming back makes a new card. Unless a
    device kept the card (it was still in a note there): then its history stays whole.
    ``unstored_uids``: the card uids of the events being merged that are not stored yet (they are
    history too).
    """
    pairs: list[tuple[int, str]] = []
    touched: set[int] = set()
    purged = event_store.purge_times(conn)
    kept = event_store.kept_after_purge(conn) if purged else set()
    forgotten: list[str] = []
    for event_id, card_uid, at, key in events:
        when = purged.get(card_uid)
        if when is not None and at <= when and card_uid not in kept:
            forgotten.append(event_id)
            continue
        card, by_uid = matcher.find(key)
        if card is None:
            continue
        if (
            not by_uid
            and key.uid not in matcher.by_uid
            and card.uid not in unstored_uids
            and not event_store.has_uid(conn, card.uid)
        ):
            # This device first knew the card under another uid and has no events for it:
            # take the uid the journal knows it by, so every device names it alike.
            event_store.set_uid(conn, card.id, key.uid)
            del matcher.by_uid[card.uid]
            card = card._replace(uid=key.uid)
            matcher.by_uid[key.uid] = card
        pairs.append((card.id, event_id))
        touched.add(card.id)
    return pairs, touched, forgotten


MERGE_CACHE_KIB = 64 * 1024
"""SQLite's page cache during a merge: a big one writes its events and reviews (random places in
four indexes, each checking its card) without spilling pages to the WAL before the commit."""


PROBLEMS_SHOWN = 20
"""Quarantined lines named one by one in a merge's report; the rest are counted."""


def merge_journals(
    conn: sqlite3.Connection,
    folder: Path,
    scheduler_factory: Callable[[], CardScheduler],
    *,
    leech_threshold: int,
    leech_action: str = "suspend",
    rel: Callable[[Path], str] = str,
    journal: Journal | None = None,
    now: datetime,
    max_answer_ms: int = 60_000,
) -> MergeReport:
    """Bring in every journal event this database does not hold, then replay the cards they touch.

    Reads only what is new since the last merge (a file that shrank, was replaced or was edited
    is read again). Idempotent: merging twice changes nothing. Every line is checked strictly
    (``history.reader``): a line that is not a valid event is quarantined (recorded, reported
    once as ``path:line: reason``, never applied); a valid one dated more than a day ahead of
    ``now`` waits for its day, and one of a newer version waits for an upgrade (one warning).
    ``journal``: this device's, to record that it kept a card another device purged (None:
    record nothing, as a rebuild).
    """
    from .reader import Quarantined, Waiting, read_line

    report = MergeReport()
    fresh: list[Event] = []
    cursors: list[tuple[str, str, Cursor]] = []
    quarantined: list[tuple[str, list[tuple[int, str]], bool, int]] = []
    waiting: list[tuple[str, list[tuple[int, str, str, str | None, str]]]] = []
    with cyclic_gc_paused():
        for device, path in journal_files(folder):
            report.files += 1
            key = rel(path)
            known = event_store.journal_cursor(conn, key)
            try:
                res = read_new(path, Cursor(*known) if known else None, now=now, max_answer_ms=max_answer_ms)
            except OSError as exc:
                report.problems.append(f"{key}: cannot read the journal ({exc.strerror})")
                continue
            if res.unchanged:
                continue
            report.events_read += len(res.events)
            quarantined.append((key, res.problems, res.reread, res.problem_count))
            waiting.append((key, [(n, w.id, w.reason, dt_to_db(w.due), w.text) for n, w in res.waiting]))
            fresh += res.events
            cursors.append((key, device, res.cursor))
        # Lines that waited: those whose day has come, or that this version now knows.
        ready: list[str] = []
        for eid, _path, _line, _reason, text in event_store.waiting_events(conn):
            got = read_line(text, now=now, max_answer_ms=max_answer_ms)
            if isinstance(got, Event):
                fresh.append(got)
                ready.append(eid)
            elif isinstance(got, Quarantined):
                ready.append(eid)
            elif isinstance(got, Waiting):
                continue
        pending = event_store.pending_events(conn)
        if not fresh and not cursors and not pending and not ready:
            return report
        with page_cache(conn, MERGE_CACHE_KIB), transaction(conn):
            for key, device, c in cursors:
                event_store.set_journal_cursor(conn, key, device, c.size, c.mtime_ns, c.head, c.consumed)
            _record_lines(conn, quarantined, waiting, report)
            event_store.drop_waiting(conn, ready)
            history, rows = _merge(conn, fresh, pending, report, journal)

            def store_events() -> None:
                event_store.add_events(conn, rows)
                report.events_pending = len(event_store.pending_events(conn))

            if history:
                # The new events are stored while forked workers replay their cards.
                report.cards_replayed = replay_cards(
                    conn,
                    sorted(history),
                    scheduler_factory(),
                    leech_threshold,
                    leech_action,
                    history,
                    meanwhile=store_events,
                    meanwhile_weight=len(rows) // STORE_PER_REPLAY,
                )
            else:
                store_events()
    return report


STORE_PER_REPLAY = 5
"""Events stored in the time one is replayed (about): how much less of a replay this process takes
on while it stores a merge's new events."""


def _record_lines(
    conn: sqlite3.Connection,
    quarantined: Sequence[tuple[str, list[tuple[int, str]], bool, int]],
    waiting: Sequence[tuple[str, list[tuple[int, str, str, str | None, str]]]],
    report: MergeReport,
) -> None:
    """Store the quarantined and waiting lines read, and report what is new, once and bounded."""
    new_problems: list[tuple[str, int, str]] = []
    unnamed = 0
    files: set[str] = set()
    for key, problems, reread, count in quarantined:
        fresh = event_store.add_journal_problems(conn, key, problems, reread=reread, count=count)
        new_problems += [(key, n, r) for n, r in fresh]
        extra = max(0, count - len(problems))
        if fresh or extra:
            files.add(key)
        unnamed += extra
    for key, n, reason in new_problems[:PROBLEMS_SHOWN]:
        report.problems.append(f"{key}:{n}: not a valid journal event ({reason}); quarantined, never applied")
    more = len(new_problems) - PROBLEMS_SHOWN + unnamed
    if more > 0:
        report.problems.append(
            f"... and {more:,} more quarantined lines in "
            f"{len(files)} journal file{'s' if len(files) != 1 else ''} (`mlsys-srs info` lists them)"
        )
    report.quarantined = len(new_problems) + unnamed
    added: dict[str, int] = {}
    for key, lines in waiting:
        if lines:
            n = event_store.add_waiting(conn, key, lines)
            for _, _, reason, _, _ in lines[:n] if n else []:
                added[reason] = added.get(reason, 0) + 1
    if added.get("newer"):
        report.problems.append(
            f"{added['newer']:,} journal events from a newer version of mlsys-srs wait: upgrade to apply them"
        )
    if added.get("future"):
        report.problems.append(
            f"{added['future']:,} journal events dated more than a day ahead of this clock wait for their day"
        )


def _merge(
    conn: sqlite3.Connection,
    fresh: Sequence[Event],
    pending: Sequence[EventRow],
    report: MergeReport,
    journal: Journal | None,
) -> tuple[dict[int, list[ReplayEvent]], list[EventValues]]:
    """Store the events read (``fresh``) that are new, apply their purges, and match them and the
    waiting ones (``pending``) to cards, in ``merge_journals``'s transaction. Returns the events of
    the cards matched (to replay), by card, and the rows of the other new events, for the caller to
    store (``event_store.add_events``) before it commits.

    Purges, and the events that mark a card kept after a purge, are stored first, as applying
    purges and matching read those from the store; every other new event is stored once matched,
    with its card (matching knows them as ``unstored_uids``).
    """
    # Two files can hold one event (a copied journal): keep the first.
    unique: dict[str, Event] = {}
    for e in fresh:
        unique.setdefault(e.id, e)
    have = event_store.known_event_ids(conn, list(unique))
    new = [e for e in unique.values() if e.id not in have]
    report.events_new = len(new)
    if not new and not pending:
        return {}, []
    row = _RowMaker()
    early: list[EventRow] = []
    later: list[Event] = []
    todo: list[_ToMatch] = []  # the new events in the order read, then the waiting ones
    for e in new:
        if e.kind == "purge" or "kept" in e.data:
            early.append(row(e, None))
        else:
            later.append(e)
        if e.kind != "purge":
            todo.append((e.id, e.card.uid, e.at, e.card))
    todo += [(r.id, r.card_uid, r.at, CardKey.from_json(json.loads(r.card_key))) for r in pending]
    event_store.insert_events(conn, early)
    matcher = _Matcher(event_store.keyed_cards(conn))
    _apply_purges(conn, [r for r in early if r.kind == "purge"], matcher, report, journal)
    pairs, touched, forgotten = _resolve(conn, todo, matcher, {e.card.uid for e in later})
    unstored = {e.id for e in later}
    event_store.delete_events(conn, [eid for eid in forgotten if eid not in unstored])
    event_store.attach_events(conn, [(cid, eid) for cid, eid in pairs if eid not in unstored])
    # The history of the cards matched: what the store holds, and the new events (stored next).
    history = event_store.replay_events_of_cards(conn, sorted(touched))
    card_of = {eid: cid for cid, eid in pairs}
    gone = set(forgotten)
    rows: list[EventValues] = []
    for e in later:
        if e.id in gone:
            continue
        values = row.values(e, card_of.get(e.id))
        rows.append(values)
        cid = values[7]
        if cid is not None:
            history.setdefault(cid, []).append(ReplayEvent(e.id, e.kind, values[3], values[6]))
    return history, rows


# -- purging retired cards ------------------------------------------------------------------


def purge_retired(
    conn: sqlite3.Connection,
    journal: Journal | None,
    now: datetime,
    older_than: timedelta,
    *,
    dry_run: bool = False,
) -> list[CardView]:
    """Delete for good the cards retired more than ``older_than`` before ``now``, with their reviews,
    tags and events; one ``purge`` journal event each (one transaction), so that other devices delete
    them too and no merge brings them back. Returns the cards (``dry_run``: those it would delete)."""
    from ..core.identity import event_id

    ids = sync_store.retired_before(conn, now - older_than)
    views = [v for v in (card_store.load_card(conn, i) for i in ids) if v is not None]
    if dry_run or not views:
        return views
    device = journal.device if journal is not None else "local"
    events: list[tuple[Event, int | None]] = [
        (Event(event_id(now), "purge", now, device, key_of(v), {}), None) for v in views
    ]
    with transaction(conn):
        sync_store.delete_cards(conn, [v.id for v in views])
        record(conn, journal, events)
    return views


# -- the first run with a journal -----------------------------------------------------------


def seed_journal(conn: sqlite3.Connection, journal: Journal, now: datetime) -> int:
    """Write the history this database holds (reviews, and suspensions as of now) into this device's
    journal, once. Returns the number of events written (0 if already done)."""
    from ..core.identity import event_id

    if event_store.get_meta(conn, SEEDED):
        return 0
    keys = {c.id: c for c in event_store.keyed_cards(conn)}
    have = {r.id for r in event_store.all_events(conn)}
    events: list[tuple[Event, int]] = []
    reviewed: set[int] = set()
    for r in event_store.all_reviews(conn):
        if r.kind == "review" and r.state_before == "new" and r.card_id in reviewed:
            # Resets were not logged before the journal: a card new again after reviews was reset.
            at = r.reviewed_at - timedelta(microseconds=1)
            events.append(
                (Event(event_id(at), "reset", at, journal.device, key_of(keys[r.card_id]), {}), r.card_id)
            )
        if r.kind == "review":
            reviewed.add(r.card_id)
        if r.uid in have:
            continue
        kind = "cram" if r.kind == "cram" else "review"
        data: dict[str, Any] = {"rating": r.rating}
        if r.duration_ms is not None:
            data["ms"] = r.duration_ms
        if r.state_before == "new" and r.kind == "review":
            data["first"] = True
        events.append(
            (Event(r.uid, kind, r.reviewed_at, journal.device, key_of(keys[r.card_id]), data), r.card_id)
        )
    for c in card_store.new_cards(conn, sorted(reviewed)):
        events.append((Event(event_id(now), "reset", now, journal.device, key_of(keys[c]), {}), c))
    for c in card_store.suspended_cards(conn):
        events.append((Event(event_id(now), "suspend", now, journal.device, key_of(keys[c]), {}), c))
    with transaction(conn):
        record(conn, journal, events)
        event_store.set_meta(conn, SEEDED, now.isoformat())
    return len(events)


# -- rebuild and self-audit -------------------------------------------------------------------

_COMPARED = ("state", "step", "stability", "difficulty", "due", "last_review", "reps", "lapses", "suspended")


@dataclass
class Difference:
    """One way two databases disagree about history."""

    card: str
    """The card's note path:line (or its uid when it exists on one side only)."""
    what: str

    def __str__(self) -> str:
        return f"{self.card}: {self.what}"


def compare_history(live: sqlite3.Connection, rebuilt: sqlite3.Connection) -> list[Difference]:
    """What ``rebuilt`` (from the notes and the journals) says differently from ``live``: reviews by id,
    and each active card's schedule. Cards never reviewed are compared only by their schedule."""
    out: list[Difference] = []
    a = {r.uid: r for r in event_store.all_reviews(live)}
    b = {r.uid: r for r in event_store.all_reviews(rebuilt)}
    where = {c.id: f"{c.path}" for c in event_store.keyed_cards(live)}
    for uid in sorted(a.keys() - b.keys()):
        out.append(
            Difference(where.get(a[uid].card_id, a[uid].card_uid), f"review {uid} is missing after a rebuild")
        )
    for uid in sorted(b.keys() - a.keys()):
        out.append(Difference(b[uid].card_uid, f"review {uid} appears only after a rebuild"))
    for uid in sorted(a.keys() & b.keys()):
        x, y = a[uid], b[uid]
        if (x.rating, x.reviewed_at, x.kind, x.card_uid) != (y.rating, y.reviewed_at, y.kind, y.card_uid):
            out.append(Difference(x.card_uid, f"review {uid} differs"))
    sa, sb = card_store.schedules_by_key(live), card_store.schedules_by_key(rebuilt)
    for key in sorted(sa.keys() | sb.keys()):
        if key not in sa or key not in sb:
            side = "live database" if key in sa else "rebuilt database"
            out.append(Difference(f"{key[0]} ({key[1]})", f"card only in the {side}"))
            continue
        for col in _COMPARED:
            u, v = sa[key][col], sb[key][col]
            if isinstance(u, float) and isinstance(v, float) and abs(u - v) <= 1e-9 * max(1.0, abs(u)):
                continue
            if u != v:
                out.append(Difference(f"{key[0]} ({key[1]})", f"{col}: live {u!r}, rebuilt {v!r}"))
    return out
