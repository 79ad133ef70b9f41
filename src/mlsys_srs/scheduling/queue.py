"""Today's review queue and ``due``: which cards are shown today, in what order.

``build_queue`` is pure (candidates in, ordered queue out); ``todays_queue`` and
``due_summary`` load the candidates through the store. Every function takes a
UTC-aware ``now`` and a ``DayClock``; nothing here reads the clock, the
environment or the terminal, and nothing imports fsrs.

Queue rules (today = the ``DayClock`` review day of ``now``):

- learning and relearning cards due before the end of today, by due time;
- review cards due before the end of today, lowest retrievability first
  (most overdue relative to their stability), up to the daily review limit;
- new cards, up to the daily new-card limit minus the cards introduced today,
  in learning order (``new_order = "learning"``, see ``learning_ranks``:
  numbered folders first to last, notes in the order their folder's index note
  links them, then by line), interleaved across domains (``"interleave"``) or
  shuffled once per review day (``"random"``, so ``due`` and ``review`` agree);
- reviews interleaved across domains (round robin);
- never suspended, buried (until later) or retired cards;
- siblings (same note and line: both sides of ``:::``/``??``, the clozes of one
  paragraph) are not shown on the same day: a review or new card is held back
  when a sibling was reviewed today or is already in today's queue (switchable
  for new and for review cards: ``bury_new_siblings``, ``bury_review_siblings``);
- while a plan is active (``PlanNew``), the new cards of its selection come first, and the
  day's new-card limit is at least the plan's pace.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from itertools import zip_longest
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple

from ..store import candidates as candidate_store
from ..store import notes as note_store
from ..store import review_log as review_store
from ..store.db import dt_to_db
from .memory import ForgettingCurve

if TYPE_CHECKING:
    from ..config import ScheduleConfig
    from ..store.filters import CardFilter
    from .days import DayClock

Group = tuple[int, int]
"""A sibling group: (note id, line)."""

LEARNING_STATES = frozenset({"learning", "relearning"})
"""The states ``QueueItem.kind`` calls ``learning``."""


class QueueItem(NamedTuple):
    """A card in today's queue: what ordering needs, not the card's text.

    A named tuple rather than a dataclass: a queue is built from some 10,000
    rows on every ``due`` and ``review``, and tuples are several times faster
    to create.
    """

    id: int
    note_id: int
    line: int
    domain: str
    path: str
    state: str
    due: datetime | None
    stability: float | None = None
    last_review: datetime | None = None
    reason: str = ""
    """Why the card is shown out of turn (e.g. ``prerequisite of Ring all-reduce``)."""

    @property
    def group(self) -> Group:
        """The sibling group: cards of one note line (``:::``/``??`` sides, clozes)."""
        return (self.note_id, self.line)

    @property
    def kind(self) -> str:
        """``new``, ``learning`` (learning and relearning) or ``review``."""
        return "learning" if self.state in LEARNING_STATES else self.state


@dataclass(frozen=True)
class Queue:
    """Today's cards in the order they are shown."""

    learning: tuple[QueueItem, ...]
    """Learning and relearning cards due before the end of today, by due time."""
    main: tuple[QueueItem, ...]
    """Review cards, then new cards, each interleaved across domains."""
    groups: frozenset[Group] = frozenset()
    """Sibling groups already taken today (reviewed today or in the queue)."""
    held_reviews: int = 0
    """Review cards left out by the review limit or the session limit."""
    held: tuple[int, int] | Callable[[], tuple[int, int]] = field(default=(0, 0), compare=False)
    """``(held_new, held_siblings)``, or the function that counts them when first asked:
    ``todays_queue`` counts the new cards it did not fetch with a query, which the review
    screen never needs (so it runs only for ``due``, on the connection as it is then)."""

    @cached_property
    def _held(self) -> tuple[int, int]:
        return self.held() if callable(self.held) else self.held

    @property
    def held_new(self) -> int:
        """New cards left out by the new-card limit."""
        return self._held[0]

    @property
    def held_siblings(self) -> int:
        """Cards left out because a sibling is shown today."""
        return self._held[1]

    @property
    def empty(self) -> bool:
        """No card to show today."""
        return not self.learning and not self.main

    def count(self, kind: str) -> int:
        """Cards of a kind (``new``, ``learning``, ``review``) in the queue."""
        return sum(1 for it in (*self.learning, *self.main) if it.kind == kind)


