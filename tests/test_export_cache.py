"""The export cache: a re-export builds only the notes whose cards changed, and its package equals
what a full build writes (ids aside); a package or cache that cannot be trusted means a full build."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsys_srs.anki.export import export_anki
from mlsys_srs.anki.progress import SchedulingOptions
from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.store import open_db
from mlsys_srs.store.filters import CardFilter
from mlsys_srs.sync import sync_vault

from .conftest import Cli, add_review, set_card, write_notes
from .test_export_anki import collections  # noqa: F401  (the fixture)

T0 = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
CLOCK = DayClock(UTC, 4)
PNG = b"\x89PNG\r\n\x1a\n" + b"bytes"


def package(apkg: Path) -> dict[str, Any]:
    """What Anki reads of a package, without the row ids (which differ between builds)."""
    with zipfile.ZipFile(apkg) as z:
        data = z.read("collection.anki2")
        media = json.loads(z.read("media"))
        files = {name: z.read(num) for num, name in media.items()}
    db = sqlite3.connect(":memory:")
    db.deserialize(data)
    guid_of = dict(db.execute("SELECT id, guid FROM notes"))
    card_of = {cid: (guid_of[nid], o) for cid, nid, o in db.execute("SELECT id, nid, ord FROM cards")}
    crt, conf, models, decks = db.execute("SELECT crt, conf, models, decks FROM col").fetchone()
    out = {
        "notes": {
            g: (mid, flds, tags, mod)
            for g, mid, flds, tags, mod in db.execute("SELECT guid, mid, flds, tags, mod FROM notes")
        },
        "cards": {
            card_of[r[0]]: r[1:]
            for r in db.execute(
                "SELECT id, did, type, queue, due, ivl, factor, reps, lapses, left, odue, odid, flags, data FROM cards"
            )
        },
        "revlog": sorted((card_of[r[1]], r[0], *r[2:]) for r in db.execute("SELECT * FROM revlog")),
        "col": (
            crt,
            json.loads(conf),
            json.loads(models),
            sorted(d["name"] for d in json.loads(decks).values()),
        ),
        "media": files,
        "ids": {g: i for i, g in guid_of.items()},
    }
    db.close()
    return out


def same_but_ids(a: dict[str, Any], b: dict[str, Any]) -> None:
    for key in ("notes", "cards", "revlog", "col", "media"):
        assert a[key] == b[key], key


NOTES = {
    "01-a/raft.md": "---\ntags: [consensus]\n---\n# Raft\n\n## Elections\n\nQ: What fires an election?\nA: The timeout.\n\n"
    "C: Raft elects {{c1::a leader}} per {{c2::term}}.\n",
    "01-a/paxos.md": "# Paxos\n\nPaxos ::: a consensus protocol\n\nQ: Phases? #interview\nA: Two.\n",
    "02-b/zero.md": "# ZeRO\n\nQ: What does ZeRO shard?\nA: Optimizer state, gradients, parameters.\n\n"
    "Q: Picture?\nA: ![[d.png]] the plan\n",
}

OPS = st.sampled_from(
    ["edit", "add", "delete", "rename", "tag", "shift", "cloze", "review", "suspend", "image", "heading"]
)


def apply(op: str, vault: Path, conn: sqlite3.Connection, now: datetime, n: int) -> set[str]:
    """Change the vault or the database as a user would; the notes (vault paths) whose cards changed."""
    notes = sorted(p for p in vault.rglob("*.md"))
    target = notes[n % len(notes)] if notes else None
    touched = {target.relative_to(vault).as_posix()} if target is not None else set()
    if op == "edit" and target is not None:
        target.write_text(target.read_text().replace("A: ", f"A: (v{n}) ", 1))
    elif op == "add":
        write_notes(vault, {f"02-b/new{n}.md": f"# New {n}\n\nQ: New question {n}?\nA: New answer {n}.\n"})
    elif op == "delete" and target is not None and len(notes) > 1:
        target.unlink()
    elif op == "rename" and target is not None:
        target.rename(target.with_name(f"renamed{n}.md"))
    elif op == "tag" and target is not None:
        target.write_text(target.read_text() + f"\n#extra{n}\n")
    elif op == "shift" and target is not None:
        text = target.read_text()
        head, _, rest = text.partition("\n\n")
        target.write_text(f"{head}\n\nSome prose {n}.\n\n{rest}")
    elif op == "cloze" and target is not None:
        target.write_text(
            target.read_text() + f"\nC: Paragraph {n} hides {{{{c1::one}}}} and {{{{c2::two}}}}.\n"
        )
    elif op == "heading":
        for note in notes:
            text = note.read_text()
            if "## " in text:
                head, _, rest = text.partition("## ")
                note.write_text(f"{head}## Renamed {n} {rest}")
                touched.add(note.relative_to(vault).as_posix())
    elif op == "image":
        (vault / "d.png").write_bytes(PNG + str(n).encode())
    elif op in ("review", "suspend"):
        ids = [
            (r[0], r[1])
            for r in conn.execute(
                "SELECT card.id, note.path FROM card JOIN note ON note.id = card.note_id"
                " WHERE card.retired = 0 ORDER BY card.id"
            )
        ]
        if ids:
            cid, path = ids[n % len(ids)]
            touched = {path}
            if op == "review":
                add_review(
                    conn, cid, now - timedelta(minutes=5), before="new", due_after=now + timedelta(days=3)
                )
                set_card(conn, cid, state="review", due=now + timedelta(days=3), stability=3.0, difficulty=5.0,
                         last_review=now - timedelta(minutes=5), reps=1)  # fmt: skip
            else:
                set_card(conn, cid, suspended=True)
    return touched


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=5), scheduled=st.booleans())
def test_incremental_export_equals_a_full_build(
    tmp_path_factory: pytest.TempPathFactory, ops: list[str], scheduled: bool
) -> None:
    root = tmp_path_factory.mktemp("inc")
    vault = root / "vault"
    write_notes(vault, NOTES)
    (vault / "d.png").write_bytes(PNG)
    conn = open_db(root / "db.sqlite", T0)
    cache = root / "cache" / "x.sqlite"
    opts = SchedulingOptions() if scheduled else None

    def export(out: Path, now: datetime, with_cache: bool) -> None:
        export_anki(
            conn, CardFilter(), vault=vault, out=out, now=now, clock=CLOCK, scheduling=opts,
            cache=cache if with_cache else None,
        )  # fmt: skip

    sync_vault(conn, vault, T0)
    export(root / "inc.apkg", T0, True)
    export(root / "full.apkg", T0, False)
    same_but_ids(package(root / "inc.apkg"), package(root / "full.apkg"))
    for step, op in enumerate(ops, 1):
        now = T0 + timedelta(hours=step)
        before = package(root / "inc.apkg")
        touched = apply(op, vault, conn, now, step)
        sync_vault(conn, vault, now)
        export(root / "inc.apkg", now, True)
        export(root / "full.apkg", now, False)
        inc, full = package(root / "inc.apkg"), package(root / "full.apkg")
        same_but_ids(inc, full)
        # The cache was used: notes built the same keep their row ids (a full build numbers every
        # note from the export time); with scheduling, those of the notes just touched may move.
        unchanged = [
            g
            for g, row in inc["notes"].items()
            if before["notes"].get(g) == row
            and all(inc["cards"][k] == before["cards"].get(k) for k in inc["cards"] if k[0] == g)
            and not (scheduled and row[1].rsplit("\x1f", 1)[-1].rsplit(":", 1)[0] in touched)
        ]
        assert all(inc["ids"][g] == before["ids"][g] for g in unchanged)
        assert not unchanged or any(full["ids"][g] != before["ids"][g] for g in unchanged)
    conn.close()


@pytest.fixture
def exported(run: Cli, notes: Callable[[dict[str, str]], None], vault: Path, tmp_path: Path) -> Path:
    notes(NOTES)
    (vault / "d.png").write_bytes(PNG)
    out = tmp_path / "deck.apkg"
    run("export", "anki", "-o", str(out), env={"MLSYS_SRS_NOW": "2026-11-22T16:00:00+00:00"})
    return out


def test_a_package_changed_since_is_rebuilt_in_full(run: Cli, exported: Path) -> None:
    first = package(exported)
    later = {"MLSYS_SRS_NOW": "2026-11-22T17:00:00+00:00"}
    run("export", "anki", "-o", str(exported), env=later)
    assert package(exported)["ids"] == first["ids"]  # from the cache: nothing changed
    # Another program (or a copy) replaced the package: the cache no longer describes it.
    exported.write_bytes(exported.read_bytes())
    run("export", "anki", "-o", str(exported), env=later)
    again = package(exported)
    same_but_ids(again, first)
    assert set(again["ids"].values()).isdisjoint(first["ids"].values())


def test_a_damaged_cache_only_costs_a_full_build(run: Cli, exported: Path, isolated_user_dirs: Path) -> None:
    caches = sorted(p for p in (isolated_user_dirs / ".cache").rglob("exports/*") if p.suffix != ".lock")
    assert {p.suffix for p in caches} == {".sqlite", ".anki2"}
    first = package(exported)
    for p in caches:
        p.write_bytes(b"not a database" * 100)
    result = run("export", "anki", "-o", str(exported), env={"MLSYS_SRS_NOW": "2026-11-22T17:00:00+00:00"})
    assert "error" not in result.output.lower()
    same_but_ids(package(exported), first)


def test_a_note_with_an_image_is_built_again_every_time(run: Cli, exported: Path, vault: Path) -> None:
    (vault / "d.png").write_bytes(PNG + b"edited")
    run("export", "anki", "-o", str(exported), env={"MLSYS_SRS_NOW": "2026-11-22T17:00:00+00:00"})
    assert package(exported)["media"] == {"d.png": PNG + b"edited"}
    (vault / "d.png").unlink()
    result = run("export", "anki", "-o", str(exported), env={"MLSYS_SRS_NOW": "2026-11-22T18:00:00+00:00"})
    assert "d.png" in result.output  # the missing image is reported again, not hidden by the cache
    assert package(exported)["media"] == {}


def test_anki_updates_notes_from_an_incremental_package(
    run: Cli,
    exported: Path,
    vault: Path,
    collections: Callable[..., tuple[Any, Any]],  # noqa: F811
) -> None:
    col, _ = collections(exported)
    before = col.note_count()
    paxos = vault / "01-a" / "paxos.md"
    paxos.write_text(paxos.read_text().replace("A: Two.", "A: Two: prepare and accept."))
    write_notes(vault, {"02-b/new.md": "# New\n\nQ: A new question?\nA: A new answer.\n"})
    run("export", "anki", "-o", str(exported), env={"MLSYS_SRS_NOW": "2026-11-22T17:00:00+00:00"})
    col, _ = collections(exported, col)
    assert col.note_count() == before + 1
    backs = [col.get_note(n)["Back"] for n in col.find_notes("") if "Back" in col.get_note(n)]
    assert "Two: prepare and accept." in backs
    assert "Two." not in backs


def test_a_note_added_between_others_is_the_only_note_built_and_takes_the_gap(
    run: Cli, exported: Path, vault: Path
) -> None:
    """New cards' positions are sparse and kept: adding a note renumbers no other card, so the
    incremental export builds only the new note, whose cards go between their neighbours'."""
    first = package(exported)
    write_notes(vault, {"01-a/quorum.md": "# Quorum\n\nQ: What is a quorum?\nA: A majority.\n"})
    run("export", "anki", "-o", str(exported), env={"MLSYS_SRS_NOW": "2026-11-22T17:00:00+00:00"})
    second = package(exported)
    (new,) = set(second["notes"]) - set(first["notes"])
    assert {g: i for g, i in second["ids"].items() if g != new} == first["ids"]  # no other note built
    assert {k: v for k, v in second["cards"].items() if k[0] != new} == first["cards"]
    due = {second["notes"][k[0]][1].split("\x1f")[0]: v[3] for k, v in second["cards"].items()}
    # 01-a/paxos.md, 01-a/quorum.md, 01-a/raft.md: the new note's card between the other two notes'.
    assert due["Phases?"] < due["What is a quorum?"] < due["What fires an election?"]


