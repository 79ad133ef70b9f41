"""Identities that mean the same thing on every device: card uids and event ids.

A database row id is local: after ``rebuild`` or on another machine the same
integer can name another card. A card's ``uid`` is derived, when the card is
first seen, from what every device sees: its block id (with direction and
cloze number) when it has one, else its note path and fingerprint. Two devices
that first see the same version of a note derive the same uid; where they saw
different versions, journal events also carry the card's current key (block
id, or path and fingerprint, and its question), so they still match, and the
device that knew the card later adopts the uid the journal gives it.

Event ids are ULIDs (time-ordered, 128-bit, Crockford base32), made here
rather than with a ULID package: the one on PyPI costs 130 ms of start-up,
more than the whole budget of a grade.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def event_id(at: datetime, entropy: bytes | None = None) -> str:
    """A ULID for an event at ``at``: 48 bits of milliseconds, then 80 random bits."""
    ms = int(at.timestamp() * 1000)
    if not 0 <= ms < 1 << 48:
        raise ValueError(f"time out of ULID range: {at}")
    rand = entropy if entropy is not None else os.urandom(10)
    if len(rand) != 10:
        raise ValueError("a ULID has 80 bits of entropy")
    value = (ms << 80) | int.from_bytes(rand, "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def card_uid(path: str, fingerprint: str, block_id: str | None, direction: str, cloze: int | None) -> str:
    """The uid a card gets when it is first seen (16 hex digits)."""
    if block_id:
        basis = f"block\0{block_id}\0{direction}\0{cloze or 0}"
    else:
        basis = f"card\0{path}\0{fingerprint}"
    return hashlib.blake2b(basis.encode(), digest_size=8).hexdigest()


def salted(uid: str, n: int) -> str:
    """The ``n``-th alternative to a uid already taken (two identical cards in one note)."""
    return uid if n == 0 else hashlib.blake2b(f"{uid}\0{n}".encode(), digest_size=8).hexdigest()


def legacy_card_id(uid: str) -> int | None:
    """The local id a card had before uids existed (``L42`` -> 42), else None."""
    if uid.startswith("L") and uid[1:].isdigit():
        return int(uid[1:])
    return None
