"""Parsing many notes at once, spread over the cores for a large cold sync.

``parse_many`` returns exactly what ``[parse_note(text, path) for ...]`` returns, in the
same order. Below ``PARALLEL_MIN`` notes, on one core, or where ``fork`` is not
available, it is that loop. Above it, forked workers each parse one contiguous share
(they inherit the texts; only their results are pickled back) while this process parses
the first share. Pickling a parsed note back costs about a third of parsing it, so small
vaults are parsed here alone.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from ..errors import SrsError
from ..parse import ParsedNote, parse_note

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

PARALLEL_MIN = 1000
"""Notes to parse before workers are worth their start-up and pickling (2 cores, load 2-3:
2,000 notes 0.62 -> 0.43 s, a whole cold sync 1.55 -> 1.34 s; 20,000 notes 6.6 -> 4.8 s)."""
MAX_WORKERS = 4

T = TypeVar("T")

_ITEMS: Sequence[tuple[str, str]] = ()
_HIGHLIGHT = False


def _parse_share(bounds: tuple[int, int]) -> list[ParsedNote]:
    a, b = bounds
    return [parse_note(text, path, highlight_cloze=_HIGHLIGHT) for text, path in _ITEMS[a:b]]


def _worker_start() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _started() -> None:
    """A first task: the pool forks its workers to run it."""


@contextmanager
def _fork_pool(workers: int) -> Iterator[Executor]:
    """A pool of ``workers`` forked processes that leave Ctrl-C to this one.

    Ctrl-C reaches every process of the terminal's group. A worker interrupted in its work
    would print its traceback over the command's one line, so the workers ignore SIGINT;
    this process, interrupted, cancels what has not started and lets the workers finish their
    share and go as it leaves the pool. SIGINT is blocked while they are forked, so one that
    comes before a worker ignores it waits and is then dropped there (and taken here). A
    worker that dies (killed, out of memory) fails the command with one line, not a wait
    that never ends.

    Raises:
        SrsError: a worker died.
    """
    import multiprocessing
    import signal
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"), initializer=_worker_start
    )
    try:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            first = pool.submit(_started)  # forks every worker, and starts the pool's thread, here
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        first.result()
        yield pool
    except BrokenProcessPool:
        raise SrsError(
            "a worker process stopped before its work was done (killed, or out of memory?); nothing was "
            "written, run the command again"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def fork_workers() -> int:
    """How many forked processes work can be spread over here (1: no fork, or one core)."""
    import multiprocessing  # not at import time: a warm sync never starts a worker

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_WORKERS))


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
    global _ITEMS, _HIGHLIGHT
    n = len(items)
    workers = workers_for(n)
    if workers == 1:
        out = []
        for done, (text, path) in enumerate(items, 1):
            out.append(parse_note(text, path, highlight_cloze=highlight_cloze))
            if progress is not None:
                progress(done)
        return out
    share = -(-n // workers)
    bounds = [(i, min(n, i + share)) for i in range(0, n, share)]
    _ITEMS, _HIGHLIGHT = items, highlight_cloze
    try:
        with _fork_pool(len(bounds) - 1) as pool:
            pending = [pool.submit(_parse_share, b) for b in bounds[1:]]
            first: list[ParsedNote] = []
            a, b = bounds[0]
            for done, (text, path) in enumerate(items[a:b], 1):
                first.append(parse_note(text, path, highlight_cloze=highlight_cloze))
                if progress is not None and done % 64 == 0:
                    # Every share moves at about this pace.
                    progress(min(n, done * len(bounds)))
            rest = [f.result() for f in pending]
    finally:
        _ITEMS = ()
    if progress is not None:
        progress(n)
    return first + [note for part in rest for note in part]


def ordered_shares(
    work: Callable[[int, int], T], count: int, *, share: int, workers: int, ahead: int = 2
) -> Iterator[T]:
    """``work(a, b)`` for consecutive shares ``[a, b)`` of ``range(count)``, yielded in order.

    With more than one worker, forked processes run ``work`` (it must be a module-level
    function; what it reads must be in module globals set before the first ``next``) while the
    caller consumes the results; at most ``ahead`` shares per worker are parsed ahead of the
    caller, so a slow consumer never holds more than those. With one worker it all runs here,
    a share at a time. Closing the iterator early stops the workers.
    """
    bounds = [(a, min(count, a + share)) for a in range(0, count, share)]
    if workers <= 1 or len(bounds) <= 1:
        for a, b in bounds:
            yield work(a, b)
        return
    with _fork_pool(workers) as pool:
        waiting = iter(bounds)
        running: deque[Future[T]] = deque()
        for a, b in waiting:
            running.append(pool.submit(work, a, b))
            if len(running) >= workers * ahead:
                break
        while running:
            result = running.popleft().result()
            nxt = next(waiting, None)
            if nxt is not None:
                running.append(pool.submit(work, *nxt))
            yield result
