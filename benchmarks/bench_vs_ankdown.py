"""Side by side with ankdown: Markdown to an Anki package, whole process, the same cards.

    python benchmarks/bench_vs_ankdown.py [--notes 2000] [--cards 10] [--repeat 5]

Installs ankdown (0.7.1, from PyPI) into a temporary venv, generates the synthetic
vault (benchmarks/synth.py), writes the same questions and answers in ankdown's
format (``front % back ---``), then runs, interleaved so that both see the same
machine load:

- ``ankdown -r DIR -p out.apkg`` (Markdown -> .apkg, no database), and
- ``mlsys-srs export anki`` on an empty database (a cold sync that parses prose,
  links and tags and writes the review database, then the export).

Prints each median and the ratio mlsys-srs / ankdown (target <= 1.0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synth import make_vault


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


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--cards", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlsys-srs-vs-ankdown-"))
    try:
        venv = work / "ankdown-venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "ankdown==0.7.1"], check=True)
        vault = work / "vault"
        make_vault(vault, a.notes, a.cards)
        plain = work / "ankdown-vault"
        cards = ankdown_copy(vault, plain)
        env = {
            **os.environ,
            "MLSYS_SRS_CONFIG": str(work / "none.toml"),
            "XDG_DATA_HOME": str(work / "data"),
            "XDG_CACHE_HOME": str(
                work / "cache"
            ),  # each run writes its own export cache, as a first export does
        }
        ours, theirs = [], []
        for i in range(a.repeat):
            theirs.append(
                timed([str(venv / "bin" / "ankdown"), "-r", str(plain), "-p", str(work / f"a{i}.apkg")], env)
            )
            db = work / f"db{i}.sqlite"
            ours.append(
                timed(
                    [
                        *(sys.executable, "-m", "mlsys_srs", "--vault", str(vault), "--db", str(db)),
                        *("export", "anki", "-o", str(work / f"m{i}.apkg")),
                    ],
                    env,
                )
            )
        o, t = statistics.median(ours), statistics.median(theirs)
        print(
            f"{a.notes} notes, {cards} Q/A cards for ankdown (mlsys-srs also reads the clozes), {a.repeat} runs"
        )
        print(f"ankdown 0.7.1:                          {t:.2f} s")
        print(f"mlsys-srs export anki, empty database:  {o:.2f} s")
        print(f"ratio mlsys-srs / ankdown:              {o / t:.2f} (target <= 1.0)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
