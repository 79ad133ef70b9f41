"""Notes are never damaged: ``sync --write-ids`` and the safe writer (``vaultio``)."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlsys_srs.parse import parse_note
from mlsys_srs.parse.text import split_lines
from mlsys_srs.store import open_db
from mlsys_srs.sync import sync_vault, write_block_ids
from mlsys_srs.vault import writes as vaultio
from mlsys_srs.vault.writes import DiskFull, FileExists, NoteChanged, ReadOnlyNote, create_file, rewrite_note

from .conftest import mounted_tmpfs

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ID_RE = re.compile(r" ?\^srs-[0-9a-f]{6}")
ODD_BREAKS = ["\f", "\v", "\x85", "\u2028", "\u2029", "\x1c", "\x1d", "\x1e", "\r"]


def write_ids(vault: Path, db: Path) -> tuple[int, list[str]]:
    conn = open_db(db, NOW)
    try:
        sync_vault(conn, vault, NOW)
        written, diags = write_block_ids(conn, vault, NOW)
        return written, [f"{d.path}:{d.line}: {d.message}" for d in diags]
    finally:
        conn.close()


def test_a_card_running_into_an_unclosed_code_block_gets_no_id_and_a_warning(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    vault.mkdir()
    text = "first :: card\n\nQ: q\nA: a\n```\ncode that never ends\n"
    (vault / "a.md").write_text(text)
    written, diags = write_ids(vault, tmp_path / "db")
    assert written == 1 and diags == ["a.md:3: the card runs into the code block opened at line 5, which is "
                                      "never closed; close it to give the card an id"]  # fmt: skip
    new = (vault / "a.md").read_text()
    assert new.startswith("first :: card ^srs-") and new.split("\n", 1)[1] == text.split("\n", 1)[1]


# -- one definition of a line ---------------------------------------------------------


def test_split_lines_breaks_only_at_newline_crlf_and_cr() -> None:
    # \f, \v, U+0085, U+2028 and U+2029 are text, as in editors; \n, \r\n and a lone \r break.
    text = "a\fb\vc\x85d\u2028e\u2029f\rg\r\nh\ni"
    assert split_lines(text) == ["a\fb\vc\x85d\u2028e\u2029f", "g", "h", "i"]
    assert split_lines(text, keepends=True) == ["a\fb\vc\x85d\u2028e\u2029f\r", "g\r\n", "h\n", "i"]
    assert "".join(split_lines(text, keepends=True)) == text
    assert split_lines("a\n") == ["a", ""] and split_lines("a\n", keepends=True) == ["a\n"]
    assert split_lines("") == [""] and split_lines("", keepends=True) == []


@pytest.mark.parametrize("brk", ODD_BREAKS)
def test_write_ids_with_unicode_line_breaks_lands_on_the_card_line(tmp_path: Path, brk: str) -> None:
    vault = tmp_path / "v"
    vault.mkdir()
    note = vault / "a.md"
    text = f"# T\n\nprose{brk}more prose\n\nQ: question{brk}still\nA: answer\n"
    note.write_bytes(text.encode("utf-8"))
    written, diags = write_ids(vault, tmp_path / "db")
    assert (written, diags) == (1, [])
    new = note.read_bytes().decode("utf-8")
    assert re.fullmatch(r"A: answer \^srs-[0-9a-f]{6}", new.split("\n")[-2])
    assert ID_RE.sub("", new) == text
    # A rerun adds nothing.
    assert write_ids(vault, tmp_path / "db") == (0, [])
    assert note.read_bytes().decode("utf-8") == new


LINE_BITS = st.sampled_from(
    ["Q: q", "A: a", "x :: y", "C: {{c1::z}}", "?", "```", "> [!faq] q", "> a", "", "text", *ODD_BREAKS]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(LINE_BITS, max_size=4).map("".join), max_size=12), st.sampled_from(["\n", "\r\n"]))
# One-line cards that look like a fence or end in $$ take their id on their own line.
@example(["``````x :: y```"], "\n")
@example(["Q :: $$x$$"], "\n")
def test_writer_and_parser_agree_on_lines(lines: list[str], eol: str) -> None:
    text = eol.join(lines) + eol
    before = parse_note(text, "a.md")
    # The writer's lines are the parser's lines (a final break starts no line for the writer).
    kept = [re.sub(r"(\r\n|\n|\r)$", "", line) for line in split_lines(text, keepends=True)]
    plain = split_lines(text)
    assert kept == plain[: len(kept)] and len(plain) - len(kept) in (0, 1)
    with tempfile.TemporaryDirectory() as d:
        vault = Path(d) / "v"
        vault.mkdir()
        (vault / "a.md").write_bytes(text.encode("utf-8"))
        write_ids(vault, Path(d) / "db")
        new = (vault / "a.md").read_bytes().decode("utf-8")
    after = parse_note(new, "a.md")
    # Only ids were added, each to the card it is for: same cards, each with an id.
    assert [(c.question, c.answer.split(" ^")[0]) for c in after.cards] == [
        (c.question, c.answer.split(" ^")[0]) for c in before.cards
    ]
    # A card that runs into a code block that never closes gets no id (it would land in the code).
    unclosed = [d.line for d in before.diagnostics if d.code == "unclosed-fence"]
    assert all(c.block_id for c in after.cards if not unclosed or c.end_line < unclosed[0])


# -- what the writer keeps ------------------------------------------------------------


@pytest.fixture
def note(tmp_path: Path) -> Path:
    p = tmp_path / "note.md"
    p.write_bytes(b"old\n")
    return p


def test_a_read_only_note_is_skipped_with_a_diagnostic(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "ro.md").write_text("x :: y\n")
    (vault / "rw.md").write_text("p :: q\n")
    os.chmod(vault / "ro.md", 0o444)
    written, diags = write_ids(vault, tmp_path / "db")
    assert written == 1
    assert diags == ["ro.md:1: the note is read-only; the note was not changed; no ids written"]
    assert (vault / "ro.md").read_text() == "x :: y\n"
    assert stat.S_IMODE((vault / "ro.md").stat().st_mode) == 0o444


def test_rewrite_keeps_a_symlink_and_writes_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    rewrite_note(link, b"old\n", b"new\n")
    assert link.is_symlink() and real.read_bytes() == b"new\n"


def test_rewrite_keeps_hard_links(note: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.md"
    os.link(note, other)
    ino = note.stat().st_ino
    rewrite_note(note, b"old\n", b"new and longer\n")
    assert other.read_bytes() == b"new and longer\n"
    assert note.stat().st_ino == ino and note.stat().st_nlink == 2


def test_rewrite_keeps_mode_and_owner(note: Path) -> None:
    os.chmod(note, 0o640)
    if os.geteuid() == 0:
        os.chown(note, 65534, 65534)
    rewrite_note(note, b"old\n", b"new\n")
    st_ = note.stat()
    assert stat.S_IMODE(st_.st_mode) == 0o640
    if os.geteuid() == 0:
        assert (st_.st_uid, st_.st_gid) == (65534, 65534)


def test_rewrite_refuses_a_note_changed_since_it_was_read(note: Path) -> None:
    note.write_bytes(b"old\nthe user's edit\n")
    with pytest.raises(NoteChanged):
        rewrite_note(note, b"old\n", b"new\n")
    assert note.read_bytes() == b"old\nthe user's edit\n"


def test_an_append_during_the_rename_is_put_back_not_lost(
    note: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def append_then_replace(src: str | Path, dst: str | Path) -> None:
        with open(note, "ab") as fh:  # another program appends just before the switch
            fh.write(b"appended\n")
        monkeypatch.setattr(vaultio.os, "replace", real_replace)
        real_replace(src, dst)

    monkeypatch.setattr(vaultio.os, "replace", append_then_replace)
    with pytest.raises(NoteChanged):
        rewrite_note(note, b"old\n", b"new\n")
    assert note.read_bytes() == b"old\nappended\n"
    assert not vaultio.temp_path(note).exists()


def test_disk_full_leaves_no_temp_file_and_the_note_unchanged(
    note: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(vaultio.os, "pwrite", full)
    with pytest.raises(DiskFull, match="no space left"):
        rewrite_note(note, b"old\n", b"new\n")
    assert note.read_bytes() == b"old\n"
    assert sorted(p.name for p in note.parent.iterdir()) == ["note.md"]


def test_a_leftover_temp_file_is_removed_by_the_next_write(note: Path) -> None:
    vaultio.temp_path(note).write_bytes(b"left by a killed run")
    rewrite_note(note, b"old\n", b"new\n")
    assert sorted(p.name for p in note.parent.iterdir()) == ["note.md"]


def test_create_file_never_overwrites(note: Path, tmp_path: Path) -> None:
    with pytest.raises(FileExists):
        create_file(note, b"other")
    assert note.read_bytes() == b"old\n"
    create_file(tmp_path / "fresh.toml", b"x = 1\n")
    assert (tmp_path / "fresh.toml").read_bytes() == b"x = 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.toml", "note.md"]


def test_read_only_by_mode_bits_even_for_root(note: Path) -> None:
    os.chmod(note, 0o444)
    with pytest.raises(ReadOnlyNote):
        rewrite_note(note, b"old\n", b"new\n")
    assert note.read_bytes() == b"old\n"


# -- a real full disk -----------------------------------------------------------------


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 64kB tmpfs (skipped where mounting is not permitted)."""
    with mounted_tmpfs(tmp_path / "tiny", "64k") as mnt:
        yield mnt


def test_write_ids_on_a_full_disk_is_a_diagnostic_and_leaves_no_temp_file(
    tiny_fs: Path, tmp_path: Path
) -> None:
    vault = tiny_fs / "v"
    vault.mkdir()
    text = "".join(f"q{i} :: a{i}\n\n" for i in range(300))
    (vault / "a.md").write_text(text)
    filler = tiny_fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)
    written, diags = write_ids(vault, tmp_path / "db")
    assert written == 0
    assert diags == ["a.md:1: no space left on the device; the note was not changed; no ids written"]
    assert (vault / "a.md").read_text() == text
    assert sorted(p.name for p in vault.iterdir()) == ["a.md"]
