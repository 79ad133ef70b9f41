"""The server's side of the web review: one database connection, the review session of each open
page, and what the page is sent.

Every call runs on one thread (``Hub.run``): the connection and the sessions are used by that
thread only, so the server answers one request at a time against the database, as a terminal
does; another process (a terminal review, a sync) takes turns through SQLite's locks and
the writer lock.

A page names its study by a tab id it makes, with the study mode and filters of its URL. The
first request of a tab syncs the vault and starts a ``review.session.Session``
(``app.study.start_session``) over the day's queue or the mode; the page's answers go to that
session (``Session.grade``, each with the answer's own id), so the queue, the grading, the
journal and undo are the terminal's. An answer the page queued while it could not reach the
server, or one for a card the session does not show, is taken in at its own time
(``app.remote.take_answers``) and the session starts again over the queue as it is then.
A server that restarted starts each tab's session again the same way.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ..errors import SrsError, UsageError

if TYPE_CHECKING:
    import sqlite3

    from ..app.study import StudyPlan
    from ..app.workspace import CardFilter, Workspace
    from ..history.ingest import Answer
    from ..review.session import Session
    from .card_html import CardPages

T = TypeVar("T")

MAX_TABS = 16
"""Open studies kept; the least recently used goes first (its page starts it again if it comes back)."""

AHEAD = 40
"""Cards the page is told to fetch ahead, to keep answering while offline."""

MAX_BATCH = 500
"""Answers taken in one request."""

MODES = ("review", "cram", "ahead", "forgotten", "weak", "preview")


def _ints(params: Mapping[str, Sequence[str]], name: str, low: int, high: int) -> int | None:
    values = params.get(name) or []
    if not values or values[-1] == "":
        return None
    text = values[-1]
    if not text.isdigit() or len(text) > 6 or not low <= int(text) <= high:
        raise UsageError(f"{name}={text[:20]!r}: a whole number from {low} to {high}")
    return int(text)


@dataclass(frozen=True)
class StudyQuery:
    """The study a page's URL asks for: ``?mode=cram&domain=gpu-systems&limit=20`` (as ``review``'s options)."""

    mode: str = "review"
    days: int | None = None
    weak: int | None = None
    reschedule: bool = False
    new: int | None = None
    limit: int | None = None
    domains: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    deck: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> StudyQuery:
        """Read the URL's parameters (each a list of values).

        Raises:
            UsageError: an unknown mode or a bad number.
        """
        mode = (params.get("mode") or ["review"])[-1] or "review"
        if mode not in MODES:
            raise UsageError(f"mode={mode[:20]!r}: one of {', '.join(MODES)}")

        def texts(name: str) -> tuple[str, ...]:
            return tuple(v[:200] for v in params.get(name) or () if v)[:20]

        deck = texts("deck")
        return cls(
            mode=mode,
            days=_ints(params, "days", 1, 3650),
            weak=_ints(params, "weak", 1, 1000),
            reschedule=(params.get("reschedule") or [""])[-1] in ("1", "true", "yes", "on"),
            new=_ints(params, "new", 0, 10000),
            limit=_ints(params, "limit", 1, 100000),
            domains=texts("domain"),
            tags=texts("tag"),
            notes=texts("note"),
            deck=deck[-1] if deck else None,
        )

    def plan(self) -> StudyPlan:
        """The study plan (``app.study.study_plan``), checked.

        Raises:
            UsageError: as ``review`` refuses the same options.
        """
        from ..app.study import study_plan

        days = self.days or 1
        return study_plan(
            cram=self.mode == "cram",
            ahead=days if self.mode == "ahead" else None,
            forgotten=days if self.mode == "forgotten" else None,
            weak=(self.weak or 3) if self.mode == "weak" else None,
            preview=self.mode == "preview",
            reschedule=self.reschedule,
            new=self.new,
            limit=self.limit,
        )


@dataclass
class Tab:
    """One page's study: its query and the review session serving it."""

    id: str
    query: StudyQuery
    plan: StudyPlan
    flt: CardFilter
    session: Session
    notices: list[str] = field(default_factory=list)


Action = Literal["bury", "suspend"]


