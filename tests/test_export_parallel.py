"""A full Anki build spread over forked workers writes the same package as a build in one process,
row for row with the same ids, and the same media: shares are built from an empty state and taken in as if built here, and a share
whose block ids or image names an earlier share already took is built again here."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsys_srs.anki import building
from mlsys_srs.anki import export as anki
from mlsys_srs.anki.export import export_anki
from mlsys_srs.anki.progress import SchedulingOptions
from mlsys_srs.core import workers
from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.store import open_db
from mlsys_srs.store.cards import card_id_batches, list_cards
from mlsys_srs.store.filters import CardFilter
from mlsys_srs.sync import sync_vault

from .conftest import add_review, set_card, write_notes
from .test_export_cache import package, same_but_ids

T0 = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
CLOCK = DayClock(UTC, 4)
PNG = b"\x89PNG\r\n\x1a\n"

T = TypeVar("T")

pytestmark = pytest.mark.skipif(
    workers.fork_workers() < 2, reason="needs two cores and fork to build in parallel"
)


class Spy:
    """Counts the shares built by workers and those built again in this process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.workers = 0
        self.rebuilt = 0
        real_shares, real_list = workers.fork_map, anki.list_cards

        def fork_map(work: Callable[..., T], payload: Any, bounds: Any, **kw: Any) -> Iterator[T]:
            self.workers = kw["workers"]
            return real_shares(work, payload, bounds, **kw)

        def list_cards_here(*a: Any, **kw: Any) -> Any:
            self.rebuilt += 1  # only this process's calls count (a worker's never come back)
            return real_list(*a, **kw)

        monkeypatch.setattr(workers, "fork_map", fork_map)
        monkeypatch.setattr(anki, "list_cards", list_cards_here)


def build_both(
    monkeypatch: pytest.MonkeyPatch, root: Path, vault: Path, share: int, scheduling: bool
) -> tuple[dict[str, Any], dict[str, Any], anki.AnkiExport, anki.AnkiExport, Spy]:
    """Export the synced database ``root/db.sqlite`` in one process, then a copy of it (so that
    nothing is rendered from the first export's render cache) in parallel shares of ``share`` cards."""
    shutil.copyfile(root / "db.sqlite", root / "copy.sqlite")
    opts = SchedulingOptions() if scheduling else None
    monkeypatch.setattr(anki, "PARALLEL_EXPORT_MIN", 10**9)
    one = export(root / "db.sqlite", vault, root / "one.apkg", opts)
    monkeypatch.setattr(anki, "PARALLEL_EXPORT_MIN", 0)
    monkeypatch.setattr(anki, "EXPORT_SHARE", share)
    spy = Spy(monkeypatch)
    par = export(root / "copy.sqlite", vault, root / "par.apkg", opts)
    return package(root / "one.apkg"), package(root / "par.apkg"), one, par, spy


def export(db: Path, vault: Path, out: Path, opts: SchedulingOptions | None) -> anki.AnkiExport:
    conn = open_db(db, T0)
    try:
        return export_anki(conn, CardFilter(), vault=vault, out=out, now=T0, clock=CLOCK, scheduling=opts)
    finally:
        conn.close()


def note(i: int, body: str) -> str:
    return f"# Note {i}\n\n{body}\n"


def test_a_parallel_build_writes_the_same_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = tmp_path / "vault"
    files = {}
    for i in range(40):
        files[f"{i % 3:02d}-d/n{i:02d}.md"] = note(
            i,
            f"Q: Question {i} with `code` and **bold**?\nA: Answer {i}.\n\n"
            f"```python\ndef f{i}(x):\n    return x + {i}\n```\n\n"
            f"C: Cloze {{{{c1::one {i}}}}} and {{{{c2::two}}}}.\n\nTerm {i} ::: its meaning\n",
        )
    write_notes(vault, files)
    conn = open_db(tmp_path / "db.sqlite", T0)
    sync_vault(conn, vault, T0)
    conn.close()
    one, par, a, b, spy = build_both(monkeypatch, tmp_path, vault, 5, False)
    assert spy.workers >= 2 and spy.rebuilt == 0
    assert a.cards == b.cards > 150
    assert par == one


