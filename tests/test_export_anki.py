"""``export anki``: packages that real Anki imports, updates in place, and schedules.

Every package is imported into a fresh collection with the ``anki`` package
(the same Rust importer Anki's desktop and mobile apps use), and the checks
read what Anki holds: notes, cards, decks, fields, tags, media, rendered
cards, scheduling columns and the review log.
"""

from __future__ import annotations

import sqlite3
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_srs.anki.labels import anki_tag, deck_title, source_field
from mlsys_srs.parse.lines import strip_comments
from mlsys_srs.render.html import MarkdownRenderer
from mlsys_srs.render.media import MediaBundle
from mlsys_srs.scheduling.days import DayClock

from .conftest import Cli, add_review, set_card

NOW = "2026-11-22T16:00:00+00:00"
LATER = "2026-11-23T16:00:00+00:00"
LA = ZoneInfo("America/Los_Angeles")
PNG = b"\x89PNG\r\n\x1a\n" + b"not really a picture, but bytes to compare"

RAFT = """---
tags: [consensus, distributed/raft, "deep work"]
---
# Raft

## Elections

Q: What does a Raft follower do when its election timeout fires?
A: It becomes a candidate, increments its term and asks for votes, as in [[Paxos|Multi-Paxos]].

C: Raft elects {{c1::a leader}} per {{c2::term::unit}}.

Leader lease ::: a time-bounded promise that no other leader exists
"""

ZERO = """# ZeRO

Q: How do you accumulate gradients over k micro-batches?
A: Scale the loss and step every k batches:

```python
loss = loss_fn(model(x), y) / k
loss.backward()
```

Q: Adam state bytes per parameter? #interview
A: $12$ bytes, since $4 \\cdot 3 < 16$:
$$
m_t = \\beta_1 m_{t-1}
$$

Q: What does <script>alert(1)</script> do in a note?
A: Nothing & it shows as text.

What does the pipeline diagram show?
?
![[diagram.png]] one forward and one backward per micro-batch
"""


@pytest.fixture
def collections(tmp_path: Path) -> Iterator[Callable[..., tuple[Any, Any]]]:
    """Import a package into a fresh Anki collection: ``(collection, import log)``."""
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    opened: list[Any] = []

    def open_collection() -> Any:
        folder = tmp_path / f"anki{len(opened)}"
        folder.mkdir()
        col = Collection(str(folder / "collection.anki2"))
        opened.append(col)
        return col

    def import_into(package: Path, col: Any = None, *, with_scheduling: bool = False) -> tuple[Any, Any]:
        col = col or open_collection()
        options = ImportAnkiPackageOptions(with_scheduling=with_scheduling)
        result = col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package), options=options))
        return col, result.log

    yield import_into
    for col in opened:
        col.close()


@pytest.fixture
def obsidian_vault(vault: Path, notes: Callable[[dict[str, str]], None]) -> Path:
    """An Obsidian vault with two domains, every card syntax, code, math, HTML and an image."""
    notes({"04-distributed-systems/raft.md": RAFT, "07-ml-systems/zero.md": ZERO})
    (vault / ".obsidian").mkdir()
    (vault / "attachments").mkdir()
    (vault / "attachments" / "diagram.png").write_bytes(PNG)
    return vault


def _notes_by_first_field(col: Any) -> dict[str, Any]:
    out = {}
    for nid in col.find_notes(""):
        note = col.get_note(nid)
        out[note.fields[0]] = note
    return out


def _find(notes: dict[str, Any], fragment: str) -> Any:
    hits = [n for key, n in notes.items() if fragment in key]
    assert len(hits) == 1, (fragment, list(notes))
    return hits[0]


# --- the package in Anki --------------------------------------------------------------------


