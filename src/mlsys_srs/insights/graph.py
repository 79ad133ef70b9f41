"""The concept graph of the vault: hubs, dangling concepts, orphans, weak concepts, neighbourhoods.

Read-only figures over the ``note`` and ``link`` tables (links were resolved
by ``sync`` the way Obsidian resolves them: path, file name, alias) and the
cards' review state. Only notes present in the vault take part; a link from a
note to itself is ignored.

- *Hub*: a note ranked by how many other notes link to it.
- *Dangling concept*: a link target that resolves to no note (named, not yet
  written), with every ``path:line`` that names it.
- *Orphan*: a note with no link to or from another note.
- *Note without cards*: a note that makes cards (``srs`` not false) but has
  none.
- *Weak concept*: a note whose own cards are weak, or that depends on a weak
  prerequisite (a note it links to). Its score is::

      concept weakness = own weakness + 0.5 * weakest prerequisite's own weakness

  where *own weakness* is the weakness score of ``weakness.py`` over the note's
  own cards and the prerequisites are the notes it links to that have
  studied cards. One hop only, so every score is explained by the note and
  one neighbour. Only notes with studied cards are ranked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import SrsError
from ..scheduling.days import DayClock
from ..scheduling.memory import ForgettingCurve
from ..store import links as link_store
from ..store import notes as note_store
from ..store.links import GraphLink
from .weakness import CardAcc, Retention, Weakness, card_groups, retention_groups

PREREQUISITE_WEIGHT = 0.5
"""Share of the weakest prerequisite's weakness added to a concept's own."""


class NoteNotFound(SrsError):
    """A note named on the command line resolves to no note of the vault."""


@dataclass(frozen=True)
class NoteRef:
    """A note by id, path, title and domain."""

    id: int
    path: str
    title: str
    domain: str

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"path": self.path, "title": self.title, "domain": self.domain}


@dataclass(frozen=True)
class Hub:
    """A note and how often it is linked to."""

    note: NoteRef
    linked_from: int
    links: int


@dataclass(frozen=True)
class LinkSource:
    """Where a link is written."""

    note: str
    line: int


@dataclass(frozen=True)
class DanglingConcept:
    """A link target that is not a note yet, and who names it."""

    target: str
    sources: tuple[LinkSource, ...]

    @property
    def notes(self) -> int:
        """Distinct notes that link to it."""
        return len({s.note for s in self.sources})


@dataclass(frozen=True)
class ConceptWeakness:
    """A note's weakness: its own cards plus its weakest prerequisite."""

    note: NoteRef
    own: Weakness
    prerequisite: NoteRef | None
    prerequisite_score: float | None
    score: float
    reason: str


@dataclass(frozen=True)
class ConceptNode:
    """A note as a node of the map: its cards, recall now and weakness."""

    note: NoteRef
    cards: int
    studied: int
    recall: float | None
    own_score: float | None
    score: float | None
    """The weak-concept score (own plus half the weakest prerequisite's); None when not ranked."""
    linked_from: int

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            **self.note.as_json(),
            "cards": self.cards,
            "studied": self.studied,
            "recall": _round(self.recall),
            "own_score": _round(self.own_score),
            "score": _round(self.score),
            "linked_from": self.linked_from,
        }


@dataclass(frozen=True)
class ConceptEdge:
    """Links from one note to another (several links between the same two notes count once here)."""

    source: str
    target: str
    links: int