def interleave_by_domain(items: Sequence[QueueItem]) -> list[QueueItem]:
    """Round robin across domains, keeping each domain's order.

    Domains take turns in the order their first card appears, so the head of a
    priority-sorted list stays near the head.
    """
    buckets: dict[str, list[QueueItem]] = {}
    for it in items:
        buckets.setdefault(it.domain, []).append(it)
    if len(buckets) < 2:
        return list(items)
    return [it for row in zip_longest(*buckets.values()) for it in row if it is not None]


_NUMBERED = re.compile(r"^(\d+)")


def _folder_key(folder: PurePosixPath) -> tuple[tuple[int, int, str], ...]:
    """Numbered folders (``01-math``) first, by number; then the others by name; level by level."""
    out = []
    for part in folder.parts:
        m = _NUMBERED.match(part)
        out.append((0, int(m.group(1)), part.lower()) if m else (1, 0, part.lower()))
    return tuple(out)


def index_note(folder: PurePosixPath, names: Iterable[str]) -> str | None:
    """The note of ``folder`` that lists the others (a ``*-moc.md``, ``index.md``, ``README.md`` or the
    note named like the folder), by that preference; None when there is none."""
    ranked: list[tuple[int, str]] = []
    for name in names:
        low = name.lower()
        if low.endswith("-moc.md"):
            ranked.append((0, name))
        elif low == "index.md":
            ranked.append((1, name))
        elif low == "readme.md":
            ranked.append((2, name))
        elif folder.name and low == folder.name.lower() + ".md":
            ranked.append((3, name))
    return min(ranked)[1] if ranked else None


LearningRank = tuple[tuple[tuple[int, int, str], ...], int, str]


def _by_folder(paths: Iterable[str]) -> dict[str, list[str]]:
    """Note names grouped by their folder (``""`` for the vault's top)."""
    by_folder: dict[str, list[str]] = {}
    for p in paths:
        folder, _, name = p.rpartition("/")
        by_folder.setdefault(folder, []).append(name)
    return by_folder


def learning_ranks(
    paths: Iterable[str],
    links: Sequence[tuple[str, str]] | Callable[[list[str]], Sequence[tuple[str, str]]],
) -> dict[str, LearningRank]:
    """Where each note comes in learning order; pure.

    Folders in order (numbered first to last); in a folder its index note
    first, then the notes it links to in the order of its links, then the rest
    by name.

    Args:
        paths: Vault-relative note paths.
        links: ``(source path, target path)`` of the resolved links, in source line order
            (only the index notes' links matter; a link's source counts as a note); or a
            function giving those of the index notes it is passed.
    """
    sources = () if callable(links) else (src for src, _ in links)
    folders = _by_folder({*paths, *sources})
    index = {folder: index_note(PurePosixPath(folder), names) for folder, names in folders.items()}
    if callable(links):
        links = links(
            [f"{folder}/{idx}" if folder else idx for folder, idx in index.items() if idx is not None]
        )
    targets: dict[str, list[str]] = {}
    for src, dst in links:
        targets.setdefault(src, []).append(dst)
    out: dict[str, LearningRank] = {}
    for folder, names in folders.items():
        fkey = _folder_key(PurePosixPath(folder))
        place: dict[str, int] = {}
        idx = index[folder]
        if idx is not None:
            place[idx] = 0
            for dst in targets.get(f"{folder}/{idx}" if folder else idx, ()):
                dfolder, _, dname = dst.rpartition("/")
                if dfolder == folder and dname not in place:
                    place[dname] = len(place)
        rest = len(place)
        for name in names:
            out[f"{folder}/{name}" if folder else name] = (fkey, place.get(name, rest), name.lower())
    return out


