"""The parser's whole output as JSON, for the golden test (tests/test_golden.py).

    python tests/golden/dump.py            # rewrite the expected files (only on purpose)

Inputs: a frozen copy of the bundled notes (tests/golden/notes/) and two synthetic
vaults from benchmarks/synth.py (fixed seeds). The expected files were written
before the parser was made faster; the test checks the output is unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent / "benchmarks"))

SYNTH = [(1, 60, 10), (7, 40, 12)]  # (seed, notes, cards)


def dump_note(note: Any) -> dict[str, Any]:
    return dataclasses.asdict(note)


def dump_vault(root: Path, highlight_cloze: bool = False) -> list[dict[str, Any]]:
    from mlsys_srs.parse import parse_note

    out = []
    for p in sorted(root.rglob("*.md")):
        rel = p.relative_to(root).as_posix()
        text = p.read_bytes().decode("utf-8")
        out.append(dump_note(parse_note(text, rel, highlight_cloze=highlight_cloze)))
    return out


def outputs() -> dict[str, str]:
    from synth import make_vault

    res: dict[str, str] = {}
    res["notes.json"] = json.dumps(dump_vault(HERE / "notes"), indent=1, sort_keys=True, ensure_ascii=False)
    for seed, notes, cards in SYNTH:
        with tempfile.TemporaryDirectory() as tmp:
            make_vault(Path(tmp), notes, cards, seed)
            res[f"synth-{seed}-{notes}x{cards}.json"] = json.dumps(
                dump_vault(Path(tmp)), indent=1, sort_keys=True, ensure_ascii=False
            )
    return res


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


if __name__ == "__main__":
    for name, text in outputs().items():
        (HERE / "expected" / name).parent.mkdir(parents=True, exist_ok=True)
        (HERE / "expected" / name).write_text(text + "\n", encoding="utf-8")
        print(name, len(text), digest(text)[:12])
