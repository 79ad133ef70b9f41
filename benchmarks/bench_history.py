"""Review-journal timings: merging another device's journal, and a warm sync with journals on.

    python benchmarks/bench_history.py [--notes 2000] [--events 100000] [--repeat 5]

Targets (2-core machine, whole process): `sync` that merges 100,000 journal events
from another device < 3 s (CPU time, with its forked worker, is printed too: the steadier figure on
a loaded machine); a warm `sync` (nothing changed) with journals on at
2,000 notes < 0.4 s. The other device's journal is written by answering cards with
random answers to random cards, as events in its own journal file.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synth import make_vault

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def write_other_device(vault: Path, work: Path, events: int, seed: int) -> int:
    """Answer cards on 'phone' until its journal holds ``events`` reviews; return how many."""
    from mlsys_srs.core.identity import event_id
    from mlsys_srs.history.journal import Event, Journal
    from mlsys_srs.history.merge import key_of
    from mlsys_srs.store import open_db
    from mlsys_srs.store.events import keyed_cards
    from mlsys_srs.sync import sync_vault

    scratch = open_db(work / "phone.db", START)
    sync_vault(scratch, vault, START)
    cards = keyed_cards(scratch)
    scratch.close()
    rng = random.Random(seed)
    journal = Journal(vault / ".mlsys-srs" / "journal", "phone")
    batch: list[Event] = []
    t = START
    for n in range(events):
        card = cards[rng.randrange(len(cards))]
        t += timedelta(seconds=rng.randint(20, 600))
        batch.append(
            Event(event_id(t), "review", t, "phone", key_of(card), {"rating": rng.choice((1, 3, 3, 3, 4))})
        )
        if len(batch) == 5000 or n == events - 1:
            journal.append(batch)
            batch = []
    return events


def timed(args: list[str], env: dict[str, str]) -> float:
    return timed_cpu(args, env)[0]


def timed_cpu(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, with the command's forked workers) of one command."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mlsys_srs", *args], env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--cards", type=int, default=10)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlsys-srs-bench-history-"))
    try:
        vault = work / "vault"
        make_vault(vault, a.notes, a.cards)
        env = {
            **os.environ,
            "MLSYS_SRS_CONFIG": str(work / "none.toml"),
            "MLSYS_SRS_VAULT": str(vault),
            "MLSYS_SRS_DEVICE": "laptop",
            "XDG_DATA_HOME": str(work / "data"),
            "MLSYS_SRS_NOW": (START + timedelta(days=400)).isoformat(),
        }
        timed(["sync", "--quiet"], env)  # the laptop's database, before the phone's journal arrives
        warm = statistics.median(timed(["sync", "--quiet"], env) for _ in range(a.repeat))
        n = write_other_device(vault, work, a.events, 1)
        merge, merge_cpu = timed_cpu(["sync", "--quiet"], env)
        after = statistics.median(timed(["sync", "--quiet"], env) for _ in range(a.repeat))
        print(f"{a.notes} notes x {a.cards} cards, journals on: warm sync {warm:.3f} s (target < 0.4)")
        print(
            f"merge {n:,} events from another device: sync {merge:.2f} s, {merge_cpu:.2f} s of CPU (target < 3)"
        )
        print(f"warm sync after the merge: {after:.3f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