@dataclass(frozen=True)
class PlanNew:
    """The new cards of an active plan: introduced before any other, at least ``quota`` today."""

    filter: CardFilter
    """The plan's selection (within the queue's own filter)."""
    quota: int
    """New cards of the plan still to introduce today at the plan's pace."""


@dataclass(frozen=True)
class NewCards:
    """Today's new-card candidates fetched on demand, already in order (see ``build_queue``).

    With tens of thousands of new cards, ``due`` and ``review`` need only the
    first few: the store hands them over a note at a time, and counts the rest.
    """

    total: int
    """How many new candidates there are."""
    ordered: Iterable[QueueItem]
    """Every new candidate, in the order they are introduced (consumed lazily)."""
    in_groups: Callable[[set[Group]], int]
    """How many new candidates belong to these sibling groups."""


def build_queue(
    candidates: Iterable[QueueItem],
    *,
    now: datetime,
    day_end: datetime,
    reviewed_groups: Iterable[Group] = (),
    new_left: int | None = None,
    reviews_left: int | None = None,
    total_limit: int | None = None,
    curve: ForgettingCurve | None = None,
    bury_new_siblings: bool = True,
    bury_review_siblings: bool = True,
    new_order: str = "learning",
    note_ranks: Mapping[str, LearningRank] | None = None,
    seed: int = 0,
    new_cards: NewCards | None = None,
    first_new: frozenset[int] = frozenset(),
) -> Queue:
    """Order and limit today's cards.

    Args:
        candidates: Active, unsuspended, unburied cards that are new or due before
            ``day_end`` (``candidate_store.queue_candidates``).
        now: The current time (orders reviews by retrievability).
        day_end: The end of today.
        reviewed_groups: Sibling groups of cards reviewed earlier today.
        new_left: New cards still allowed today (None: no limit).
        reviews_left: Review cards still allowed today (None: no limit).
        total_limit: At most this many cards in the queue (None: no limit).
        curve: The forgetting curve that ranks reviews (None: py-fsrs's defaults).
        bury_new_siblings: Hold back a new card whose sibling is reviewed today or queued.
        bury_review_siblings: The same for review cards.
        new_order: ``learning`` (by ``note_ranks``, then line), ``interleave`` (round robin across
            domains) or ``random`` (shuffled by ``seed``).
        note_ranks: Each note's place in learning order (``learning_ranks``); None: by path.
        seed: The shuffle of ``random`` (the review day's number, so it holds all day).
        new_cards: The new cards, ordered and fetched on demand, in place of those among
            ``candidates`` (which then must hold none); ``new_order`` is theirs.
        first_new: New cards (ids among ``candidates``) introduced before the others, in their
            order (a plan's).
    """
    learning, reviews, new = _order_candidates(
        candidates, now, day_end, curve, new_order=new_order, note_ranks=note_ranks, seed=seed
    )
    if first_new:
        new = [it for it in new if it.id in first_new] + [it for it in new if it.id not in first_new]
    # Learning cards are always shown (their steps are in progress); they and
    # cards reviewed today claim their sibling groups first.
    taken = set(reviewed_groups)
    taken.update(it.group for it in learning)
    if total_limit is not None:
        room = max(0, total_limit - len(learning))
        reviews_left = room if reviews_left is None else min(reviews_left, room)
    reviews, held_siblings, held_reviews = _take_reviews(reviews, taken, reviews_left, bury_review_siblings)

    if new_cards is not None:
        if new:
            raise ValueError("new cards come either among the candidates or as new_cards")
        new_order_list: Iterable[QueueItem] = new_cards.ordered
    else:
        new_order_list = interleave_by_domain(new) if new_order == "interleave" else new
    if total_limit is not None:
        room = max(0, total_limit - len(learning) - len(reviews))
        new_left = room if new_left is None else min(new_left, room)
    chosen, held_new, held_new_siblings, seen_new = _take_new(
        new_order_list, taken, new_left, bury_new_siblings, new_cards
    )
    main = (
        *interleave_by_domain(reviews),
        *(interleave_by_domain(chosen) if new_order == "interleave" else chosen),
    )
    groups = frozenset(taken)
    held: tuple[int, int] | Callable[[], tuple[int, int]] = (held_new, held_siblings + held_new_siblings)
    if new_cards is not None:
        fetched = new_cards

        def held_with_the_rest() -> tuple[int, int]:
            # Every new card seen is chosen or a held sibling: in a taken group. Of the rest,
            # those in a taken group are held siblings, the others wait for the limit.
            rest = fetched.total - seen_new
            rest_taken = fetched.in_groups(set(groups)) - seen_new if bury_new_siblings and rest else 0
            return rest - rest_taken, held_siblings + held_new_siblings + rest_taken

        held = held_with_the_rest
    return Queue(learning=tuple(learning), main=main, groups=groups, held_reviews=held_reviews, held=held)


