"""``import anki`` speed: a 20,000-card collection with 200,000 reviews moves in.

Builds an Anki collection with the ``anki`` package (basic notes, reversed
notes and two-deletion cloze notes in nested decks, HTML fields), writes ten
review-log rows per card over a year, exports it as a ``.colpkg`` (as File >
Export does), then times whole ``mlsys-srs import anki`` processes into an
empty vault:

- the first import: read the package, write one Markdown note per deck, sync
  the new notes, turn 200,000 revlog rows into journal events and replay every
  card's history;
- the second import of the same package (it must add nothing).

    python benchmarks/bench_import_anki.py [--cards 20000] [--reviews 10] [--runs 1]

Target: under 20 s for the first import.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

NOW = "2026-11-30T12:00:00+00:00"


def build(folder: Path, cards: int, reviews: int) -> Path:
    """A collection of about ``cards`` cards with ``reviews`` revlog rows each; returns the .colpkg."""
    from anki.collection import AddNoteRequest, Collection

    col = Collection(str(folder / "collection.anki2"))
    basic = col.models.by_name("Basic")
    reverse = col.models.by_name("Basic (and reversed card)")
    cloze = col.models.by_name("Cloze")
    decks = [col.decks.id(f"Course::Unit {u}::Part {p}") for u in range(10) for p in range(5)]
    requests = []
    made = i = 0
    while made < cards:
        deck = decks[i % len(decks)]
        kind = i % 3
        if kind == 0:
            note = col.new_note(basic)
            note["Front"] = f"What is <b>concept {i}</b>?<br>Think about it."
            note["Back"] = f"<div>Answer {i}</div><div>with \\(x_{{{i}}}\\) and <code>code_{i}</code></div>"
            made += 1
        elif kind == 1:
            note = col.new_note(reverse)
            note["Front"] = f"term {i}"
            note["Back"] = f"meaning <i>{i}</i>"
            made += 2
        else:
            note = col.new_note(cloze)
            note["Text"] = f"Fact {i}: {{{{c1::alpha {i}}}}} leads to {{{{c2::beta {i}}}}}."
            made += 2
        note.tags = [f"unit{i % 10}", "course::ml"]
        requests.append(AddNoteRequest(note=note, deck_id=deck))
        i += 1
    col.add_notes(requests)
    start = int(datetime(2025, 11, 1, tzinfo=UTC).timestamp() * 1000)
    rows = []
    plan = (3, 3, 3, 1, 3, 4, 3, 2, 3, 3)
    for k, cid in enumerate(col.db.list("SELECT id FROM cards ORDER BY id")):
        at = start + k * 7
        for j in range(reviews):
            kind = 0 if j < 2 else 2 if plan[j % 10 - 1] == 1 else 1
            rows.append((at + j * 30 * 86_400_000, cid, -1, plan[j % 10], 10, 5, 2500, 4000, kind))
    col.db.executemany("INSERT INTO revlog VALUES (?,?,?,?,?,?,?,?,?)", rows)
    out = folder / "collection.colpkg"
    col.export_collection_package(str(out), include_media=False, legacy=False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--reviews", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("mlsys-srs")
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-anki-"))
    try:
        a = time.perf_counter()
        (tmp / "anki").mkdir()
        package = build(tmp / "anki", args.cards, args.reviews)
        print(f"built {package.stat().st_size / 1e6:.1f} MB package in {time.perf_counter() - a:.1f} s")
        firsts, seconds = [], []
        for run in range(args.runs):
            vault = tmp / f"vault{run}"
            vault.mkdir()
            env = {
                **os.environ,
                "MLSYS_SRS_NOW": NOW,
                "MLSYS_SRS_DB": str(tmp / f"srs{run}.db"),
                "MLSYS_SRS_CONFIG": str(tmp / "none.toml"),
                "MLSYS_SRS_DEVICE": "bench",
            }
            cmd = [str(script), "--vault", str(vault), "import", "anki", str(package), "--json"]
            a = time.perf_counter()
            first = json.loads(
                subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
            )
            firsts.append(time.perf_counter() - a)
            a = time.perf_counter()
            second = json.loads(
                subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
            )
            seconds.append(time.perf_counter() - a)
            assert second["events"] == {"reviews": 0, "cram": 0, "resets": 0}, second["events"]
            assert not first["unmatched"], first["unmatched"][:3]
        print(
            f"first import: {min(firsts):.2f} s ({first['cards_matched']} cards, {first['events']['reviews']} reviews, "
            f"{len(first['files'])} notes written, {first['cards_replayed']} cards replayed)"
        )
        print(f"second import (adds nothing): {min(seconds):.2f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
