"""Sync keeps every card's identity and history through edits, moves, renames and deletions."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlsys_srs.store import card_sync as sync_store
from mlsys_srs.store import cards as card_store
from mlsys_srs.store import open_db
from mlsys_srs.sync import sync_vault, write_block_ids

from .conftest import add_review, set_card

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


class Vault:
    """A vault and its database, synced on demand."""

    def __init__(self, root: Path, db: Path) -> None:
        self.root = root
        self.conn = open_db(db, NOW)
        self.clock = NOW

    def write(self, rel: str, text: str) -> None:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        # Bump mtime so an edit within the same clock tick is still seen as a change.
        st = p.stat()
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    def move(self, old: str, new: str) -> None:
        (self.root / new).parent.mkdir(parents=True, exist_ok=True)
        (self.root / old).rename(self.root / new)

    def delete(self, rel: str) -> None:
        (self.root / rel).unlink()

    def sync(self):  # type: ignore[no-untyped-def]
        self.clock += timedelta(minutes=1)
        return sync_vault(self.conn, self.root, self.clock)

    def cards(self, retired: bool = False) -> dict[str, int]:
        """question -> card id of active (or retired) cards."""
        rows = self.conn.execute(
            "SELECT question, id FROM card WHERE retired = ? ORDER BY id", (int(retired),)
        ).fetchall()
        return dict(rows)

    def review(self, card_id: int) -> None:
        """Record a review directly, as the review session would."""
        add_review(self.conn, card_id, self.clock, before="new", after="learning", duration_ms=1000)
        reps = card_store.schedule_of(self.conn, card_id)["reps"]
        set_card(self.conn, card_id, state="learning", reps=reps + 1)

    def reviews_of(self, card_id: int) -> int:
        return int(
            self.conn.execute("SELECT count(*) FROM review WHERE card_id = ?", (card_id,)).fetchone()[0]
        )


@pytest.fixture
def v(tmp_path: Path) -> Vault:
    root = tmp_path / "vault"
    root.mkdir()
    return Vault(root, tmp_path / "srs.db")


BASE = "# ZeRO\n\nQ: What does ZeRO stage 2 shard?\nA: Gradients and optimizer states.\n\nKV cache :: keys and values\n"


def test_first_sync_adds_and_second_changes_nothing(v: Vault) -> None:
    v.write("a.md", BASE)
    r = v.sync()
    assert (r.notes_seen, r.notes_parsed, r.cards_added) == (1, 1, 2)
    r = v.sync()
    assert (r.notes_read, r.notes_parsed, r.cards_added, r.cards_changed, r.cards_retired) == (0, 0, 0, 0, 0)


def test_unchanged_size_and_mtime_is_not_read_same_hash_not_parsed(v: Vault) -> None:
    v.write("a.md", BASE)
    v.sync()
    p = v.root / "a.md"
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 5_000_000_000))
    r = v.sync()
    assert (r.notes_read, r.notes_parsed) == (1, 0)
    r = v.sync()
    assert (r.notes_read, r.notes_parsed) == (0, 0)


def test_editing_the_answer_keeps_identity_and_history(v: Vault) -> None:
    v.write("a.md", BASE)
    v.sync()
    cid = v.cards()["What does ZeRO stage 2 shard?"]
    v.review(cid)
    v.write(
        "a.md",
        BASE.replace("Gradients and optimizer states.", "Gradients + optimizer state (not parameters)."),
    )
    r = v.sync()
    assert (r.cards_changed, r.cards_added, r.cards_retired) == (1, 0, 0)
    assert v.cards()["What does ZeRO stage 2 shard?"] == cid
    assert v.reviews_of(cid) == 1
    answer = v.conn.execute("SELECT answer FROM card WHERE id = ?", (cid,)).fetchone()[0]
    assert answer == "Gradients + optimizer state (not parameters)."


def test_fixing_a_typo_in_the_question_keeps_identity(v: Vault) -> None:
    v.write("a.md", BASE)
    v.sync()
    cid = v.cards()["What does ZeRO stage 2 shard?"]
    v.write("a.md", BASE.replace("What does ZeRO stage 2 shard?", "What does ZeRO stage two shard?"))
    r = v.sync()
    assert (r.cards_changed, r.cards_added, r.cards_retired) == (1, 0, 0)
    assert v.cards()["What does ZeRO stage two shard?"] == cid


def test_editing_question_and_answer_beyond_recognition_is_a_new_card(v: Vault) -> None:
    v.write("a.md", "Q: alpha beta gamma\nA: one two three\n")
    v.sync()
    old = v.cards()["alpha beta gamma"]
    v.write("a.md", "Q: completely unrelated words\nA: nothing shared here\n")
    r = v.sync()
    assert (r.cards_added, r.cards_retired) == (1, 1)
    assert v.cards(retired=True) == {"alpha beta gamma": old}


def test_moving_a_card_to_another_note(v: Vault) -> None:
    v.write("a.md", BASE)
    v.write("b.md", "# Other\n")
    v.sync()
    cid = v.cards()["KV cache"]
    v.review(cid)
    v.write("a.md", BASE.replace("KV cache :: keys and values\n", ""))
    v.write("b.md", "# Other\n\nKV cache :: keys and values (per layer)\n")
    r = v.sync()
    assert (r.cards_moved, r.cards_added, r.cards_retired) == (1, 0, 0)
    assert v.cards()["KV cache"] == cid
    path = v.conn.execute(
        "SELECT note.path FROM card JOIN note ON note.id = card.note_id WHERE card.id = ?", (cid,)
    )
    assert path.fetchone()[0] == "b.md"
    assert v.reviews_of(cid) == 1


def test_renaming_and_moving_a_note(v: Vault) -> None:
    v.write("a.md", BASE)
    v.sync()
    before = v.cards()
    note_id = v.conn.execute("SELECT id FROM note WHERE path = 'a.md'").fetchone()[0]
    v.move("a.md", "04-distributed-systems/zero.md")
    r = v.sync()
    assert (r.notes_renamed, r.cards_added, r.cards_retired) == (1, 0, 0)
    assert v.cards() == before
    row = v.conn.execute("SELECT id, domain, present FROM note WHERE path = '04-distributed-systems/zero.md'")
    assert row.fetchone() == (note_id, "distributed-systems", 1)


def test_renaming_and_editing_at_once(v: Vault) -> None:
    v.write("a.md", BASE)
    v.sync()
    before = v.cards()
    v.delete("a.md")
    v.write("renamed.md", BASE.replace("keys and values", "keys and values of past tokens"))
    r = v.sync()
    assert (r.cards_added, r.cards_retired) == (0, 0)
    assert v.cards() == before


def test_deleting_retires_and_restoring_revives_with_history(v: Vault) -> None:
    v.write("a.md", BASE)
    v.sync()
    cid = v.cards()["KV cache"]
    v.review(cid)
    v.write("a.md", BASE.replace("KV cache :: keys and values\n", ""))
    r = v.sync()
    assert r.cards_retired == 1
    assert v.cards(retired=True) == {"KV cache": cid}
    v.write("a.md", BASE)
    r = v.sync()
    assert (r.cards_revived, r.cards_added) == (1, 0)
    assert v.cards()["KV cache"] == cid
    assert v.reviews_of(cid) == 1


def test_deleting_a_note_retires_its_cards_and_links(v: Vault) -> None:
    v.write("a.md", BASE + "\nSee [[b]].\n")
    v.write("b.md", "# B\nSee [[a]].\n")
    v.sync()
    v.delete("a.md")
    r = v.sync()
    assert (r.notes_deleted, r.cards_retired) == (1, 2)
    assert v.conn.execute("SELECT present FROM note WHERE path='a.md'").fetchone()[0] == 0
    # b's link to a now dangles; a's own links are gone.
    rows = v.conn.execute(
        "SELECT note.path, link.target, link.target_note_id FROM link JOIN note ON note.id = link.note_id"
    )
    assert rows.fetchall() == [("b.md", "a", None)]


def test_block_id_identity_survives_a_rewrite_and_a_move(v: Vault) -> None:
    v.write("a.md", "Q: original question\nA: original answer ^card-1\n")
    v.sync()
    cid = v.cards()["original question"]
    v.delete("a.md")
    v.write("elsewhere/b.md", "Q: a totally different question\nA: and answer ^card-1\n")
    r = v.sync()
    assert (r.cards_added, r.cards_retired) == (0, 0)
    assert v.cards()["a totally different question"] == cid


def test_duplicate_block_id_across_notes(v: Vault) -> None:
    v.write("a.md", "Q: first\nA: one ^same\n")
    v.sync()
    first = v.cards()["first"]
    v.write("b.md", "Q: copy\nA: two ^same\n")
    r = v.sync()
    assert r.cards_added == 1
    assert v.cards()["first"] == first
    assert [d.path for d in r.diagnostics] == ["b.md"]
    assert "^same" in r.diagnostics[0].message


def test_cloze_cards_keep_identity_by_number_when_text_changes(v: Vault) -> None:
    v.write("a.md", "C: ZeRO stage {{c1::2}} shards {{c2::gradients}}.\n")
    v.sync()
    ids = dict(v.conn.execute("SELECT cloze, id FROM card").fetchall())
    v.write("a.md", "C: ZeRO stage {{c1::2}} shards {{c2::gradients and optimizer states}}.\n")
    r = v.sync()
    assert (r.cards_added, r.cards_retired) == (0, 0)
    assert dict(v.conn.execute("SELECT cloze, id FROM card").fetchall()) == ids


def test_two_cards_never_match_one_stored_card(v: Vault) -> None:
    v.write("a.md", "Q: same question\nA: one\n")
    v.sync()
    v.write("a.md", "Q: same question\nA: one\n\nQ: same question\nA: two\n")
    r = v.sync()
    assert r.cards_added == 1
    assert len(set(v.conn.execute("SELECT id FROM card WHERE retired = 0").fetchall())) == 2


def test_broken_note_does_not_stop_others_and_keeps_its_cards(v: Vault) -> None:
    v.write("good.md", BASE)
    v.write("bad.md", "Q: fine\nA: yes\n")
    v.sync()
    (v.root / "bad.md").write_bytes(b"Q: \xff\xfe broken\nA: x\n")
    v.write("good2.md", "x :: y\n")
    r = v.sync()
    assert [(d.path, d.line) for d in r.diagnostics] == [("bad.md", 1)]
    assert "not valid UTF-8" in r.diagnostics[0].message
    assert r.cards_added == 1
    assert r.cards_retired == 0  # the unreadable note's cards are kept, not retired
    assert "fine" in v.cards()


def test_invalid_frontmatter_never_retires_cards(v: Vault) -> None:
    v.write("a.md", "---\ntags: [x]\n---\nQ: q\nA: a\n")
    v.sync()
    v.write("a.md", "---\ntags: [x\n---\nQ: q\nA: a\n")
    r = v.sync()
    assert r.cards_retired == 0
    assert r.diagnostics[0].message.startswith("invalid YAML")


def test_ignore_globs_and_dot_folders(v: Vault) -> None:
    v.write("a.md", "x :: y\n")
    v.write(".obsidian/plugin.md", "p :: q\n")
    v.write(".trash/old.md", "o :: p\n")
    v.write("templates/t.md", "t :: u\n")
    v.write("notes.txt", "n :: o\n")
    r = sync_vault(v.conn, v.root, NOW, ignore=["templates/*"])
    assert r.notes_seen == 1
    assert set(v.cards()) == {"x"}


def test_links_resolve_and_dangling_ones_resolve_when_the_note_appears(v: Vault) -> None:
    v.write("a.md", "[[b]] [[Later Note]] [[alias-of-c]]\n")
    v.write("b.md", "# B\n")
    v.write("c.md", "---\naliases: [alias-of-c]\n---\n")
    v.sync()

    def resolved() -> dict[str, str | None]:
        rows = v.conn.execute(
            "SELECT link.target, t.path FROM link LEFT JOIN note t ON t.id = link.target_note_id"
        )
        return dict(rows.fetchall())

    assert resolved() == {"b": "b.md", "Later Note": None, "alias-of-c": "c.md"}
    v.write("sub/later note.md", "# Later\n")
    v.sync()
    assert resolved()["Later Note"] == "sub/later note.md"


def test_card_tags_and_links_are_stored(v: Vault) -> None:
    v.write("a.md", "---\ntags: [gpu]\n---\nQ: what is [[warp]]? #interview\nA: 32 threads\n")
    v.sync()
    tags = {r[0] for r in v.conn.execute("SELECT tag FROM card_tag")}
    assert tags == {"gpu", "interview"}
    links = v.conn.execute("SELECT target, card_id IS NOT NULL FROM link").fetchall()
    assert links == [("warp", 1)]


def _bulk_vault(root: Path, first: range, notes: int = 30) -> None:
    for i in range(notes):
        if i not in first:
            continue
        text = (
            f"---\ntags: [t{i % 3}]\naliases: [alias-{i}]\n---\n# Note {i}\n\n"
            f"Q: question {i} about [[n{(i + 1) % notes}]] #card-tag\nA: answer {i}\n\n"
            f"term {i} :: meaning {i} with [a link](n{(i + 2) % notes}.md) and [[missing-{i}]]\n\n"
            f"C: {{{{c1::cloze {i}}}}} and {{{{c2::more}}}} [[alias-{(i + 3) % notes}]]\n\n"
            f"both {i} ::: ways\n\nSee [[n{(i + 4) % notes}#Head|shown]] ^blk{i}\n"
        )
        (root / f"n{i}.md").write_text(text, encoding="utf-8")


def _dump(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {
        "schema": conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall(),
        "card": conn.execute("SELECT * FROM card ORDER BY id").fetchall(),
        "note": conn.execute(
            "SELECT id, path, title, tags, aliases, content_hash, present FROM note ORDER BY id"
        ).fetchall(),
        "card_tag": conn.execute("SELECT card_id, tag FROM card_tag ORDER BY card_id, tag").fetchall(),
        "link": conn.execute("SELECT * FROM link ORDER BY id").fetchall(),
        "fts": conn.execute("SELECT rowid, * FROM card_fts ORDER BY rowid").fetchall(),
        "search": conn.execute(
            "SELECT rowid FROM card_fts WHERE card_fts MATCH 'cloze OR meaning' ORDER BY rowid"
        ).fetchall(),
    }


def test_bulk_writes_equal_row_by_row_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cards written in bulk (explicit ids, indexes and search index built after the rows) and links
    written resolved give exactly the rows, schema and search index of the row-by-row path."""
    dumps = []
    for bulk in (True, False):
        limit = 1 if bulk else 10**9
        monkeypatch.setattr(sync_store, "_BULK_FTS", limit)
        monkeypatch.setattr(sync_store, "_BULK_INDEX", limit)
        v = Vault(tmp_path / f"vault-{bulk}", tmp_path / f"srs-{bulk}.db")
        v.root.mkdir()
        _bulk_vault(v.root, range(0, 12))
        v.sync()
        _bulk_vault(v.root, range(12, 30))  # a second batch, now larger than the table
        v.sync()
        assert v.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert v.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        dumps.append(_dump(v.conn))
    bulk_dump, row_dump = dumps
    assert len(bulk_dump["card"]) == 30 * 6
    assert {r[8] for r in bulk_dump["link"]} - {None}  # links were resolved
    for key, rows in row_dump.items():
        assert bulk_dump[key] == rows, key