def test_a_parallel_build_dates_notes_by_the_package_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rebuilt in full over its own earlier package, a note keeps its time from there when it is
    the same, and takes the export's time when its tags changed: in parallel as in one process."""
    vault = tmp_path / "vault"
    write_notes(vault, {f"d/n{i:02d}.md": note(i, f"Q: Question {i}?\nA: Answer {i}.") for i in range(40)})
    dbs = {"one": tmp_path / "one.sqlite", "par": tmp_path / "par.sqlite"}
    for db in dbs.values():
        conn = open_db(db, T0)
        sync_vault(conn, vault, T0)
        conn.close()
    monkeypatch.setattr(anki, "EXPORT_SHARE", 3)

    def export_all(now: datetime) -> dict[str, dict[str, Any]]:
        out = {}
        for mode, db in dbs.items():
            monkeypatch.setattr(anki, "PARALLEL_EXPORT_MIN", 10**9 if mode == "one" else 0)
            conn = open_db(db, T0)
            export_anki(conn, CardFilter(), vault=vault, out=tmp_path / f"{mode}.apkg", now=now, clock=CLOCK)
            conn.close()
            out[mode] = package(tmp_path / f"{mode}.apkg")
        return out

    first = export_all(T0)
    assert first["one"] == first["par"]
    retagged = vault / "d" / "n07.md"
    retagged.write_text("---\ntags: [moved]\n---\n" + retagged.read_text())
    for db in dbs.values():
        conn = open_db(db, T0)
        sync_vault(conn, vault, T0 + timedelta(hours=1))
        conn.close()
    later = T0 + timedelta(hours=2)
    second = export_all(later)
    assert second["one"] == second["par"]
    mods = {flds.split("\x1f")[0]: mod for _, flds, _, mod in second["par"]["notes"].values()}
    assert mods.pop("Question 7?") == int(later.timestamp())
    assert set(mods.values()) == {int(T0.timestamp())}


def test_shares_that_reuse_a_block_id_or_an_image_name_are_built_again_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = tmp_path / "vault"
    files = {f"m/n{i:02d}.md": note(i, f"Q: Filler {i}?\nA: Yes {i}.\n") for i in range(30)}
    # The same block id on cloze paragraphs in notes far apart (one Anki note takes it; their
    # deletions are numbered apart, so the sync keeps the id on both cards).
    files["a/first.md"] = note(1, "C: {{c1::Raft}} elects a leader. ^shared")
    files["z/last.md"] = note(2, "C: {{c2::Paxos}} has two phases. ^shared")
    # Two files named d.png (the later gets a suffix), one file shown from two shares, a missing one.
    files["b/img.md"] = note(3, "Q: Diagram?\nA: ![[b/d.png]]\n\nQ: Gone?\nA: ![[nowhere.png]]")
    files["y/img.md"] = note(4, "Q: Other diagram?\nA: ![[y/d.png]]\n\nQ: Again?\nA: ![[b/d.png]]")
    files["y/z.md"] = note(5, "Q: Gone again?\nA: ![[nowhere.png]]")
    write_notes(vault, files)
    (vault / "b" / "d.png").write_bytes(PNG + b"b")
    (vault / "y" / "d.png").write_bytes(PNG + b"y")
    conn = open_db(tmp_path / "db.sqlite", T0)
    sync_vault(conn, vault, T0)
    conn.close()
    one, par, a, b, spy = build_both(monkeypatch, tmp_path, vault, 2, False)
    assert spy.workers >= 2
    assert spy.rebuilt >= 2  # z/last.md's block id, y/img.md's image name
    assert par == one
    assert a.diagnostics == b.diagnostics and len(b.diagnostics) == 2  # nowhere.png, once per note
    assert a.media == b.media == 2


