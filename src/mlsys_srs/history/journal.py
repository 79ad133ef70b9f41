"""The review journal: one append-only JSON Lines file per device, in the vault.

Every event that changes a card's history (a review, an undo, suspend,
unsuspend, bury, reset, an import, a cram answer, a purge, a due date moved by
``postpone``, ``advance``, ``break`` or ``plan``) is appended to
``<journal folder>/<device id>.jsonl`` before the database commits it, so the
journal, not the database, is the record of history: the database is a cache
that ``rebuild`` can recreate from the notes and the journals of every device.

Each device writes only its own file, so copying a vault between machines
(git, Syncthing, a file copy) never produces a conflict; each device reads the
others' files and merges their events by id (``history.merge_journals``).

A line is one event::

    {"v": 1, "id": "01J...", "kind": "review", "at": "2026-11-30T08:00:00.000000+00:00",
     "dev": "d-3f9a...", "card": {"uid": "...", "block": null, "dir": "forward", "cloze": null,
     "path": "09-gpu-systems/roofline-model.md", "fp": "...", "q": "What is ..."},
     "rating": 3, "ms": 8000, "due": "2026-12-04"}

(``due``: the review day the grade chose, which a replay takes as it is.)

A last line without its newline (a crash mid-write, or a file synced while
being written) is ignored until it is complete. Every line read is checked
strictly (``history.events``): a line that is not a valid event is quarantined,
never applied and never fatal. This module does file I/O and JSON; it knows
nothing of the database.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.instants import parse_instant
from ..errors import SrsError

if TYPE_CHECKING:
    from .reader import Waiting

FORMAT_VERSION = 1
EVENT_KINDS = frozenset(
    {"review", "undo", "suspend", "unsuspend", "bury", "reset", "import", "cram", "purge", "move"}
)
"""What a journal line can record."""
HEAD_BYTES = 512
"""A file whose first bytes change was replaced (not appended to): it is read again from the start."""
_DEVICE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class JournalError(SrsError):
    """The journal cannot be written (a review is then not recorded at all)."""


@dataclass(frozen=True)
class CardKey:
    """How an event names its card: the uid, and the card's current key for devices that know it otherwise."""

    uid: str
    block: str | None
    direction: str
    cloze: int | None
    path: str
    fingerprint: str
    question: str

    def as_json(self) -> dict[str, Any]:
        """The ``card`` object of a journal line."""
        return {
            "uid": self.uid,
            "block": self.block,
            "dir": self.direction,
            "cloze": self.cloze,
            "path": self.path,
            "fp": self.fingerprint,
            "q": self.question,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CardKey:
        """Read the ``card`` object of a journal line.

        Raises:
            ValueError: a field is missing or of the wrong type.
        """
        uid = data.get("uid")
        if not isinstance(uid, str) or not uid:
            raise ValueError("card.uid missing")
        cloze = data.get("cloze")
        if cloze is not None and not isinstance(cloze, int):
            raise ValueError("card.cloze is not a number")
        block = data.get("block")
        return cls(
            uid=uid,
            block=block if isinstance(block, str) and block else None,
            direction=str(data.get("dir") or "forward"),
            cloze=cloze,
            path=str(data.get("path") or ""),
            fingerprint=str(data.get("fp") or ""),
            question=str(data.get("q") or ""),
        )


@dataclass(frozen=True)
class Event:
    """One journal event. ``data`` holds the kind's own fields (rating, ms, target, until, ...)."""

    id: str
    kind: str
    at: datetime
    device: str
    card: CardKey
    data: dict[str, Any] = field(default_factory=dict)

    def to_line(self) -> str:
        """The event as one journal line (with its newline)."""
        obj: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "id": self.id,
            "kind": self.kind,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "dev": self.device,
            "card": self.card.as_json(),
        }
        obj.update(self.data)
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"

    @classmethod
    def from_line(cls, line: str) -> Event:
        """Parse one journal line.

        Raises:
            ValueError: not a valid event.
        """
        obj = json.loads(line)
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
        kind, eid, at, dev = obj.get("kind"), obj.get("id"), obj.get("at"), obj.get("dev")
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        if not isinstance(eid, str) or not eid or not isinstance(at, str) or not isinstance(dev, str):
            raise ValueError("id, at or dev missing")
        when = parse_instant(at, require_offset=True, what="at")
        card = obj.get("card")
        if not isinstance(card, dict):
            raise ValueError("card missing")
        data = {k: v for k, v in obj.items() if k not in ("v", "id", "kind", "at", "dev", "card")}
        return cls(eid, kind, when, dev, CardKey.from_json(card), data)


# -- this device --------------------------------------------------------------------


