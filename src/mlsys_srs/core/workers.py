"""Helpers for the long batch jobs (a cold sync, a journal merge, an import)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