def test_package_imports_with_notes_decks_fields_tags_and_media(
    run: Cli, obsidian_vault: Path, tmp_path: Path, collections: Callable[..., tuple[Any, Any]]
) -> None:
    run("sync")
    cards = run.json("cards")
    assert isinstance(cards, list)
    # raft: Q/A (1), cloze with c1 and c2 (2 cards, 1 note), ":::" (2); zero: 3 Q/A and 1 multi-line.
    assert len(cards) == 9
    cloze_paragraphs = {(c["note"], c["line"]) for c in cards if c["kind"] == "cloze"}
    expected_notes = sum(1 for c in cards if c["kind"] == "basic") + len(cloze_paragraphs)
    assert expected_notes == 8

    out = tmp_path / "out" / "mlsys.apkg"
    summary = run.json("export", "anki", "--out", str(out), env={"MLSYS_SRS_NOW": NOW})
    assert isinstance(summary, dict)
    assert (summary["notes"], summary["cards"], summary["media"]) == (8, 9, 1)
    assert summary["path"] == str(out) and summary["size"] == out.stat().st_size
    assert summary["diagnostics"] == []

    col, log = collections(out)
    assert len(log.new) == 8
    assert col.note_count() == 8 and col.card_count() == 9
    names = {d.name for d in col.decks.all_names_and_ids()}
    # Numbered like the folders the domains' notes are in, so Anki takes the decks in learning order.
    assert {"MLSys", "MLSys::04 Distributed Systems", "MLSys::07 ML Systems"} <= names
    assert set(summary["decks"]) == {"MLSys", "MLSys::04 Distributed Systems", "MLSys::07 ML Systems"}

    notes = _notes_by_first_field(col)
    follower = _find(notes, "election timeout")
    assert follower.note_type()["name"] == "mlsys-srs Basic"
    assert follower["Back"].endswith("as in Multi-Paxos.")  # wikilink shown as its alias
    assert follower["Context"] == "Raft &gt; Elections"
    assert follower["Source"].startswith(
        '<a href="obsidian://open?vault=vault&amp;file=04-distributed-systems%2Fraft">'
    )
    assert sorted(follower.tags) == ["consensus", "deep_work", "distributed-systems", "distributed::raft"]
    deck_of = {col.get_card(cid).did for cid in follower.card_ids()}
    assert deck_of == {col.decks.id_for_name("MLSys::04 Distributed Systems")}

    code = _find(notes, "accumulate gradients")
    assert '<pre><code class="language-python">' in code["Back"]
    assert 'style="color:' in code["Back"]  # inline highlighting, no stylesheet needed
    assert "ml-systems" in code.tags

    adam = _find(notes, "Adam state bytes")
    assert adam["Front"] == "Adam state bytes per parameter?"  # the card's tag is a tag, not text
    assert "\\(12\\)" in adam["Back"] and "\\(4 \\cdot 3 &lt; 16\\)" in adam["Back"]
    assert "\\[m_t = \\beta_1 m_{t-1}\\]" in adam["Back"]
    assert "interview" in adam.tags

    script = _find(notes, "alert(1)")
    assert "&lt;script&gt;" in script["Front"] and "<script>" not in script["Front"]
    shown = col.get_card(script.card_ids()[0]).question()
    assert "<script>" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert script["Back"] == "Nothing &amp; it shows as text."

    diagram = _find(notes, "pipeline diagram")
    assert diagram["Back"].startswith('<img src="diagram.png">')
    assert (Path(col.media.dir()) / "diagram.png").read_bytes() == PNG

    lease = [n for n in notes.values() if "Leader lease" in n.fields[0] + n.fields[1]]
    assert len(lease) == 2  # a reversed pair is two basic notes
    assert {n["Front"] for n in lease} == {
        "Leader lease",
        "a time-bounded promise that no other leader exists",
    }


def test_cloze_paragraph_is_one_note_whose_cards_hide_their_deletion(
    run: Cli, obsidian_vault: Path, tmp_path: Path, collections: Callable[..., tuple[Any, Any]]
) -> None:
    run("sync")
    out = tmp_path / "c.apkg"
    run("export", "anki", "--out", str(out), env={"MLSYS_SRS_NOW": NOW})
    col, _ = collections(out)
    (nid,) = col.find_notes('"note:mlsys-srs Cloze"')
    note = col.get_note(nid)
    assert note["Text"] == "Raft elects {{c1::a leader}} per {{c2::term::unit}}."
    assert note["Extra"] == ""
    by_ord = {col.get_card(cid).ord: col.get_card(cid) for cid in note.card_ids()}
    assert sorted(by_ord) == [0, 1]
    first_q, second_q = by_ord[0].question(), by_ord[1].question()
    assert "[...]" in first_q and "a leader" not in first_q and "term" in first_q
    assert "[unit]" in second_q and "a leader" in second_q
    assert "a leader" in by_ord[0].answer()


