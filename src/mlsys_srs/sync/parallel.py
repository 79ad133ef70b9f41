"""Parsing many notes at once, spread over the cores for a large cold sync.

``parse_many`` returns exactly what ``[parse_note(text, path) for ...]`` returns, in the
same order. Below ``PARALLEL_MIN`` notes, on one core, or where ``fork`` is not
available, it is that loop. Above it, forked workers each parse one contiguous share
(they inherit the texts; only their results are pickled back) while this process parses
the first share. Pickling a parsed note back costs about a third of parsing it, so small
vaults are parsed here alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..core.workers import fork_map, fork_workers, shares
from ..parse import ParsedNote

PARALLEL_MIN = 1000
"""Notes to parse before workers are worth their start-up and pickling (2 cores, load 2-3:
2,000 notes 0.62 -> 0.43 s, a whole cold sync 1.55 -> 1.34 s; 20,000 notes 6.6 -> 4.8 s)."""


def _parse_share(job: tuple[Sequence[tuple[str, str]], bool], a: int, b: int) -> list[ParsedNote]:
    from ..parse import parse_note  # imported before the fork, by parse_many

    items, highlight = job
    return [parse_note(text, path, highlight_cloze=highlight) for text, path in items[a:b]]


def workers_for(count: int) -> int:
    """How many processes would parse ``count`` notes (1: this one alone)."""
    return 1 if count < PARALLEL_MIN else fork_workers()


def parse_many(
    items: Sequence[tuple[str, str]],
    *,
    highlight_cloze: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[ParsedNote]:
    """Parse ``(text, path)`` pairs; ``progress(done)`` is called as notes are parsed."""
    if not items:
        return []  # a warm sync with nothing changed: the parser is not even imported
    from ..parse import parse_note

    n = len(items)
    workers = workers_for(n)
    if workers == 1:
        out = []
        for done, (text, path) in enumerate(items, 1):
            out.append(parse_note(text, path, highlight_cloze=highlight_cloze))
            if progress is not None:
                progress(done)
        return out
    parsed: list[ParsedNote] = []
    for part in fork_map(
        _parse_share,
        (items, highlight_cloze),
        shares(n, -(-n // workers)),
        workers=workers - 1,
        here_first=True,
    ):
        parsed += part
        if progress is not None:
            progress(len(parsed))
    return parsed