def _order_candidates(
    candidates: Iterable[QueueItem],
    now: datetime,
    day_end: datetime,
    curve: ForgettingCurve | None,
    *,
    new_order: str,
    note_ranks: Mapping[str, LearningRank] | None,
    seed: int,
) -> tuple[list[QueueItem], list[QueueItem], list[QueueItem]]:
    """The candidates due today as learning cards (by due time), reviews (lowest recall first) and
    new cards (in ``new_order``); a scheduled card due after ``day_end`` is left out."""
    learning: list[QueueItem] = []
    reviews: list[QueueItem] = []
    new: list[QueueItem] = []
    for it in candidates:
        state = it.state
        if state == "new":
            new.append(it)
        elif it.due is not None and it.due < day_end:
            (learning if state in LEARNING_STATES else reviews).append(it)
    curve = curve or ForgettingCurve.from_parameters(())
    far = datetime.max.replace(tzinfo=now.tzinfo)
    learning.sort(key=lambda it: (it.due or far, it.id))
    recall = curve.retrievability  # what curve.at(now, last_review, stability) computes, per review card
    reviews.sort(
        key=lambda it: (
            0.0 if it.last_review is None else recall(max(0, (now - it.last_review).days), it.stability),
            it.due or far,
            it.id,
        )
    )
    if new_order == "learning":
        ranks = note_ranks if note_ranks is not None else learning_ranks((it.path for it in new), ())
        new.sort(key=lambda it: (ranks.get(it.path, ((), 0, it.path)), it.line, it.id))
    else:
        new.sort(key=lambda it: (it.domain, it.path, it.line, it.id))
        if new_order == "random":
            random.Random(seed).shuffle(new)
    return learning, reviews, new


def _take_reviews(
    reviews: list[QueueItem], taken: set[Group], reviews_left: int | None, bury_siblings: bool
) -> tuple[list[QueueItem], int, int]:
    """The reviews shown today, in order: each claims its sibling group in ``taken`` (a review of a
    group already taken is held back, when ``bury_siblings``), then at most ``reviews_left``
    (None: all). Returns them, the siblings held back and the reviews held back by the limit."""
    held_siblings = 0
    claimed = []
    for it in reviews:
        group = (it.note_id, it.line)  # it.group, without a property call per card
        if group in taken and bury_siblings:
            held_siblings += 1
            continue
        taken.add(group)
        claimed.append(it)
    held_reviews = 0
    if reviews_left is not None and len(claimed) > reviews_left:
        held_reviews = len(claimed) - max(0, reviews_left)
        claimed = claimed[: max(0, reviews_left)]
    return claimed, held_siblings, held_reviews