def test_reexport_after_an_edit_updates_the_note_instead_of_adding_one(
    run: Cli, obsidian_vault: Path, tmp_path: Path, collections: Callable[..., tuple[Any, Any]]
) -> None:
    first = tmp_path / "first.apkg"
    run("export", "anki", "--out", str(first), env={"MLSYS_SRS_NOW": NOW})  # syncs first
    col, log = collections(first)
    assert len(log.new) == 8

    note_path = obsidian_vault / "04-distributed-systems" / "raft.md"
    text = note_path.read_text(encoding="utf-8")
    note_path.write_text(text.replace("asks for votes", "requests votes in parallel"), encoding="utf-8")
    second = tmp_path / "second.apkg"
    run("export", "anki", "--out", str(second), env={"MLSYS_SRS_NOW": LATER})
    _, log2 = collections(second, col)

    assert len(log2.new) == 0
    assert len(log2.updated) == 1
    assert col.note_count() == 8 and col.card_count() == 9
    follower = _find(_notes_by_first_field(col), "election timeout")
    assert "requests votes in parallel" in follower["Back"]


def test_reexport_to_the_same_path_updates_notes_whose_tags_changed(
    run: Cli, obsidian_vault: Path, tmp_path: Path, collections: Callable[..., tuple[Any, Any]]
) -> None:
    out = tmp_path / "decks" / "mlsys.apkg"
    run("export", "anki", "--out", str(out), env={"MLSYS_SRS_NOW": NOW})
    col, _ = collections(out)
    zero = obsidian_vault / "07-ml-systems" / "zero.md"
    zero.write_text("---\ntags: [memory]\n---\n" + zero.read_text(encoding="utf-8"), encoding="utf-8")
    run("export", "anki", "--out", str(out), env={"MLSYS_SRS_NOW": LATER})
    _, log = collections(out, col)
    # The four notes of zero.md gained a tag (no card text changed); raft.md's are untouched.
    assert (len(log.new), len(log.updated), len(log.duplicate)) == (0, 4, 4)
    assert len(col.find_notes("tag:memory")) == 4


def _review_some_cards(db: Path, now: datetime) -> dict[str, dict[str, Any]]:
    """Give three cards progress directly in SQLite, as a review session would."""
    conn = sqlite3.connect(db)
    ids = dict(conn.execute("SELECT question, id FROM card"))

    def iso(dt: datetime) -> str:
        return dt.astimezone(UTC).isoformat(timespec="microseconds")

    plans = {
        "review": {
            "id": ids["What does a Raft follower do when its election timeout fires?"],
            "state": "review",
            "step": None,
            "stability": 12.3456,
            "difficulty": 5.4321,
            "due": now + timedelta(days=7),
            "last_review": now - timedelta(days=5),
            "reps": 3,
            "lapses": 1,
            "suspended": 0,
        },
        "learning": {
            "id": ids["Adam state bytes per parameter? #interview"],
            "state": "learning",
            "step": 1,
            "stability": 0.4,
            "difficulty": 6.2,
            "due": now + timedelta(minutes=10),
            "last_review": now - timedelta(minutes=1),
            "reps": 1,
            "lapses": 0,
            "suspended": 0,
        },
        "suspended": {
            "id": ids["What does the pipeline diagram show?"],
            "state": "review",
            "step": None,
            "stability": 30.0,
            "difficulty": 3.0,
            "due": now + timedelta(days=20),
            "last_review": now - timedelta(days=10),
            "reps": 2,
            "lapses": 0,
            "suspended": 1,
        },
    }
    for p in plans.values():
        set_card(conn, p["id"], **{k: v for k, v in p.items() if k != "id"})
    review = plans["review"]
    history = [  # (when, rating, before, after, due after)
        (now - timedelta(days=9), 3, "new", "learning", now - timedelta(days=9) + timedelta(minutes=10)),
        (now - timedelta(days=9) + timedelta(minutes=10), 3, "learning", "review", now - timedelta(days=7)),
        (now - timedelta(days=5), 1, "review", "relearning", now - timedelta(days=5) + timedelta(minutes=10)),
    ]
    for at, r, b, a, due in history:
        add_review(
            conn, review["id"], at, r, before=b, after=a, due_after=due, duration_ms=4000, stability_after=1.0
        )
    add_review(
        conn,
        plans["learning"]["id"],
        now - timedelta(minutes=1),
        3,
        before="new",
        after="learning",
        due_after=now + timedelta(minutes=10),
        duration_ms=2500,
        stability_after=0.4,
        difficulty_after=6.2,
    )
    conn.commit()
    conn.close()
    return plans