# -- write-ids --------------------------------------------------------------------------------


def test_write_ids_appends_only_ids_and_keeps_identity(v: Vault) -> None:
    text = (
        "# T\r\n\r\nQ: q1\r\nA: a1\r\n\r\nQ: code\r\nA: here\r\n\r\n```py\r\nx = 1\r\n```\r\n\r\n"
        "C: {{c1::a}} {{c2::b}}\r\n\r\nk ::: v\r\n\r\n> [!faq] callout q\r\n> callout a\r\n\r\n"
        "Q: has id\r\nA: yes ^keep\r\n"
    )
    p = v.root / "a.md"
    p.write_bytes(text.encode("utf-8"))
    v.sync()
    ids_before = dict(
        v.conn.execute("SELECT question || ':' || coalesce(cloze, direction), id FROM card").fetchall()
    )
    written, diags = write_block_ids(v.conn, v.root, NOW)
    assert diags == []
    assert written == 5  # q1, code, the cloze paragraph, the ::: pair, the callout
    new = p.read_bytes().decode("utf-8")
    # Nothing but appended ids: removing them gives back the original text.
    import re

    assert re.sub(r"(\r\n)?\^srs-[0-9a-f]{6}(?=\r\n)| \^srs-[0-9a-f]{6}", "", new) == text
    assert "```\r\n^srs-" in new  # the id after a closing fence goes on its own line
    r = v.sync()
    assert (r.cards_added, r.cards_retired) == (0, 0)
    ids_after = dict(
        v.conn.execute("SELECT question || ':' || coalesce(cloze, direction), id FROM card").fetchall()
    )
    assert ids_after == ids_before
    blocks = v.conn.execute("SELECT count(*) FROM card WHERE block_id IS NULL").fetchone()[0]
    assert blocks == 0
    # The ids now carry identity: rewrite the question entirely, the card stays.
    v.write("a.md", new.replace("Q: q1", "Q: an entirely new question text"))
    r = v.sync()
    assert (r.cards_added, r.cards_retired) == (0, 0)


