"""``export anki``: the build of an Anki package (``.apkg``) from the review database's cards.

The package's parts each have their module: note GUIDs and ids (``anki.ids``),
the note types (``anki.notetypes``; a moved-in note's own, ``anki.origins``),
deck names, tags and the Source link (``anki.labels``), new cards' positions
(``anki.positions``), the notes built from cards (``anki.building``), review
progress (``anki.progress``, ``anki.revlog``), the collection's rows
(``anki.collection``), the zip (``anki.package``) and what the export cache says
to build again (``anki.cache_plan``). This module puts them together:

- A note's modification time is when its content last changed, not the
  export time: Anki updates a note on import only if it is newer, so a
  re-import updates exactly the notes that changed (a card's text changed
  since, or its fields or tags differ from the previous package at the same
  path) and leaves the others, and any edits made to them in Anki, alone. A
  note the same as in the previous package keeps its time from there.
- Re-exports are incremental (``anki.cache_plan``): the collection written
  last time is kept in the user cache folder, and only the notes whose cards
  changed are built again, in place; the package equals what a full build
  writes, row ids aside (tests/test_export_cache.py).
- A full build of 4,000 cards or more is spread over the cores
  (``core.workers.fork_map``): forked workers build shares of 1,000 cards while
  this process writes the shares before; the package is the one a build in one
  process writes, ids included (tests/test_export_parallel.py).
- Decks ``<root>::<NN> <Domain Title>`` (numbered like the folder the domain
  starts in) with ids derived from their names; a note that moved in from Anki
  goes back to its own deck.
- New cards carry their position in learning order (``anki.positions``), kept
  from the package the export replaces (its ``col.conf``); an incremental
  export also builds again the notes whose positions moved.
- Optional scheduling: the card rows of reviewed cards carry their progress and
  the review log is copied into ``revlog``; the package's collection is created
  at the start of the export day, and due dates are written as days from it.

Nothing here prints or reads the clock: the caller passes ``now`` and the
``DayClock`` and renders the returned ``AnkiExport``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import SrsError
from ..parse.model import Diagnostic
from ..store import export_cache
from ..store.cards import CardView, card_id_batches, iter_cards, list_cards
from ..store.events import get_meta
from ..store.export_reads import database_file, open_reader, reading
from ..store.filters import CardFilter
from ..store.render_cache import save_renders
from ..store.review_log import review_history
from .building import Builder, Built, as_row, dated
from .cache_plan import CachePlan, plan_from_cache, save_cache
from .collection import CollectionWriter, PreviousPackage, conf_value
from .ids import first_row_id, stable_id
from .labels import deck_name, folder_number, strict_line_breaks
from .notetypes import BASIC_MODEL_ID, CLOZE_MODEL_ID, TEMPLATES_MTIME, note_types
from .origins import Origins
from .package import write_package
from .positions import CONF_KEY, Positions
from .progress import SchedulingOptions, progress_rows

if TYPE_CHECKING:
    from ..render.html import MarkdownRenderer
    from ..render.media import MediaBundle, MediaShare
    from ..scheduling.days import DayClock

EXPORT_BATCH = 5_000
"""Cards a full build reads, renders and writes at a time (at 200,000 cards, it holds a batch, not all)."""
EXPORT_SHARE = 1_000
"""Cards a forked worker builds at a time in a parallel full build (small shares keep every core
busy to the end)."""
PARALLEL_EXPORT_MIN = 4_000
"""Cards from which a full build is spread over the cores (below it, forking costs more than it
saves)."""


@dataclass(frozen=True)
class AnkiExport:
    """What an export wrote."""

    path: Path
    notes: int
    cards: int
    media: int
    decks: tuple[str, ...]
    size: int
    with_scheduling: bool
    scheduled_cards: int
    reviews: int
    diagnostics: tuple[Diagnostic, ...]

    def as_dict(self) -> dict[str, Any]:
        """The summary as ``export anki --json`` prints it."""
        return {
            "path": str(self.path),
            "notes": self.notes,
            "cards": self.cards,
            "media": self.media,
            "decks": list(self.decks),
            "size": self.size,
            "with_scheduling": self.with_scheduling,
            "scheduled_cards": self.scheduled_cards,
            "reviews": self.reviews,
            "diagnostics": [
                {"path": d.path, "line": d.line, "severity": d.severity, "code": d.code, "message": d.message}
                for d in self.diagnostics
            ],
        }


# --- the export ----------------------------------------------------------------------------


def export_anki(
    conn: sqlite3.Connection,
    flt: CardFilter,
    *,
    vault: Path,
    out: Path,
    now: datetime,
    clock: DayClock,
    root_deck: str = "MLSys",
    scheduling: SchedulingOptions | None = None,
    cache: Path | None = None,
) -> AnkiExport:
    """Write the active cards matching ``flt`` to an Anki package at ``out``.

    Args:
        conn: The review database.
        flt: Which cards (retired cards are never exported).
        vault: The vault folder: images are bundled from it, and an
            ``.obsidian/`` folder in it makes Source an ``obsidian://`` link.
        out: The ``.apkg`` to write (atomically; its folder is created).
        now: The export time, UTC-aware; it stamps notes and makes builds reproducible.
        clock: The review-day clock that due dates are counted in.
        root_deck: The parent deck of the per-domain decks.
        scheduling: Carry each card's progress and review log; None exports new cards.
        cache: The export cache file (``store.export_cache``): when it holds the package now
            at ``out`` and was built with the same options, only the notes whose cards changed
            are built again. None, or a cache another export is using, builds everything.

    Raises:
        SrsError: no card matches, or the package cannot be written.
    """
    with export_cache.hold(cache) as cache:  # None while another export holds it: a full build
        from ..render.html import MarkdownRenderer
        from ..render.media import MediaBundle

        flt = replace(flt, include_retired=False, only_retired=False)
        obsidian = (vault / ".obsidian").is_dir()
        vault_name = vault.resolve().name if obsidian else None
        media = MediaBundle(vault)
        from ..render.embeds import NoteLibrary

        renderer = MarkdownRenderer(
            media.add, breaks=obsidian and not strict_line_breaks(vault), library=NoteLibrary(vault)
        )
        root = root_deck.strip() or "MLSys"
        today = clock.today(now)
        positions = Positions.plan(conn, flt)
        origins = Origins.load(vault, [n.path for n in positions.notes if n.moved_in])
        options = _options_key(conn, flt, renderer, root, vault_name, scheduling, today, clock, origins)

        def moved(collection: Path) -> set[str]:
            # The notes whose positions the cached collection has elsewhere are built again.
            positions.assign(conf_value(collection, CONF_KEY))
            return export_cache.keys_of_notes(conn, flt, positions.moved())

        plan = plan_from_cache(conn, cache, flt, options, out, scheduling is not None, moved)
        models = note_types()
        numbers: dict[str, int | None] = {}
        for n in positions.notes:  # a domain's deck is numbered like the folder its first note is in
            numbers.setdefault(n.domain, folder_number(n.path))
        decks = _Decks.plan(positions, root, models, numbers, origins)
        builder = Builder(conn, renderer, models, root, vault_name, now)
        builder.use(flt, positions, origins, numbers, scheduling is not None)
        written = _write_collection(
            conn,
            flt,
            plan,
            builder,
            media,
            decks,
            out=out,
            now=now,
            clock=clock,
            today=today,
            scheduling=scheduling,
            sources=cache is not None,
        )
        _write_out(out, written.collection, plan, media, now.timestamp())
        if builder.fresh or renderer.used:
            # A cache: a locked or read-only database only means rendering again next time.
            with contextlib.suppress(sqlite3.Error, SrsError):
                save_renders(conn, builder.fresh, sorted(renderer.used))
        if cache is not None:
            save_cache(
                conn,
                cache,
                flt,
                now=now,
                options=options,
                out=out,
                plan=plan,
                collection=written.collection,
                notes=written.notes_made,
                rebuilt_ids=written.rebuilt_ids,
                built=written.built_from,
                scheduling=scheduling is not None,
            )
        return AnkiExport(
            path=out,
            notes=written.notes,
            cards=written.cards,
            media=len(media.files),
            decks=tuple(sorted(decks.decks)),
            size=out.stat().st_size,
            with_scheduling=scheduling is not None,
            scheduled_cards=written.scheduled,
            reviews=written.reviews,
            diagnostics=tuple(media.diagnostics + origins.diagnostics + builder.diagnostics),
        )


def _options_key(
    conn: sqlite3.Connection,
    flt: CardFilter,
    renderer: MarkdownRenderer,
    root: str,
    vault_name: str | None,
    scheduling: SchedulingOptions | None,
    today: date,
    clock: DayClock,
    origins: Origins,
) -> str:
    """Everything the package is built from besides the cards: the export cache serves only a
    package built with the same key."""
    return json.dumps(
        {
            "version": __version__,
            "renderer": renderer.cache_key(""),
            "templates": TEMPLATES_MTIME,
            "parse": get_meta(conn, "parse_options"),
            "filter": repr(flt),
            "root": root,
            "vault_name": vault_name,
            "origins": origins.digest,
            "scheduling": None
            if scheduling is None
            else [repr(scheduling), today.isoformat(), clock.rollover_hour],
        },
        sort_keys=True,
    )


@dataclass
class _Decks:
    """The package's decks (genanki's), in the order their first card comes, and each note type with
    the deck it was last used in (the last deck holding its notes)."""

    decks: dict[str, Any]
    model_decks: dict[int, tuple[Any, int]]

    @classmethod
    def plan(
        cls,
        positions: Positions,
        root: str,
        models: tuple[Any, Any],
        numbers: dict[str, int | None],
        origins: Origins,
    ) -> _Decks:
        """The decks of the exported notes (``positions``), under ``root`` (numbered by ``numbers``: domain ->
        the number of the folder its notes start in), and the decks and note types of the notes
        that moved in from Anki (``origins``; their note types recorded with the root deck)."""
        import genanki

        basic_model, cloze_model = models
        names: dict[str, tuple[bool, bool]] = {root: (False, False)}
        for note in sorted(positions.notes, key=lambda n: n.path):  # in the order their first card comes
            domain, has_cloze, has_basic = note.domain, note.has_cloze, note.has_basic
            name = deck_name(root, domain, numbers.get(domain))
            c0, b0 = names.get(name, (False, False))
            names[name] = (c0 or bool(has_cloze), b0 or bool(has_basic))
        decks = {name: genanki.Deck(stable_id(name), name) for name in names}
        model_decks = {}
        for name, (has_cloze, has_basic) in names.items():
            if has_cloze:
                model_decks[CLOZE_MODEL_ID] = (cloze_model, decks[name].deck_id)
            if has_basic:
                model_decks[BASIC_MODEL_ID] = (basic_model, decks[name].deck_id)
        for mid, model in sorted(origins.models.items()):
            model_decks[mid] = (model, decks[root].deck_id)
        # The decks notes that moved in go back to (an incremental build writes the header of
        # notes it did not build again).
        for name in sorted({o.deck for o in origins.notes.values() if o.deck} - set(decks)):
            decks[name] = genanki.Deck(stable_id(name), name)
        return cls(decks, model_decks)

    def take(self, b: Built) -> None:
        """Add the deck of a note whose card came in since the decks were planned (or that moved in
        from Anki and goes back to its own deck)."""
        if b.deck in self.decks:
            return
        import genanki

        self.decks[b.deck] = genanki.Deck(stable_id(b.deck), b.deck)
        model = b.note.model
        self.model_decks.setdefault(model.model_id, (model, self.decks[b.deck].deck_id))


@dataclass
class _Written:
    """What went into the package's collection."""

    collection: bytes | None
    """A fully built collection (None: the cached one was changed in place)."""
    notes: int
    cards: int
    scheduled: int
    reviews: int
    notes_made: list[tuple[str, int, bool]]
    """Each note's export-cache key, id in the collection, and whether it is volatile."""
    rebuilt_ids: list[int] | None
    """The cards built again by an incremental build (None: a full build)."""
    built_from: list[tuple[int, str, bytes]] = field(default_factory=list)
    """A full build's cards as the export cache records them (``export_cache.sources``)."""