def _take_new(
    ordered: Iterable[QueueItem],
    taken: set[Group],
    new_left: int | None,
    bury_siblings: bool,
    new_cards: NewCards | None,
) -> tuple[list[QueueItem], int, int, int]:
    """The new cards introduced today, in order, each claiming its sibling group in ``taken``: at most
    ``new_left`` (None: all), none of a group already taken when ``bury_siblings``. Returns them,
    the new cards held back by the limit, the siblings held back and how many new cards were
    read. With ``new_cards``, ``ordered`` is read only as far as needed (the caller counts the
    rest)."""
    chosen: list[QueueItem] = []
    held_new = held_siblings = 0
    seen_new = 0
    for it in ordered:
        if it.group in taken and bury_siblings:
            held_siblings += 1
            seen_new += 1
            continue
        if new_left is not None and len(chosen) >= new_left:
            if new_cards is not None:
                break  # the rest are counted below, not fetched
            held_new += 1
            continue
        taken.add(it.group)
        chosen.append(it)
        seen_new += 1
    return chosen, held_new, held_siblings, seen_new


def todays_queue(
    conn: sqlite3.Connection,
    cfg: ScheduleConfig,
    clock: DayClock,
    now: datetime,
    flt: CardFilter | None = None,
    *,
    new_limit: int | None = None,
    total_limit: int | None = None,
    plan_new: PlanNew | None = None,
) -> Queue:
    """Today's queue for the cards of ``flt``.

    Args:
        new_limit: New cards for this session, replacing what is left of the
            daily new-card limit (``--new N``).
        total_limit: At most this many cards (``--limit N``).
        plan_new: An active plan's new cards: first, and at least its quota today.
    """
    today = clock.today(now)
    start, end = clock.day_start(today), clock.day_end(today)
    if new_limit is None:
        new_limit = max(0, cfg.new_per_day - review_store.cards_answered_since(conn, start, "new"))
        if plan_new is not None:
            new_limit = max(new_limit, plan_new.quota)
    reviews_left = None
    if cfg.reviews_per_day > 0:
        reviews_left = max(0, cfg.reviews_per_day - review_store.cards_answered_since(conn, start, "review"))
    lazy = cfg.new_order == "learning"
    candidates = candidate_store.queue_rows(conn, now, end, flt, QueueItem, new=not lazy)
    new_cards = _new_in_learning_order(conn, now, flt) if lazy else None
    first_new: frozenset[int] = frozenset()
    if plan_new is not None:
        if new_cards is not None:
            new_cards = _first(_new_in_learning_order(conn, now, plan_new.filter), new_cards)
        else:
            first_new = frozenset(
                c.id for c in candidate_store.queue_candidates(conn, now, end, plan_new.filter)
            )
    return build_queue(
        candidates,
        now=now,
        day_end=end,
        reviewed_groups=review_store.reviewed_groups(conn, start),
        new_left=max(0, new_limit),
        reviews_left=reviews_left,
        total_limit=total_limit,
        curve=ForgettingCurve.from_parameters(cfg.parameters),
        bury_new_siblings=cfg.bury_new_siblings,
        bury_review_siblings=cfg.bury_review_siblings,
        new_order=cfg.new_order,
        seed=today.toordinal(),
        new_cards=new_cards,
        first_new=first_new,
    )


def _first(ahead: NewCards, rest: NewCards) -> NewCards:
    """``rest``'s new cards with those of ``ahead`` (a subset) first, each once."""

    def ordered() -> Iterator[QueueItem]:
        seen: set[int] = set()
        for it in ahead.ordered:
            seen.add(it.id)
            yield it
        for it in rest.ordered:
            if it.id not in seen:
                yield it

    return NewCards(total=rest.total, ordered=ordered(), in_groups=rest.in_groups)


