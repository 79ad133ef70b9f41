"""Property-based tests (hypothesis) for the parser and sync."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsys_srs.parse import parse_note
from mlsys_srs.parse.text import split_lines
from mlsys_srs.store import open_db
from mlsys_srs.sync import sync_vault

from .conftest import add_review

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)

MARKDOWN_BITS = st.sampled_from(
    [
        "Q:",
        "A:",
        "C:",
        "?",
        "??",
        "::",
        ":::",
        "{{",
        "}}",
        "{{c1::",
        "::hint}}",
        "```",
        "~~~",
        "$$",
        "<!--",
        "-->",
        "%%",
        "`",
        "> [!question]",
        "> ",
        "#",
        "# ",
        "## ",
        "^id",
        " ^srs-1",
        "[[",
        "]]",
        "|",
        "---",
        "\n",
        "\n\n",
        "\r\n",
        "    ",
        "\t",
        "- ",
        "1. ",
        "#tag",
        "\ufeff",
        "![[x.png]]",
        "[a](b.md)",
        "word",
        " ",
        "é",
        "\x00",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(MARKDOWN_BITS, st.text(max_size=8)), max_size=60).map("".join))
def test_parser_never_raises_and_lines_are_in_range(text: str) -> None:
    note = parse_note(text, "any/path.md")
    n_lines = len(split_lines(text))  # the one definition of a line
    for card in note.cards:
        assert 1 <= card.line <= card.end_line <= n_lines
        assert card.question.strip() and card.answer.strip()
    for d in note.diagnostics:
        assert 1 <= d.line <= n_lines + 1


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)
PHRASE = st.lists(WORD, min_size=1, max_size=5).map(" ".join)


def make_card_block(
    phrase: st.SearchStrategy[str],
) -> st.SearchStrategy[tuple[list[str], list[int], list[str]]]:
    """Blocks of note lines with cards whose questions and answers come from ``phrase``."""

    @st.composite
    def card_block(draw: st.DrawFn) -> tuple[list[str], list[int], list[str]]:
        """A block of lines, the 0-based offsets of card start lines in it, and each card's question."""
        kind = draw(st.sampled_from(["qa", "inline", "pair", "multi", "cloze", "callout", "prose", "code"]))
        q, a = draw(phrase), draw(phrase)
        if kind == "qa":
            extra = draw(st.booleans())
            lines = [f"Q: {q}", f"A: {a}"]
            if extra:
                lines += ["", "```", "Q: inside code", "A: no", "```"]
            return lines, [0], [q]
        if kind == "inline":
            return [f"- {q} :: {a}"], [0], [q]
        if kind == "pair":
            return [f"{q} ::: {a}"], [0, 0], [q, a]
        if kind == "multi":
            return [q, "?", a], [0], [q]
        if kind == "cloze":
            return [f"C: {q} {{{{c1::{a}}}}} end"], [0], [f"{q} [...] end"]
        if kind == "callout":
            return [f"> [!faq] {q}", f"> {a}"], [0], [q]
        if kind == "code":
            return ["```", f"{q} :: {a}", "Q: x", "A: y", "```"], [], []
        return [f"{q} {a}."], [], []

    return card_block()


def card_block() -> st.SearchStrategy[tuple[list[str], list[int], list[str]]]:
    """Card blocks with plain phrases."""
    return make_card_block(PHRASE)


@settings(max_examples=200, deadline=None)
@given(st.lists(card_block(), max_size=12))
def test_every_card_line_points_at_its_question(blocks: list[tuple[list[str], list[int], list[str]]]) -> None:
    lines: list[str] = ["# Title"]
    expected: list[tuple[int, str]] = []
    for block, starts, questions in blocks:
        lines.append("")
        base = len(lines)
        lines.extend(block)
        expected.extend((base + s + 1, q) for s, q in zip(starts, questions, strict=True))
    text = "\n".join(lines) + "\n"
    note = parse_note(text, "n.md")
    assert note.diagnostics == ()
    assert [(c.line, c.question) for c in note.cards] == expected
    for card in note.cards:
        src = lines[card.line - 1]
        first = card.question.split("[...]")[0].splitlines()[0].strip()
        assert first in src or card.direction == "reverse"


# -- sync ---------------------------------------------------------------------------------

NOTE_NAMES = st.sampled_from(["a.md", "b.md", "sub/c.md", "04-x/d.md"])
CARD_TEXT = st.tuples(PHRASE, PHRASE)


@st.composite
def vault_state(draw: st.DrawFn) -> dict[str, list[tuple[str, str]]]:
    return draw(st.dictionaries(NOTE_NAMES, st.lists(CARD_TEXT, max_size=4), max_size=4))


def render(cards: list[tuple[str, str]]) -> str:
    return "# Note\n\n" + "\n".join(f"Q: {q}\nA: {a}\n" for q, a in cards)


def write_state(root: Path, state: dict[str, list[tuple[str, str]]], tick: int) -> None:
    for p in list(root.rglob("*.md")):
        rel = p.relative_to(root).as_posix()
        if rel not in state:
            p.unlink()
    for rel, cards in state.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        text = render(cards)
        if not p.exists() or p.read_text() != text:
            p.write_text(text)
            os.utime(p, ns=(tick * 10**9, tick * 10**9))


def snapshot(conn):  # type: ignore[no-untyped-def]
    return (
        conn.execute("SELECT * FROM note ORDER BY id").fetchall(),
        conn.execute("SELECT * FROM card ORDER BY id").fetchall(),
        conn.execute("SELECT * FROM link ORDER BY id").fetchall(),
        conn.execute("SELECT * FROM card_tag ORDER BY card_id, tag").fetchall(),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vault_state())
def test_syncing_twice_changes_nothing(state: dict[str, list[tuple[str, str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "v"
        root.mkdir()
        write_state(root, state, 1)
        conn = open_db(Path(tmp) / "db.sqlite", NOW)
        sync_vault(conn, root, NOW)
        before = snapshot(conn)
        r = sync_vault(conn, root, NOW + timedelta(minutes=1))
        assert (r.notes_parsed, r.cards_added, r.cards_changed, r.cards_retired, r.cards_revived) == (
            0,
            0,
            0,
            0,
            0,
        )
        assert snapshot(conn) == before
        conn.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(vault_state(), st.lists(st.integers(0, 50), max_size=3)), min_size=1, max_size=6))
def test_any_sequence_of_edits_never_loses_a_review(
    steps: list[tuple[dict[str, list[tuple[str, str]]], list[int]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "v"
        root.mkdir()
        conn = open_db(Path(tmp) / "db.sqlite", NOW)
        reviews = 0
        clock = NOW
        known_cards: set[int] = set()
        for tick, (state, picks) in enumerate(steps, start=1):
            write_state(root, state, tick)
            clock += timedelta(hours=1)
            sync_vault(conn, root, clock)
            ids = [r[0] for r in conn.execute("SELECT id FROM card ORDER BY id")]
            # Card ids are never deleted or reused.
            assert known_cards <= set(ids)
            known_cards = set(ids)
            active = [r[0] for r in conn.execute("SELECT id FROM card WHERE retired = 0 ORDER BY id")]
            for pick in picks:
                if active:
                    add_review(conn, active[pick % len(active)], clock, before="new", after="learning")
                    reviews += 1
            assert conn.execute("SELECT count(*) FROM review").fetchone()[0] == reviews
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            # Every card present in the notes is active exactly once per (note, question, answer).
            present = sum(len(cards) for cards in state.values())
            assert conn.execute("SELECT count(*) FROM card WHERE retired = 0").fetchone()[0] == present
        conn.close()
