"""Side by side with ankdown: Markdown to an Anki package, whole process, the same cards.

    python benchmarks/bench_vs_ankdown.py [--kind short|prose|both] [--notes 2000] [--cards 10] [--repeat 5]

Installs ankdown (0.7.1, from PyPI) into a temporary venv, generates the synthetic
vaults (``short``: benchmarks/synth.py, one-line cards; ``prose``:
benchmarks/synth_prose.py, long prose with math, list answers and code in every
note), writes the same questions and answers in ankdown's format
(``front % back ---``), then runs, interleaved so that both see the same machine
load:

- ``ankdown -r DIR -p out.apkg`` (Markdown -> .apkg, no database), and
- ``mlsys-srs export anki`` on an empty database (a cold sync that parses prose,
  links and tags and writes the review database, then the export).

Prints each median (wall time, and CPU time of the process and its workers) and the
ratio mlsys-srs / ankdown (target <= 1.0). ankdown runs as it does by default: no
code highlighting (``--highlight`` is its option); mlsys-srs always highlights.
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


def ankdown_copy(vault: Path, out: Path) -> int:
    """The vault's cards in ankdown's format, one file per note; returns the number of cards."""
    from mlsys_srs.sync import read_vault

    notes, _ = read_vault(vault)
    n = 0
    for note in notes:
        blocks = []
        for card in note.cards:
            if card.kind == "cloze":
                continue  # ankdown has no cloze syntax
            blocks.append(f"{card.question}\n\n%\n\n{card.answer}\n")
            n += 1
        if blocks:
            target = out / note.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("\n---\n\n".join(blocks), encoding="utf-8")
    return n


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``cmd``; its wall time and CPU time (user + system, its children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(kind: str, work: Path, venv: Path, notes: int, cards: int, repeat: int) -> None:
    """Time both tools on the ``kind`` of vault, interleaved; print the medians."""
    vault = work / f"vault-{kind}"
    MAKERS[kind](vault, notes, cards)
    plain = work / f"ankdown-vault-{kind}"
    n_cards = ankdown_copy(vault, plain)
    env = {
        **os.environ,
        "MLSYS_SRS_CONFIG": str(work / "none.toml"),
        "XDG_DATA_HOME": str(work / "data"),
        "XDG_CACHE_HOME": str(work / "cache"),  # each run writes its own export cache, as a first export does
    }
    ours, theirs = [], []
    for i in range(repeat):
        theirs.append(
            timed(
                [str(venv / "bin" / "ankdown"), "-r", str(plain), "-p", str(work / f"a-{kind}{i}.apkg")], env
            )
        )
        db = work / f"db-{kind}{i}.sqlite"
        ours.append(
            timed(
                [
                    *(sys.executable, "-m", "mlsys_srs", "--vault", str(vault), "--db", str(db)),
                    *("export", "anki", "-o", str(work / f"m-{kind}{i}.apkg")),
                ],
                env,
            )
        )
    o, t = statistics.median(w for w, _ in ours), statistics.median(w for w, _ in theirs)
    oc, tc = statistics.median(c for _, c in ours), statistics.median(c for _, c in theirs)
    print(
        f"{kind} vault: {notes} notes, {n_cards} Q/A cards for ankdown (mlsys-srs also reads the clozes), "
        f"{repeat} runs"
    )
    print(f"  ankdown 0.7.1:                          {t:.2f} s ({tc:.2f} s CPU)")
    print(f"  mlsys-srs export anki, empty database:  {o:.2f} s ({oc:.2f} s CPU)")
    print(f"  ratio mlsys-srs / ankdown:              {o / t:.2f} (target <= 1.0; CPU {oc / tc:.2f})")
    print(f"  runs, ours:   {' '.join(f'{w:.2f}' for w, _ in ours)}")
    print(f"  runs, theirs: {' '.join(f'{w:.2f}' for w, _ in theirs)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=["short", "prose", "both"], default="both")
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--cards", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlsys-srs-vs-ankdown-"))
    try:
        venv = work / "ankdown-venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "ankdown==0.7.1"], check=True)
        for kind in ("short", "prose") if a.kind == "both" else (a.kind,):
            compare(kind, work, venv, a.notes, a.cards, a.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