def test_with_scheduling_carries_due_interval_memory_state_and_review_log(
    run: Cli,
    obsidian_vault: Path,
    db_path: Path,
    tmp_path: Path,
    isolated_user_dirs: Path,
    collections: Callable[..., tuple[Any, Any]],
) -> None:
    (isolated_user_dirs / "config.toml").write_text(
        '[schedule]\ntimezone = "America/Los_Angeles"\nrollover_hour = 4\ndesired_retention = 0.85\n'
    )
    run("sync")
    # Anki's importer counts days from its own clock, so the cards are placed
    # around the real time; the export itself still runs at a fixed instant.
    real_now = datetime.now(UTC).replace(microsecond=0)
    plans = _review_some_cards(db_path, real_now)
    out = tmp_path / "progress.apkg"
    result = run(
        "export", "anki", "--with-scheduling", "--out", str(out), env={"MLSYS_SRS_NOW": real_now.isoformat()}
    )
    assert "FSRS" in result.stdout and "deck options" in result.stdout
    assert "progress of 3 reviewed cards, 4 reviews" in result.stdout

    col, _ = collections(out, with_scheduling=True)
    by_front = {col.get_note(nid).fields[0]: col.get_note(nid) for nid in col.find_notes("")}
    clock = DayClock(LA, 4)

    review_plan = plans["review"]
    (cid,) = by_front["What does a Raft follower do when its election timeout fires?"].card_ids()
    card = col.get_card(cid)
    assert (card.type, card.queue, card.reps, card.lapses) == (2, 2, 3, 1)
    expected_days_left = (clock.day_of(review_plan["due"]) - clock.day_of(real_now)).days
    assert abs((card.due - col.sched.today) - expected_days_left) <= 1
    assert (
        abs(card.ivl - (clock.day_of(review_plan["due"]) - clock.day_of(review_plan["last_review"])).days)
        <= 1
    )
    assert card.memory_state is not None
    assert abs(card.memory_state.stability - 12.3456) < 0.01
    assert abs(card.memory_state.difficulty - 5.4321) < 0.01
    assert card.desired_retention == pytest.approx(0.85)
    revlog = col.db.all(f"SELECT ease, type, time FROM revlog WHERE cid = {cid} ORDER BY id")
    assert revlog == [[3, 0, 4000], [3, 0, 4000], [1, 1, 4000]]

    (lid,) = by_front["Adam state bytes per parameter?"].card_ids()
    learning = col.get_card(lid)
    learning_due = plans["learning"]["due"]
    if clock.day_of(learning_due) == clock.day_of(real_now):
        assert (learning.type, learning.queue) == (1, 1)  # learning, due later today, at a Unix time
        assert abs(learning.due - int(learning_due.timestamp())) <= 1
    else:  # run just before the 4 am rollover: the step ends on the next review day
        assert (learning.type, learning.queue) == (1, 3)  # learning, due on a later day, in days
        assert learning.due - col.sched.today in (0, 1)
    assert learning.memory_state is not None and abs(learning.memory_state.difficulty - 6.2) < 0.01

    (sid,) = by_front["What does the pipeline diagram show?"].card_ids()
    suspended = col.get_card(sid)
    assert (suspended.type, suspended.queue) == (2, -1)

    new_cards = [col.get_card(c) for c in col.find_cards("is:new")]
    assert len(new_cards) == 9 - 3 and all(c.memory_state is None for c in new_cards)
    assert col.db.scalar("SELECT count() FROM revlog") == 4


def test_without_scheduling_every_card_arrives_new(
    run: Cli, obsidian_vault: Path, db_path: Path, tmp_path: Path, collections: Callable[..., tuple[Any, Any]]
) -> None:
    run("sync")
    _review_some_cards(db_path, datetime.fromisoformat(NOW))
    out = tmp_path / "plain.apkg"
    summary = run.json("export", "anki", "--out", str(out), env={"MLSYS_SRS_NOW": NOW})
    assert isinstance(summary, dict) and summary["with_scheduling"] is False and summary["reviews"] == 0
    col, _ = collections(out, with_scheduling=True)
    assert len(col.find_cards("is:new")) == 9
    assert col.db.scalar("SELECT count() FROM revlog") == 0


# --- media ---------------------------------------------------------------------------------