def _write_collection(
    conn: sqlite3.Connection,
    flt: CardFilter,
    plan: CachePlan | None,
    builder: Builder,
    media: MediaBundle,
    decks: _Decks,
    *,
    out: Path,
    now: datetime,
    clock: DayClock,
    today: date,
    scheduling: SchedulingOptions | None,
    sources: bool,
) -> _Written:
    """Build the package's collection: a full build in memory, a batch of notes at a time, or an
    incremental one in the cached collection, in place.

    Raises:
        SrsError: no card matches.
    """
    timestamp = now.timestamp()
    if plan is None:
        col = CollectionWriter.new(decks.decks.values(), timestamp)
    else:
        col = CollectionWriter.open(plan.collection)
    try:
        writer = _NoteWriter(conn, col, decks, scheduling, clock=clock, today=today, now=now)
        built_from: list[tuple[int, str, bytes]] = []
        rebuilt_ids = None
        if plan is None:
            built_from = _write_full(conn, flt, builder, media, out, writer, sources=sources)
        else:
            rebuilt_ids = _write_incremental(conn, flt, plan, builder, writer)
        col.write_header(
            decks.decks.values(),
            decks.model_decks,
            timestamp,
            created=int(clock.day_start(today).timestamp()),
            rollover=clock.rollover_hour,
            models_mtime={BASIC_MODEL_ID: TEMPLATES_MTIME, CLOZE_MODEL_ID: TEMPLATES_MTIME},
            conf=builder.positions.conf(),
        )
        scheduled, reviews = col.scheduling_counts() if scheduling is not None else (0, 0)
        notes, cards = col.counts()
        if notes == 0:
            raise SrsError("no cards to export (is the vault synced, and do the filters match any card?)")
        if plan is None:
            collection: bytes | None = col.serialize()
        else:
            col.commit()
            collection = None
    finally:
        col.close()
    return _Written(collection, notes, cards, scheduled, reviews, writer.notes_made, rebuilt_ids, built_from)