def test_write_ids_refuses_a_note_changed_since_sync(v: Vault) -> None:
    v.write("a.md", "x :: y\n")
    v.sync()
    v.write("a.md", "x :: y\nchanged :: since\n")
    written, diags = write_block_ids(v.conn, v.root, NOW)
    assert written == 0
    assert diags[0].path == "a.md"
    assert "changed since it was synced" in diags[0].message
    assert (v.root / "a.md").read_text() == "x :: y\nchanged :: since\n"


def test_database_is_consistent_after_sync(v: Vault) -> None:
    v.write("a.md", BASE)
    v.sync()
    assert v.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert v.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert v.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert isinstance(v.conn, sqlite3.Connection)


def test_a_failure_mid_sync_leaves_the_database_as_it_was(v: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlsys_srs.store.links as link_store

    v.write("a.md", BASE)
    v.sync()
    before = (
        v.conn.execute("SELECT * FROM card ORDER BY id").fetchall(),
        v.conn.execute("SELECT * FROM note ORDER BY id").fetchall(),
    )
    v.write("a.md", BASE + "\nnew :: card\n")
    v.write("b.md", "other :: note\n")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(link_store, "resolve_links", boom)
    with pytest.raises(RuntimeError):
        v.sync()
    after = (
        v.conn.execute("SELECT * FROM card ORDER BY id").fetchall(),
        v.conn.execute("SELECT * FROM note ORDER BY id").fetchall(),
    )
    assert after == before
    monkeypatch.undo()
    r = v.sync()
    assert r.cards_added == 2


def test_an_edit_keeps_tags_the_tool_set(v: Vault) -> None:
    v.write("a.md", "---\ntags: [gpu]\n---\nQ: q\nA: a\n")
    v.sync()
    cid = v.cards()["q"]
    card_store.add_tag(v.conn, cid, "leech")
    v.write("a.md", "---\ntags: [cuda]\n---\nQ: q\nA: a, edited\n")
    v.sync()
    tags = {r[0] for r in v.conn.execute("SELECT tag FROM card_tag WHERE card_id = ?", (cid,))}
    assert tags == {"cuda", "leech"}
