"""Reconcile a vault with the review database while keeping every card's identity.

``sync_vault`` walks the vault, reads only notes whose size or mtime changed,
re-parses only notes whose content hash changed, and matches each parsed card
to a stored one (docs/format.md, "Card identity"):

1. the block id (``^srs-7f3a9c``) with direction and cloze number, anywhere;
2. the fingerprint within the same note;
3. the fingerprint anywhere in the vault (a card moved to another note);
4. the most similar unmatched card of the same note, above ``SIMILARITY``.

A stored card is matched at most once. Matched cards keep their id and review
history; unmatched parsed cards are added; stored cards left unmatched are
retired (never deleted) and come back if they reappear. All database writes of
one sync happen in a single transaction.

Modules, in the order the data flows: ``walk`` (files and ``read_vault``),
``parallel`` (parsing over the cores), ``match`` (identity), ``rows`` (the rows
written for a parsed note), ``apply`` (the phases of ``sync_vault``), ``cold``
(the one-pass first sync of an empty database), ``block_ids``
(``write_block_ids``, the only code that writes to notes).
"""

from typing import TYPE_CHECKING, Any

from .apply import MassRetire, SyncReport, sync_vault
from .match import SIMILARITY
from .walk import (
    Progress,
    VaultFile,
    check_vault,
    content_hash,
    decode_note,
    duplicate_block_ids,
    read_vault,
    walk_vault,
)

__all__ = [
    "SIMILARITY",
    "MassRetire",
    "Progress",
    "SyncReport",
    "VaultFile",
    "check_vault",
    "content_hash",
    "decode_note",
    "duplicate_block_ids",
    "read_vault",
    "sync_vault",
    "walk_vault",
    "write_block_ids",
]

if TYPE_CHECKING:
    from .block_ids import write_block_ids


def __getattr__(name: str) -> Any:
    # ``write_block_ids`` (sync --write-ids) on first use: every sync imports this package.
    if name == "write_block_ids":
        from .block_ids import write_block_ids

        return write_block_ids
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