class _NoteWriter:
    """Writes built notes into the collection, with their cards' progress, and records what it wrote."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        col: CollectionWriter,
        decks: _Decks,
        scheduling: SchedulingOptions | None,
        *,
        clock: DayClock,
        today: date,
        now: datetime,
    ) -> None:
        self.conn = conn
        self.col = col
        self.decks = decks
        self.scheduling = scheduling
        self.clock, self.today, self.now = clock, today, now
        self.timestamp = now.timestamp()
        self.notes_made: list[tuple[str, int, bool]] = []
        """Each note's export-cache key, id in the collection, and whether it is volatile."""
        self._revlog_ids: set[int] | None = None
        """The collection's review-log ids, read at the first write."""

    def write(self, built: list[Built], by_guid_ord: dict[tuple[str, int], CardView], first: int) -> int:
        """Write built notes with ids from ``first``, and their scheduling; the next free id."""
        decks = self.decks.decks
        by_deck: dict[str, list[Built]] = {}
        for b in built:
            self.decks.take(b)
            by_deck.setdefault(b.deck, []).append(b)
        ordered = [b for name in decks for b in by_deck.get(name, [])]
        nids = self.col.write_notes(
            [(decks[name], [b.note for b in by_deck.get(name, [])]) for name in decks], self.timestamp, first
        )
        self.notes_made.extend((b.key, nid, b.volatile) for b, nid in zip(ordered, nids, strict=True))
        if self.scheduling is not None and nids:
            if self._revlog_ids is None:
                self._revlog_ids = self.col.revlog_ids()
            positions = {
                card.id: pos
                for b in built
                for o, pos in b.note.positions.items()
                if (card := by_guid_ord.get((b.note.guid, o))) is not None
            }
            updates, revlog = progress_rows(
                self.col.card_slots(nids),
                by_guid_ord,
                review_history(self.conn, [c.id for c in by_guid_ord.values()]),
                used_ids=self._revlog_ids,
                clock=self.clock,
                today=self.today,
                now=self.now,
                opts=self.scheduling,
                timestamp=self.timestamp,
                positions=positions,
            )
            self.col.set_progress(updates, revlog)
        return self.col.next_id()


