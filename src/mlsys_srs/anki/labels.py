"""What a note shows in Anki besides its text: deck names, tags, and the Source link back to the vault.

- Decks are ``<root>::<NN> <Domain Title>``: a domain's words title-cased,
  acronyms kept in their own case (``ml-systems`` -> ``ML Systems``), numbered
  like the folder its notes start in (``04-distributed-systems/`` ->
  ``MLSys::04 Distributed Systems``), so that Anki, which introduces new cards
  deck by deck in the order of their names, takes the domains in learning order
  (numbered folders first, by number; a domain whose first folder has no number
  keeps its plain title, which sorts after the numbered ones).
- Tags are Anki-safe: no spaces, nested ``a/b`` as ``a::b``; the domain is one.
- Source is ``path:line``, a link that opens the note in Obsidian when the
  vault is an Obsidian vault (it has an ``.obsidian/`` folder).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from ..store.cards import CardView

_ACRONYMS = (
    "ML LLM LLMs GPU GPUs CPU CPUs TPU SQL NoSQL CUDA KV RL AI NLP API OS HPC RPC IO "
    "MLOps LLMOps RAG DL CV DB DBMS HTTP TCP UDP IP DNS AWS GCP K8s SIMD SSD RAM HBM "
    "FPGA ASIC JIT JAX XLA NCCL MPI RDMA CAP ACID SRE"
)
ACRONYMS = {w.lower(): w for w in _ACRONYMS.split()}
"""Words kept in their own case in deck titles (``ml-systems`` -> ``ML Systems``)."""
_SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "for", "in", "of", "on", "or", "the", "to", "vs"})


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


_FOLDER_NUMBER_RE = re.compile(r"^(\d+)[-_. ]*(?=[^\d\s])")


def folder_number(path: str) -> int | None:
    """The number of the top folder of a note's path (``04-distributed-systems/raft.md`` -> 4); None
    for a note at the top of the vault or a folder without a number prefix (or all number)."""
    top, sep, _ = path.partition("/")
    m = _FOLDER_NUMBER_RE.match(top) if sep else None
    return int(m.group(1)) if m else None


def deck_name(root: str, domain: str, number: int | None = None) -> str:
    """The Anki deck of a domain's cards: ``MLSys::04 Distributed Systems`` (``number``: of the folder
    the domain's notes start in), ``MLSys::Distributed Systems`` without one."""
    title = deck_title(domain)
    return f"{root}::{number:02d} {title}" if number is not None else f"{root}::{title}"


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


def strict_line_breaks(vault: Path) -> bool:
    """Obsidian's "strict line breaks" setting (off by default: a single newline is a break)."""
    try:
        settings = json.loads((vault / ".obsidian" / "app.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(settings, dict) and settings.get("strictLineBreaks") is True