def test_a_parallel_build_carries_the_same_scheduling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = tmp_path / "vault"
    write_notes(
        vault, {f"d/n{i:02d}.md": note(i, f"Q: Q{i}?\nA: A{i}.\n\nC: {{{{c1::x{i}}}}} y.") for i in range(30)}
    )
    conn = open_db(tmp_path / "db.sqlite", T0)
    sync_vault(conn, vault, T0)
    for k, card in enumerate(list_cards(conn)):
        if k % 3 == 0:
            set_card(
                conn,
                card.id,
                state="review",
                due=T0 + timedelta(days=k % 7),
                stability=3.0 + k,
                difficulty=5.0,
            )
            add_review(conn, card.id, T0 - timedelta(days=2), before="new", after="review")
        elif k % 5 == 0:
            set_card(conn, card.id, suspended=True)
    conn.close()
    one, par, a, b, spy = build_both(monkeypatch, tmp_path, vault, 4, True)
    assert spy.workers >= 2 and spy.rebuilt == 0
    assert a.scheduled_cards == b.scheduled_cards > 0 and a.reviews == b.reviews > 0
    assert par == one


PIECES = st.sampled_from(
    [
        "Q: Plain?\nA: Plain.",
        "Q: Code?\nA: `x`",
        "Q: Fenced?\nA:\n```sh\nls -l\n```",
        "C: {{c1::Raft}} elects. ^b1",
        "C: {{c1::Paxos}} agrees. ^b2",
        "C: {{c1::Zab}} orders.",
        "Q: Pic?\nA: ![[p/d.png]]",
        "Q: Other pic?\nA: ![[q/d.png]]",
        "Q: Missing?\nA: ![[gone.png]]",
        "Q: Maths?\nA: $e^x$",
        "Word ::: a meaning",
    ]
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    notes=st.lists(st.lists(PIECES, min_size=1, max_size=4), min_size=2, max_size=12), share=st.integers(1, 6)
)
def test_any_vault_builds_the_same_in_parallel(
    tmp_path_factory: pytest.TempPathFactory, notes: list[list[str]], share: int
) -> None:
    root = tmp_path_factory.mktemp("par")
    vault = root / "vault"
    write_notes(vault, {f"n{i:02d}.md": note(i, "\n\n".join(body)) for i, body in enumerate(notes)})
    for folder in ("p", "q"):
        os.makedirs(vault / folder, exist_ok=True)
        (vault / folder / "d.png").write_bytes(PNG + folder.encode())
    conn = open_db(root / "db.sqlite", T0)
    sync_vault(conn, vault, T0)
    shares = len(card_id_batches(conn, CardFilter(), batch=share))
    conn.close()
    with pytest.MonkeyPatch.context() as mp:
        one, par, a, b, spy = build_both(mp, root, vault, share, False)
    assert spy.workers >= 2 if shares > 1 else spy.workers == 0  # a lone share is built here
    assert par == one
    assert a.diagnostics == b.diagnostics