def _write_full(
    conn: sqlite3.Connection,
    flt: CardFilter,
    builder: Builder,
    media: MediaBundle,
    out: Path,
    writer: _NoteWriter,
    *,
    sources: bool,
) -> list[tuple[int, str, bytes]]:
    """Build every note into a new collection, a batch at a time, dated by the package now at
    ``out``; with ``sources``, what the export cache records of the cards."""
    built_from: list[tuple[int, str, bytes]] = []
    with writer.col.indexes_dropped():
        previous = PreviousPackage(out)
        builder.positions.assign(previous.conf_value(CONF_KEY))
        next_id = first_row_id(writer.timestamp)
        try:
            for built, by_guid_ord, batch_sources in _full_build(
                conn, flt, builder, media, previous, writer.scheduling is not None, sources
            ):
                next_id = writer.write(built, by_guid_ord, next_id)
                built_from.extend(batch_sources)
        finally:
            previous.close()
    return built_from


def _write_incremental(
    conn: sqlite3.Connection, flt: CardFilter, plan: CachePlan, builder: Builder, writer: _NoteWriter
) -> list[int]:
    """Build the notes of the changed cards again into the cached collection; the ids of the cards
    built again.

    A note built the same as the cached one stays as it was (its cards too, unless they carry
    scheduling that may have changed): an export that changes nothing writes the same package,
    and a package changes only where its notes do.
    """
    col, decks = writer.col, writer.decks.decks
    cards = list_cards(conn, replace(flt, ids=tuple(plan.card_ids))) if plan.card_ids else []
    old = col.old_notes([n for ns in plan.nids.values() for n in ns])
    before = {o.guid: (o.fields, o.tags, o.mod) for o in old.values()}
    built, by_guid_ord = builder.build(cards)
    built = dated(built, lambda _: before, builder.now)
    keep: set[int] = set()
    for b in built:
        was = plan.nids.get(b.key, [])
        if (
            (writer.scheduling is None or b.key in plan.recheck)
            and len(was) == 1
            and old.get(was[0]) == as_row(b, decks.get(b.deck, decks[builder.root]).deck_id)
        ):
            keep.add(was[0])
            writer.notes_made.append((b.key, was[0], b.volatile))
    kept_keys = {k for k, _, _ in writer.notes_made}
    built = [b for b in built if b.key not in kept_keys]
    col.delete_notes([n for n in old if n not in keep])
    if built:
        writer.write(built, by_guid_ord, max(first_row_id(writer.timestamp), col.next_id()))
    return [c.id for c in cards]