def _new_in_learning_order(conn: sqlite3.Connection, now: datetime, flt: CardFilter | None) -> NewCards:
    """Today's new candidates in learning order, fetched a note (or a few tied notes) at a time.

    The ranks come from every present note (so which cards are due today never
    changes a folder's index note) and the index notes' links.
    """
    counts = candidate_store.new_card_notes(conn, now, flt)
    paths = note_store.present_note_paths(conn)
    ranks = learning_ranks(paths.values(), lambda indexes: note_store.resolved_note_links(conn, indexes))

    order = sorted(counts, key=lambda nid: (ranks.get(paths.get(nid, ""), ((), 0, "")), paths.get(nid, "")))

    def ordered() -> Iterator[QueueItem]:
        i = 0
        while i < len(order):
            # Notes of equal rank (names differing only in case) are merged by line, as one sort would.
            rank = ranks.get(paths.get(order[i], ""))
            j = i + 1
            while j < len(order) and rank is not None and ranks.get(paths.get(order[j], "")) == rank:
                j += 1
            for c in candidate_store.new_candidates(conn, now, order[i:j], flt):
                yield QueueItem(*c)
            i = j

    def in_groups(groups: set[Group]) -> int:
        notes = [nid for nid in {g[0] for g in groups} if nid in counts]
        return sum(1 for g in candidate_store.new_candidate_groups(conn, now, notes, flt) if g in groups)

    return NewCards(total=sum(counts.values()), ordered=ordered(), in_groups=in_groups)


def prerequisite_candidates(
    conn: sqlite3.Connection, note_id: int, now: datetime, start: datetime, until: datetime
) -> list[QueueItem]:
    """Review cards of the notes ``note_id`` links to, due in ``[start, until)``.

    A link from note A to note B makes B's cards prerequisites of A's; a lapse
    on an A card may bring B's soon-due cards forward.
    """
    return [QueueItem(*c) for c in candidate_store.linked_due_candidates(conn, note_id, now, start, until)]


@dataclass(frozen=True)
class DomainDue:
    """Due counts of one domain."""

    domain: str
    due_now: int = 0
    due_today: int = 0
    new: int = 0


@dataclass(frozen=True)
class DueSummary:
    """What ``mlsys-srs due`` shows."""

    now: datetime
    today: date
    due_now: int
    due_today: int
    learning_today: int
    new_available: int
    new_left: int
    held_new: int
    domains: tuple[DomainDue, ...]
    next_due: datetime | None
    """The earliest time after ``now`` at which a card becomes due (None: nothing scheduled)."""
    plan: dict[str, Any] | None = None
    """The active plan, as ``plan --json`` shows it without its projection (None: none)."""

    def as_json(self) -> dict[str, Any]:
        """The summary as ``due --json`` prints it."""
        return {
            "now": dt_to_db(self.now),
            "today": self.today.isoformat(),
            "due_now": self.due_now,
            "due_today": self.due_today,
            "learning_today": self.learning_today,
            "new_available": self.new_available,
            "new_limit_left": self.new_left,
            "new_held_back": self.held_new,
            "next_due": dt_to_db(self.next_due),
            "domains": [
                {"domain": d.domain, "due_now": d.due_now, "due_today": d.due_today, "new": d.new}
                for d in self.domains
            ],
            **({"plan": self.plan} if self.plan is not None else {}),
        }