@dataclass(frozen=True)
class ConceptGraph:
    """Every figure of ``mlsys-srs graph``."""

    notes: int
    links: int
    dangling_links: int
    hubs: tuple[Hub, ...]
    dangling: tuple[DanglingConcept, ...]
    orphans: tuple[NoteRef, ...]
    without_cards: tuple[NoteRef, ...]
    weak: tuple[ConceptWeakness, ...]
    nodes: tuple[ConceptNode, ...] = ()
    """Every note, by path."""
    edges: tuple[ConceptEdge, ...] = ()
    """Every pair of linked notes (no self-links, no dangling targets), by source then target."""

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``graph --json``."""
        return {
            "notes": self.notes,
            "links": self.links,
            "dangling_links": self.dangling_links,
            "hubs": [{**h.note.as_json(), "linked_from": h.linked_from, "links": h.links} for h in self.hubs],
            "dangling": [
                {
                    "target": d.target,
                    "notes": d.notes,
                    "sources": [{"note": s.note, "line": s.line} for s in d.sources],
                }
                for d in self.dangling
            ],
            "orphans": [n.as_json() for n in self.orphans],
            "without_cards": [n.as_json() for n in self.without_cards],
            "weak": [_weak_json(w) for w in self.weak],
            "nodes": [n.as_json() for n in self.nodes],
            "edges": [{"source": e.source, "target": e.target, "links": e.links} for e in self.edges],
        }


@dataclass(frozen=True)
class Neighbour:
    """One link of a neighbourhood, with the neighbour's cards and retention."""

    note: NoteRef | None
    target: str
    line: int
    heading: str | None
    cards: int
    retention: Retention
    weakness: float | None

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "note": self.note.as_json() if self.note else None,
            "target": self.target,
            "line": self.line,
            "heading": self.heading,
            "dangling": self.note is None,
            "cards": self.cards,
            "retention": {
                "days": self.retention.days,
                "reviews": self.retention.reviews,
                "passed": self.retention.passed,
                "rate": _round(self.retention.rate),
            },
            "weakness": _round(self.weakness),
        }


