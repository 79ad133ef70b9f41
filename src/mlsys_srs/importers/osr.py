"""``import osr``: seed cards from obsidian-spaced-repetition's SM-2 schedules.

For every card of the vault with an OSR schedule (``parse.osr``), an ``import``
journal event sets its state: review, due on OSR's due date, last reviewed
``interval`` days before it, with the FSRS memory state that fsrs-rs-python
derives from SM-2's interval and ease (as Anki does when FSRS is switched on).
Only cards that are still new here are seeded, and an event's id comes from
the card and the schedule, so running the import twice changes nothing.

With ``strip``, the comments are removed afterwards through ``vault.writes`` (each
note rewritten atomically, left alone if it changed since it was read); the
comments are those the parser reads (``parse.sr_comments.schedule_spans``: never
one in code or in another comment), on the parser's lines.

A schedule out of range (``!9999-12-31,99999999,250``, ``sr-interval: .inf``),
whose last review (due date minus interval) would be before 2000, or due more
than 100 years from today is a warning naming its file and line; its card is not
seeded and its comment is kept. The ``import`` event is dated at the last review,
or at the import if that is later (OSR's due dates may be moved on by its load
balancing): the journal never holds an event from the future. Nothing here reads
the clock.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.identity import event_id
from ..errors import SrsError
from ..history.journal import Event
from ..history.merge import key_of, record
from ..history.replay import replay_cards
from ..parse import Diagnostic, parse_note
from ..parse.sr_comments import (
    MAX_INTERVAL,
    OsrSchedule,
    card_schedules,
    schedule_problems,
    strip_schedule_comments_from,
)
from ..store import events as event_store
from ..store.cards import list_cards
from ..store.db import dt_to_db, transaction
from ..store.filters import CardFilter
from ..sync.walk import decode_note, walk_vault
from ..vault.writes import NoteChanged, rewrite_note

if TYPE_CHECKING:
    from ..history.journal import Journal
    from ..scheduling.days import DayClock
    from ..scheduling.memory import CardScheduler

INSTALL_HINT = "pip install 'mlsys-srs[optimizer]'"
EARLIEST_REVIEW = date(2000, 1, 1)
"""No seeded review is older (the journal takes no event before 2000)."""
SM2_RETENTION = 0.9
"""The retention SM-2 intervals are taken to aim at when converted (Anki's default)."""


@dataclass
class OsrImportReport:
    """What an OSR import found and did."""

    dry_run: bool
    strip: bool
    notes: int = 0
    schedules: int = 0
    seeded: int = 0
    from_note: int = 0
    already: int = 0
    unmatched: int = 0
    stripped: int = 0
    cards_replayed: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "dry_run": self.dry_run,
            "notes": self.notes,
            "schedules": self.schedules,
            "seeded": self.seeded,
            "from_note_level": self.from_note,
            "already_seeded_or_reviewed": self.already,
            "without_card": self.unmatched,
            "stripped_notes": self.stripped,
            "cards_replayed": self.cards_replayed,
            "diagnostics": [
                {"path": d.path, "line": d.line, "severity": d.severity, "message": d.message}
                for d in self.diagnostics
            ],
        }


def memory_from_sm2(parameters: Sequence[float], interval: int, ease: int) -> tuple[float, float]:
    """``(stability, difficulty)`` of an SM-2 card (interval in days, ease in per mille), by fsrs-rs-python.

    Raises:
        SrsError: fsrs-rs-python is not installed.
    """
    try:
        import fsrs_rs_python
    except ImportError:
        raise SrsError(f"import osr needs the optimizer extra (fsrs-rs-python): {INSTALL_HINT}") from None
    model = fsrs_rs_python.FSRS(list(parameters))
    state = model.memory_state_from_sm2(max(ease, 130) / 1000, float(max(interval, 1)), SM2_RETENTION)
    return float(state.stability), float(state.difficulty)


def seed_state(
    schedule: OsrSchedule, clock: DayClock, parameters: Sequence[float], suspended: bool
) -> dict[str, Any]:
    """The ``import`` event's ``state``: a review card due on OSR's due date."""
    due = clock.day_start(schedule.due)
    last = clock.day_start(schedule.due - timedelta(days=max(schedule.interval, 1)))
    stability, difficulty = memory_from_sm2(parameters, schedule.interval, schedule.ease)
    return {
        "state": "review",
        "step": None,
        "stability": stability,
        "difficulty": difficulty,
        "due": dt_to_db(due),
        "last_review": dt_to_db(last),
        "reps": 1,
        "lapses": 0,
        "suspended": int(suspended),
    }


