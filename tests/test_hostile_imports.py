"""Hostile packages and notes (``tests/hostile/``): each is one clear line, and a refused package writes nothing.

``tests/hostile/packages.py`` builds the packages (bombs, wrong types, NULLs, bad
JSON, views) with the message each is refused with; ``tests/hostile/notes/`` holds
OSR notes with line breaks the parser does not count, schedules in code and
comments, and schedules out of range, with what ``import osr --strip`` says and
leaves. A hypothesis fuzz throws arbitrary rows at the collection reader.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsys_srs.anki.archive import AnkiImportError, ImportLimits
from mlsys_srs.anki.collection import Collection, open_collection

from .conftest import Cli
from .hostile.packages import (
    DECK,
    MID,
    PACKAGES,
    REVIEWED_MS,
    Spec,
    apkg,
    basic_models,
    deflate_bomb,
    legacy_db,
    media_bomb,
    package,
    schema18_db,
    zstd_bomb,
)

NOW = {"MLSYS_SRS_NOW": "2026-11-30T10:00:00+00:00"}
HOSTILE = Path(__file__).parent / "hostile"
C0_C1 = {chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}


def one_clear_line(result: Any) -> str:
    """The error output of a failed command: one ``error:`` line, no traceback."""
    out = result.output
    assert "Traceback" not in out, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    return str(lines[0])


def vault_state(vault: Path, db: Path) -> tuple[dict[str, Any], list[str]]:
    """Every file (its bytes, a link's target) and folder of the vault, and the database's dump."""
    files: dict[str, Any] = {}
    for p in sorted(vault.rglob("*")):
        rel = p.relative_to(vault).as_posix()
        files[rel] = os.readlink(p) if p.is_symlink() else p.read_bytes() if p.is_file() else "folder"
    conn = sqlite3.connect(db)
    try:
        dump = list(conn.iterdump())
    finally:
        conn.close()
    return files, dump


@pytest.fixture
def synced(run: Cli, vault: Path) -> Cli:
    """A vault with one note, synced (twice: the second command of a day takes the daily backup)."""
    (vault / "gpu.md").write_text("# GPU\n\nQ: How many threads in a warp?\nA: 32\n")
    run("sync", env=NOW)
    run("sync", env=NOW)
    return run


@pytest.fixture
def no_temp_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the import stages in (checked empty by the test)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# --- refused: one line, nothing written -------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_a_hostile_package_is_one_line_and_writes_nothing(
    name: str, synced: Cli, vault: Path, tmp_path: Path, no_temp_left: Path
) -> None:
    build, expected = PACKAGES[name]
    folder = tmp_path / "package"
    folder.mkdir()
    pkg = build(folder)
    before = vault_state(vault, synced.db)
    result = synced("import", "anki", str(pkg), code=1, env=NOW)
    assert one_clear_line(result) == f"error: {pkg}: {expected}"
    assert vault_state(vault, synced.db) == before
    assert list(no_temp_left.iterdir()) == []


# Peak memory is the child's own high-water mark (VmHWM): getrusage's ru_maxrss keeps the forking
# test process's across exec, so it would measure the test run, not the import.
_CHILD = r"""
import sys, time
from mlsys_srs.cli import app
start = time.perf_counter()
code = app(sys.argv[1:], standalone_mode=False)
hwm = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print("MEASURED", code, time.perf_counter() - start, hwm, file=sys.stderr)
"""


def _measured(vault: Path, db: Path, pkg: Path, env: dict[str, str]) -> tuple[int, float, int]:
    """``(exit code, seconds, peak RSS in KiB)`` of ``import anki pkg`` in a fresh interpreter."""
    r = subprocess.run(
        [sys.executable, "-c", _CHILD, "--vault", str(vault), "--db", str(db), "import", "anki", str(pkg)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(line for line in r.stderr.splitlines() if line.startswith("MEASURED"))
    _, code, seconds, rss = line.split()
    return (0 if code == "None" else int(code)), float(seconds), int(rss)


def test_bombs_are_refused_quickly_with_a_small_footprint(tmp_path: Path, isolated_user_dirs: Path) -> None:
    env = {**os.environ, **NOW}
    results = {}
    for name, build in (
        ("valid", apkg),
        ("deflate", deflate_bomb),
        ("zstd", zstd_bomb),
        ("media", media_bomb),
    ):
        folder = tmp_path / name
        (folder / "vault").mkdir(parents=True)
        (folder / "vault" / "a.md").write_text("Q: x\nA: y\n")
        pkg = build(folder)
        results[name] = (pkg.stat().st_size, *_measured(folder / "vault", folder / "srs.db", pkg, env))
    base_rss = results["valid"][3]
    assert results["valid"][1] == 0
    for name in ("deflate", "zstd", "media"):
        _, code, seconds, rss = results[name]
        assert code == 1, name
        assert seconds < 10, (name, seconds)
        # The bombs expand to 1-2 GB; refusing one costs no more memory than a valid import, within 64 MiB.
        assert rss < base_rss + 64 * 1024, (name, rss, base_rss)
    assert results["zstd"][0] < 70_000  # the 66 KB .colpkg of the issue


def test_a_package_over_max_size_is_refused_and_the_flags_raise_the_limits(
    run: Cli, vault: Path, tmp_path: Path
) -> None:
    noise = random.Random(7).randbytes(2 << 20)
    spec = Spec(notes=((1, "hostile01", MID, "", '<img src="noise.bin"><img src="zeros.bin">\x1fback', 0),))
    media = {"0": noise, "1": bytes(8 << 20)}
    pkg = apkg(tmp_path, spec, media_index=json.dumps({"0": "noise.bin", "1": "zeros.bin"}), media=media)
    line = one_clear_line(run("import", "anki", str(pkg), "--max-size", "1M", code=1))
    assert line == (
        f"error: {pkg}: expands to more than 1 MiB, the limit; nothing was imported (raise the limit with --max-size)"
    )
    line = one_clear_line(run("import", "anki", str(pkg), code=1))
    assert "media file zeros.bin (entry 1) expands more than 100:1" in line and "--max-ratio" in line
    assert not (vault / "anki-import").exists()
    run("import", "anki", str(pkg), "--max-ratio", "2000", "--max-size", "64M")
    assert (vault / "anki-import" / "media" / "zeros.bin").stat().st_size == 8 << 20
    assert run("import", "anki", str(pkg), "--max-size", "lots", code=2).exit_code == 2


# --- taken, made safe ---------------------------------------------------------------------------


def test_media_and_deck_names_become_safe_file_names_and_valid_yaml(
    run: Cli, vault: Path, tmp_path: Path
) -> None:
    deck = "Evil\x1b[31m/x::..::b/c\u2028d::CON"
    fields = 'see <img src="x.md"> <img src="../../etc/passwd"> <img src="a\x1b]0;t\x07.png">\x1fback'
    spec = Spec(decks=json.dumps({str(DECK): {"name": deck}}), notes=((1, "hostile01", MID, "", fields, 0),))
    index = {"0": "x.md", "1": "../../etc/passwd", "2": "a\x1b]0;t\x07.png"}
    pkg = apkg(
        tmp_path,
        spec,
        media_index=json.dumps(index),
        media={"0": b"Q: evil\nA: card\n", "1": b"root", "2": b"p"},
    )
    result = run("import", "anki", str(pkg), env=NOW)
    assert not set(result.output) & C0_C1
    made = sorted(p.relative_to(vault).as_posix() for p in (vault / "anki-import").rglob("*") if p.is_file())
    assert made == [
        "anki-import/Evil--31m-x/Default/b-c-d/_CON.md",
        "anki-import/anki-note-types.json",
        "anki-import/media/_.._etc_passwd",
        "anki-import/media/a-0-t.png",
        "anki-import/media/x.md.txt",
    ]
    origins = json.loads((vault / "anki-import" / "anki-note-types.json").read_text())
    assert origins["notes"]["hostile01"]["deck"] == deck  # the note type and deck go home unchanged
    note = (vault / made[0]).read_text()
    front = yaml.safe_load(note.split("---\n")[1])
    assert front == {"domain": "Evil [31m/x", "anki-deck": deck}
    assert "# CON\n" in note and "![](../../../media/x.md.txt)" in note
    cards = json.loads(run("cards", "--json", env=NOW).stdout)
    assert [c["question"] for c in cards] != [] and all(
        c["note"] == made[0] for c in cards
    )  # x.md is no note
    run("check", env=NOW)


def test_review_log_rows_out_of_range_are_skipped_and_answer_times_capped(
    run: Cli, vault: Path, tmp_path: Path
) -> None:
    later = 1_800_000_000_000  # 2027-01-15: more than a day after NOW
    rows = [
        (2**62, 2, 3, 1, 0, 2500, 8000, 1),
        (253_402_300_800_001, 2, 3, 1, 0, 2500, 8000, 1),  # year 10000
        (1_000, 2, 3, 1, 0, 2500, 8000, 1),  # an id in seconds: 1970
        (later, 2, 3, 1, 0, 2500, 8000, 1),
        (REVIEWED_MS, 2, 3, 1, 0, 2500, 2**62, 1),
    ]
    pkg = apkg(tmp_path, Spec(revlog=rows))
    result = run("import", "anki", str(pkg), env=NOW)
    assert f"{pkg}:1: 4 review-log rows are dated before 2006 or in the future; skipped" in result.output
    conn = sqlite3.connect(run.db)
    assert conn.execute("SELECT duration_ms FROM review").fetchall() == [(60_000,)]
    run("rebuild", "--check", env=NOW)


def test_html_nested_too_deeply_to_convert_becomes_its_text(run: Cli, vault: Path, tmp_path: Path) -> None:
    deep = "<div>" * 5000 + "deep" + "</div>" * 5000
    spec = Spec(notes=((1, "hostile01", MID, "", f"{deep}\x1fback", 0),))
    run("import", "anki", str(apkg(tmp_path, spec)), env=NOW)
    assert "Q: deep\nA: back ^anki-" in (vault / "anki-import" / "Hostile.md").read_text()


@pytest.mark.parametrize("where", ["anki-import", "anki-import/media"])
def test_an_import_folder_that_leads_out_of_the_vault_is_refused(
    where: str, run: Cli, vault: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    link = vault / where
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    spec = Spec(notes=((1, "hostile01", MID, "", '<img src="a.png">\x1fback', 0),))
    pkg = apkg(tmp_path, spec, media_index=json.dumps({"0": "a.png"}), media={"0": b"png"})
    line = one_clear_line(run("import", "anki", str(pkg), code=1))
    assert (
        line == f"error: {link}: leads outside the vault (a symbolic link to {outside}); nothing was imported"
    )
    assert list(outside.iterdir()) == []


def test_a_folder_link_inside_the_vault_is_followed(run: Cli, vault: Path, tmp_path: Path) -> None:
    (vault / "inbox").mkdir()
    (vault / "anki-import").symlink_to(vault / "inbox")
    report = json.loads(run("import", "anki", str(apkg(tmp_path)), "--json").stdout)
    assert report["files"] == ["inbox/Hostile.md"] and report["unmatched"] == []


def test_a_profile_media_link_is_not_followed(run: Cli, vault: Path, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    (profile / "collection.media").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"a private key")
    (profile / "collection.media" / "a.png").write_bytes(b"png")
    (profile / "collection.media" / "b.png").symlink_to(secret)
    spec = Spec(notes=((1, "hostile01", MID, "", '<img src="a.png"><img src="b.png">\x1fback', 0),))
    legacy_db(profile / "collection.anki2", spec)
    result = run("import", "anki", str(profile / "collection.anki2"))
    assert "1 media file is a symbolic link in the collection's media folder; not copied" in result.output
    assert sorted(p.name for p in (vault / "anki-import" / "media").iterdir()) == ["a.png"]
    assert all(b"private" not in p.read_bytes() for p in vault.rglob("*") if p.is_file())


def test_a_failed_write_removes_what_the_import_wrote(
    run: Cli, vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlsys_srs.anki import importing
    from mlsys_srs.vault.writes import DiskFull

    def full(path: Path, *args: Any, **kwargs: Any) -> None:
        raise DiskFull(path, "no space left on the device; the file was not created")

    monkeypatch.setattr(importing, "create_file", full)
    spec = Spec(notes=((1, "hostile01", MID, "", '<img src="a.png">\x1fback', 0),))
    pkg = apkg(tmp_path, spec, media_index=json.dumps({"0": "a.png"}), media={"0": b"png"})
    line = one_clear_line(run("import", "anki", str(pkg), code=1))
    assert "no space left on the device" in line and "the files this import had written were removed" in line
    assert not (vault / "anki-import").exists()


def test_the_origins_file_is_written_last_and_a_failure_to_write_it_removes_the_new_notes(
    run: Cli, vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlsys_srs.anki import importing
    from mlsys_srs.vault.writes import NoteChanged

    (tmp_path / "first").mkdir()
    first = apkg(tmp_path / "first")
    run("import", "anki", str(first), "--dry-run", env=NOW)
    assert not (vault / "anki-import").exists()  # a dry run plans the origins file, and writes nothing
    run("import", "anki", str(first), env=NOW)
    sidecar = vault / "anki-import" / "anki-note-types.json"
    kept = sidecar.read_bytes()
    assert b'"hostile01"' in kept
    notes = sorted(p.relative_to(vault).as_posix() for p in vault.rglob("*.md"))

    def changed(path: Path, *args: Any, **kwargs: Any) -> None:
        raise NoteChanged(path, "the note changed since it was read; the note was not changed")

    monkeypatch.setattr(importing, "rewrite_note", changed)
    (tmp_path / "second").mkdir()
    spec = Spec(
        decks=json.dumps({str(DECK): {"name": "Other"}}),
        notes=((1, "hostile02", MID, "", "front\x1fback", 0),),
    )
    line = one_clear_line(run("import", "anki", str(apkg(tmp_path / "second", spec)), code=1, env=NOW))
    assert "anki-note-types.json: the note changed since it was read" in line
    assert "the files this import had written were removed" in line
    assert sidecar.read_bytes() == kept
    assert sorted(p.relative_to(vault).as_posix() for p in vault.rglob("*.md")) == notes


def test_a_schema18_note_type_whose_template_is_not_protobuf_moves_in_without_its_model(
    run: Cli, vault: Path, tmp_path: Path
) -> None:
    db = schema18_db(tmp_path / "collection.anki21", template_config=b"\xff\xff\xff")
    pkg = package(tmp_path / "odd.colpkg", db, member="collection.anki21")
    run("import", "anki", str(pkg), env=NOW)
    assert (vault / "anki-import" / "Hostile.md").is_file()
    assert not (vault / "anki-import" / "anki-note-types.json").exists()  # no model: nothing to give back


# --- OSR notes ------------------------------------------------------------------------------------


def test_hostile_osr_notes_are_warnings_and_strip_keeps_lines_code_and_comments(
    run: Cli, vault: Path
) -> None:
    expected = json.loads((HOSTILE / "notes" / "expected.json").read_text())
    expected.pop("//")
    notes = sorted(p for p in (HOSTILE / "notes").glob("*.md"))
    assert sorted(p.name for p in notes) == sorted(expected)
    for p in notes:
        shutil.copyfile(p, vault / p.name)
    report = json.loads(run("import", "osr", "--strip", "--json", env=NOW).stdout)
    got = sorted(f"{d['path']}:{d['line']}: {d['message']}" for d in report["diagnostics"])
    assert got == sorted(f"{name}:{m}" for name, e in expected.items() for m in e["messages"])
    for p in notes:
        after = (vault / p.name).read_bytes().decode("utf-8")
        want = expected[p.name]["after_strip"]
        assert after == (p.read_bytes().decode("utf-8") if want is None else want), p.name
    run("rebuild", "--check", env=NOW)


# --- fuzz -------------------------------------------------------------------------------------------

_CELL = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, 2, 3, 4, -1, 2**62, 2**63 - 1, REVIEWED_MS, MID, DECK, 65536]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=20),
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


def _cell(valid: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(valid), _CELL)


_MODELS = st.one_of(
    st.just(json.dumps(basic_models())),
    _JSON.map(json.dumps),
    _CELL,
    st.builds(
        lambda name, kind, flds: json.dumps(
            {str(MID): {"name": name, "type": kind, "flds": flds, "tmpls": [{}]}}
        ),
        _JSON,
        _JSON,
        _JSON,
    ),
)
_DECKS = st.one_of(
    st.just(json.dumps({str(DECK): {"name": "Hostile"}})),
    _JSON.map(json.dumps),
    _CELL,
    st.dictionaries(st.text(max_size=6), st.fixed_dictionaries({"name": _JSON}), max_size=2).map(json.dumps),
)
_SPECS = st.builds(
    Spec,
    models=_MODELS,
    decks=_DECKS,
    notes=st.lists(
        st.tuples(_cell(1), _cell("hostile01"), _cell(MID), _cell(" tag "), _cell("front\x1fback"), _cell(0)),
        max_size=3,
    ),
    cards=st.lists(st.tuples(_cell(2), _cell(1), _cell(DECK), _cell(0), _cell(0), _cell(0)), max_size=3),
    revlog=st.lists(
        st.tuples(
            _cell(REVIEWED_MS), _cell(2), _cell(3), _cell(1), _cell(0), _cell(2500), _cell(8000), _cell(1)
        ),
        max_size=3,
    ),
)


_INT = st.integers(-(2**63), 2**63 - 1)
_HTML = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(
            [
                "<div>",
                "</div>",
                '<img src="a.md">',
                "{{c1::x}}",
                "Q: ",
                "\n",
                "```",
                "$$",
                "^x",
                "#t",
                "\x1b",
                "\u2028",
            ]
        ),
        max_size=12,
    ).map("".join),
)
_WELL_TYPED = st.builds(
    Spec,
    models=st.just(json.dumps(basic_models()))
    | st.builds(lambda n: json.dumps(basic_models(n)), st.text(max_size=20)),
    decks=st.dictionaries(
        st.sampled_from([str(DECK), "1"]), st.fixed_dictionaries({"name": st.text(max_size=30)}), max_size=2
    ).map(json.dumps),
    notes=st.lists(
        st.tuples(
            st.integers(1, 3),
            st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12),
            st.just(MID),
            st.text(max_size=20),
            st.tuples(_HTML, _HTML).map("\x1f".join),
            _INT,
        ),
        max_size=3,
    ),
    cards=st.lists(
        st.tuples(
            st.integers(1, 6),
            st.integers(1, 3),
            st.sampled_from([DECK, 1, 5]),
            st.integers(0, 65535),
            _INT,
            _INT,
        ),
        max_size=4,
    ),
    revlog=st.lists(st.tuples(_INT, st.integers(1, 6), _INT, _INT, _INT, _INT, _INT, _INT), max_size=4),
)


def _package_of(spec: Spec, folder: Path) -> Path:
    db = folder / "collection.anki2"
    db.unlink(missing_ok=True)
    legacy_db(db, spec)
    out = folder / "fuzz.apkg"
    out.unlink(missing_ok=True)
    return package(out, db)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=_SPECS)
def test_the_collection_reader_takes_any_rows_without_an_exception(spec: Spec) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pkg = _package_of(spec, Path(tmp))
        try:
            coll = open_collection(pkg, limits=ImportLimits(max_size=64 << 20))
        except AnkiImportError as exc:
            message = str(exc)
            assert "\n" not in message and not set(message) & C0_C1
            return
        assert isinstance(coll, Collection)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=st.one_of(_SPECS, _WELL_TYPED))
def test_an_import_of_any_rows_is_one_line_or_a_report_and_a_refusal_writes_nothing(
    spec: Spec, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    vault = folder / "vault"
    vault.mkdir()
    (vault / "gpu.md").write_text("Q: How many threads in a warp?\nA: 32\n")
    run = Cli(vault, folder / "srs.db")
    run("sync", env=NOW)
    run("sync", env=NOW)
    pkg = _package_of(spec, folder)
    before = vault_state(vault, run.db)
    result = run("import", "anki", str(pkg), code=None, env=NOW)
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        one_clear_line(result)
        assert vault_state(vault, run.db) == before
    else:
        run("rebuild", "--check", env=NOW)


@pytest.mark.parametrize("entries", [1_500, 70_000])
def test_a_zip_of_too_many_entries_is_refused_from_its_end_record(
    entries: int, run: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlsys_srs.anki import archive

    monkeypatch.setattr(archive, "MAX_ENTRIES", 1_000)
    pkg = tmp_path / "many.apkg"
    with zipfile.ZipFile(pkg, "w") as z:  # past 65,535 entries, Python writes a zip64 end record
        for i in range(entries):
            z.writestr(str(i), b"")
    line = one_clear_line(run("import", "anki", str(pkg), code=1))
    assert line == f"error: {pkg}: the package holds {entries:,} files, more than 1,000"