@dataclass(frozen=True)
class Neighbourhood:
    """One concept's links in and out."""

    note: NoteRef
    own: Weakness
    links_out: tuple[Neighbour, ...]
    links_in: tuple[Neighbour, ...]

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``graph NOTE --json``."""
        return {
            "note": self.note.as_json(),
            "weakness": self.own.as_json(),
            "links_out": [n.as_json() for n in self.links_out],
            "links_in": [n.as_json() for n in self.links_in],
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _weak_json(w: ConceptWeakness) -> dict[str, Any]:
    return {
        **w.note.as_json(),
        "score": round(w.score, 4),
        "own": w.own.as_json(),
        "prerequisite": w.prerequisite.as_json() if w.prerequisite else None,
        "prerequisite_score": _round(w.prerequisite_score),
        "reason": w.reason,
    }


# -- loading ------------------------------------------------------------------------


def _load(
    conn: sqlite3.Connection,
) -> tuple[dict[int, NoteRef], dict[int, tuple[str, ...]], set[int], list[GraphLink]]:
    notes: dict[int, NoteRef] = {}
    aliases: dict[int, tuple[str, ...]] = {}
    makes_cards: set[int] = set()
    for n in note_store.present_notes(conn):
        notes[n.id] = NoteRef(id=n.id, path=n.path, title=n.title, domain=n.domain)
        aliases[n.id] = n.aliases
        if n.srs:
            makes_cards.add(n.id)
    links = [
        lk._replace(target_id=lk.target_id if lk.target_id in notes else None)
        for lk in link_store.present_links(conn)
    ]
    return notes, aliases, makes_cards, links


def _weaknesses(
    conn: sqlite3.Connection, clock: DayClock, now: datetime, days: int, parameters: Sequence[float]
) -> dict[int, Weakness]:
    curve = ForgettingCurve.from_parameters(parameters)
    accs = card_groups(conn, None, now, clock, curve, key=lambda row: row.note_id)
    retention = retention_groups(conn, None, clock, now, (days,), "card.note_id")
    empty = Retention(days=days)
    out: dict[int, Weakness] = {}
    for nid in set(accs) | set(retention):
        out[nid] = accs.get(nid, CardAcc()).weakness(retention.get(nid, (empty,))[0])
    return out


def _reason(own: Weakness, prereq: NoteRef | None, prereq_score: float | None) -> str:
    parts = []
    r = own.retention
    if r.reviews:
        parts.append(
            f"retention {100 * (r.rate or 0):.0f}% of {r.reviews} review{'s' if r.reviews != 1 else ''}"
        )
    elif r.answers:
        parts.append(
            f"{r.answers} answer{'s' if r.answers != 1 else ''} while learning, none of a review card in {r.days} days"
        )
    else:
        parts.append(f"no reviews in {r.days} days")
    if own.retrievability is not None:
        parts.append(f"recall now {100 * own.retrievability:.0f}%")
    if own.lapses:
        parts.append(f"{own.lapses_per_card or 0:.1f} lapses/card")
    if own.overdue:
        parts.append(f"{own.overdue} overdue")
    text = "own cards: " + ", ".join(parts)
    if prereq is not None and prereq_score is not None:
        text += f"; weakest prerequisite {prereq.title} ({prereq_score:.2f})"
    return text


# -- the whole graph ----------------------------------------------------------------


def concept_graph(
    conn: sqlite3.Connection,
    clock: DayClock,
    now: datetime,
    *,
    days: int = 365,
    parameters: Sequence[float] = (),
) -> ConceptGraph:
    """Hubs, dangling concepts, orphans, notes without cards and weak concepts (all, ranked).

    Args:
        conn: the review database.
        clock: the review-day clock.
        now: the current time, UTC-aware.
        days: the retention window of the weakness scores.
        parameters: FSRS weights; empty means py-fsrs's defaults.
    """
    notes, _, makes_cards, links = _load(conn)
    linked_from: dict[int, set[int]] = {}
    link_count: dict[int, int] = {}
    has_out: set[int] = set()
    prereqs: dict[int, set[int]] = {}
    dangling: dict[str, list[GraphLink]] = {}
    for lk in links:
        if lk.target_id == lk.source:
            continue
        has_out.add(lk.source)
        if lk.target_id is None:
            dangling.setdefault(lk.target.strip().lower(), []).append(lk)
            continue
        linked_from.setdefault(lk.target_id, set()).add(lk.source)
        link_count[lk.target_id] = link_count.get(lk.target_id, 0) + 1
        prereqs.setdefault(lk.source, set()).add(lk.target_id)

    hubs = sorted(
        (
            Hub(note=notes[nid], linked_from=len(src), links=link_count[nid])
            for nid, src in linked_from.items()
        ),
        key=lambda h: (-h.linked_from, -h.links, h.note.path),
    )
    dangling_list = sorted(
        (
            DanglingConcept(
                target=_spelling(group),
                sources=tuple(LinkSource(note=notes[lk.source].path, line=lk.line) for lk in group),
            )
            for group in dangling.values()
        ),
        key=lambda d: (-d.notes, -len(d.sources), d.target.lower()),
    )
    orphans = sorted(
        (n for nid, n in notes.items() if nid not in has_out and nid not in linked_from), key=lambda n: n.path
    )

    weak = _weaknesses(conn, clock, now, days, parameters)
    without_cards = sorted(
        (n for nid, n in notes.items() if nid in makes_cards and (nid not in weak or weak[nid].cards == 0)),
        key=lambda n: n.path,
    )
    ranked = []
    for nid, note in notes.items():
        own = weak.get(nid)
        if own is None or own.score is None:
            continue
        candidates = [
            (ps.score, notes[p].path, p)
            for p in prereqs.get(nid, ())
            if (ps := weak.get(p)) is not None and ps.score is not None
        ]
        # The weakest prerequisite; the first path alphabetically breaks a tie.
        best = min(candidates, key=lambda c: (-c[0], c[1])) if candidates else None
        pre = notes[best[2]] if best else None
        pre_score = best[0] if best else None
        score = own.score + PREREQUISITE_WEIGHT * (pre_score or 0.0)
        ranked.append(
            ConceptWeakness(
                note=note,
                own=own,
                prerequisite=pre,
                prerequisite_score=pre_score,
                score=score,
                reason=_reason(own, pre, pre_score),
            )
        )
    ranked.sort(key=lambda w: (-w.score, w.note.path))
    concept_score = {w.note.id: w.score for w in ranked}
    nodes = tuple(
        ConceptNode(
            note=n,
            cards=weak[nid].cards if nid in weak else 0,
            studied=weak[nid].studied if nid in weak else 0,
            recall=weak[nid].retrievability if nid in weak else None,
            own_score=weak[nid].score if nid in weak else None,
            score=concept_score.get(nid),
            linked_from=len(linked_from.get(nid, ())),
        )
        for nid, n in sorted(notes.items(), key=lambda item: item[1].path)
    )
    pairs: dict[tuple[str, str], int] = {}
    for lk in links:
        if lk.target_id is not None and lk.target_id != lk.source:
            key = (notes[lk.source].path, notes[lk.target_id].path)
            pairs[key] = pairs.get(key, 0) + 1
    edges = tuple(ConceptEdge(source=a, target=b, links=c) for (a, b), c in sorted(pairs.items()))
    return ConceptGraph(
        notes=len(notes),
        links=len(links),
        dangling_links=sum(len(g) for g in dangling.values()),
        hubs=tuple(hubs),
        dangling=tuple(dangling_list),
        orphans=tuple(orphans),
        without_cards=tuple(without_cards),
        weak=tuple(ranked),
        nodes=nodes,
        edges=edges,
    )


def _spelling(group: list[GraphLink]) -> str:
    """The most common way a dangling target is written (first seen wins a tie)."""
    seen: dict[str, int] = {}
    for lk in group:
        seen[lk.target.strip()] = seen.get(lk.target.strip(), 0) + 1
    return max(seen, key=lambda t: seen[t])


# -- one concept --------------------------------------------------------------------


def find_note(conn: sqlite3.Connection, name: str) -> NoteRef:
    """The note a path, file name or alias names (as a link would resolve it), else its title.

    Raises:
        NoteNotFound: nothing in the vault answers to ``name``.
    """
    from ..parse import Link, LinkResolver

    notes, aliases, _, _ = _load(conn)
    text = name.strip()
    if text.startswith("[[") and text.endswith("]]"):
        text = text[2:-2].split("|", 1)[0].split("#", 1)[0]
    resolver = LinkResolver.build((n.path, aliases[nid]) for nid, n in notes.items())
    by_path = {n.path: n for n in notes.values()}
    hit = resolver.resolve(Link(target=text, line=0, markdown=text.lower().endswith(".md")), "")
    if hit is None or hit not in by_path:
        # A person may type the title they see; links never resolve by title, this lookup may.
        titled = sorted(n.path for n in notes.values() if n.title.casefold() == text.casefold())
        hit = titled[0] if titled else None
    if hit is None or hit not in by_path:
        raise NoteNotFound(
            f"no note named {name!r} in the vault (give a path, a file name, an alias or a title)"
        )
    return by_path[hit]


def neighbourhood(
    conn: sqlite3.Connection,
    clock: DayClock,
    now: datetime,
    name: str,
    *,
    days: int = 365,
    parameters: Sequence[float] = (),
) -> Neighbourhood:
    """One concept's links out and in, each neighbour with its card count, retention and weakness.

    Raises:
        NoteNotFound: ``name`` is no path, file name or alias of a note.
    """
    note = find_note(conn, name)
    notes, _, _, links = _load(conn)
    weak = _weaknesses(conn, clock, now, days, parameters)
    empty = Retention(days=days)

    def neighbour(target_note: int | None, lk: GraphLink) -> Neighbour:
        w = weak.get(target_note) if target_note is not None else None
        return Neighbour(
            note=notes[target_note] if target_note is not None else None,
            target=lk.target,
            line=lk.line,
            heading=lk.heading,
            cards=w.cards if w else 0,
            retention=w.retention if w else empty,
            weakness=w.score if w else None,
        )

    out = tuple(
        neighbour(lk.target_id, lk) for lk in links if lk.source == note.id and lk.target_id != note.id
    )
    inc = sorted(
        (neighbour(lk.source, lk) for lk in links if lk.target_id == note.id and lk.source != note.id),
        key=lambda n: (n.note.path if n.note else "", n.line),
    )
    own = weak.get(note.id) or CardAcc().weakness(empty)
    return Neighbourhood(note=note, own=own, links_out=out, links_in=tuple(inc))
