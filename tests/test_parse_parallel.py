"""Parsing over the cores gives the same notes, in the same order, as parsing one by one."""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

import pytest

from mlsys_srs.parse import parse_note
from mlsys_srs.sync import parallel

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from synth import make_vault


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_parse_many_over_workers_equals_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_vault(tmp_path, 90, 6, seed=3)
    items = [
        (p.read_text(encoding="utf-8"), p.relative_to(tmp_path).as_posix())
        for p in sorted(tmp_path.rglob("*.md"))
    ]
    items.append(("Q: tight\nA: {{c1::x}} ==hi==\n", "extra.md"))
    for highlight in (False, True):
        serial = [parse_note(text, path, highlight_cloze=highlight) for text, path in items]
        monkeypatch.setattr(parallel, "workers_for", lambda n: 3)
        seen: list[int] = []
        spread = parallel.parse_many(items, highlight_cloze=highlight, progress=seen.append)
        monkeypatch.undo()
        assert spread == serial
        assert seen[-1] == len(items) and seen == sorted(seen)
