"""Nothing lost, nothing injected, nothing hangs: a hostile or unlucky vault, database and config.

Each test is one example of the robustness issue: what the user sees is one clear
line (never a traceback), the rest of the vault keeps working, and nothing from a
note reaches the terminal as a control sequence.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_srs.cli import context

from .conftest import Cli, mounted_tmpfs

NOW = "2026-11-22T16:00:00+00:00"
SCRIPT = Path(sys.executable).with_name("mlsys-srs")
C0_C1 = {chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}


def no_controls(text: str) -> bool:
    return not (set(text) & C0_C1)


def one_clear_line(result: object) -> str:
    """The error output of a failed command: one ``error:`` line, no traceback."""
    out = result.output  # type: ignore[attr-defined]
    assert "Traceback" not in out, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    return lines[0]


# -- nothing hangs, nothing explodes --------------------------------------------------


def test_a_folder_symlink_loop_is_read_once_and_reported(run: Cli, vault: Path) -> None:
    for i in range(3):
        (vault / f"n{i}.md").write_text(f"q{i} :: a{i}\n\nr{i} :: b{i}\n\ns{i} :: c{i}\n")
    (vault / "loop").symlink_to(".")
    (vault / "sub").mkdir()
    (vault / "sub" / "up").symlink_to("..")
    run("sync", "-q")
    assert len(run.json("cards")) == 9  # not 408
    result = run("check")
    assert "loop:1: symlink loop" in result.stdout and "sub/up:1: symlink loop" in result.stdout


def test_check_warns_on_dangling_and_looping_symlinks(run: Cli, vault: Path) -> None:
    (vault / "a.md").write_text("q :: a\n")
    (vault / "gone.md").symlink_to("nowhere.md")
    (vault / "self.md").symlink_to("self.md")
    data = run.json("check")
    found = {(d["path"], d["severity"], d["code"]) for d in data["diagnostics"]}
    assert ("gone.md", "warning", "symlink") in found and ("self.md", "warning", "symlink") in found
    assert data["errors"] == 0 and data["cards"] == 1


def test_a_named_pipe_as_an_image_does_not_block_the_export(run: Cli, vault: Path, tmp_path: Path) -> None:
    (vault / "n.md").write_text("Q: a picture?\nA: ![[pipe.png]]\n")
    os.mkfifo(vault / "pipe.png")
    os.mkfifo(vault / "notes-pipe.md")  # and a pipe named like a note is not read either
    result = run("export", "anki", "-o", str(tmp_path / "x.apkg"), env={"MLSYS_SRS_NOW": NOW})
    assert "image 'pipe.png' is not a regular file" in result.stderr
    assert "exported 1 card" in result.stdout


def test_a_file_name_that_is_not_utf8_is_a_diagnostic_and_the_rest_syncs(run: Cli, vault: Path) -> None:
    (vault / "good.md").write_text("q :: a\n")
    bad = os.path.join(os.fsencode(vault), b"caf\xe9.md")
    with open(bad, "wb") as fh:
        fh.write(b"x :: y\n")
    result = run("sync")
    assert "caf\\xe9.md:1: the file name is not valid UTF-8" in result.output
    cards = run.json("cards")
    assert [c["question"] for c in cards] == ["q"]
    check = run("check", "--json", code=1)
    check.stdout_bytes.decode("utf-8")  # valid UTF-8
    data = json.loads(check.stdout)
    assert data["errors"] == 1 and data["diagnostics"][0]["path"] == "caf\\xe9.md"
    run("export", "anki", "-o", str(vault.parent / "x.apkg"), env={"MLSYS_SRS_NOW": NOW})


# -- nothing from a note reaches the terminal as a control sequence -----------------------

HOSTILE = "\x1b]52;c;SGVsbG8=\x07\x1b]0;pwned\x07\x1b[2J\x9b31m"


@pytest.fixture
def hostile_vault(vault: Path) -> Path:
    (vault / f"evil{HOSTILE[:8]}[blink].md").write_text(
        # YAML escapes put the controls into the frontmatter's values.
        '---\ntitle: "T\\e]0;pwned\\a\\x9b"\ndomain: "d\\e[2J"\ntags: ["t\\e[5m"]\n---\n'
        f"# H{HOSTILE}\n\nQ: question{HOSTILE}?\nA: answer{HOSTILE}\n\n"
        f"See [[other{HOSTILE}]] and [[target]].\n"
    )
    (vault / "target.md").write_text("# Target\n\ntq :: ta\n\nBack to [[T\x1b]0;pwned\x07]].\n")
    return vault


@pytest.mark.parametrize(
    "args",
    [["cards"], ["check"], ["due"], ["graph"], ["graph", "target"], ["stats"], ["sync"], ["cards", "--json"]],
)
def test_escape_sequences_from_notes_are_shown_inert(run: Cli, hostile_vault: Path, args: list[str]) -> None:
    run("sync", "-q")
    result = run(*args, code=None, env={"MLSYS_SRS_NOW": NOW})
    assert result.exit_code in (0, 1)
    assert "Traceback" not in result.output
    assert no_controls(result.stdout.replace("\n", "").replace("\t", "")), repr(result.stdout)
    assert no_controls(result.stderr.replace("\n", "")), repr(result.stderr)


def test_rich_markup_in_paths_and_text_is_text(run: Cli, vault: Path) -> None:
    folder = vault / "a[/x]b"  # the folder "x]b" in the folder "a["
    folder.mkdir(parents=True)
    (folder / "[blink]n.md").write_text("Q: [bold]q[/bold] [/x]?\nA: a\n\nbroken [[\n")
    run("sync", "-q")
    out = run("cards").stdout
    assert "[/x]" in out and "[blink]" in out and "[bold]q[/bold]" in out
    missing = run("--vault", str(vault / "no[/x]"), "sync", code=1)
    assert "no[/x]" in one_clear_line(missing)


def test_review_screen_shows_note_escapes_inert(hostile_vault: Path, tmp_path: Path) -> None:
    from .test_review_e2e import Screen

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "TERM": "xterm-256color",
        "MLSYS_SRS_DB": str(tmp_path / "r.db"),
        "MLSYS_SRS_VAULT": str(hostile_vault),
        "MLSYS_SRS_CONFIG": str(tmp_path / "none.toml"),
        "MLSYS_SRS_NOW": NOW,
    }
    raw = bytearray()
    s = Screen([str(SCRIPT), "review"], env)
    real_read = os.read

    def tee(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        if fd == s.fd:
            raw.extend(data)
        return data

    os_read, os.read = os.read, tee  # type: ignore[assignment]
    try:
        s.expect("question␛")
        s.send(" ")
        s.expect("answer␛")
        s.send("q")
        s.wait()
    finally:
        os.read = os_read  # type: ignore[assignment]
    assert b"\x1b]52" not in raw and b"\x1b]0;pwned" not in raw and "\x9b".encode() not in raw


def test_review_with_an_unreadable_editor_command_is_one_line(run: Cli, vault: Path, tmp_path: Path) -> None:
    from .test_review_e2e import Screen

    (vault / "n.md").write_text("q :: a\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "TERM": "xterm",
        "NO_COLOR": "1",
        "EDITOR": 'vim "unclosed',
        "MLSYS_SRS_DB": str(tmp_path / "e.db"),
        "MLSYS_SRS_VAULT": str(vault),
        "MLSYS_SRS_CONFIG": str(tmp_path / "none.toml"),
    }
    s = Screen([str(SCRIPT), "review"], env)
    s.expect("($EDITOR) cannot be read: No closing quotation")
    assert s.wait() == 1
    assert "Traceback" not in s.text


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cs", "L", "P", "Zs"]), max_size=40))
def test_no_control_character_from_note_text_reaches_stdout(text: str) -> None:
    """Every way the CLI prints: plain strings, Text, tables, Markdown panels, diagnostics, JSON."""
    import io

    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from mlsys_srs.cli.notes_commands import print_diagnostics
    from mlsys_srs.parse import Diagnostic
    from mlsys_srs.render.terminal import terminal_card
    from mlsys_srs.review.screen import context_line

    for make in (context._make_console,):
        buf = io.StringIO()
        c = make(stderr=False)
        c.file = buf
        c.print(text)
        c.print(Text(text, style="bold"))
        t = Table()
        t.add_column(text)
        t.add_row(text)
        c.print(t)
        for line in terminal_card(text, c, 60).lines:
            c.print(line)
        c.print(Panel(Text(text), title=text))
        c.print(context_line(text, text, text), markup=True)
        assert no_controls(buf.getvalue().replace("\n", "")), repr(buf.getvalue())
    context.reset_consoles()
    err = io.StringIO()
    context._err_console = context._make_console(stderr=True)
    context._err_console.file = err
    print_diagnostics([Diagnostic(text, 1, text)])
    context.reset_consoles()
    assert no_controls(err.getvalue().replace("\n", ""))
    encoded = context.json_text({"path": text}).encode("utf-8")
    assert json.loads(encoded)["path"].replace("\\x", "") is not None
    assert no_controls(encoded.decode("utf-8").replace("\n", ""))


# -- every failure is one clear line ---------------------------------------------------


def _synced(run: Cli, vault: Path) -> None:
    (vault / "n.md").write_text("q :: a\n\nr :: b\n")
    run("sync", "-q")


def test_a_corrupted_database_is_one_line(run: Cli, vault: Path, db_path: Path) -> None:
    _synced(run, vault)
    data = bytearray(db_path.read_bytes())
    data[4096:8192] = os.urandom(4096)  # a page in the middle, not the header
    db_path.write_bytes(bytes(data))
    for args in (["cards"], ["sync"], ["stats"]):
        line = one_clear_line(run(*args, code=1))
        assert str(db_path) in line


def test_garbage_instead_of_a_database_is_one_line(run: Cli, db_path: Path) -> None:
    db_path.write_bytes(b"not a database at all" * 300)
    assert "damaged" in one_clear_line(run("cards", code=1))


def test_a_tampered_schema_is_one_line(run: Cli, vault: Path, db_path: Path) -> None:
    _synced(run, vault)
    with sqlite3.connect(db_path) as c:
        c.execute("ALTER TABLE card DROP COLUMN lapses")
    assert "table card lacks lapses" in one_clear_line(run("cards", code=1))


def test_a_foreign_sqlite_file_is_refused_untouched(run: Cli, db_path: Path) -> None:
    with sqlite3.connect(db_path) as c:
        c.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    before = db_path.read_bytes()
    line = one_clear_line(run("sync", code=1))
    assert "not an mlsys-srs database" in line
    assert db_path.read_bytes() == before
    with sqlite3.connect(db_path) as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["photos"]


@pytest.mark.parametrize("args", [["due"], ["cards"], ["stats"], ["graph"], ["suspend", "1"]])
def test_read_only_commands_do_not_create_a_database(run: Cli, db_path: Path, args: list[str]) -> None:
    assert "no database yet" in one_clear_line(run(*args, code=1))
    assert not db_path.exists()


def test_info_does_not_create_a_database(run: Cli, db_path: Path) -> None:
    run("info")
    assert not db_path.exists()


def test_a_failing_sync_on_a_missing_vault_creates_no_database(
    run: Cli, tmp_path: Path, db_path: Path
) -> None:
    line = one_clear_line(run("--vault", str(tmp_path / "nowhere"), "sync", code=1))
    assert "vault folder not found" in line
    assert not db_path.exists() and not Path(str(db_path) + ".lock").exists()


def test_export_refuses_to_overwrite_a_file_that_is_not_a_package(
    run: Cli, vault: Path, tmp_path: Path
) -> None:
    _synced(run, vault)
    notes = tmp_path / "notes.md"
    notes.write_text("my precious notes\n")
    line = one_clear_line(run("export", "anki", "-o", str(notes), code=1))
    assert "is not an Anki package" in line
    assert notes.read_text() == "my precious notes\n"
    fake = tmp_path / "fake.apkg"
    fake.write_text("not a zip")
    one_clear_line(run("export", "anki", "-o", str(fake), code=1))
    assert fake.read_text() == "not a zip"


def test_an_interrupted_export_leaves_no_temp_file_after_the_next_run(
    run: Cli, vault: Path, tmp_path: Path
) -> None:
    _synced(run, vault)
    out = tmp_path / "out" / "deck.apkg"
    out.parent.mkdir()
    (out.parent / ".deck.apkg.mlsys-srs.tmp").write_bytes(b"half a zip (SIGKILL)")
    (out.parent / ".deck.apkg.12345.tmp").write_bytes(b"left by an older version")
    run("export", "anki", "-o", str(out), env={"MLSYS_SRS_NOW": NOW})
    assert sorted(p.name for p in out.parent.iterdir()) == ["deck.apkg"]


def test_usage_errors(run: Cli) -> None:
    assert run("graph", "", code=2).exit_code == 2
    assert run("cards", "--limit", "0", code=2).exit_code == 2


CONFIG_CASES = [
    ("[schedule]\nparameters = [1.0, 2.0]\n", "schedule.parameters must be 17, 19 or 21"),
    ("[schedule]\nparameters = [" + ", ".join(["nan"] + ["1.0"] * 20) + "]\n", "weight 0 is nan"),
    ("[schedule]\nparameters = [" + ", ".join(["inf"] + ["1.0"] * 20) + "]\n", "weight 0 is inf"),
    ("[schedule]\nlearning_steps = [-5]\n", "schedule.learning_steps has -5"),
    ('[schedule]\nlearning_steps = ["99999999d"]\n', "schedule.learning_steps has '99999999d'"),
    ("[schedule]\nrelearning_steps = [nan]\n", "schedule.relearning_steps has nan"),
    ("[schedule]\nmaximum_interval = 0\n", "schedule.maximum_interval must be between 1 and 36500"),
    ("[schedule]\nmaximum_interval = -3\n", "schedule.maximum_interval must be between 1 and 36500"),
    ("[schedule]\nnew_per_day = -5\n", "schedule.new_per_day must be between 0 and 100000"),
    (
        "[schedule]\nnew_per_dya = 5\n",
        "unknown setting in [schedule]: 'new_per_dya'; did you mean 'new_per_day'?",
    ),
    ("[review]\neditr = 'vim'\n", "did you mean 'editor'?"),
    ("vault = 5\n", "vault must be a string, not 5"),
    ("schedule = 5\n", "[schedule] must be a table"),
    ("valut = 'x'\n", "unknown setting 'valut'; did you mean 'vault'?"),
    ("[schedule]\ndesired_retention = nan\n", "schedule.desired_retention must be a finite number"),
]


@pytest.mark.parametrize(("text", "message"), CONFIG_CASES, ids=[m for _, m in CONFIG_CASES])
def test_a_wrong_setting_is_one_line_naming_the_file_and_key(
    run: Cli, isolated_user_dirs: Path, text: str, message: str
) -> None:
    cfg = isolated_user_dirs / "config.toml"
    cfg.write_text(text)
    line = one_clear_line(run("due", code=1))
    assert str(cfg) in line and message in line


def test_fsrs_weights_out_of_bounds_are_refused_where_the_scheduler_is_built() -> None:
    from mlsys_srs.config import ScheduleConfig
    from mlsys_srs.errors import ConfigError
    from mlsys_srs.scheduling.memory import make_scheduler

    weights = [
        0.2,
        1.2,
        3.2,
        15.7,
        7.2,
        0.5,
        1.5,
        0.005,
        1.5,
        0.1,
        1.0,
        1.9,
        0.1,
        0.3,
        2.3,
        0.2,
        3.0,
        0.5,
        0.7,
    ]
    assert len(make_scheduler(ScheduleConfig(parameters=tuple(weights))).parameters) == 21  # FSRS-5 set
    with pytest.raises(ConfigError, match=r"cfg.toml: schedule.parameters: weight 4 is 99.0"):
        make_scheduler(
            ScheduleConfig(parameters=tuple([*weights[:4], 99.0, *weights[5:]]), origin="cfg.toml")
        )


def test_config_pointing_at_a_folder_is_one_line(run: Cli, tmp_path: Path) -> None:
    assert "is a folder" in one_clear_line(run("--config", str(tmp_path), "due", code=1))


# -- permissions (as root in CI: a subprocess without the capabilities that bypass them) ----


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    """A folder the unprivileged user can reach (pytest's tmp_path is private to root)."""
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to drop privileges")
    d = Path(tempfile.mkdtemp(prefix="mlsys-srs-perm-"))
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def as_nobody(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        str(SCRIPT),
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)


def test_a_read_only_database_is_one_line_on_any_write(nobody_dir: Path, isolated_user_dirs: Path) -> None:
    vault, db = nobody_dir / "v", nobody_dir / "srs.db"
    vault.mkdir()
    (vault / "n.md").write_text("q :: a\n")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(nobody_dir),
        "MLSYS_SRS_CONFIG": str(nobody_dir / "c.toml"),
    }
    subprocess.run([str(SCRIPT), "--vault", str(vault), "--db", str(db), "sync", "-q"], env=env, check=True)
    (vault / "m.md").write_text("new :: card\n")
    os.chmod(vault, 0o755)
    for p in nobody_dir.iterdir():
        os.chmod(p, 0o755 if p.is_dir() else 0o644)  # the database belongs to root: read-only for nobody
    for args in (["sync"], ["suspend", "1"]):
        r = as_nobody(["--vault", str(vault), "--db", str(db), *args], env)
        assert r.returncode == 1, r.stderr
        assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert r.stderr.startswith("error: ") and "read-only" in r.stderr


