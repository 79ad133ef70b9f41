"""Incremental exports: what the export cache says to build again, and recording what was built.

The export cache (``store.export_cache``) holds what the last export of a package
was built from, with its collection beside it (``.anki2``). A cached package is
used only when it was built with the same options and neither it nor the
package at its path was touched since; then only the notes whose cards changed
are built again (``CachePlan``), unless so many changed that a full build is
about as fast. Everything here is a cache: a missing, damaged or foreign file,
or a failure to record, only means a full build next time.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ..store import export_cache
from ..store.filters import CardFilter
from .package import file_stamp, write_file

CACHE_MAX_SHARE = 0.3
"""Rebuild the whole package when more than this share of its cards changed (a full build is then
about as fast)."""
CACHE_MAX_CARDS = 20_000
"""... or when more than this many cards are to be built again; up to this many always come
from the cache:"""
CACHE_MIN_CARDS = 1_000
CACHE_MAX_AGE = timedelta(days=90)
"""The caches of other packages no export has used for this long are removed."""


@dataclass
class CachePlan:
    """What the export cache says to build again (see ``store.export_cache``)."""

    collection: Path
    """The cached collection (changed in place)."""
    changed: set[str]
    """Note keys whose cards changed."""
    recheck: set[str]
    """Note keys built again although their cards did not change (kept when built the same)."""
    card_ids: list[int]
    """The cards of those keys now."""
    nids: dict[str, list[int]]
    """Those keys' notes in the cached collection."""


def plan_from_cache(
    conn: sqlite3.Connection,
    cache: Path | None,
    flt: CardFilter,
    options: str,
    out: Path,
    scheduling: bool,
    moved: Callable[[Path], Iterable[str]] | None = None,
) -> CachePlan | None:
    """What to build again, when the cache holds the package at ``out`` built with ``options``
    and few enough of its cards changed; else None (a full build).

    Args:
        moved: Given the cached collection, the keys of the notes to build again although their
            cards did not change (their cards' positions in Anki moved: ``anki.positions``).
    """
    if cache is None:
        return None
    try:
        export_cache.attach(conn, cache)
    except (OSError, sqlite3.Error):
        return None
    try:
        meta = export_cache.read_meta(conn)
        collection = collection_file(cache)
        if (
            meta.get("options") != options
            or meta.get("out") != f"{out}|{file_stamp(out)}"
            or meta.get("collection") != file_stamp(collection)
        ):
            return None
        changed, recheck = export_cache.changed_keys(conn, flt, scheduling=scheduling)
        if moved is not None:
            changed |= set(moved(collection))
            recheck -= changed
        card_ids = export_cache.card_ids_of_keys(conn, flt, changed | recheck)
        total = int(meta.get("cards", "0"))
        if len(card_ids) > min(CACHE_MAX_CARDS, max(CACHE_MIN_CARDS, CACHE_MAX_SHARE * total)):
            return None
        nids = export_cache.note_ids_of_keys(conn, changed | recheck)
        if changed or recheck:
            export_cache.invalidate(conn)  # until saved again: the collection is about to change
        return CachePlan(collection, changed, recheck, card_ids, nids)
    except (sqlite3.Error, ValueError):
        return None
    finally:
        with contextlib.suppress(sqlite3.Error):
            export_cache.detach(conn)


def collection_file(cache: Path) -> Path:
    """The cached collection beside the cache file."""
    return cache.with_suffix(".anki2")


def save_cache(
    conn: sqlite3.Connection,
    cache: Path,
    flt: CardFilter,
    *,
    now: datetime,
    options: str,
    out: Path,
    plan: CachePlan | None,
    collection: bytes | None,
    notes: list[tuple[str, int, bool]],
    rebuilt_ids: list[int] | None,
    built: list[tuple[int, str, bytes]],
    scheduling: bool,
) -> None:
    """Record what the package at ``out`` was built from, after removing the caches of packages no
    export has used for ``CACHE_MAX_AGE`` (a failure only costs a full build next time).

    Args:
        plan: What the cache said to build again (None: a full build).
        collection: A fully built collection, to keep beside the cache (None: the cached one was
            changed in place).
        notes: Each note's key, id in the collection, and whether it is volatile.
        rebuilt_ids: The cards an incremental build built again (None: a full build).
        built: A full build's cards as the cache records them (``export_cache.sources``).
    """
    with contextlib.suppress(OSError):
        export_cache.prune(cache, now, CACHE_MAX_AGE)
    try:
        export_cache.attach(conn, cache)
    except (OSError, sqlite3.Error):
        return
    try:
        if collection is not None:
            export_cache.invalidate(conn)
            write_file(collection_file(cache), collection)
        export_cache.save(
            conn,
            flt,
            scheduling=scheduling,
            meta={
                "options": options,
                "out": f"{out}|{file_stamp(out)}",
                "collection": file_stamp(collection_file(cache)),
            },
            notes=notes,
            card_ids=rebuilt_ids,
            dropped=set() if plan is None else plan.changed | plan.recheck,
            built=built,
        )
    except (OSError, sqlite3.Error):
        with contextlib.suppress(sqlite3.Error):
            export_cache.forget(conn)
    finally:
        with contextlib.suppress(sqlite3.Error):
            export_cache.detach(conn)
