"""Anki packages (``.apkg``) of the review database's cards, written with genanki.

What makes the package behave well in Anki:

- Fixed note-type ids (``mlsys-srs Basic``: Front, Back, Context, Source;
  ``mlsys-srs Cloze``: Text, Extra, Context, Source), so every export lands on
  the same note types.
- A note GUID derived from the card's identity, never from its text: a basic
  card's id, a cloze paragraph's block id (else its lowest card id). Re-importing
  after an edit updates the note instead of adding a duplicate.
- A note's modification time is when its content last changed, not the
  export time: Anki updates a note on import only if it is newer, so a
  re-import updates exactly the notes that changed (a card's text changed
  since, or its fields or tags differ from the previous package at the same
  path) and leaves the others, and any edits made to them in Anki, alone. A
  note the same as in the previous package keeps its time from there.
- Re-exports are incremental (``store.export_cache``): the collection written
  last time is kept in the user cache folder, and only the notes whose cards
  changed are built again; the package equals what a full build writes, row ids
  aside (tests/test_export_cache.py).
- A full build of 4,000 cards or more is spread over the cores: forked workers
  build shares of 1,000 cards while this process writes the shares before; the
  package is the one a build in one process writes, ids included
  (tests/test_export_parallel.py).
- Decks ``<root>::<Domain Title>`` with ids derived from their names.
- Optional scheduling: genanki writes every card as new, so the card rows are
  rewritten in the package's collection before it is zipped (type, queue, due,
  interval, reps, lapses, and FSRS memory state in ``cards.data``) and the
  review log is copied into ``revlog``. Anki's importer shifts day-based due
  dates by the difference between the package's collection day and its own,
  so the package's collection is created at the start of the export day and
  due dates are written as days from it.

Nothing here prints or reads the clock: the caller passes ``now`` and the
``DayClock`` and renders the returned ``AnkiExport``.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import itertools
import json
import os
import re
import sqlite3
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from .. import __version__
from ..core.fmt import display_path
from ..core.identity import legacy_card_id
from ..core.states import state_of
from ..errors import SrsError
from ..parse.model import Diagnostic
from ..scheduling.memory import DEFAULT_DECAY
from ..store import export_cache
from ..store.cards import CardView, card_id_batches, content_times, iter_cards, list_cards
from ..store.db import dt_from_db
from ..store.events import get_meta
from ..store.filters import CardFilter
from ..store.render_cache import cached_renders, has_renders, save_renders
from ..store.review_log import HistoryRow, review_history
from ..vault.writes import TEMP_SUFFIX

if TYPE_CHECKING:
    from ..render.media import MediaBundle, MediaShare
    from ..scheduling.days import DayClock

GUID_NAMESPACE = "mlsys-srs"
BASIC_MODEL_ID = 1733210001
CLOZE_MODEL_ID = 1733210002
BASIC_MODEL_NAME = "mlsys-srs Basic"
CLOZE_MODEL_NAME = "mlsys-srs Cloze"

# Anki queue numbers (card types are ``CardState.anki_type``).
_QUEUE_SUSPENDED, _QUEUE_LEARN, _QUEUE_REVIEW, _QUEUE_DAY_LEARN = -1, 1, 2, 3
_DEFAULT_EASE = 2500
TEMPLATES_MTIME = 1795305600
"""When the note types' templates and CSS last changed (Unix time). Anki replaces a
note type on import only when this is newer, so a user's own styling survives
re-imports until the templates here change; bump it with them."""
_INT32_MAX = 2**31 - 1

_ACRONYMS = (
    "ML LLM LLMs GPU GPUs CPU CPUs TPU SQL NoSQL CUDA KV RL AI NLP API OS HPC RPC IO "
    "MLOps LLMOps RAG DL CV DB DBMS HTTP TCP UDP IP DNS AWS GCP K8s SIMD SSD RAM HBM "
    "FPGA ASIC JIT JAX XLA NCCL MPI RDMA CAP ACID SRE"
)
ACRONYMS = {w.lower(): w for w in _ACRONYMS.split()}
"""Words kept in their own case in deck titles (``ml-systems`` -> ``ML Systems``)."""
_SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "for", "in", "of", "on", "or", "the", "to", "vs"})

CSS = """\
.card { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
  font-size: 20px; line-height: 1.45; text-align: left; color: #1f2328; background: #fff; }
.nightMode.card, .nightMode .card { color: #e6e6e6; background: #1e1e1e; }
.context { font-size: 0.7em; color: #777; margin-bottom: 0.8em; }
.source { font-size: 0.65em; color: #888; margin-top: 1.2em; }
.source a { color: inherit; }
pre { background: #f6f8fa; color: #1f2328; padding: 0.6em 0.8em; border-radius: 6px;
  overflow-x: auto; font-size: 0.8em; line-height: 1.35; }
code { font-family: "JetBrains Mono", Menlo, Consolas, monospace; font-size: 0.9em; }
img { max-width: 100%; }
table { border-collapse: collapse; }
td, th { border: 1px solid #bbb; padding: 0.2em 0.5em; }
.tag { font-size: 0.7em; color: #777; }
.cloze { font-weight: bold; color: #0b57d0; }
.nightMode .cloze { color: #8ab4f8; }
"""
_CONTEXT = '{{#Context}}<div class="context">{{Context}}</div>{{/Context}}\n'
_SOURCE = '\n{{#Source}}<div class="source">{{Source}}</div>{{/Source}}'
BASIC_TEMPLATES = [
    {
        "name": "Card 1",
        "qfmt": _CONTEXT + '<div class="front">{{Front}}</div>',
        "afmt": '{{FrontSide}}\n<hr id="answer">\n<div class="back">{{Back}}</div>' + _SOURCE,
    }
]
CLOZE_TEMPLATES = [
    {
        "name": "Cloze",
        "qfmt": _CONTEXT + '<div class="text">{{cloze:Text}}</div>',
        "afmt": _CONTEXT
        + '<div class="text">{{cloze:Text}}</div>\n{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}'
        + _SOURCE,
    }
]


@dataclass(frozen=True)
class SchedulingOptions:
    """What Anki needs besides the card rows to carry FSRS progress."""

    desired_retention: float = 0.9
    decay: float = DEFAULT_DECAY
    learning_steps: int = 2
    relearning_steps: int = 1


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


# --- names, ids, tags ----------------------------------------------------------------------


@lru_cache(maxsize=1024)
def deck_title(domain: str) -> str:
    """A domain as a deck title: ``distributed-systems`` -> ``Distributed Systems``, ``ml-systems`` -> ``ML Systems``."""
    words = [w for w in re.split(r"[-_\s]+", domain.strip()) if w]
    out = []
    for i, word in enumerate(words):
        low = word.lower()
        if low in ACRONYMS:
            out.append(ACRONYMS[low])
        elif i > 0 and low in _SMALL_WORDS:
            out.append(low)
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out) or "General"


def deck_name(root: str, domain: str) -> str:
    """The Anki deck of a domain's cards: ``MLSys::Distributed Systems``."""
    return f"{root}::{deck_title(domain)}"


def stable_id(name: str) -> int:
    """A deck id derived from its name (Anki matches decks by name; the id just stays put)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return (1 << 30) + int.from_bytes(digest, "big") % (1 << 30)


@lru_cache(maxsize=8192)
def anki_tag(tag: str) -> str:
    """A tag as Anki accepts it: no spaces, nested ``a/b`` as ``a::b``."""
    tag = re.sub(r"\s+", "_", tag.strip().lstrip("#"))
    return "::".join(part for part in re.split(r"/|::", tag) if part)


def anki_tags(card: CardView) -> list[str]:
    """The card's tags plus its domain, Anki-safe, sorted and unique."""
    tags = {anki_tag(t) for t in (*card.tags, card.domain)}
    tags.discard("")
    return sorted(tags)


def source_field(note: str, line: int, vault_name: str | None) -> str:
    """A link back to the note: ``obsidian://open`` for an Obsidian vault, else ``path:line``."""
    where = f"{note}:{line}"
    if vault_name is None:
        return escape(where, quote=False)
    file = note[:-3] if note.lower().endswith(".md") else note
    uri = f"obsidian://open?vault={quote(vault_name, safe='')}&file={quote(file, safe='')}"
    return f'<a href="{escape(uri)}">{escape(where, quote=False)}</a>'


_BASE91 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"


def guid_for(*values: object) -> str:
    """genanki's ``guid_for``, computed faster (the same GUIDs; tests/test_export_bulk.py checks):
    the first 8 bytes of SHA-256 of the values joined by ``__``, in Anki's base 91."""
    digest = hashlib.sha256("__".join(str(v) for v in values).encode("utf-8")).digest()
    n = int.from_bytes(digest[:8], "big")
    out: list[str] = []
    while n > 0:
        n, r = divmod(n, 91)
        out.append(_BASE91[r])
    return "".join(reversed(out))


def basic_guid(uid: str) -> str:
    """The GUID of a basic card's note: from the card's uid (the same on every device), so edits
    update it in Anki. Cards from before uids (``L<id>``) keep the GUID they were exported with."""
    legacy = legacy_card_id(uid)
    if legacy is not None:
        return guid_for(GUID_NAMESPACE, "card", legacy)
    return guid_for(GUID_NAMESPACE, "uid", uid)


def cloze_guid(block_id: str | None, uids: Iterable[str]) -> str:
    """The GUID of a cloze paragraph's note: its block id, else its cards' lowest uid (as above,
    cards from before uids keep the GUID of their lowest old id)."""
    if block_id:
        return guid_for(GUID_NAMESPACE, "block", block_id)
    uids = list(uids)
    legacy = [n for n in (legacy_card_id(u) for u in uids) if n is not None]
    if legacy and len(legacy) == len(uids):
        return guid_for(GUID_NAMESPACE, "cloze", min(legacy))
    return guid_for(GUID_NAMESPACE, "cloze-uid", min(uids))


def _strict_line_breaks(vault: Path) -> bool:
    """Obsidian's "strict line breaks" setting (off by default: a single newline is a break)."""
    try:
        settings = json.loads((vault / ".obsidian" / "app.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(settings, dict) and settings.get("strictLineBreaks") is True


# --- notes -------------------------------------------------------------------------------


@dataclass
class _Note:
    cloze: bool
    cards: list[CardView]
    guid: str = ""


ANKI_BLOCK_PREFIX = "anki-"


def guid_of_block(block_id: str | None) -> str | None:
    """The Anki GUID a moved-in note's block id spells (``importers.anki.anki_block_id``), else None."""
    if not block_id or not block_id.startswith(ANKI_BLOCK_PREFIX):
        return None
    try:
        guid = bytes.fromhex(block_id[len(ANKI_BLOCK_PREFIX) :]).decode("utf-8")
    except ValueError:
        return None
    return guid if guid.isprintable() and 0 < len(guid) <= 64 else None


def _group_notes(cards: Sequence[CardView], used_blocks: set[str] | None = None) -> list[_Note]:
    """One note per basic card; one per cloze paragraph (its cards share note, line and source).

    Args:
        used_blocks: The block ids earlier paragraphs took (for cards passed a batch at a time).
    """
    notes: list[_Note] = []
    paragraphs: dict[tuple[int, int, str], _Note] = {}
    for card in cards:
        if card.kind != "cloze":
            # A card that moved in from Anki goes back as the note it came from (its forward side:
            # the reverse of a ::: card is its own basic note here).
            own = guid_of_block(card.block_id) if card.direction == "forward" else None
            notes.append(_Note(False, [card], own or basic_guid(card.uid)))
            continue
        key = (card.note_id, card.line, card.source)
        if key not in paragraphs:
            paragraphs[key] = _Note(True, [])
            notes.append(paragraphs[key])
        paragraphs[key].cards.append(card)
    if used_blocks is None:
        used_blocks = set()
    for note in paragraphs.values():
        block = note.cards[0].block_id
        # A block id copied into two paragraphs must not merge them into one Anki note.
        if block in used_blocks:
            block = None
        if block:
            used_blocks.add(block)
        note.guid = guid_of_block(block) or cloze_guid(block, (c.uid for c in note.cards))
    return notes


def note_guids(cards: Sequence[CardView]) -> dict[tuple[str, int], CardView]:
    """``(note GUID, card ordinal) -> card``: what an export names each card in Anki.

    Pass every card, retired ones too: an import matches Anki's notes back to
    cards by these GUIDs.
    """
    out: dict[tuple[str, int], CardView] = {}
    for note in _group_notes(cards):
        for card in note.cards:
            out[(note.guid, (card.cloze or 1) - 1 if note.cloze else 0)] = card
    return out


# --- scheduling --------------------------------------------------------------------------


def _memory_data(card: CardView, opts: SchedulingOptions) -> str:
    if card.stability is None or card.difficulty is None:
        return ""
    data: dict[str, float | int] = {
        "s": round(card.stability, 4),
        "d": round(min(max(card.difficulty, 1.0), 10.0), 3),
        "dr": round(opts.desired_retention, 2),
        "decay": round(opts.decay, 4),
    }
    if card.last_review is not None:
        data["lrt"] = int(card.last_review.timestamp())
    return json.dumps(data, separators=(",", ":"))


def anki_card_row(
    card: CardView, *, clock: DayClock, today: date, now: datetime, opts: SchedulingOptions
) -> tuple[int, int, int, int, int, int, int, int, str]:
    """Anki's ``(type, queue, due, ivl, factor, reps, lapses, left, data)`` for a card's state.

    Day-based due dates count days from ``today`` (the package's collection is
    created at its start); intraday learning is due at a Unix time.
    """
    ctype = st.anki_type if (st := state_of(card.state)) else 0
    due_at = card.due or now
    if card.state == "review":
        queue, due = _QUEUE_REVIEW, (clock.day_of(due_at) - today).days
        if card.last_review is not None:
            ivl = (clock.day_of(due_at) - clock.day_of(card.last_review)).days
        else:
            ivl = round(card.stability or 1)
        ivl, factor, left = max(1, ivl), _DEFAULT_EASE, 0
    elif card.state in ("learning", "relearning"):
        steps = opts.learning_steps if card.state == "learning" else opts.relearning_steps
        left = max(1, steps - (card.step or 0))  # Anki counts the steps still to go
        if clock.day_of(due_at) <= today:
            queue, due = _QUEUE_LEARN, int(due_at.timestamp())
        else:
            queue, due = _QUEUE_DAY_LEARN, (clock.day_of(due_at) - today).days
        relearning = card.state == "relearning"
        ivl, factor = (1, _DEFAULT_EASE) if relearning else (0, 0)
    else:
        queue = _QUEUE_SUSPENDED if card.suspended else 0
        return (0, queue, 0, 0, 0, card.reps, card.lapses, 0, "")
    if card.suspended:
        queue = _QUEUE_SUSPENDED
    return (ctype, queue, due, ivl, factor, card.reps, card.lapses, left, _memory_data(card, opts))


def revlog_rows(
    reviews: Iterable[HistoryRow], anki_card_id: int, clock: DayClock, used_ids: set[int]
) -> list[tuple[int, ...]]:
    """Anki revlog rows ``(id, cid, usn, ease, ivl, lastIvl, factor, time, type)`` for one card.

    ``ivl`` is in days for a review outcome and negative seconds for a
    (re)learning step, as Anki writes it; ``factor`` carries FSRS difficulty the
    way Anki's FSRS reviews do.
    """
    out: list[tuple[int, ...]] = []
    last_ivl = 0
    for _, rating, reviewed_at_s, duration_ms, before, after, difficulty, due_after_s in reviews:
        reviewed_at = dt_from_db(reviewed_at_s)
        due_after = dt_from_db(due_after_s)
        assert reviewed_at is not None
        if due_after is None:
            ivl = 0
        elif after == "review":
            ivl = max(1, (clock.day_of(due_after) - clock.day_of(reviewed_at)).days)
        else:
            ivl = -max(1, int((due_after - reviewed_at).total_seconds()))
        factor = round(((difficulty - 1) / 9 + 0.1) * 1000) if difficulty is not None else 0
        rid = int(reviewed_at.timestamp() * 1000)
        while rid in used_ids:
            rid += 1
        used_ids.add(rid)
        taken = min(max(int(duration_ms or 0), 0), _INT32_MAX)
        out.append(
            (
                rid,
                anki_card_id,
                -1,
                int(rating),
                ivl,
                last_ivl,
                factor,
                taken,
                st.anki_revlog_type if (st := state_of(before)) else 0,
            )
        )
        last_ivl = ivl
    return out


# --- package -------------------------------------------------------------------------------


def _models() -> tuple[Any, Any]:
    import genanki

    fields = ("Front", "Back", "Context", "Source")
    basic = genanki.Model(
        BASIC_MODEL_ID,
        BASIC_MODEL_NAME,
        fields=[{"name": f} for f in fields],
        templates=[dict(t) for t in BASIC_TEMPLATES],
        css=CSS,
    )
    cloze = genanki.Model(
        CLOZE_MODEL_ID,
        CLOZE_MODEL_NAME,
        fields=[{"name": f} for f in ("Text", "Extra", "Context", "Source")],
        templates=[dict(t) for t in CLOZE_TEMPLATES],
        css=CSS,
        model_type=genanki.Model.CLOZE,
    )
    return basic, cloze


def check_output(out: Path) -> None:
    """Refuse to replace anything at ``out`` but an Anki package.

    Raises:
        SrsError: ``out`` is a folder, or a file that is not an ``.apkg`` package.
    """
    if not os.path.lexists(out):
        return
    if out.is_dir():
        raise SrsError(f"{display_path(out)}: is a folder; name the .apkg to write")
    if out.suffix.lower() != ".apkg" or not zipfile.is_zipfile(out):
        raise SrsError(
            f"{display_path(out)}: exists and is not an Anki package (.apkg); not overwritten. "
            "Choose another --out"
        )


def _zip_package(collection: bytes, media: dict[str, Path], out: Path, timestamp: float) -> None:
    """Zip the collection and media next to ``out``, then rename it into place."""
    stamp = time.gmtime(max(timestamp, 315532800))[:6]  # zip dates start in 1980
    check_output(out)
    # One temporary name per package: what a killed export left behind is removed here.
    tmp = out.with_name(f".{out.name}{TEMP_SUFFIX}")
    for leftover in (tmp, *out.parent.glob(f".{glob.escape(out.name)}.*.tmp")):
        leftover.unlink(missing_ok=True)
    try:
        with open(tmp, "wb") as fh:
            with zipfile.ZipFile(fh, "w") as z:

                def entry(name: str, compress: int) -> zipfile.ZipInfo:
                    info = zipfile.ZipInfo(name, date_time=stamp)
                    info.compress_type = compress
                    info.external_attr = 0o644 << 16
                    return info

                # Level 1: a third of the default level's time for a package about a tenth larger.
                z.writestr(entry("collection.anki2", zipfile.ZIP_DEFLATED), collection, compresslevel=1)
                names = sorted(media)
                index = {str(i): name for i, name in enumerate(names)}
                z.writestr(entry("media", zipfile.ZIP_DEFLATED), json.dumps(index, ensure_ascii=False))
                for i, name in enumerate(names):
                    with (
                        z.open(entry(str(i), zipfile.ZIP_STORED), "w") as dst,
                        open(media[name], "rb") as src,
                    ):
                        while chunk := src.read(1 << 20):
                            dst.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SrsError(f"{display_path(out)}: cannot write the package ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
class _Built:
    """One Anki note built from cards, ready to write."""

    key: str
    deck: str
    note: _AnkiNote
    mtime: datetime
    volatile: bool


def _note_key(spec: _Note) -> str:
    """The export cache's key of an Anki note (``store.export_cache``): a basic card's id, a cloze
    paragraph's note and line."""
    first = spec.cards[0]
    return f"c{first.note_id}:{first.line}" if spec.cloze else f"b{first.id}"


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
        import genanki

        from ..render.html import MarkdownRenderer
        from ..render.media import MediaBundle

        flt = replace(flt, include_retired=False, only_retired=False)
        obsidian = (vault / ".obsidian").is_dir()
        vault_name = vault.resolve().name if obsidian else None
        media = MediaBundle(vault)
        renderer = MarkdownRenderer(media.add, breaks=obsidian and not _strict_line_breaks(vault))
        root = root_deck.strip() or "MLSys"
        today = clock.today(now)
        timestamp = now.timestamp()
        options = json.dumps(
            {
                "version": __version__,
                "renderer": renderer.cache_key(""),
                "templates": TEMPLATES_MTIME,
                "parse": get_meta(conn, "parse_options"),
                "filter": repr(flt),
                "root": root,
                "vault_name": vault_name,
                "scheduling": None
                if scheduling is None
                else [repr(scheduling), today.isoformat(), clock.rollover_hour],
            },
            sort_keys=True,
        )
        plan = _from_cache(conn, cache, flt, options, out, scheduling is not None)
        basic_model, cloze_model = _models()
        # Decks in the order their first card comes; each model's deck is the last deck holding its notes.
        deck_names: dict[str, tuple[bool, bool]] = {root: (False, False)}
        for domain, has_cloze, has_basic in export_cache.deck_plan(conn, flt):
            name = deck_name(root, domain)
            c0, b0 = deck_names.get(name, (False, False))
            deck_names[name] = (c0 or has_cloze, b0 or has_basic)
        decks = {name: genanki.Deck(stable_id(name), name) for name in deck_names}
        model_decks = {}
        for name, (has_cloze, has_basic) in deck_names.items():
            if has_cloze:
                model_decks[CLOZE_MODEL_ID] = (cloze_model, decks[name].deck_id)
            if has_basic:
                model_decks[BASIC_MODEL_ID] = (basic_model, decks[name].deck_id)
        builder = _Builder(conn, renderer, (basic_model, cloze_model), root, vault_name, now)
        notes_made: list[tuple[str, int, bool]] = []
        rebuilt_ids: list[int] = []
        revlog_ids: list[set[int]] = []  # the collection's review-log ids, read at the first write
        built_from: list[tuple[int, str, bytes]] = []  # a full build's cards for the cache (``sources``)

        def write(
            cur: sqlite3.Cursor, built: list[_Built], by_guid_ord: dict[tuple[str, int], CardView], first: int
        ) -> int:
            """Write built notes with ids from ``first``, and their scheduling; the next free id."""
            by_deck: dict[str, list[_Built]] = {}
            for b in built:
                if b.deck not in decks:  # a card that came in since the decks were planned
                    decks[b.deck] = genanki.Deck(stable_id(b.deck), b.deck)
                    model = b.note.model
                    model_decks.setdefault(model.model_id, (model, decks[b.deck].deck_id))
                by_deck.setdefault(b.deck, []).append(b)
            ordered = [b for name in decks for b in by_deck.get(name, [])]
            nids = _write_notes(
                cur,
                [(decks[name], [b.note for b in by_deck.get(name, [])]) for name in decks],
                timestamp,
                first,
                models_json=False,  # _write_header writes each model with its deck
            )
            notes_made.extend((b.key, nid, b.volatile) for b, nid in zip(ordered, nids, strict=True))
            if scheduling is not None and nids:
                if not revlog_ids:
                    revlog_ids.append({int(r) for (r,) in cur.execute("SELECT id FROM revlog")})
                _write_scheduling(
                    conn,
                    cur,
                    by_guid_ord,
                    nids,
                    used_ids=revlog_ids[0],
                    clock=clock,
                    today=today,
                    now=now,
                    opts=scheduling,
                    timestamp=timestamp,
                )
            return _max_id(cur) + 1

        # A full build happens in memory, a batch of notes at a time; an incremental one changes the
        # cached collection in place.
        db = sqlite3.connect(":memory:" if plan is None else plan.collection, isolation_level=None)
        try:
            cur = db.cursor()
            if plan is None:
                with warnings.catch_warnings():
                    # Fields are HTML we produced; genanki's tag heuristics only add noise.
                    warnings.simplefilter("ignore")
                    # genanki writes the collection and its decks; the notes and cards go in below.
                    genanki.Package(list(decks.values())).write_to_db(cur, timestamp, itertools.count())
                # Rows go in faster with the indexes the build does not read built once, after them.
                indexes = cur.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                    " AND name != 'ix_cards_nid'"  # (writing the scheduling looks cards up by note)
                ).fetchall()
                for name, _ in indexes:
                    cur.execute(f'DROP INDEX "{name}"')
                previous = _PreviousPackage(out)
                next_id = int(timestamp * 1000)
                try:
                    for built, by_guid_ord, sources in _full_build(
                        conn, flt, builder, media, previous, scheduling is not None, cache is not None
                    ):
                        next_id = write(cur, built, by_guid_ord, next_id)
                        built_from.extend(sources)
                finally:
                    previous.close()
                for _, sql in indexes:
                    cur.execute(sql)
            else:
                cur.execute(
                    "PRAGMA synchronous = OFF"
                )  # a cache: a torn file is never used (see _from_cache)
                cur.execute("BEGIN")
                cards = list_cards(conn, replace(flt, ids=tuple(plan.card_ids))) if plan.card_ids else []
                rebuilt_ids = [c.id for c in cards]
                old = _old_notes(cur, [n for ns in plan.nids.values() for n in ns])
                before = {o.guid: (o.fields, o.tags, o.mod) for o in old.values()}
                built, by_guid_ord = builder.build(cards)
                built = dated(built, lambda _: before, now)
                # A note built the same as the cached one stays as it was (its cards too, unless they
                # carry scheduling that may have changed): an export that changes nothing writes the same
                # package, and a package changes only where its notes do.
                keep: set[int] = set()
                for b in built:
                    was = plan.nids.get(b.key, [])
                    if (
                        (scheduling is None or b.key in plan.recheck)
                        and len(was) == 1
                        and old.get(was[0]) == _OldNote.of(b, decks.get(b.deck, decks[root]).deck_id)
                    ):
                        keep.add(was[0])
                        notes_made.append((b.key, was[0], b.volatile))
                kept_keys = {k for k, _, _ in notes_made}
                built = [b for b in built if b.key not in kept_keys]
                _delete_notes(cur, [n for n in old if n not in keep])
                if built:
                    write(cur, built, by_guid_ord, max(int(timestamp * 1000), _max_id(cur) + 1))
            _write_header(cur, decks, model_decks, timestamp, clock, today)
            scheduled, reviews = _scheduling_counts(cur) if scheduling is not None else (0, 0)
            note_count, card_count = cur.execute(
                "SELECT (SELECT count(*) FROM notes), (SELECT count(*) FROM cards)"
            ).fetchone()
            if note_count == 0:
                raise SrsError("no cards to export (is the vault synced, and do the filters match any card?)")
            if plan is None:
                collection: bytes | None = db.serialize()
            else:
                cur.execute("COMMIT")
                collection = None
        finally:
            db.close()

        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SrsError(f"{out.parent}: cannot create the folder ({exc.strerror})") from None
        if collection is None:
            assert plan is not None
            data = plan.collection.read_bytes()
        else:
            data = collection
        _zip_package(data, media.files, out, timestamp)
        del data
        if builder.fresh or renderer.used:
            # A cache: a locked or read-only database only means rendering again next time.
            with contextlib.suppress(sqlite3.Error, SrsError):
                save_renders(conn, builder.fresh, sorted(renderer.used))
        if cache is not None:
            with contextlib.suppress(OSError):
                export_cache.prune(cache, now, CACHE_MAX_AGE)
            _save_cache(
                conn,
                cache,
                flt,
                options,
                out,
                collection,
                notes_made,
                None if plan is None else rebuilt_ids,
                built_from,
                set() if plan is None else plan.changed | plan.recheck,
                scheduling is not None,
            )
        return AnkiExport(
            path=out,
            notes=note_count,
            cards=card_count,
            media=len(media.files),
            decks=tuple(sorted(decks)),
            size=out.stat().st_size,
            with_scheduling=scheduling is not None,
            scheduled_cards=scheduled,
            reviews=reviews,
            diagnostics=tuple(media.diagnostics + builder.diagnostics),
        )


EXPORT_BATCH = 5_000
"""Cards a full build reads, renders and writes at a time (at 200,000 cards, it holds a batch, not all)."""


class _Builder:
    """Builds Anki notes from cards, a batch at a time (a full build) or all at once (incremental)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        renderer: Any,
        models: tuple[Any, Any],
        root: str,
        vault_name: str | None,
        now: datetime,
    ) -> None:
        self.conn = conn
        self.renderer = renderer
        self.basic, self.cloze = models
        self.root = root
        self.vault_name = vault_name
        self.now = now
        self.cached = has_renders(conn)
        self.used_blocks: set[str] = set()
        self.diagnostics: list[Diagnostic] = []
        self.fresh: list[tuple[str, str]] = []
        """Rendered HTML to add to the render cache."""

    def build(self, cards: Sequence[CardView]) -> tuple[list[_Built], dict[tuple[str, int], CardView]]:
        """The notes of ``cards`` (whole notes' cards, in export order), each dated when its content
        last changed (``dated`` then dates it by the package before), and their cards by
        ``(GUID, ordinal)``."""
        renderer, now = self.renderer, self.now
        renderer.cache = (
            cached_renders(
                self.conn,
                renderer.keys_for(
                    text
                    for c in cards
                    for text in ((c.source,) if c.kind == "cloze" else (c.question, c.answer))
                ),
            )
            if self.cached and cards
            else {}
        )
        renderer.fresh = {}
        changed_at = content_times(self.conn, [c.id for c in cards])
        built: list[_Built] = []
        by_guid_ord: dict[tuple[str, int], CardView] = {}
        for spec in _group_notes(cards, self.used_blocks):
            images, warned = renderer.images, len(self.diagnostics)
            first = spec.cards[0]
            context = escape(first.context, quote=False)
            source = source_field(first.note, first.line, self.vault_name)
            if spec.cloze:
                text = renderer.render(first.source, note=first.note, line=first.line)
                note = _AnkiNote(self.cloze, [text, "", context, source], anki_tags(first), spec.guid)
                for card in spec.cards:
                    by_guid_ord[(spec.guid, (card.cloze or 1) - 1)] = card
                if len(note.ords) != len(spec.cards):
                    self.diagnostics.append(
                        Diagnostic(
                            first.note,
                            first.line,
                            f"cloze paragraph has {len(spec.cards)} cards here but {len(note.ords)} in Anki "
                            "(a deletion inside code or a link?)",
                            severity="warning",
                            code="export",
                        )
                    )
            else:
                front = renderer.render(first.question, note=first.note, line=first.line)
                back = renderer.render(first.answer, note=first.note, line=first.line)
                note = _AnkiNote(self.basic, [front, back, context, source], anki_tags(first), spec.guid)
                by_guid_ord[(spec.guid, 0)] = first
            mtime = min(now, max(changed_at.get(c.id, now) for c in spec.cards))
            volatile = renderer.images != images or len(self.diagnostics) != warned
            note.mod = int(mtime.timestamp())
            built.append(_Built(_note_key(spec), deck_name(self.root, first.domain), note, mtime, volatile))
        self.fresh.extend(renderer.fresh.items())
        return built, by_guid_ord


def dated(
    built: list[_Built], previous: Callable[[list[str]], dict[str, tuple[str, str, int]]], now: datetime
) -> list[_Built]:
    """``built``, each note that the package before holds dated by it: as it was there when its
    fields and tags are the same, else now (they changed without a text change: a tag, a heading,
    a rename). ``previous`` gives ``GUID -> (fields, tags, time)`` of the package before."""
    before_of = previous([b.note.guid for b in built])
    for b in built:
        before = before_of.get(b.note.guid)
        if before is None:
            continue
        if before[:2] != ("\x1f".join(b.note.fields), " ".join(sorted(b.note.tags))):
            b.mtime = now
        else:
            b.mtime = min(now, datetime.fromtimestamp(before[2], now.tzinfo))
        b.note.mod = int(b.mtime.timestamp())
    return built


EXPORT_SHARE = 1_000
"""Cards a forked worker builds at a time in a parallel full build (small shares keep every core
busy to the end)."""
PARALLEL_EXPORT_MIN = 4_000
"""Cards from which a full build is spread over the cores (below it, forking costs more than it
saves)."""


def _full_build(
    conn: sqlite3.Connection,
    flt: CardFilter,
    builder: _Builder,
    media: MediaBundle,
    previous: _PreviousPackage,
    scheduling: bool,
    sources: bool,
) -> Iterator[tuple[list[_Built], dict[tuple[str, int], CardView], list[tuple[int, str, bytes]]]]:
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
    db = conn.execute("PRAGMA database_list").fetchone()[2]
    workers = fork_workers() if db else 1
    shares = card_id_batches(conn, flt, batch=EXPORT_SHARE) if workers > 1 else []
    if sum(map(len, shares)) < PARALLEL_EXPORT_MIN or len(shares) <= 1:  # (a lone share runs here)
        with _reading(conn):
            for batch in iter_cards(conn, flt, batch=EXPORT_BATCH):
                built, by_guid_ord = builder.build(batch)
                yield (
                    dated(built, previous.of, now),
                    by_guid_ord,
                    _sources(conn, flt, batch, scheduling) if sources else [],
                )
        return
    fanout = _Fanout(db, flt, shares, builder, media, scheduling, sources)
    models = {m.model_id: m for m in (builder.basic, builder.cloze)}
    bounds = [(k, k + 1) for k in range(len(shares))]
    for k, share in enumerate(fork_map(_build_share, fanout, bounds, workers=workers)):
        if share.blocks & builder.used_blocks or not media.merge(share.media):
            with _reading(conn):
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
    return export_cache.sources(conn, flt, [c.id for c in cards], scheduling=scheduling)


@contextlib.contextmanager
def _reading(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: what is read inside it is read from one state of the database (the
    caller's own transaction, if it has one)."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


@dataclass
class _Fanout:
    """What the forked workers of a parallel full build read (they inherit it)."""

    db: str
    flt: CardFilter
    shares: list[tuple[int, ...]]
    builder: _Builder
    media: MediaBundle
    scheduling: bool
    sources: bool
    conn: sqlite3.Connection | None = None


@dataclass
class _Share:
    """One share of a parallel full build, as a worker sends it back."""

    built: list[_Built]
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
        job.conn = sqlite3.connect(job.db, isolation_level=None)
        job.conn.execute("PRAGMA query_only = ON")
        job.builder.conn = job.conn
    builder, renderer = job.builder, job.builder.renderer
    builder.used_blocks, builder.diagnostics, builder.fresh, renderer.used = set(), [], [], set()
    job.media.start_share()
    with _reading(job.conn):
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


class _PreviousPackage:
    """The package already at a path, looked up by GUID a batch at a time."""

    def __init__(self, path: Path) -> None:
        self.db: sqlite3.Connection | None = None
        if not path.is_file():
            return
        try:
            with zipfile.ZipFile(path) as z:
                data = z.read("collection.anki2")
            self.db = sqlite3.connect(":memory:")
            self.db.deserialize(data)
            self.db.execute("CREATE INDEX IF NOT EXISTS ix_guid ON notes (guid)")
        except (OSError, KeyError, zipfile.BadZipFile, sqlite3.Error):
            self.close()

    def of(self, guids: Sequence[str]) -> dict[str, tuple[str, str, int]]:
        """``guid -> (fields, tags, modification time)`` of those ``guids`` the package holds."""
        if self.db is None:
            return {}
        try:
            rows = self.db.execute(
                "SELECT guid, flds, tags, mod FROM notes WHERE guid IN (SELECT value FROM json_each(?))",
                (json.dumps(list(guids)),),
            ).fetchall()
        except sqlite3.Error:
            return {}
        return {guid: (flds, " ".join(sorted(tags.split())), int(mod)) for guid, flds, tags, mod in rows}

    def close(self) -> None:
        """Let the package go."""
        if self.db is not None:
            self.db.close()
            self.db = None


def _out_stamp(out: Path) -> str:
    """The size and modification time of the package at ``out`` ("" when there is none)."""
    try:
        st = out.stat()
    except OSError:
        return ""
    return f"{st.st_size}:{st.st_mtime_ns}"


@dataclass
class _CachePlan:
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


def _from_cache(
    conn: sqlite3.Connection, cache: Path | None, flt: CardFilter, options: str, out: Path, scheduling: bool
) -> _CachePlan | None:
    """What to build again, when the cache holds the package at ``out`` built with ``options``
    and few enough of its cards changed; else None (a full build)."""
    if cache is None:
        return None
    try:
        export_cache.attach(conn, cache)
    except (OSError, sqlite3.Error):
        return None
    try:
        meta = export_cache.read_meta(conn)
        collection = _collection_file(cache)
        if (
            meta.get("options") != options
            or meta.get("out") != f"{out}|{_out_stamp(out)}"
            or meta.get("collection") != _out_stamp(collection)
        ):
            return None
        changed, recheck = export_cache.changed_keys(conn, flt, scheduling=scheduling)
        card_ids = export_cache.card_ids_of_keys(conn, flt, changed | recheck)
        total = int(meta.get("cards", "0"))
        if len(card_ids) > min(CACHE_MAX_CARDS, max(CACHE_MIN_CARDS, CACHE_MAX_SHARE * total)):
            return None
        nids = export_cache.note_ids_of_keys(conn, changed | recheck)
        if changed or recheck:
            export_cache.invalidate(conn)  # until saved again: the collection is about to change
        return _CachePlan(collection, changed, recheck, card_ids, nids)
    except (sqlite3.Error, ValueError):
        return None
    finally:
        with contextlib.suppress(sqlite3.Error):
            export_cache.detach(conn)


def _collection_file(cache: Path) -> Path:
    """The cached collection beside the cache file."""
    return cache.with_suffix(".anki2")


def _save_cache(
    conn: sqlite3.Connection,
    cache: Path,
    flt: CardFilter,
    options: str,
    out: Path,
    collection: bytes | None,
    notes: list[tuple[str, int, bool]],
    card_ids: list[int] | None,
    built: list[tuple[int, str, bytes]],
    dropped: set[str],
    scheduling: bool,
) -> None:
    """Record what the package at ``out`` was built from (a failure only costs a full build next time).

    Args:
        collection: A fully built collection, to keep beside the cache (None: the cached one was
            changed in place).
    """
    try:
        export_cache.attach(conn, cache)
    except (OSError, sqlite3.Error):
        return
    try:
        if collection is not None:
            export_cache.invalidate(conn)
            _write_file(_collection_file(cache), collection)
        export_cache.save(
            conn,
            flt,
            scheduling=scheduling,
            meta={
                "options": options,
                "out": f"{out}|{_out_stamp(out)}",
                "collection": _out_stamp(_collection_file(cache)),
            },
            notes=notes,
            card_ids=card_ids,
            dropped=dropped,
            built=built,
        )
    except (OSError, sqlite3.Error):
        with contextlib.suppress(sqlite3.Error):
            export_cache.forget(conn)
    finally:
        with contextlib.suppress(sqlite3.Error):
            export_cache.detach(conn)


def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    tmp = path.with_name(f".{path.name}{TEMP_SUFFIX}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _max_id(cur: sqlite3.Cursor) -> int:
    """The largest note or card id in a collection."""
    row = cur.execute(
        "SELECT max(ifnull((SELECT max(id) FROM notes), 0), ifnull((SELECT max(id) FROM cards), 0))"
    )
    return int(row.fetchone()[0])


class _OldNote(NamedTuple):
    """A note of the cached collection, as far as a rebuilt note must equal it to be kept."""

    guid: str
    mid: int
    fields: str
    tags: str
    mod: int
    cards: frozenset[tuple[int, int]]
    """``(deck id, ordinal)`` of its cards."""

    @classmethod
    def of(cls, b: _Built, deck_id: int) -> _OldNote:
        """What a freshly built note would be as a row."""
        return cls(
            b.note.guid,
            b.note.model.model_id,
            "\x1f".join(b.note.fields),
            " ".join(sorted(b.note.tags)),
            int(b.mtime.timestamp()),
            frozenset((deck_id, o) for o in b.note.ords),
        )


def _old_notes(cur: sqlite3.Cursor, nids: Sequence[int]) -> dict[int, _OldNote]:
    """The collection's notes ``nids`` by id."""
    ids = json.dumps(list(nids))
    cards: dict[int, set[tuple[int, int]]] = {}
    for nid, did, ord_ in cur.execute(
        "SELECT nid, did, ord FROM cards WHERE nid IN (SELECT value FROM json_each(?))", (ids,)
    ):
        cards.setdefault(nid, set()).add((did, ord_))
    return {
        nid: _OldNote(guid, mid, flds, " ".join(sorted(tags.split())), mod, frozenset(cards.get(nid, ())))
        for nid, guid, mid, flds, tags, mod in cur.execute(
            "SELECT id, guid, mid, flds, tags, mod FROM notes WHERE id IN (SELECT value FROM json_each(?))",
            (ids,),
        )
    }


def _delete_notes(cur: sqlite3.Cursor, nids: Sequence[int]) -> None:
    """Remove notes, their cards and their cards' review log from a collection."""
    ids = json.dumps(list(nids))
    cur.execute(
        "DELETE FROM revlog WHERE cid IN (SELECT id FROM cards WHERE nid IN (SELECT value FROM json_each(?)))",
        (ids,),
    )
    cur.execute("DELETE FROM cards WHERE nid IN (SELECT value FROM json_each(?))", (ids,))
    cur.execute("DELETE FROM notes WHERE id IN (SELECT value FROM json_each(?))", (ids,))


def _write_header(
    cur: sqlite3.Cursor,
    decks: dict[str, Any],
    model_decks: dict[int, tuple[Any, int]],
    timestamp: float,
    clock: DayClock,
    today: date,
) -> None:
    """Write the collection's ``col`` row: its decks, the note types (each with the deck it was
    last used in), the scheduler settings and the collection's creation day."""
    import genanki

    fresh = sqlite3.connect(":memory:")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            genanki.Package(list(decks.values())).write_to_db(fresh.cursor(), timestamp, itertools.count())
        row = fresh.execute("SELECT * FROM col").fetchone()
        names = [d[0] for d in fresh.execute("SELECT * FROM col").description]
    finally:
        fresh.close()
    col = dict(zip(names, row, strict=True))
    conf = json.loads(col["conf"])
    conf.update({"schedVer": 2, "rollover": clock.rollover_hour})
    models = json.loads(col["models"])
    models.update({str(mid): model.to_json(timestamp, did) for mid, (model, did) in model_decks.items()})
    for model in models.values():
        model["mod"] = TEMPLATES_MTIME
    col.update(
        crt=int(clock.day_start(today).timestamp()),
        conf=json.dumps(conf, sort_keys=True),
        models=json.dumps(models, sort_keys=True),
    )
    if cur.execute("SELECT * FROM col").fetchall() == [tuple(col.values())]:
        return  # as it was: an export that changed nothing writes the same bytes
    cur.execute("DELETE FROM col")
    cur.execute(
        f"INSERT INTO col ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", list(col.values())
    )


def _scheduling_counts(cur: sqlite3.Cursor) -> tuple[int, int]:
    """Cards with progress and review-log rows in a collection."""
    row = cur.execute("SELECT (SELECT count(*) FROM cards WHERE type != 0), (SELECT count(*) FROM revlog)")
    scheduled, reviews = row.fetchone()
    return int(scheduled), int(reviews)


class _AnkiNote:
    """One Anki note as genanki's ``Note`` would write it, without its per-note overhead."""

    __slots__ = ("fields", "guid", "mod", "model", "ords", "tags")

    def __init__(self, model: Any, fields: list[str], tags: list[str], guid: str) -> None:
        self.model = model
        self.fields = fields
        self.tags = tags
        self.guid = guid
        self.ords = _card_ords(model, fields)
        self.mod: int | None = None
        """The note's modification time (None: the export's)."""


def _card_ords(model: Any, fields: list[str]) -> list[int]:
    """The card ordinals genanki makes for a note (``Note.cards``), in its order."""
    if model.model_type == model.CLOZE:
        # As genanki's Note._cloze_cards: the {{cN::}} numbers of the fields the template reads.
        card_ords: set[int] = set()
        qfmt = model.templates[0]["qfmt"]
        names = set(
            re.findall(r"{{[^}]*?cloze:(?:[^}]?:)*(.+?)}}", qfmt) + re.findall("<%cloze:(.+?)%>", qfmt)
        )
        for name in names:
            idx = next((i for i, f in enumerate(model.fields) if f["name"] == name), -1)
            value = fields[idx] if idx >= 0 else ""
            card_ords.update(int(m) - 1 for m in _CLOZE_NUMBER_RE.findall(value) if int(m) > 0)
        return list(card_ords)
    return [o for o, op, req in _requirements(model) if op(fields[i] for i in req)]


@lru_cache(maxsize=8)
def _requirements(model: Any) -> list[tuple[int, Any, list[int]]]:
    """genanki's ``model._req`` (which fields each card needs), worked out once per model."""
    ops = {"any": any, "all": all}
    return [(o, ops[any_or_all], req) for o, any_or_all, req in model._req]


_CLOZE_NUMBER_RE = re.compile(r"{{c(\d+)::.+?}}", re.DOTALL)


def _write_notes(
    cur: sqlite3.Cursor,
    decks: list[tuple[Any, list[_AnkiNote]]],
    timestamp: float,
    first_id: int | None = None,
    *,
    models_json: bool = True,
) -> list[int]:
    """Write the notes and cards and each model's JSON exactly as genanki's ``Package.write_to_db``
    does (same ids from the same counter, same rows, same order), in two statements.

    Args:
        first_id: Where the ids count from (default: the timestamp in milliseconds, as genanki).
        models_json: Also record the models in the ``col`` row (False: the caller writes them).

    Returns:
        The note ids, in the order of the notes.
    """
    ids = itertools.count(int(timestamp * 1000) if first_id is None else first_id)
    nids: list[int] = []
    mod = int(timestamp)
    notes: list[tuple[Any, ...]] = []
    cards: list[tuple[Any, ...]] = []
    models: dict[int, Any] = {}
    for deck, deck_list in decks:
        for note in deck_list:
            models[note.model.model_id] = (note.model, deck.deck_id)
        for note in deck_list:
            nid = next(ids)
            nids.append(nid)
            fields = note.fields
            notes.append(
                (
                    nid,
                    note.guid,
                    note.model.model_id,
                    mod if note.mod is None else note.mod,
                    -1,
                    " " + " ".join(note.tags) + " ",
                    "\x1f".join(fields),
                    fields[note.model.sort_field_index],
                    0,
                    0,
                    "",
                )
            )
            for o in note.ords:
                cards.append((next(ids), nid, deck.deck_id, o, mod, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ""))
    if models_json:
        (stored_json,) = cur.execute("SELECT models FROM col").fetchone()
        stored = json.loads(stored_json)
        stored.update({str(mid): model.to_json(timestamp, did) for mid, (model, did) in models.items()})
        cur.execute("UPDATE col SET models = ?", (json.dumps(stored),))
    cur.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?)", notes)
    cur.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards)
    return nids


def _write_scheduling(
    conn: sqlite3.Connection,
    cur: sqlite3.Cursor,
    by_guid_ord: dict[tuple[str, int], CardView],
    nids: Sequence[int],
    *,
    used_ids: set[int],
    clock: DayClock,
    today: date,
    now: datetime,
    opts: SchedulingOptions,
    timestamp: float,
) -> None:
    """Rewrite the card rows of the notes ``nids`` with each card's progress and fill their revlog.

    Args:
        used_ids: The ids in the collection's revlog (the new rows' ids are added to it).
    """
    history = review_history(conn, [c.id for c in by_guid_ord.values()])
    updates: list[tuple[Any, ...]] = []
    revlog: list[tuple[int, ...]] = []
    rows = cur.execute(
        "SELECT cards.id, notes.guid, cards.ord FROM cards JOIN notes ON notes.id = cards.nid"
        " WHERE notes.id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(nids)),),
    )
    for anki_id, guid, ord_ in rows.fetchall():
        card = by_guid_ord.get((guid, ord_))
        if card is None or (card.state == "new" and not card.suspended):
            continue
        row = anki_card_row(card, clock=clock, today=today, now=now, opts=opts)
        updates.append((*row, int(timestamp), anki_id))
        revlog.extend(revlog_rows(history.get(card.id, ()), anki_id, clock, used_ids))
    cur.executemany(
        "UPDATE cards SET type = ?, queue = ?, due = ?, ivl = ?, factor = ?, reps = ?, lapses = ?, left = ?,"
        " data = ?, mod = ? WHERE id = ?",
        updates,
    )
    cur.executemany("INSERT INTO revlog VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", revlog)