class Hub:
    """The database work of the server, on one thread (see the module)."""

    def __init__(self, ws: Workspace, *, sync: bool = True) -> None:
        """Serve the workspace's vault; ``sync``: sync the vault when a page starts a study."""
        self.ws = ws
        self.sync_on_start = sync
        self.tabs: OrderedDict[str, Tab] = OrderedDict()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlsys-srs-db")
        self._stack = contextlib.ExitStack()
        self._conn: sqlite3.Connection | None = None
        self._pages: CardPages | None = None
        self._thread: int | None = None

    # -- the thread ----------------------------------------------------------------------------

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The one thread every call runs on."""
        return self._executor

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the hub's thread and wait for it (for tests and tools)."""
        return self._executor.submit(fn, *args).result()

    def close(self) -> None:
        """Close the connection (on its thread) and stop the thread."""
        with contextlib.suppress(RuntimeError):
            self._executor.submit(self._stack.close).result()
        self._executor.shutdown(wait=True)

    @property
    def conn(self) -> sqlite3.Connection:
        """The hub's connection (opened on first use, on the hub's thread)."""
        me = threading.get_ident()
        if self._thread is None:
            self._thread = me
        assert self._thread == me, "the hub's connection is used on its own thread only"
        if self._conn is None:
            self._conn = self._stack.enter_context(self.ws.connect())
        return self._conn

    @property
    def pages(self) -> CardPages:
        """The card renderer (made on first use)."""
        if self._pages is None:
            from .card_html import CardPages

            self._pages = CardPages(self.ws.config.vault)
        return self._pages

    # -- studies ---------------------------------------------------------------------------------

    def _start(self, tab_id: str, query: StudyQuery) -> Tab:
        from ..app.study import start_session

        plan = query.plan()
        ws = self.ws
        flt = ws.card_filter(query.domains, query.tags, query.notes, query.deck)
        notices: list[str] = []
        if self.sync_on_start:
            from ..app.syncing import sync

            report = sync(ws)
            notices += [f"{d.path}:{d.line}: {d.message}" for d in report.errors][:5]
        session = start_session(ws, self.conn, flt, plan, clock=ws.clock)
        tab = Tab(tab_id, query, plan, flt, session, notices)
        self.tabs[tab_id] = tab
        while len(self.tabs) > MAX_TABS:
            self.tabs.popitem(last=False)
        return tab

    def _restart(self, tab: Tab) -> None:
        """Start the tab's session again over the queue as it is now (no sync)."""
        from ..app.study import start_session

        tab.session = start_session(self.ws, self.conn, tab.flt, tab.plan, clock=self.ws.clock)

    def tab(self, tab_id: str, query: StudyQuery) -> Tab:
        """The tab's study, started (with a sync) when new or when its query changed."""
        if not tab_id or len(tab_id) > 64 or not tab_id.isascii() or not tab_id.isalnum():
            raise UsageError("the page's tab id is not a ULID-like text")
        tab = self.tabs.get(tab_id)
        if tab is None or tab.query != query:
            return self._start(tab_id, query)
        self.tabs.move_to_end(tab_id)
        if tab.session.finished and tab.session.reason == "new day":
            self._restart(tab)
        return tab

    # -- what the page is sent ---------------------------------------------------------------------

    def state(self, tab: Tab, **extra: Any) -> dict[str, Any]:
        """The page's view of its study: progress, the card on screen, the cards ahead, notices."""
        s = tab.session
        now = self.ws.now()
        p = s.progress()
        out: dict[str, Any] = {
            "now": now.astimezone(UTC).isoformat(),
            "tab": tab.id,
            "mode": s.mode,
            "label": s.mode_label,
            "progress": {
                "done": p.done,
                "left": p.left,
                "new": p.new,
                "learning": p.learning,
                "review": p.review,
            },
            "notices": [*tab.notices, *s.pop_notices()],
            "can_undo": s.can_undo,
            "finished": s.finished,
            "card": None,
            "ahead": [],
            **extra,
        }
        tab.notices = []
        if s.card is not None and s.item is not None:
            from ..core.fmt import format_interval

            early = ""
            if (
                s.item.kind == "learning"
                and s.item.due is not None
                and s.item.due > now
                and s.mode == "review"
            ):
                early = f"early: learning step due in {format_interval(s.item.due - now)} (learn-ahead)"
            out["card"] = self.pages.payload(
                s.card,
                scheduler=s.scheduler if s.grades_schedule else None,
                now=now,
                reason=s.item.reason,
                early=early,
            )
            out["ahead"] = [it.id for it in s.upcoming(AHEAD) if it.id != s.card.id]
        if s.finished:
            out["summary"] = self._summary(s, now)
        return out

    def _summary(self, s: Session, now: datetime) -> dict[str, Any]:
        from ..core.fmt import format_when

        summary = s.summary()
        data = summary.as_json()
        tz = self.ws.day_clock().tz
        data["next_learning"] = format_when(summary.next_learning, now, tz) if summary.next_learning else None
        return data

    def cards(self, tab: Tab, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Cards the page fetches ahead (with their intervals as of now); unknown ids are left out."""
        from ..store.cards import load_card

        s = tab.session
        now = self.ws.now()
        out = []
        for cid in list(dict.fromkeys(ids))[: AHEAD * 2]:
            card = load_card(self.conn, cid)
            if card is None or card.retired:
                continue
            out.append(
                self.pages.payload(card, scheduler=s.scheduler if s.grades_schedule else None, now=now)
            )
        return out

    # -- answers -------------------------------------------------------------------------------

    def answer(self, tab: Tab, answer: Answer, *, live: bool) -> dict[str, Any]:
        """One answer: graded by the session when it is live and for the card on screen, else taken
        in at its own time (see the module). An answer stored already changes nothing."""
        from ..app.remote import known_answers

        if known_answers(self.conn, [answer.id]):
            return self.state(tab, result={"duplicates": [answer.id]})
        s = tab.session
        if live and s.card is not None and s.card.id == answer.card_id and s.grades_logged:
            s.grade(answer.rating, answer_id=answer.id)
            return self.state(tab, result={"graded": [answer.id]})
        return self.answers(tab, [answer])

    def answers(self, tab: Tab, answers: Sequence[Answer]) -> dict[str, Any]:
        """Answers that waited in the page: taken in at their own times, then the study starts again."""
        from dataclasses import replace

        from ..app.remote import take_answers

        if len(answers) > MAX_BATCH:
            raise UsageError(f"at most {MAX_BATCH} answers at once")
        s = tab.session
        if not s.grades_logged:
            raise UsageError("a preview logs no answers")
        kind = "cram" if s.mode == "cram" else "review"
        report = take_answers(self.ws, self.conn, [replace(a, kind=kind) for a in answers])
        self._restart(tab)
        return self.state(tab, result=report.as_dict())

    def undo(self, tab: Tab) -> dict[str, Any]:
        """Undo the session's last grade, bury or suspend; the card is shown again."""
        s = tab.session
        card = s.card.id if s.card is not None else None
        done = s.undo()
        undone = s.card.id if done and s.card is not None else None
        return self.state(tab, result={"undone": undone, "was": card})

    def set_aside(self, tab: Tab, card_id: int, action: Action) -> dict[str, Any]:
        """Bury or suspend a card: the one on screen through the session (undo can bring it back),
        another through ``app.study.change``."""
        s = tab.session
        if s.card is not None and s.card.id == card_id:
            s.bury() if action == "bury" else s.suspend()
        else:
            from ..app.study import change

            change(self.ws, [card_id], action)
            self._restart(tab)
        return self.state(tab, result={action: card_id})

    def next_preview(self, tab: Tab, card_id: int) -> dict[str, Any]:
        """Preview: move past the card on screen (nothing is logged)."""
        s = tab.session
        if s.mode == "preview" and s.card is not None and s.card.id == card_id:
            s.reveal()
            s.key(" ")
        return self.state(tab)

    def media_file(self, name: str) -> Path | None:
        """The vault file behind an image name the renderer gave (None for any other)."""
        return self.pages.media_file(name) if self._pages is not None else None


def parse_answer(data: Any) -> Answer:
    """An answer as the page sends it: ``{"id", "card", "rating", "at", "ms"}``.

    Raises:
        UsageError: a field is missing or of the wrong type.
    """
    from ..history.ingest import Answer

    if not isinstance(data, dict):
        raise UsageError("an answer is a JSON object")
    aid, card, rating, at, ms = (data.get(k) for k in ("id", "card", "rating", "at", "ms"))
    if not isinstance(aid, str) or not isinstance(card, int) or isinstance(card, bool):
        raise UsageError("an answer needs its id (text) and card (number)")
    if not isinstance(rating, int) or isinstance(rating, bool) or rating not in (1, 2, 3, 4):
        raise UsageError("an answer's rating is 1, 2, 3 or 4")
    if not isinstance(at, str) or len(at) > 40:
        raise UsageError("an answer's time is an ISO 8601 text")
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError("an answer's time is an ISO 8601 text") from None
    if when.tzinfo is None:
        raise UsageError("an answer's time needs a UTC offset")
    spent = ms if isinstance(ms, int | float) and not isinstance(ms, bool) and ms == ms else 0
    return Answer(aid, card, rating, when.astimezone(UTC), int(max(0, min(spent, 86_400_000))))


def describe(exc: Exception) -> str:
    """One line for the page about a failure the person can act on."""
    return str(exc) if isinstance(exc, SrsError) else f"{type(exc).__name__}: {exc}"
