"""Whole-process sync timings on synthetic vaults (issue 2 targets).

    python benchmarks/bench_sync.py [--kind short|prose] [--notes 2000] [--big 20000] [--repeat 5]

Targets on a 2-core machine: 2,000 notes x 10 cards cold sync < 1 s, no-change
warm sync < 0.2 s; 20,000 notes x 10 cards (200,000 cards) cold sync < 10 s, warm
< 1 s, ``due`` < 0.5 s, peak memory < 300 MB, ``export anki`` after editing one
note < 3 s (the render cache). Each figure is the median of --repeat runs of the
command (Python start-up included); memory is the peak RSS of the children so far.
``--kind prose`` syncs the second kind of vault (benchmarks/synth_prose.py: long prose, math,
list answers and code in every note; 20,000 notes are about 95 MB) instead of synth.py's.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synth import make_vault
from synth_prose import make_prose_vault

MAKERS = {"short": make_vault, "prose": make_prose_vault}


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run mlsys-srs; return (seconds, peak RSS MB of that child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mlsys_srs", *args], env=env, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(after, before) / 1024


def bench(
    notes: int, cards: int, repeat: int, work: Path, export: bool = False, kind: str = "short"
) -> dict[str, float]:
    vault = work / f"vault-{kind}-{notes}"
    if not vault.exists():
        MAKERS[kind](vault, notes, cards)
    env = {
        **os.environ,
        "MLSYS_SRS_CONFIG": str(work / "none.toml"),
        "MLSYS_SRS_VAULT": str(vault),
        "XDG_CACHE_HOME": str(work / "cache"),
    }
    colds, warms, backups, peak = [], [], [], 0.0
    for i in range(repeat):
        db = work / f"db-{notes}-{i}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        env["MLSYS_SRS_DB"] = str(db)
        # Measure each cold run's own peak in a fresh process group via /usr/bin/time-like rusage.
        t, mem = run(["sync", "--quiet"], env)
        colds.append(t)
        peak = max(peak, mem)
        # The first sync after the cold one also makes the day's backup of the database.
        backups.append(run(["sync", "--quiet"], env)[0])
        warms.append(run(["sync", "--quiet"], env)[0])
    dues = [run(["due"], env)[0] for _ in range(repeat)]
    out = {
        "cold_s": statistics.median(colds),
        "warm_s": statistics.median(warms),
        "backup_s": statistics.median(backups),
        "due_s": statistics.median(dues),
        "peak_mb": peak,
    }
    if export:
        # The first export renders every card and fills the render cache; then one note is
        # edited and ``export anki`` (an incremental sync, then the export) is timed.
        apkg = work / f"out-{notes}.apkg"
        out["export_first_s"] = run(["export", "anki", "-o", str(apkg)], env)[0]
        edits = []
        for i in range(repeat):
            note = sorted(vault.rglob("*.md"))[i]
            note.write_text(
                note.read_text(encoding="utf-8") + f"\nEdited {i} :: once more\n", encoding="utf-8"
            )
            edits.append(run(["export", "anki", "-o", str(apkg)], env)[0])
        out["reexport_s"] = statistics.median(edits)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=sorted(MAKERS), default="short")
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--cards", type=int, default=10)
    ap.add_argument("--big", type=int, default=20000, help="notes for the large warm-sync case (0 to skip)")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlsys-srs-bench-"))
    try:
        r = bench(a.notes, a.cards, a.repeat, work, kind=a.kind)
        print(
            f"{a.notes} notes x {a.cards} cards: cold sync {r['cold_s']:.2f} s (target < 1), "
            f"warm sync {r['warm_s']:.3f} s (target < 0.2; with the day's backup {r['backup_s']:.2f} s), due {r['due_s']:.3f} s, "
            f"peak RSS {r['peak_mb']:.0f} MB (target < 200)"
        )
        if a.big:
            big = bench(a.big, a.cards, max(1, a.repeat // 2), work, export=True, kind=a.kind)
            print(
                f"{a.big} notes x {a.cards} cards: cold sync {big['cold_s']:.2f} s (target < 10), "
                f"warm sync {big['warm_s']:.3f} s (target < 1; with the day's backup {big['backup_s']:.2f} s), due {big['due_s']:.3f} s (target < 0.5), "
                f"peak RSS {big['peak_mb']:.0f} MB (target < 300); first export {big['export_first_s']:.2f} s, "
                f"re-export after one edit {big['reexport_s']:.2f} s (target < 3)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
