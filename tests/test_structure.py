"""The shape of the package: modules stand alone, SQL lives in store/, each table's columns are written once."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mlsys_srs
from mlsys_srs.store.schema import CARD_COLUMNS, CARD_SCHEDULE_COLUMNS, CARD_TEXT_COLUMNS, TABLES

PACKAGE = Path(mlsys_srs.__file__).parent
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages([str(PACKAGE)], prefix="mlsys_srs.")
    if not m.name.endswith("__main__")
)


def test_every_module_is_listed() -> None:
    assert "mlsys_srs.cli.context" in MODULES
    assert "mlsys_srs.store.cards" in MODULES
    assert len(MODULES) > 30


def test_every_module_imports_on_its_own_in_a_fresh_interpreter() -> None:
    # One interpreter per module: an import cycle shows only when a module is imported first.
    script = (
        "import importlib, subprocess, sys\n"
        "bad = []\n"
        "for name in sys.argv[1:]:\n"
        "    r = subprocess.run([sys.executable, '-c', f'import {name}'], capture_output=True, text=True)\n"
        "    if r.returncode:\n"
        "        bad.append(name + ': ' + r.stderr.strip().splitlines()[-1])\n"
        "print('\\n'.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, *MODULES], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


SQL_CALL = re.compile(r"\.(execute|executemany|executescript)\(")


def test_no_sql_on_our_database_outside_store() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("store/"):
            continue
        # SQL on Anki's schema (a collection written by an export, read by an import) lives in one module.
        if rel == "anki/collection.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if SQL_CALL.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []


def test_column_lists_equal_the_schema_of_record() -> None:
    from sqlmodel import SQLModel

    import mlsys_srs.store.models  # noqa: F401  (registers the tables)

    for name, columns in TABLES.items():
        table = SQLModel.metadata.tables[name]
        assert tuple(c.name for c in table.columns) == columns, name


def test_the_generated_ddl_is_current() -> None:
    # store/ddl.py is the runtime's copy of the models: `python -m mlsys_srs.store.models --ddl` writes it.
    from mlsys_srs.store.models import DDL_MODULE, ddl_module_text

    assert DDL_MODULE.read_text(encoding="utf-8") == ddl_module_text(), (
        "store/ddl.py is out of date: run python -m mlsys_srs.store.models --ddl"
    )


@pytest.mark.parametrize("run", [CARD_TEXT_COLUMNS, CARD_SCHEDULE_COLUMNS], ids=["text", "schedule"])
def test_named_card_columns_are_a_run_of_the_card_table(run: tuple[str, ...]) -> None:
    start = CARD_COLUMNS.index(run[0])
    assert CARD_COLUMNS[start : start + len(run)] == run


def test_card_syntax_regexes_live_in_parse_only() -> None:
    # Wikilinks, tags and fences are recognised by parse/; other modules import its regexes.
    patterns = [r"\\\[\\\[", r"```\+\|~~~\+", r"\(!\?\)\\\["]
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("parse/"):
            continue
        text = path.read_text()
        for pat in patterns:
            for m in re.finditer(r're\.compile\((r?"[^"]*")', text):
                if re.search(pat, m.group(1)):
                    offenders.append(f"{rel}: {m.group(1)}")
    assert offenders == []


@pytest.mark.parametrize("name", ["LEECH_TAG"])
def test_constants_are_defined_once(name: str) -> None:
    hits = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if re.search(rf"^{name}\s*=", path.read_text(), re.M)
    ]
    assert hits == ["store/cards.py"]


def test_a_batch_job_pauses_the_cyclic_gc_and_restores_it() -> None:
    import gc

    from mlsys_srs.core.workers import cyclic_gc_paused

    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