def test_a_full_build_in_small_batches_equals_one_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlsys_srs.anki import export as anki

    bundled = Path(__file__).resolve().parent.parent / "notes"
    conn = open_db(tmp_path / "db.sqlite", T0)
    sync_vault(conn, bundled, T0)
    packages = []
    for batch in (anki.EXPORT_BATCH, 7):
        monkeypatch.setattr(anki, "EXPORT_BATCH", batch)
        out = tmp_path / f"b{batch}.apkg"
        result = export_anki(conn, CardFilter(), vault=bundled, out=out, now=T0, clock=CLOCK)
        assert result.cards > 1000
        packages.append(package(out))
    same_but_ids(*packages)
    conn.close()


def test_a_full_build_in_one_process_records_its_cards_batch_by_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: with more cards than one fetch of the card query, the signature function was
    registered again while that query ran, which SQLite refuses ("Error creating function"): a
    one-core machine's first export of 5,000 cards or more failed."""
    from mlsys_srs.anki import export as anki

    bundled = Path(__file__).resolve().parent.parent / "notes"
    conn = open_db(tmp_path / "db.sqlite", T0)
    sync_vault(conn, bundled, T0)
    monkeypatch.setattr(anki, "EXPORT_BATCH", 300)
    monkeypatch.setattr(anki, "PARALLEL_EXPORT_MIN", 10**9)
    out, cache = tmp_path / "deck.apkg", tmp_path / "cache" / "deck.sqlite"
    first = export_anki(conn, CardFilter(), vault=bundled, out=out, now=T0, clock=CLOCK, cache=cache)
    assert first.cards > 1000
    built = package(out)
    export_anki(
        conn, CardFilter(), vault=bundled, out=out, now=T0 + timedelta(hours=1), clock=CLOCK, cache=cache
    )
    assert package(out) == built
    conn.close()


