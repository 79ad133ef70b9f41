"""A review session as a plain state machine, driven by key events and a clock.

``Session`` holds today's queue and the card on screen. Keys (``key("3")``) or
methods (``reveal``, ``grade``, ``undo``, ``bury``, ``suspend``, ``quit``) move
it on; each grade, bury or suspend is committed to the database before the
next card is chosen, so nothing already answered is lost if the process dies.
Undo walks back through the whole session: it deletes the last review row (or
reverts the last bury/suspend), restores the card's scheduling columns exactly,
and shows that card again.

Order of cards: a learning card whose step is due, then cards brought forward
as prerequisites, then today's reviews and new cards; when only learning cards
remain, one due within ``learn_ahead_minutes`` is shown early.

Study modes (``mode``): ``review`` grades with the scheduler; ``cram`` logs each
answer as a cram event that changes no schedule (a card answered Again comes
back at the end of the session); ``preview`` shows new cards read-only and
logs nothing.

The session knows nothing of the terminal: ``review/screen.py`` draws it and opens
the editor for ``e`` (``edit_target`` / ``reload_after_edit``).
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

from ..history.grading import bury, grade_card, restore_card, set_suspended, snapshot_card, undo_review
from ..scheduling.memory import RATINGS, CardSchedule, CardScheduler, ForgettingCurve
from ..scheduling.queue import Group, Queue, QueueItem, prerequisite_candidates
from ..store.candidates import due_between
from ..store.cards import load_card

if TYPE_CHECKING:
    from ..config import ReviewConfig, ScheduleConfig
    from ..history.journal import Journal
    from ..scheduling.days import DayClock
    from ..store.cards import CardView
    from ..store.filters import CardFilter

PREREQUISITES_PER_LAPSE = 2
"""At most this many prerequisite cards are brought forward by one Again."""


class Phase(Enum):
    """What the screen shows."""

    QUESTION = "question"
    ANSWER = "answer"
    DONE = "done"


class Outcome(Enum):
    """What a key did, for the screen."""

    IGNORED = "ignored"
    CHANGED = "changed"
    EDIT = "edit"
    QUIT = "quit"


@dataclass(frozen=True)
class Progress:
    """Counts for the progress line; ``left`` includes the card on screen."""

    done: int
    new: int
    learning: int
    review: int

    @property
    def left(self) -> int:
        """Cards still to answer (a learning card counts once per pending step)."""
        return self.new + self.learning + self.review


@dataclass(frozen=True)
class GradeRecord:
    """One grade given in this session."""

    review_id: int
    card_id: int
    rating: int
    duration_ms: int
    state_before: str = "review"


@dataclass(frozen=True)
class Summary:
    """The end-of-session figures."""

    reviews: int
    cards: int
    again: int
    time_ms: int
    due_tomorrow: int
    streak: int | None
    learning_later: int
    next_learning: datetime | None
    reason: str
    by_grade: tuple[int, int, int, int] = (0, 0, 0, 0)
    """Answers per grade: Again, Hard, Good, Easy."""
    new_learned: int = 0
    """New cards answered for the first time in this session."""
    mode: str = "review"
    viewed: int = 0
    """Cards looked at without a grade (preview)."""

    @property
    def again_rate(self) -> float:
        """Share of grades that were Again (0 when nothing was graded)."""
        return self.again / self.reviews if self.reviews else 0.0

    def as_json(self) -> dict[str, Any]:
        """The summary as plain data."""
        return {
            "reviews": self.reviews,
            "cards": self.cards,
            "again": self.again,
            "again_rate": round(self.again_rate, 4),
            "time_ms": self.time_ms,
            "due_tomorrow": self.due_tomorrow,
            "streak": self.streak,
            "learning_later": self.learning_later,
            "reason": self.reason,
            "by_grade": dict(zip(("again", "hard", "good", "easy"), self.by_grade, strict=True)),
            "new_learned": self.new_learned,
            "mode": self.mode,
            "viewed": self.viewed,
        }


@dataclass(frozen=True)
class _State:
    """Everything an undo puts back (small: the main queue is a cursor into a tuple)."""

    cursor: int
    front: tuple[QueueItem, ...]
    learning: tuple[QueueItem, ...]
    current: QueueItem | None
    graded: tuple[GradeRecord, ...]
    refreshed: int
    groups: frozenset[Group]
    tail: tuple[QueueItem, ...] = ()
    """Cram: cards answered Again, shown again after the rest."""
    viewed: int = 0


@dataclass(frozen=True)
class _Action:
    kind: str  # "grade", "bury" or "suspend"
    before: _State
    card_id: int
    review_id: int | None = None
    snapshot: dict[str, Any] | None = None


_REVEAL_KEYS = frozenset({" ", "\r", "\n"})
MODES = ("review", "cram", "preview")


class Session:
    """Today's review of the cards of one queue."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        queue: Queue,
        *,
        schedule: ScheduleConfig,
        review: ReviewConfig,
        clock: DayClock,
        now: Callable[[], datetime],
        flt: CardFilter | None = None,
        scheduler: CardScheduler | None = None,
        streak_of: Callable[[datetime], int] | None = None,
        journal: Journal | None = None,
        mode: str = "review",
        mode_label: str = "",
    ) -> None:
        """Start a session; the first card is chosen at once.

        Args:
            conn: The review database (each action commits to it).
            queue: Today's queue (``queue.todays_queue``).
            schedule: Scheduler settings (leech threshold, FSRS settings).
            review: Review settings (learn-ahead, prerequisite refresh, answer time cap).
            clock: The day boundary.
            now: The clock: returns the current UTC-aware time.
            flt: The filter the queue was built with (for the summary's counts).
            scheduler: A ready ``CardScheduler`` (default: from ``schedule`` and ``clock``).
            streak_of: Gives the current streak at a time, for the summary
                (``stats.review_streak``; the session does not define streaks).
            journal: This device's review journal: every answer, undo, bury and
                suspend is appended there before it is committed.
            mode: ``review`` (grades schedule), ``cram`` (answers logged as cram
                events, schedules unchanged) or ``preview`` (read only).
            mode_label: What the header calls the session (``cram``, ``ahead 3d``).
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.mode = mode
        self.mode_label = mode_label
        self.journal = journal
        self.conn = conn
        self.schedule = schedule
        self.review = review
        self.clock = clock
        self._now = now
        self.flt = flt
        self._scheduler = scheduler
        self.streak_of = streak_of
        self._curve = ForgettingCurve.from_parameters(schedule.parameters)
        self._main = queue.main
        new_suffix = [0] * (len(queue.main) + 1)
        for i in range(len(queue.main) - 1, -1, -1):
            new_suffix[i] = new_suffix[i + 1] + (queue.main[i].state == "new")
        self._new_suffix = new_suffix
        start = now()
        self.today = clock.today(start)
        self.day_end = clock.day_end(self.today)
        self._state = _State(
            cursor=0,
            front=(),
            learning=queue.learning,
            current=None,
            graded=(),
            refreshed=0,
            groups=queue.groups,
        )
        self._undo: list[_Action] = []
        self._notices: list[str] = []
        self.card: CardView | None = None
        self.phase = Phase.QUESTION
        self.shown_at = start
        self.reason = ""
        self._advance(start)
        self.started_empty = self.finished

    @property
    def scheduler(self) -> CardScheduler:
        """The scheduler of the grades and the interval previews, built at first use (it imports
        py-fsrs, which the first question does not need)."""
        if self._scheduler is None:
            self._scheduler = CardScheduler(self.schedule, self.clock)
        return self._scheduler

    def prepare(self) -> None:
        """Build now what answering needs (the scheduler): for a front end's idle moment."""
        if self.grades_schedule:
            _ = self.scheduler

    # -- what the screen reads ------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """No card is on screen: the queue is done or the session was quit."""
        return self.phase is Phase.DONE

    @property
    def grades_schedule(self) -> bool:
        """A grade changes the card's schedule (and the screen shows its interval)."""
        return self.mode == "review"

    @property
    def grades_logged(self) -> bool:
        """Grades are taken at all (not in preview)."""
        return self.mode != "preview"

    def now(self) -> datetime:
        """The session's clock."""
        return self._now()

    @property
    def item(self) -> QueueItem | None:
        """The queue entry of the card on screen."""
        return self._state.current

    def progress(self) -> Progress:
        """Cards done and left, by new / learning / review."""
        s = self._state
        counts = {"new": 0, "learning": len(s.learning), "review": 0}
        counts["new"] += self._new_suffix[s.cursor]
        counts["review"] += len(self._main) - s.cursor - self._new_suffix[s.cursor]
        for it in (*s.front, *s.tail):
            counts[it.kind] += 1
        if s.current is not None:
            counts[s.current.kind] += 1
        return Progress(len(s.graded) + s.viewed, counts["new"], counts["learning"], counts["review"])

    def intervals(self) -> dict[int, timedelta]:
        """The interval each grade would give the card on screen if given now.

        Computed at the current time on every call (each redraw), with the
        scheduler and fuzz the grade uses: what is shown is what a grade schedules.
        """
        if self.card is None or not self.grades_schedule:
            return {}
        return self.scheduler.intervals(self.card.uid, _schedule_of(self.card), self._now())

    def notify(self, message: str) -> None:
        """Queue a message for the screen (e.g. the editor could not be started)."""
        self._notices.append(message)

    def pop_notices(self) -> list[str]:
        """Messages to show once (leech, undo, removed card, new day), oldest first."""
        out, self._notices = self._notices, []
        return out

    def upcoming(self, limit: int) -> list[QueueItem]:
        """The cards after the one on screen, in the order they would come if no answer changed it
        (learning steps not due yet, and prerequisites an Again would bring forward, are left
        out): what a web page fetches ahead to keep answering offline."""
        s = self._state
        now = self._now()
        due = [it for it in s.learning if it.due is not None and it.due <= now]
        return [*due, *s.front, *self._main[s.cursor : s.cursor + limit], *s.tail][:limit]

    @property
    def can_undo(self) -> bool:
        """There is an action of this session to undo."""
        return bool(self._undo)

    # -- keys -------------------------------------------------------------------------------

    def key(self, k: str) -> Outcome:
        """Handle one keypress: space/Enter reveal, 1-4 grade, u undo, b bury, s suspend, e edit, q quit."""
        if k == "q":
            self.quit()
            return Outcome.QUIT
        if k == "u":
            return Outcome.CHANGED if self.undo() else Outcome.IGNORED
        if self.finished:
            return Outcome.IGNORED
        if self.mode == "preview" and self.phase is Phase.ANSWER and (k in _REVEAL_KEYS or k in "1234"):
            self._next_preview()
            return Outcome.CHANGED
        if k in _REVEAL_KEYS:
            return Outcome.CHANGED if self.reveal() else Outcome.IGNORED
        if k in ("1", "2", "3", "4"):
            if self.phase is not Phase.ANSWER:
                return Outcome.IGNORED
            self.grade(int(k))
            return Outcome.CHANGED
        if k == "b":
            self.bury()
            return Outcome.CHANGED
        if k == "s":
            self.suspend()
            return Outcome.CHANGED
        if k == "e":
            return Outcome.EDIT
        return Outcome.IGNORED

    def reveal(self) -> bool:
        """Show the answer; False if it is already shown or nothing is on screen."""
        if self.phase is not Phase.QUESTION or self.card is None:
            return False
        self.phase = Phase.ANSWER
        return True

    def grade(self, rating: int, *, answer_id: str | None = None) -> None:
        """Grade the card on screen (1 Again, 2 Hard, 3 Good, 4 Easy) and show the next one.

        The review row and the card's new state are committed before this returns.
        ``answer_id``: the answer's own event id (``grading.grade_card``).
        """
        if rating not in RATINGS:
            raise ValueError(f"rating must be 1-4, not {rating!r}")
        item, card = self._state.current, self.card
        if item is None or card is None or self.mode == "preview":
            return
        now = self._now()
        spent = min(max(0.0, (now - self.shown_at).total_seconds()), float(self.review.max_answer_seconds))
        result = grade_card(
            self.conn,
            self.scheduler,
            item.id,
            rating,
            now,
            duration_ms=round(spent * 1000),
            leech_threshold=self.schedule.leech_threshold,
            journal=self.journal,
            leech_action=self.schedule.leech_action,
            kind="cram" if self.mode == "cram" else "review",
            answer_id=answer_id,
        )
        before = self._state
        self._undo.append(_Action("grade", before, item.id, review_id=result.review_id))
        learning = before.learning
        after = result.after
        if result.leech and after.suspended:
            self._notices.append(
                f"Card {item.id} is a leech ({after.lapses} lapses): tagged 'leech' and suspended. "
                "Rewrite it, then `mlsys-srs unsuspend " + str(item.id) + "`."
            )
        elif result.leech:
            self._notices.append(f"Card {item.id} is a leech ({after.lapses} lapses): tagged 'leech'.")
        if (
            not after.suspended
            and after.state in ("learning", "relearning")
            and after.due is not None
            and after.due < self.day_end
        ):
            again = item._replace(
                state=after.state, due=after.due, stability=after.stability, last_review=now, reason=""
            )
            lst = list(learning)
            bisect.insort(lst, again, key=lambda it: (it.due, it.id))
            learning = tuple(lst)
        tail = before.tail
        if self.mode == "cram":
            learning = before.learning
            if rating == 1:
                tail = (*tail, item._replace(reason="answered Again earlier in this session"))
        self._state = replace(
            before,
            learning=learning,
            tail=tail,
            current=None,
            graded=(
                *before.graded,
                GradeRecord(result.review_id, item.id, rating, result.duration_ms, result.before.state),
            ),
        )
        if rating == 1 and self.mode == "review":
            self._refresh_prerequisites(card, now)
        self._advance(now)

    def undo(self) -> bool:
        """Undo the last grade, bury or suspend of this session and show that card again."""
        if not self._undo:
            return False
        action = self._undo.pop()
        if action.kind == "grade":
            assert action.review_id is not None
            undo_review(self.conn, action.review_id, self._now(), journal=self.journal)
            what = "grade"
        else:
            assert action.snapshot is not None
            restore_card(self.conn, action.card_id, action.snapshot, self._now(), journal=self.journal)
            what = action.kind
        self._state = action.before
        self._notices.append(f"Undid {what} of card {action.card_id}.")
        self._show(self._now(), load_card(self.conn, action.card_id))
        return True

    def bury(self) -> None:
        """Hide the card on screen until the next review day and move on."""
        self._set_aside("bury")

    def suspend(self) -> None:
        """Suspend the card on screen (``mlsys-srs unsuspend`` brings it back) and move on."""
        self._set_aside("suspend")

    def quit(self) -> None:
        """End the session (everything answered is already saved)."""
        self._finish("quit")

    def edit_target(self) -> tuple[str, int] | None:
        """The vault path and line of the card on screen, for the editor."""
        if self.card is None:
            return None
        return self.card.note, self.card.line

    def reload_after_edit(self) -> None:
        """Show the card on screen again as the just-synced note now has it.

        If the edit removed (retired) the card, say so and move on.
        """
        item = self._state.current
        if item is None:
            return
        now = self._now()
        view = load_card(self.conn, item.id)
        if view is None or view.retired:
            self._notices.append("The edit removed this card (it is retired, its history kept); moving on.")
            self._state = replace(self._state, current=None)
            self._advance(now)
            return
        self.card = view
        self.phase = Phase.QUESTION

    def summary(self) -> Summary:
        """Cards reviewed, per grade, new cards learned, time spent, due tomorrow and the streak.

        "Due tomorrow" counts the cards due during tomorrow's review day (as
        ``stats``' forecast does), not today's learning cards; "later today" counts
        the learning cards still due today, the one on screen at a quit included
        (as the header did).
        """
        s = self._state
        now = self._now()
        today = self.clock.today(now)
        tomorrow_start = self.clock.day_end(today)
        tomorrow_end = self.clock.day_end(today + timedelta(days=1))
        by_grade = tuple(sum(1 for g in s.graded if g.rating == r) for r in (1, 2, 3, 4))
        first_new = {g.card_id for g in s.graded if g.state_before == "new"}
        return Summary(
            reviews=len(s.graded),
            cards=len({g.card_id for g in s.graded}),
            again=by_grade[0],
            time_ms=sum(g.duration_ms for g in s.graded),
            due_tomorrow=due_between(self.conn, tomorrow_start, tomorrow_end, self.flt),
            streak=self.streak_of(now) if self.streak_of is not None else None,
            learning_later=len(s.learning) if self.mode == "review" else 0,
            next_learning=s.learning[0].due if s.learning and self.mode == "review" else None,
            reason=self.reason,
            by_grade=(by_grade[0], by_grade[1], by_grade[2], by_grade[3]),
            new_learned=len(first_new) if self.mode == "review" else 0,
            mode=self.mode,
            viewed=s.viewed,
        )

    # -- internals --------------------------------------------------------------------------

    def _set_aside(self, kind: str) -> None:
        item = self._state.current
        if item is None:
            return
        now = self._now()
        snap = snapshot_card(self.conn, item.id)
        if kind == "bury":
            bury(self.conn, [item.id], self.day_end, now, journal=self.journal)
            self._notices.append(f"Buried card {item.id} until tomorrow.")
        else:
            set_suspended(self.conn, [item.id], True, now, journal=self.journal)
            self._notices.append(f"Suspended card {item.id}.")
        self._undo.append(_Action(kind, self._state, item.id, snapshot=snap))
        self._state = replace(self._state, current=None)
        self._advance(now)

    def _refresh_prerequisites(self, card: CardView, now: datetime) -> None:
        """After a lapse, bring forward soon-due review cards of the notes this note links to."""
        if not self.review.prerequisite_refresh:
            return
        left = min(PREREQUISITES_PER_LAPSE, self.review.prerequisite_refresh_max - self._state.refreshed)
        if left <= 0:
            return
        until = now + timedelta(days=self.review.prerequisite_refresh_days)
        cands = prerequisite_candidates(self.conn, card.note_id, now, self.day_end, until)
        if not cands:
            return
        cands.sort(key=lambda it: self._curve.at(now, it.last_review, it.stability))
        groups = set(self._state.groups)
        picked: list[QueueItem] = []
        for it in cands:
            if it.group in groups:
                continue
            groups.add(it.group)
            picked.append(it._replace(reason=f"prerequisite of {card.title}"))
            if len(picked) >= left:
                break
        if picked:
            s = self._state
            self._state = replace(
                s,
                front=(*picked, *s.front),
                refreshed=s.refreshed + len(picked),
                groups=frozenset(groups),
            )

    def _next_preview(self) -> None:
        self._state = replace(self._state, current=None, viewed=self._state.viewed + 1)
        self._advance(self._now())

    def _finish(self, reason: str) -> None:
        s = self._state
        cur = s.current
        if cur is not None and cur.kind == "learning" and self.mode == "review" and cur.due is not None:
            # A learning card on screen at a quit is still due today: counted as the header counted it.
            lst = list(s.learning)
            bisect.insort(lst, cur, key=lambda it: (it.due, it.id))
            s = replace(s, learning=tuple(lst))
        self._state = replace(s, current=None)
        self.card = None
        self.phase = Phase.DONE
        self.reason = reason

    def _show(self, now: datetime, view: CardView | None) -> None:
        self.card = view
        self.phase = Phase.QUESTION
        self.shown_at = now

    def _advance(self, now: datetime) -> None:
        """Choose and load the next card (skipping cards that left the queue meanwhile)."""
        if self.clock.today(now) != self.today:
            self._notices.append("A new review day has begun; run review again for its cards.")
            self._finish("new day")
            return
        ahead = now + timedelta(minutes=self.review.learn_ahead_minutes)
        while True:
            s = self._state
            if s.learning and s.learning[0].due is not None and s.learning[0].due <= now:
                item, s = s.learning[0], replace(s, learning=s.learning[1:])
            elif s.front:
                item, s = s.front[0], replace(s, front=s.front[1:])
            elif s.cursor < len(self._main):
                item, s = self._main[s.cursor], replace(s, cursor=s.cursor + 1)
            elif s.tail:
                item, s = s.tail[0], replace(s, tail=s.tail[1:])
            elif s.learning and s.learning[0].due is not None and s.learning[0].due <= ahead:
                item, s = s.learning[0], replace(s, learning=s.learning[1:])
            else:
                self._finish("done")
                return
            self._state = s
            view = load_card(self.conn, item.id)
            if (
                view is None
                or view.retired
                or view.suspended
                or (view.buried_until and view.buried_until > now)
            ):
                continue
            self._state = replace(s, current=item)
            self._show(now, view)
            return


def _schedule_of(card: CardView) -> CardSchedule:
    return CardSchedule(
        state=card.state,
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
        reps=card.reps,
        lapses=card.lapses,
        suspended=card.suspended,
        buried_until=card.buried_until,
    )