def import_osr(
    conn: sqlite3.Connection,
    *,
    vault: Path,
    now: datetime,
    clock: DayClock,
    scheduler: CardScheduler,
    journal: Journal | None,
    strip: bool = False,
    dry_run: bool = False,
    ignore: Sequence[str] = (),
    highlight_cloze: bool = False,
    leech_threshold: int = 8,
    leech_action: str = "suspend",
) -> OsrImportReport:
    """Seed every new card that has an OSR schedule; with ``strip``, remove the comments afterwards.

    The database must be synced with the vault (with the same ``highlight_cloze``).

    Raises:
        SrsError: fsrs-rs-python is missing (when there is something to seed).
    """
    report = OsrImportReport(dry_run, strip)
    views = {(v.note, v.fingerprint): v for v in list_cards(conn, CardFilter(include_retired=True))}
    device = journal.device if journal is not None else "local"
    events: list[tuple[Event, int]] = []
    originals: list[tuple[Path, str, bytes, str, frozenset[int]]] = []
    for f in walk_vault(vault, ignore):
        try:
            data = f.abspath.read_bytes()
        except OSError:
            continue
        if b"<!--SR:" not in data and b"sr-due" not in data:
            continue
        text = decode_note(data, f.path)
        if isinstance(text, Diagnostic):
            report.diagnostics.append(text)
            continue
        note = parse_note(text, f.path, highlight_cloze=highlight_cloze)
        pairs = card_schedules(text, note)
        problems = schedule_problems(text, f.path)
        if not pairs and not problems and "<!--SR:" not in text:
            continue
        report.notes += 1
        report.schedules += sum(1 for _, _, whole in pairs if not whole)
        untaken = dict.fromkeys(problems)  # (line, message), once each, in order
        today = clock.day_of(now)
        for card, schedule, whole in pairs:
            last = schedule.due - timedelta(days=max(schedule.interval, 1))
            reason = None
            if last < EARLIEST_REVIEW:
                reason = f"its last review ({last.isoformat()}) would be before {EARLIEST_REVIEW.year}"
            elif schedule.due > today + timedelta(days=MAX_INTERVAL):
                reason = "it is due more than 100 years from today"
            if reason is not None:
                untaken[
                    (
                        schedule.line or card.line,
                        f"OSR schedule due {schedule.due.isoformat()}, interval {schedule.interval}: {reason};"
                        " its card is not seeded",
                    )
                ] = None
                continue
            view = views.get((f.path, card.fingerprint))
            if view is None:
                report.unmatched += 1
                continue
            if view.state != "new" or view.reps:
                report.already += 1
                continue
            basis = f"osr\0{view.uid}\0{schedule.due}\0{schedule.interval}\0{schedule.ease}".encode()
            at = min(clock.day_start(last), now)  # an event is never dated after the import
            eid = event_id(at, hashlib.blake2b(basis, digest_size=10).digest())
            state = seed_state(schedule, clock, scheduler.parameters, view.suspended)
            events.append(
                (Event(eid, "import", at, device, key_of(view), {"source": "osr", "state": state}), view.id)
            )
            report.from_note += whole
        for line, message in untaken:
            report.diagnostics.append(Diagnostic(f.path, line, message, "warning", "osr-schedule"))
        if strip and "<!--SR:" in text:
            originals.append((f.abspath, f.path, data, text, frozenset(line for line, _ in untaken)))
    known = event_store.known_event_ids(conn, [e.id for e, _ in events]) if events else set()
    fresh = [(e, cid) for e, cid in events if e.id not in known]
    report.already += len(events) - len(fresh)
    report.seeded = len(fresh)
    if not dry_run and fresh:
        with transaction(conn):
            record(conn, journal, fresh)
            report.cards_replayed = replay_cards(
                conn, sorted({cid for _, cid in fresh}), scheduler, leech_threshold, leech_action
            )
    for path, rel, data, text, keep_lines in originals:
        new = strip_schedule_comments_from(text, keep_lines)
        if new == text:
            continue
        if dry_run:
            report.stripped += 1
            continue
        try:
            bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
            rewrite_note(path, data, bom + new.encode("utf-8"))
        except NoteChanged:
            report.diagnostics.append(
                Diagnostic(
                    rel, 1, "the note changed during the import; its comments were kept", "warning", "changed"
                )
            )
            continue
        report.stripped += 1
    return report