def test_images_outside_the_vault_are_refused_with_a_diagnostic(
    run: Cli,
    vault: Path,
    notes: Callable[[dict[str, str]], None],
    tmp_path: Path,
    collections: Callable[..., tuple[Any, Any]],
) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"secret")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "linked.png").write_bytes(b"linked secret")
    notes(
        {
            "ml/leaks.md": (
                "Q: Dotted path?\nA: ![x](../../secret.png)\n\n"
                f"Q: Absolute path?\nA: ![[{secret}]]\n\n"
                "Q: Symlink?\nA: ![[linked.png]]\n\n"
                "Q: Missing?\nA: ![[nowhere.png]]\n\n"
                "Q: Fine?\nA: ![[img/ok.png]] and ![](ok.png)\n"
            )
        }
    )
    (vault / "ml" / "img").mkdir()
    (vault / "ml" / "img" / "ok.png").write_bytes(PNG)
    (vault / "linked.png").symlink_to(tmp_path / "elsewhere" / "linked.png")
    out = tmp_path / "m.apkg"
    result = run("export", "anki", "--out", str(out), env={"MLSYS_SRS_NOW": NOW})
    err = result.stderr
    assert "ml/leaks.md:2: image '../../secret.png' is outside the vault" in err
    assert "ml/leaks.md:5: image" in err and "absolute path" in err
    assert "ml/leaks.md:8: image 'linked.png' leads outside the vault" in err
    assert "ml/leaks.md:11: image 'nowhere.png' not found in the vault" in err
    assert "exported 5 cards" in result.stdout  # the export goes on

    with zipfile.ZipFile(out) as z:
        payload = b"".join(z.read(n) for n in z.namelist() if n not in ("collection.anki2", "media"))
    assert b"secret" not in payload and payload == PNG  # ok.png once, under one name
    col, _ = collections(out)
    assert sorted(p.name for p in Path(col.media.dir()).iterdir()) == ["ok.png"]
    fine = _find(_notes_by_first_field(col), "Fine?")
    assert fine["Back"] == '<img src="ok.png"> and <img src="ok.png">'
    dotted = _find(_notes_by_first_field(col), "Dotted path?")
    assert dotted["Back"] == "[x]"