@pytest.mark.parametrize("parallel_build", [False, True])
def test_cards_that_change_while_a_full_build_runs_are_built_by_the_next_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel_build: bool
) -> None:
    """The export cache records each card as the build read it: a card edited or added by a sync
    in another process while the build runs is built again by the next (incremental) export."""
    vault = tmp_path / "vault"
    write_notes(vault, {f"d/n{i:02d}.md": note(i, f"Q: Question {i}?\nA: Answer {i}.") for i in range(40)})
    conn = open_db(tmp_path / "db.sqlite", T0)
    sync_vault(conn, vault, T0)
    cache, out = tmp_path / "cache" / "x.sqlite", tmp_path / "deck.apkg"
    monkeypatch.setattr(anki, "PARALLEL_EXPORT_MIN", 0 if parallel_build else 10**9)
    monkeypatch.setattr(anki, "EXPORT_SHARE", 4)
    monkeypatch.setattr(anki, "EXPORT_BATCH", 4)
    edited = []

    def edit() -> None:
        if edited:
            return
        edited.append(True)
        for i in (0, 39):  # one note already read, one not yet
            n = vault / "d" / f"n{i:02d}.md"
            n.write_text(
                n.read_text().replace(f"Answer {i}.", f"Answer {i}, edited.\n\nQ: New {i}?\nA: Yes.")
            )
        other = open_db(tmp_path / "db.sqlite", T0)  # another process's sync, as far as SQLite can tell
        sync_vault(other, vault, T0 + timedelta(minutes=1))
        other.close()

    if parallel_build:
        real_shares = workers.fork_map

        def shares_then_edit(*a: Any, **kw: Any) -> Iterator[Any]:
            for k, share in enumerate(real_shares(*a, **kw)):
                if k == 1:
                    edit()
                yield share

        monkeypatch.setattr(workers, "fork_map", shares_then_edit)
    else:
        real_build = building.Builder.build

        def build_then_edit(self: Any, *a: Any, **kw: Any) -> Any:
            result = real_build(self, *a, **kw)
            edit()
            return result

        monkeypatch.setattr(building.Builder, "build", build_then_edit)
    export_anki(conn, CardFilter(), vault=vault, out=out, now=T0, clock=CLOCK, cache=cache)
    assert edited
    first = package(out)
    later = T0 + timedelta(hours=1)
    export_anki(conn, CardFilter(), vault=vault, out=out, now=later, clock=CLOCK, cache=cache)
    export_anki(conn, CardFilter(), vault=vault, out=tmp_path / "full.apkg", now=later, clock=CLOCK)
    inc, full = package(out), package(tmp_path / "full.apkg")
    assert len(full["notes"]) == 42
    # A note that differs from the package before is stamped newer than there (so Anki takes it);
    # the full build had no package before, so its times are the notes' own.
    for guid, (_, fields, _, mod) in inc["notes"].items():
        if guid in first["notes"] and first["notes"][guid][1] != fields:
            assert mod > first["notes"][guid][3]
    for p in (inc, full):
        p["notes"] = {g: n[:3] for g, n in p["notes"].items()}
    same_but_ids(inc, full)
    conn.close()


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@contextlib.contextmanager
def with_workers(tmp_path: Path, command: list[str]) -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """Run ``command`` (a first sync of 2,000 notes, or a full export of their 10,000 cards) as
    its own process group; yield it and its workers once they are running. It is killed on the
    way out if it still runs."""
    vault = tmp_path / "vault"
    write_notes(
        vault,
        {
            f"d{i % 7}/n{i:04d}.md": note(i, "\n\n".join(f"Q: Q{i}.{k}?\nA: `a{k}`" for k in range(5)))
            for i in range(2000)
        },
    )
    db = tmp_path / "db.sqlite"
    if command[0] == "export":
        conn = open_db(db, T0)
        sync_vault(conn, vault, T0)
        conn.close()
        command = [*command, "-o", str(tmp_path / "deck.apkg")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlsys_srs", "--vault", str(vault), "--db", str(db), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 60
        while len(workers := children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        assert proc.poll() is None, "finished before its workers were seen"
        yield proc, workers
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()


COMMANDS = pytest.mark.parametrize("command", [["sync"], ["export", "anki", "--no-sync"]])


@COMMANDS
def test_ctrl_c_while_workers_run_prints_one_line(tmp_path: Path, command: list[str]) -> None:
    """Ctrl-C reaches every process of the terminal's group: the workers of a first sync or a full
    export leave it to the command, which says "interrupted" once, with no worker's traceback."""
    with with_workers(tmp_path, command) as (proc, workers):
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip() == "interrupted"
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)  # stopped, not left behind


@COMMANDS
def test_a_worker_that_dies_fails_the_command_with_one_line(tmp_path: Path, command: list[str]) -> None:
    """A worker killed in the middle (the out-of-memory killer, a stray kill) ends the command
    with one line and nothing written, instead of a wait for its share that never ends."""
    with with_workers(tmp_path, command) as (proc, workers):
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "worker process stopped" in lines[0], err
    assert not (tmp_path / "deck.apkg").exists()
    conn = open_db(tmp_path / "db.sqlite", T0)
    cards = conn.execute("SELECT count(*) FROM card").fetchone()[0]
    conn.close()
    assert cards == (0 if command[0] == "sync" else 10_000)  # a first sync rolled back
