"""Long batch jobs: spreading work over forked processes, and pausing the cyclic collector.

``fork_map`` is the one way work is shared out over the cores (a cold sync's parsing, a
journal merge's replay, a full Anki export). The payload a job reads (texts, events, a
builder) is handed to the workers when they are forked: they inherit it in memory, nothing
is pickled but each share's result, and no caller keeps it in a module global.
"""

from __future__ import annotations

import gc
import os
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..errors import SrsError

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

MAX_WORKERS = 4
"""At most this many forked processes, whatever the core count."""

P = TypeVar("P")
T = TypeVar("T")


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a batch job.

    A big sync or merge allocates millions of objects that live to its end
    (parsed notes, rows, schedules) and makes no reference cycles; each full
    collection walks all of them, which makes the job superlinear. Reference
    counting still frees everything; the collector is back on afterwards.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@contextmanager
def cyclic_gc_deferred() -> Iterator[Callable[[], None]]:
    """Pause Python's cyclic garbage collector through a start-up; yields ``resume``.

    ``review`` allocates the day's queue (tens of thousands of tuples, no cycles) and imports
    its screen before the first card is drawn; a full collection walking all of it would
    delay the first question by some 30 ms. ``resume`` (called once the first card is on
    screen, and on leaving the block) freezes what exists into the collector's permanent
    generation, so later collections in the session skip it, and turns the collector back on.
    """
    was_on = gc.isenabled()
    done = False

    def resume() -> None:
        nonlocal done
        if not done:
            done = True
            gc.freeze()
            if was_on:
                gc.enable()

    gc.disable()
    try:
        yield resume
    finally:
        resume()


def fork_workers() -> int:
    """How many forked processes work can be spread over here (1: no fork, or one core)."""
    import multiprocessing  # not at import time: a warm sync never starts a worker

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_WORKERS))


class _Job(Generic[P, T]):
    """The work and payload of the pool this process was forked for (set in the worker only)."""

    def __init__(self, work: Callable[[P, int, int], T], payload: P) -> None:
        self.work = work
        self.payload = payload


_job: _Job[Any, Any] | None = None
"""In a forked worker, the job it was forked for; ``None`` in every other process."""


def _worker_start(job: _Job[Any, Any]) -> None:
    import signal

    global _job
    _job = job
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _run_share(a: int, b: int) -> Any:
    assert _job is not None, "a share runs only in a forked worker"
    return _job.work(_job.payload, a, b)


def _started() -> None:
    """A first task: the pool forks its workers to run it."""


@contextmanager
def _fork_pool(workers: int, job: _Job[Any, Any]) -> Iterator[Executor]:
    """A pool of ``workers`` forked processes that inherit ``job`` and leave Ctrl-C to this one.

    Ctrl-C reaches every process of the terminal's group. A worker interrupted in its work
    would print its traceback over the command's one line, so the workers ignore SIGINT;
    this process, interrupted, cancels what has not started and lets the workers finish their
    share and go as it leaves the pool. SIGINT is blocked while they are forked, so one that
    comes before a worker ignores it waits and is then dropped there (and taken here). A
    worker that dies (killed, out of memory) fails the command with one line, not a wait
    that never ends. With the fork start method the initializer's arguments are inherited,
    not pickled.

    Raises:
        SrsError: a worker died.
    """
    import multiprocessing
    import signal
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"), initializer=_worker_start, initargs=(job,)
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


def fork_map(
    work: Callable[[P, int, int], T],
    payload: P,
    bounds: list[tuple[int, int]],
    *,
    workers: int,
    here_first: bool = False,
    ahead: int = 2,
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[T]:
    """``work(payload, a, b)`` for each share ``(a, b)`` of ``bounds``, yielded in order.

    With more than one worker, forked processes run ``work`` (a module-level function) on the
    payload they inherited, while the caller consumes the results; at most ``ahead`` shares per
    worker run ahead of the caller, so a slow consumer never holds more than those. With
    ``here_first`` this process computes the first share itself while the workers start on the
    rest (so one worker already spreads the work over two cores). ``meanwhile``: other work of
    the caller's that this process does once the workers are started, before any share of its
    own (without workers: first). With no worker, one worker and no ``here_first``, or one
    share, it all runs here, a share at a time. Closing the iterator early stops the workers.

    Raises:
        SrsError: a worker died (nothing the caller had not consumed is yielded).
    """
    if workers < 1 or (workers == 1 and not here_first) or len(bounds) <= 1:
        if meanwhile is not None:
            meanwhile()
        for a, b in bounds:
            yield work(payload, a, b)
        return
    rest = bounds[1:] if here_first else bounds
    with _fork_pool(min(workers, len(rest)), _Job(work, payload)) as pool:
        waiting = iter(rest)
        running: deque[Future[T]] = deque()
        for a, b in waiting:
            running.append(pool.submit(_run_share, a, b))
            if len(running) >= workers * ahead:
                break
        if meanwhile is not None:
            meanwhile()
        if here_first:
            yield work(payload, *bounds[0])
        while running:
            result = running.popleft().result()
            nxt = next(waiting, None)
            if nxt is not None:
                running.append(pool.submit(_run_share, *nxt))
            yield result


def shares(count: int, size: int, start: int = 0) -> list[tuple[int, int]]:
    """Consecutive ``(a, b)`` bounds of ``range(start, count)``, each ``size`` long (the last shorter)."""
    size = max(1, size)
    return [(a, min(count, a + size)) for a in range(start, count, size)]