def test_media_resolution_follows_obsidian_order_and_keeps_names_unique(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    for rel in ("a/x.png", "x.png", "deep/er/x.png", "b/y.png", "b/sub/z.png"):
        (vault / rel).parent.mkdir(parents=True, exist_ok=True)
        (vault / rel).write_bytes(rel.encode())
    bundle = MediaBundle(vault)
    assert bundle.add("x.png", "a/n.md", 1) == "x.png"  # the note's folder first
    assert bundle.files["x.png"].read_bytes() == b"a/x.png"
    other = bundle.add("x.png", "c/n.md", 2)  # then the vault root: another file, same name
    assert other is not None and other != "x.png" and other.startswith("x-") and other.endswith(".png")
    assert bundle.files[other].read_bytes() == b"x.png"
    assert bundle.add("y.png", "c/n.md", 3) == "y.png"  # then by name anywhere
    assert bundle.add("sub/z.png", "c/n.md", 4) == "z.png"  # by trailing path
    assert bundle.add("x.png", "a/other.md", 5) == "x.png"  # one file, one name
    assert bundle.diagnostics == []


# --- output, filters, recipes --------------------------------------------------------------


def test_default_output_is_decks_root_name_and_builds_are_reproducible(
    run: Cli, obsidian_vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # Next to the vault's deck recipes (decks/ beside the vault), wherever the command runs.
    work = obsidian_vault.parent
    run("export", "anki", env={"MLSYS_SRS_NOW": NOW})
    assert not (elsewhere / "decks").exists()
    first = (work / "decks" / "mlsys.apkg").read_bytes()
    run("export", "anki", env={"MLSYS_SRS_NOW": NOW})
    assert (work / "decks" / "mlsys.apkg").read_bytes() == first
    assert sorted(p.name for p in (work / "decks").iterdir()) == ["mlsys.apkg"]  # no temp file left
    run("export", "anki", env={"MLSYS_SRS_NOW": LATER})
    assert (work / "decks" / "mlsys.apkg").read_bytes() != first  # note and card ids come from the time
    (elsewhere / "shared").mkdir()
    run("export", "anki", "--out", "shared", env={"MLSYS_SRS_NOW": NOW})
    assert (elsewhere / "shared" / "mlsys.apkg").read_bytes() == first  # a folder gets <deck>.apkg


def test_domain_tag_and_deck_recipe_filters(
    run: Cli,
    obsidian_vault: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    collections: Callable[..., tuple[Any, Any]],
) -> None:
    run("sync")
    by_domain = run.json("export", "anki", "--domain", "ml-systems", "--out", str(tmp_path / "d.apkg"))
    assert isinstance(by_domain, dict)
    assert (by_domain["cards"], by_domain["decks"]) == (4, ["MLSys", "MLSys::07 ML Systems"])
    by_tag = run.json("export", "anki", "--tag", "distributed", "--out", str(tmp_path / "t.apkg"))
    assert isinstance(by_tag, dict) and by_tag["cards"] == 5  # nested distributed/raft matches

    monkeypatch.chdir(tmp_path)
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "interview.toml").write_text('title = "Interview"\ntags = ["interview"]\n')
    recipe = run.json("export", "anki", "--deck", "interview")
    assert isinstance(recipe, dict)
    assert recipe["path"] == str(tmp_path / "decks" / "interview.apkg") and recipe["cards"] == 1
    col, _ = collections(tmp_path / "decks" / "interview.apkg")
    assert [col.get_note(n).fields[0] for n in col.find_notes("")] == ["Adam state bytes per parameter?"]


def test_nothing_to_export_is_an_error(
    run: Cli, vault: Path, notes: Callable[[dict[str, str]], None]
) -> None:
    notes({"a.md": "no cards here\n"})
    result = run("export", "anki", "--out", str(vault.parent / "x.apkg"), code=1)
    assert "no cards to export" in result.stderr
    assert not (vault.parent / "x.apkg").exists()


def test_export_root_deck_comes_from_the_config(
    run: Cli, obsidian_vault: Path, tmp_path: Path, isolated_user_dirs: Path
) -> None:
    (isolated_user_dirs / "config.toml").write_text('[export]\nroot_deck = "Study"\n')
    summary = run.json("export", "anki", "--out", str(tmp_path / "s.apkg"))
    assert isinstance(summary, dict)
    assert summary["decks"] == ["Study", "Study::04 Distributed Systems", "Study::07 ML Systems"]


# --- names and rendering -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "title"),
    [
        ("distributed-systems", "Distributed Systems"),
        ("ml-systems", "ML Systems"),
        ("llm-systems", "LLM Systems"),
        ("gpu-systems", "GPU Systems"),
        ("nosql-and-sql", "NoSQL and SQL"),
        ("cuda", "CUDA"),
        ("general", "General"),
    ],
)
def test_deck_titles_keep_acronyms(domain: str, title: str) -> None:
    assert deck_title(domain) == title


@pytest.mark.parametrize(
    ("tag", "anki"),
    [("deep work", "deep_work"), ("gpu/cuda", "gpu::cuda"), ("#a/b/c", "a::b::c"), ("plain", "plain")],
)
def test_tags_are_anki_safe(tag: str, anki: str) -> None:
    assert anki_tag(tag) == anki


def test_source_is_the_path_and_line_outside_obsidian() -> None:
    assert source_field("db/b-tree & co.md", 12, None) == "db/b-tree &amp; co.md:12"
    assert 'file=db%2Fb-tree%20%26%20co"' in source_field("db/b-tree & co.md", 12, "My Vault")
    assert "vault=My%20Vault&amp;" in source_field("db/b-tree & co.md", 12, "My Vault")


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("<b>bold?</b>", "&lt;b&gt;bold?&lt;/b&gt;"),
        ("costs $5 and $10", "costs $5 and $10"),
        ("$a<b$ and $$x$$", "\\(a&lt;b\\) and \\[x\\]"),
        ("[[Raft#Log matching]] and [[X|y]]", "Raft &gt; Log matching and y"),
        (
            "see [other](other.md) or [site](https://example.org)",
            'see other or <a href="https://example.org">site</a>',
        ),
        ("`{{c1::x}}`", "<code>{&#123;c1::x}}</code>"),
        ("```\n<tag>\n```", "<pre><code>&lt;tag&gt;\n</code></pre>"),
        ("one\ntwo", "one\ntwo"),
    ],
)
def test_markdown_rendering(markdown: str, html: str) -> None:
    assert MarkdownRenderer().render(markdown) == html


