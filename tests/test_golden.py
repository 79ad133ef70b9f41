"""Golden test: the parser's whole output (cards, links, tags, diagnostics) is unchanged.

The expected JSON was written by tests/golden/dump.py before the parser was made
faster, from a frozen copy of the bundled notes and seeded synthetic vaults.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "golden"
_spec = importlib.util.spec_from_file_location("golden_dump", HERE / "dump.py")
assert _spec and _spec.loader
dump = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dump)

OUTPUTS = dump.outputs()


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_parser_output_is_golden(name: str) -> None:
    expected = (HERE / "expected" / name).read_text(encoding="utf-8")
    assert OUTPUTS[name] + "\n" == expected, f"parser output changed for {name}"