def test_an_export_running_beside_another_builds_without_the_cache(tmp_path: Path) -> None:
    from mlsys_srs.store import export_cache

    vault = tmp_path / "vault"
    write_notes(vault, NOTES)
    conn = open_db(tmp_path / "db.sqlite", T0)
    sync_vault(conn, vault, T0)
    cache, out = tmp_path / "cache" / "x.sqlite", tmp_path / "deck.apkg"
    export_anki(conn, CardFilter(), vault=vault, out=out, now=T0, clock=CLOCK, cache=cache)
    first, stamp = package(out), cache.with_suffix(".anki2").stat().st_mtime_ns
    later = T0 + timedelta(hours=1)
    with export_cache.hold(cache) as held:
        assert held == cache
        export_anki(conn, CardFilter(), vault=vault, out=out, now=later, clock=CLOCK, cache=cache)
    second = package(out)
    same_but_ids(second, first)
    assert set(second["ids"].values()).isdisjoint(first["ids"].values())  # a full build
    assert cache.with_suffix(".anki2").stat().st_mtime_ns == stamp  # the other export's cache left alone
    export_anki(
        conn, CardFilter(), vault=vault, out=out, now=later + timedelta(hours=1), clock=CLOCK, cache=cache
    )
    assert set(package(out)["ids"].values()).isdisjoint(second["ids"].values())  # out changed: full again
    conn.close()


def test_caches_no_export_used_for_90_days_are_removed(tmp_path: Path) -> None:
    import os

    from mlsys_srs.store import export_cache

    vault = tmp_path / "vault"
    write_notes(vault, NOTES)
    conn = open_db(tmp_path / "db.sqlite", T0)
    sync_vault(conn, vault, T0)
    folder = tmp_path / "cache"
    for name in ("old", "held", "recent"):
        export_anki(conn, CardFilter(), vault=vault, out=tmp_path / f"{name}.apkg", now=T0, clock=CLOCK,
                    cache=folder / f"{name}.sqlite")  # fmt: skip
    now = datetime.now(UTC)
    for name in ("old", "held"):
        for f in folder.glob(f"{name}.*"):
            stamp = (now - timedelta(days=91)).timestamp()
            os.utime(f, (stamp, stamp))
    with export_cache.hold(folder / "held.sqlite"):
        export_anki(conn, CardFilter(), vault=vault, out=tmp_path / "new.apkg", now=now, clock=CLOCK,
                    cache=folder / "new.sqlite")  # fmt: skip
    left = {f.name.split(".")[0] for f in folder.iterdir()}
    assert left == {"held", "recent", "new"}  # "old" went; one in use stays
    conn.close()