def test_obsidian_line_breaks_are_kept_unless_strict() -> None:
    assert MarkdownRenderer(breaks=True).render("one\ntwo") == "one<br />\ntwo"


def test_unknown_code_language_is_escaped_plain_text() -> None:
    assert MarkdownRenderer().render("```nosuchlang\na < b\n```") == (
        '<pre><code class="language-nosuchlang">a &lt; b\n</code></pre>'
    )


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
def test_plain_text_shortcut_renders_like_markdown_it(text: str) -> None:
    renderer = MarkdownRenderer()
    shown = strip_comments(text)  # a comment is not shown, as in Obsidian's reading view
    full = str(renderer._md.render(shown.strip(), {})).strip()
    if full.startswith("<p>") and full.endswith("</p>") and full.count("<p>") == 1:
        full = full[3:-4]
    assert renderer.render(text) == full


# --- scheduling rows -----------------------------------------------------------------------


def _view(**changes: Any) -> Any:
    from mlsys_srs.store.cards import CardView

    base = CardView(
        id=1, note_id=1, note="a.md", title="A", domain="general", line=1, end_line=2, kind="basic",
        syntax="qa", direction="forward", cloze=None, question="q", answer="a", source="q\n---\na",
        context="A", block_id=None, fingerprint="f", tags=(), links=(), state="new", step=None,
        stability=None, difficulty=None, due=None, last_review=None, reps=0, lapses=0, suspended=False,
        buried_until=None, retired=False,
    )  # fmt: skip
    return replace(base, **changes)


def test_relearning_card_due_on_a_later_day_goes_to_the_day_learning_queue() -> None:
    from mlsys_srs.anki.progress import SchedulingOptions, anki_card_row

    clock = DayClock(LA, 4)
    now = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # 8 am in Los Angeles
    card = _view(
        state="relearning", step=0, stability=2.5, difficulty=7.0, reps=6, lapses=2,
        due=now + timedelta(days=1), last_review=now - timedelta(hours=1),
    )  # fmt: skip
    opts = SchedulingOptions(relearning_steps=2)
    ctype, queue, due, ivl, _, reps, lapses, left, data = anki_card_row(
        card, clock=clock, today=clock.today(now), now=now, opts=opts
    )
    assert (ctype, queue, due, ivl, reps, lapses, left) == (3, 3, 1, 1, 6, 2, 2)
    assert (
        '"s":2.5' in data
        and '"d":7.0' in data
        and f'"lrt":{int((now - timedelta(hours=1)).timestamp())}' in data
    )
    # The same card due later today is in the intraday queue, due at a Unix time.
    soon = replace(card, due=now + timedelta(minutes=10))
    row = anki_card_row(soon, clock=clock, today=clock.today(now), now=now, opts=opts)
    assert row[1:3] == (1, int((now + timedelta(minutes=10)).timestamp()))


def test_revlog_rows_use_anki_intervals_and_unique_ids() -> None:
    from mlsys_srs.anki.revlog import anki_revlog_rows as revlog_rows

    clock = DayClock(LA, 4)
    t0 = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)

    def iso(dt: datetime) -> str:
        return dt.isoformat(timespec="microseconds")

    reviews = [  # (card, rating, at, ms, before, after, difficulty, due after)
        (1, 3, iso(t0), 3000, "new", "learning", 5.5, iso(t0 + timedelta(minutes=10))),
        (1, 3, iso(t0 + timedelta(minutes=10)), 2000, "learning", "review", 5.5, iso(t0 + timedelta(days=3))),
        (1, 1, iso(t0 + timedelta(days=3)), None, "review", "relearning", 6.4, iso(t0 + timedelta(days=3, minutes=10))),
    ]  # fmt: skip
    used = {int(t0.timestamp() * 1000)}  # another card was answered in the same millisecond
    rows = revlog_rows(reviews, 99, clock, used)
    assert rows[0][0] == int(t0.timestamp() * 1000) + 1
    assert [(r[3], r[4], r[5], r[7], r[8]) for r in rows] == [
        (3, -600, 0, 3000, 0),
        (3, 3, -600, 2000, 0),
        (1, -600, 3, 0, 1),
    ]
    assert all(r[1] == 99 and r[2] == -1 for r in rows)
    assert rows[0][6] == round((4.5 / 9 + 0.1) * 1000)