def test_a_read_only_note_is_skipped_for_an_unprivileged_user(nobody_dir: Path) -> None:
    vault, db = nobody_dir / "v", nobody_dir / "srs.db"
    vault.mkdir(mode=0o777)
    os.chmod(vault, 0o777)
    note = vault / "n.md"
    note.write_text("q :: a\n")
    os.chmod(note, 0o644)  # root's note: nobody may not write it, though the folder is writable
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(nobody_dir),
        "MLSYS_SRS_CONFIG": str(nobody_dir / "c.toml"),
    }
    os.chmod(nobody_dir, 0o777)
    r = as_nobody(["--vault", str(vault), "--db", str(db), "sync", "--write-ids"], env)
    assert r.returncode == 0, r.stderr
    assert "n.md:1: the note is read-only" in r.stderr + r.stdout
    assert note.read_text() == "q :: a\n" and note.stat().st_uid == 0


# -- a real full disk ------------------------------------------------------------------


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1mB tmpfs (skipped where mounting is not permitted)."""
    with mounted_tmpfs(tmp_path / "tiny", "1m") as mnt:
        yield mnt


def _fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)


def test_disk_full_during_sync_is_one_line_and_keeps_the_database(
    run: Cli, vault: Path, tiny_fs: Path
) -> None:
    db = tiny_fs / "srs.db"
    (vault / "n.md").write_text("q :: a\n")
    run("--db", str(db), "sync", "-q")
    for i in range(600):
        (vault / f"m{i}.md").write_text(
            f"# Note {i}\n\n" + "".join(f"q{i}.{k} :: a long answer {k}\n\n" for k in range(5))
        )
    _fill(tiny_fs)
    line = one_clear_line(run("--db", str(db), "sync", code=1))
    assert "full" in line
    os.unlink(tiny_fs / "filler")
    assert len(run.json("--db", str(db), "cards")) == 1  # the last good state


def test_check_warns_on_dangling_wikilinks(run: Cli, vault: Path) -> None:
    (vault / "a.md").write_text("# A\n\nq :: a\n\nSee [[b]] and [[Nowhere]].\n")
    (vault / "b.md").write_text("# B\n")
    data = run.json("check")
    dangling = [(d["path"], d["line"], d["code"]) for d in data["diagnostics"] if d["severity"] == "warning"]
    assert dangling == [("a.md", 5, "dangling-link")] and data["errors"] == 0