def due_summary(
    conn: sqlite3.Connection,
    cfg: ScheduleConfig,
    clock: DayClock,
    now: datetime,
    flt: CardFilter | None = None,
    plan_new: PlanNew | None = None,
) -> DueSummary:
    """Due now, due today and new cards available, overall and by domain (the queue's own rules)."""
    today = clock.today(now)
    start = clock.day_start(today)
    new_left = max(0, cfg.new_per_day - review_store.cards_answered_since(conn, start, "new"))
    if plan_new is not None:
        new_left = max(new_left, plan_new.quota)
    queue = todays_queue(conn, cfg, clock, now, flt, plan_new=plan_new)
    by_domain: dict[str, dict[str, int]] = {}
    due_now = due_today = learning = new = 0
    for it in (*queue.learning, *queue.main):
        d = by_domain.setdefault(it.domain, {"due_now": 0, "due_today": 0, "new": 0})
        if it.state == "new":
            d["new"] += 1
            new += 1
            continue
        d["due_today"] += 1
        due_today += 1
        learning += it.kind == "learning"
        # A review card is due on its review day (the queue shows it now); a learning step at its time.
        if it.kind == "review" or (it.due is not None and it.due <= now):
            d["due_now"] += 1
            due_now += 1
    later = [it.due for it in queue.learning if it.due is not None and it.due > now]
    end = clock.day_end(today)
    next_learning, next_review = candidate_store.next_due_after(conn, now, end, flt)
    if queue.held_new or queue.held_siblings or queue.held_reviews:
        # Held-back cards become available when the next day starts.
        later.append(end)
    if next_learning is not None:
        later.append(next_learning)
    if next_review is not None:
        # Shown from the start of the review day it falls on, whatever its hour.
        later.append(max(end, clock.day_start(clock.day_of(next_review))))
    return DueSummary(
        now=now,
        today=today,
        due_now=due_now,
        due_today=due_today,
        learning_today=learning,
        new_available=new,
        new_left=new_left,
        held_new=queue.held_new,
        domains=tuple(DomainDue(k, **v) for k, v in sorted(by_domain.items())),
        next_due=min(later) if later else None,
    )


STUDY_MODES = ("cram", "ahead", "forgotten", "weak", "preview")
"""Sessions that study outside the schedule (``review --cram`` and friends)."""


def study_queue(
    conn: sqlite3.Connection,
    cfg: ScheduleConfig,
    clock: DayClock,
    now: datetime,
    flt: CardFilter | None = None,
    *,
    mode: str = "cram",
    days: int = 0,
    note_ids: Sequence[int] | None = None,
    total_limit: int | None = None,
) -> Queue:
    """The cards of a study mode, in the order they are shown (no daily limits, no siblings rule).

    Modes:
        cram: every active card of ``flt``: studied cards lowest recall first, then new cards.
        ahead: scheduled cards due before the end of the review day ``days`` from today, by due time.
        forgotten: cards failed (Again, cram answers aside) in the last ``days`` days, lowest recall first.
        weak: the cards of the notes ``note_ids`` (the weakest concepts), lowest recall first.
        preview: new cards, in the order new cards are introduced.
    """
    if mode not in STUDY_MODES:
        raise ValueError(f"mode must be one of {STUDY_MODES}, not {mode!r}")
    kwargs: dict[str, Any] = {}
    if mode == "ahead":
        kwargs["due_before"] = clock.day_end(clock.today(now) + timedelta(days=max(0, days)))
    elif mode == "forgotten":
        kwargs["lapsed_since"] = clock.day_start(clock.today(now) - timedelta(days=max(0, days - 1)))
    elif mode == "weak":
        kwargs["note_ids"] = list(note_ids or ())
    elif mode == "preview":
        kwargs["new_only"] = True
    items = [QueueItem(*c) for c in candidate_store.study_candidates(conn, now, flt, **kwargs)]
    curve = ForgettingCurve.from_parameters(cfg.parameters)
    far = datetime.max.replace(tzinfo=now.tzinfo)
    studied = [it for it in items if it.state != "new"]
    new = sorted((it for it in items if it.state == "new"), key=lambda it: (it.path, it.line, it.id))
    if mode == "ahead":
        studied.sort(key=lambda it: (it.due or far, it.id))
    else:
        studied.sort(key=lambda it: (curve.at(now, it.last_review, it.stability), it.id))
    main = (*studied, *new)
    if total_limit is not None:
        main = main[:total_limit]
    return Queue(learning=(), main=tuple(main))