def device_id(data_dir: Path) -> str:
    """This machine's device id, made once and kept in the user data folder (never in the vault).

    ``MLSYS_SRS_DEVICE`` is read by the CLI, not here.
    """
    path = data_dir / "device-id"
    try:
        text = path.read_text(encoding="utf-8").strip()
        if _DEVICE_RE.match(text):
            return text
    except OSError:
        pass
    new = "d-" + os.urandom(6).hex()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".device-id.{os.getpid()}.tmp")
        tmp.write_text(new + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise JournalError(f"{path}: cannot record this device's id ({exc.strerror})") from None
    return new


def valid_device(name: str) -> bool:
    """A device id is usable as a file name."""
    return bool(_DEVICE_RE.match(name))


# -- writing --------------------------------------------------------------------------


@dataclass
class Journal:
    """This device's journal file: ``append`` makes events durable (fsync) before returning."""

    folder: Path
    device: str

    @property
    def path(self) -> Path:
        """``<folder>/<device>.jsonl``."""
        return self.folder / f"{self.device}.jsonl"

    def append(self, events: Iterable[Event]) -> None:
        """Append events and fsync.

        Raises:
            JournalError: the folder or file cannot be written (disk full, read-only).
        """
        data = "".join(e.to_line() for e in events).encode("utf-8")
        if not data:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Never through a symlink: a link planted in the vault must not send lines elsewhere.
            fd = os.open(
                self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644
            )
            try:
                # A torn last line (a crash mid-write) would glue onto this one: start on a new line.
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            import errno

            why = (
                "a symlink; the journal is written only to a real file"
                if exc.errno == errno.ELOOP
                else exc.strerror
            )
            raise JournalError(
                f"{self.path}: cannot write the review journal ({why}); nothing was recorded"
            ) from None


# -- reading --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """How far a journal file has been read.

    ``head`` fingerprints the file's first bytes and the bytes just before ``consumed`` (so a file
    that was replaced or edited before that point, not only appended to, is read again) and
    counts the lines read (``head;tail;lines``).
    """

    size: int = 0
    mtime_ns: int = 0
    head: str = ""
    consumed: int = 0


@dataclass
class ReadResult:
    """What reading one journal file found."""

    events: list[Event]
    cursor: Cursor
    problems: list[tuple[int, str]]
    """``(line, reason)`` of complete lines that are not valid events (quarantined: never applied);
    the first ``PROBLEMS_NAMED`` of them, ``problem_count`` counts all."""
    unchanged: bool = False
    waiting: list[tuple[int, Waiting]] = field(default_factory=list)
    """``(line, event)`` of valid lines that cannot be applied yet (dated ahead, or a newer version's)."""
    reread: bool = False
    """The file was read again from its start (replaced or edited): its old problems are stale."""
    problem_count: int = 0


PROBLEMS_NAMED = 1000
"""Quarantined lines of one read kept by line and reason; more are only counted (bounded memory)."""


def _fingerprint(data: bytes) -> str:
    return f"{len(data)}:{hashlib.blake2b(data, digest_size=8).hexdigest()}"


def _marks(fh: Any, consumed: int) -> str:
    """``head;tail``: the fingerprints of the first and of the last ``HEAD_BYTES`` read."""
    fh.seek(0)
    head = fh.read(min(consumed, HEAD_BYTES))
    start = max(0, consumed - HEAD_BYTES)
    fh.seek(start)
    tail = fh.read(consumed - start)
    return f"{_fingerprint(head)};{_fingerprint(tail)}"


def read_new(path: Path, cursor: Cursor | None, *, now: datetime, max_answer_ms: int = 60_000) -> ReadResult:
    """The complete lines appended to ``path`` since ``cursor``, each checked (``events.read_line``).

    A file smaller than what was read, or whose first bytes or last bytes read changed, was
    replaced or edited: it is read again from the start (merging is idempotent). A last line
    without its newline is not complete yet: it is left for the next read, never quarantined.
    Lines are streamed, so a journal of a million lines is read in bounded memory.

    Raises:
        OSError: the file cannot be read.
    """
    from .reader import MAX_LINE, Quarantined, read_line

    st = path.stat()
    if cursor is not None and st.st_size == cursor.size and st.st_mtime_ns == cursor.mtime_ns:
        return ReadResult([], cursor, [], unchanged=True)
    events: list[Event] = []
    problems: list[tuple[int, str]] = []
    waiting: list[tuple[int, Waiting]] = []
    count = 0

    def bad(n: int, reason: str) -> None:
        nonlocal count
        count += 1
        if len(problems) < PROBLEMS_NAMED:
            problems.append((n, reason))

    with open(path, "rb") as fh:
        start = line_no = 0
        if cursor is not None and 0 < cursor.consumed <= st.st_size and cursor.head.count(";") == 2:
            marks, _, lines = cursor.head.rpartition(";")
            if _marks(fh, cursor.consumed) == marks and lines.isdigit():
                start, line_no = cursor.consumed, int(lines)
        fh.seek(start)
        consumed = start
        while True:
            raw = fh.readline(MAX_LINE + 1)
            if not raw:
                break
            if not raw.endswith(b"\n"):
                if len(raw) <= MAX_LINE:
                    break  # a torn last line: wait for the rest of it
                # Over-long: skip to its end, and report it once it is complete.
                skipped = len(raw)
                while raw and not raw.endswith(b"\n"):
                    raw = fh.readline(1 << 20)
                    skipped += len(raw)
                if not raw:
                    break
                line_no += 1
                consumed += skipped
                bad(line_no, f"longer than {MAX_LINE // 1024} KB")
                continue
            line_no += 1
            consumed += len(raw)
            body = raw.strip()
            if not body:
                continue
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                bad(line_no, "not UTF-8")
                continue
            got = read_line(text, now=now, max_answer_ms=max_answer_ms)
            if isinstance(got, Event):
                events.append(got)
            elif isinstance(got, Quarantined):
                bad(line_no, got.reason)
            else:
                waiting.append((line_no, got))
        marks = f"{_marks(fh, consumed)};{line_no}"  # the lines read, so a later line is named by number
    return ReadResult(
        events,
        Cursor(st.st_size, st.st_mtime_ns, marks, consumed),
        problems,
        waiting=waiting,
        reread=start == 0,
        problem_count=count,
    )


def journal_files(folder: Path) -> list[tuple[str, Path]]:
    """``(device, path)`` of every journal file in the folder, by device."""
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.iterdir()):
        if p.suffix == ".jsonl" and p.is_file() and valid_device(p.stem):
            out.append((p.stem, p))
    return out