def _write_out(
    out: Path, collection: bytes | None, plan: CachePlan | None, media: MediaBundle, timestamp: float
) -> None:
    """Zip the built collection (None: the cached one) and the media into the package at ``out``."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SrsError(f"{out.parent}: cannot create the folder ({exc.strerror})") from None
    if collection is None:
        assert plan is not None
        collection = plan.collection.read_bytes()
    write_package(collection, media.files, out, timestamp)


# --- a full build, spread over the cores -----------------------------------------------------


def _full_build(
    conn: sqlite3.Connection,
    flt: CardFilter,
    builder: Builder,
    media: MediaBundle,
    previous: PreviousPackage,
    scheduling: bool,
    sources: bool,
) -> Iterator[tuple[list[Built], dict[tuple[str, int], CardView], list[tuple[int, str, bytes]]]]:
    """A full build's notes, their cards by ``(GUID, ordinal)`` and (with ``sources``) what the
    export cache records of those cards (``export_cache.sources``, read in the same transaction
    as the cards), a batch at a time in export order. Notes are dated by ``previous`` here.

    From ``PARALLEL_EXPORT_MIN`` cards on, with more than one core and a database file, forked
    workers build shares of the cards, each from an empty builder state, while this process
    writes the shares before. A share is taken in as if built here (its block ids, images,
    render-cache entries and diagnostics join this process's), unless a block id or an image
    name it chose was already taken by an earlier share: then it is built again here, as a
    build in one process would have built it. The package is the same either way
    (tests/test_export_parallel.py).
    """
    from ..core.workers import fork_map, fork_workers

    now = builder.now
    db = database_file(conn)
    workers = fork_workers() if db else 1
    shares = card_id_batches(conn, flt, batch=EXPORT_SHARE) if workers > 1 else []
    if sum(map(len, shares)) < PARALLEL_EXPORT_MIN or len(shares) <= 1:  # (a lone share runs here)
        with reading(conn):
            for batch in iter_cards(conn, flt, batch=EXPORT_BATCH):
                built, by_guid_ord = builder.build(batch)
                yield (
                    dated(built, previous.of, now),
                    by_guid_ord,
                    _sources(conn, flt, batch, scheduling) if sources else [],
                )
        return
    fanout = _Fanout(db, flt, shares, builder, media, scheduling, sources)
    models = {m.model_id: m for m in (builder.basic, builder.cloze, *builder.origins.models.values())}
    bounds = [(k, k + 1) for k in range(len(shares))]
    for k, share in enumerate(fork_map(_build_share, fanout, bounds, workers=workers)):
        if share.blocks & builder.used_blocks or not media.merge(share.media):
            with reading(conn):
                batch = list_cards(conn, replace(flt, ids=shares[k]))
                built, by_guid_ord = builder.build(batch)
                yield (
                    dated(built, previous.of, now),
                    by_guid_ord,
                    _sources(conn, flt, batch, scheduling) if sources else [],
                )
            continue
        builder.used_blocks |= share.blocks
        builder.diagnostics += share.diagnostics
        builder.fresh += share.fresh
        builder.renderer.used |= share.used
        for b in share.built:
            b.note.model = models[b.note.model]
        yield dated(share.built, previous.of, now), share.by_guid_ord, share.sources


def _sources(
    conn: sqlite3.Connection, flt: CardFilter, cards: Sequence[CardView], scheduling: bool
) -> list[tuple[int, str, bytes]]:
    """What the export cache records of ``cards`` (``export_cache.sources``)."""
    return export_cache.sources(conn, flt, [c.id for c in cards], scheduling=scheduling)


@dataclass
class _Fanout:
    """What the forked workers of a parallel full build read (they inherit it)."""

    db: str
    flt: CardFilter
    shares: list[tuple[int, ...]]
    builder: Builder
    media: MediaBundle
    scheduling: bool
    sources: bool
    conn: sqlite3.Connection | None = None


@dataclass
class _Share:
    """One share of a parallel full build, as a worker sends it back."""

    built: list[Built]
    """Its notes, each with its model's id for its model (the model is set again on arrival)."""
    by_guid_ord: dict[tuple[str, int], CardView]
    """Its cards by ``(GUID, ordinal)`` (only when scheduling is exported)."""
    blocks: set[str]
    diagnostics: list[Diagnostic]
    fresh: list[tuple[str, str]]
    used: set[str]
    media: MediaShare
    sources: list[tuple[int, str, bytes]]
    """What the export cache records of its cards (``export_cache.sources``), if it is kept."""


def _build_share(job: _Fanout, a: int, b: int) -> _Share:
    """Build the shares ``a..b`` of ``job`` (in a forked worker), from an empty builder state."""
    if job.conn is None:  # a worker's first share: its own connection (the parent's must not be used here)
        job.conn = open_reader(job.db)
        job.builder.conn = job.conn
    builder, renderer = job.builder, job.builder.renderer
    builder.used_blocks, builder.diagnostics, builder.fresh, renderer.used = set(), [], [], set()
    job.media.start_share()
    with reading(job.conn):
        cards = [c for ids in job.shares[a:b] for c in list_cards(job.conn, replace(job.flt, ids=ids))]
        built, by_guid_ord = builder.build(cards)
        sources = _sources(job.conn, job.flt, cards, job.scheduling) if job.sources else []
    for x in built:
        x.note.model = x.note.model.model_id
    return _Share(
        built,
        by_guid_ord if job.scheduling else {},
        builder.used_blocks,
        builder.diagnostics,
        builder.fresh,
        renderer.used,
        job.media.share(),
        sources,
    )
