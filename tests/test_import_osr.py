"""``import osr``, OSR's ``==highlight==`` clozes and schedule comments, and the safe vault writer."""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlsys_srs.parse import parse_note
from mlsys_srs.parse.sr_comments import card_schedules, strip_schedule_comments_from
from mlsys_srs.scheduling.days import DayClock, zone
from mlsys_srs.vault.writes import FileExists, NoteChanged, create_file, rewrite_note

from .conftest import Cli

NOW = {"MLSYS_SRS_NOW": "2026-11-30T10:00:00+00:00"}

OSR_NOTE = """---
tags: [flashcards]
sr-due: 2026-12-20
sr-interval: 12
sr-ease: 270
---
# Memory

What is HBM::High-bandwidth memory <!--SR:!2026-12-05,10,250-->

Why tile attention?
?
To keep the working set in SRAM.
<!--SR:!2026-12-10,30,230-->

The ==KV cache== grows with ==sequence length==.
<!--SR:!2026-12-02,3,250!2026-12-08,9,270-->

Warp:::32 threads <!--SR:!2026-12-03,4,250!2026-12-04,5,260-->

No comment::takes the note's schedule
"""


@pytest.fixture
def osr_vault(vault: Path, isolated_user_dirs: Path) -> Path:
    (isolated_user_dirs / "config.toml").write_text(
        '[parse]\nosr_highlight_cloze = true\n[schedule]\ntimezone = "UTC"\nrollover_hour = 4\n'
    )
    (vault / "memory.md").write_text(OSR_NOTE)
    return vault


def _cards(run: Cli) -> dict[str, dict[str, object]]:
    return {c["question"]: c for c in json.loads(run("cards", "--json", env=NOW).stdout)}


def test_osr_schedules_seed_fsrs_states_close_to_the_sm2_intervals(run: Cli, osr_vault: Path) -> None:
    before = osr_vault.joinpath("memory.md").read_bytes()
    dry = json.loads(run("import", "osr", "--dry-run", "--strip", "--json", env=NOW).stdout)
    assert dry["seeded"] == 7 and dry["stripped_notes"] == 1
    assert osr_vault.joinpath("memory.md").read_bytes() == before

    report = json.loads(run("import", "osr", "--json", env=NOW).stdout)
    assert report["seeded"] == 7 and report["from_note_level"] == 1 and report["without_card"] == 0
    assert osr_vault.joinpath("memory.md").read_bytes() == before  # no --strip: the notes are untouched
    cards = _cards(run)
    clock = DayClock(zone("UTC"), 4)
    expected = {
        "What is HBM": (date(2026, 12, 5), 10),
        "Why tile attention?": (date(2026, 12, 10), 30),
        "The [...] grows with sequence length.": (date(2026, 12, 2), 3),
        "The KV cache grows with [...].": (date(2026, 12, 8), 9),
        "Warp": (date(2026, 12, 3), 4),
        "32 threads": (date(2026, 12, 4), 5),
        "No comment": (date(2026, 12, 20), 12),
    }
    assert set(cards) == set(expected)
    for question, (due, interval) in expected.items():
        card = cards[question]
        assert card["state"] == "review"
        assert datetime.fromisoformat(str(card["due"])) == clock.day_start(due)
        stability = float(card["stability"])  # type: ignore[arg-type]
        assert 0.5 * interval <= stability <= 1.5 * interval, (question, stability)
        assert 1 <= float(card["difficulty"]) <= 10  # type: ignore[arg-type]

    again = json.loads(run("import", "osr", "--json", env=NOW).stdout)
    assert again["seeded"] == 0 and again["already_seeded_or_reviewed"] == 7
    run("rebuild", "--check", env=NOW)


def test_strip_removes_the_comments_and_keeps_every_card(run: Cli, osr_vault: Path) -> None:
    run("import", "osr", "--strip", env=NOW)
    text = osr_vault.joinpath("memory.md").read_text()
    assert "<!--SR:" not in text and "What is HBM::High-bandwidth memory\n" in text
    assert "sr-due: 2026-12-20" in text  # the note-level schedule is OSR's note review: kept
    seeded = _cards(run)
    run("sync", env=NOW)
    after = _cards(run)
    assert {q: (c["id"], c["due"], c["state"]) for q, c in after.items()} == {
        q: (c["id"], c["due"], c["state"]) for q, c in seeded.items()
    }
    run("check", env=NOW)


def test_import_osr_without_fsrs_rs_says_which_extra(
    run: Cli, osr_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fsrs_rs_python", None)
    result = run("import", "osr", code=1, env=NOW)
    assert "mlsys-srs[optimizer]" in result.output and "Traceback" not in result.output


# --- the parser ----------------------------------------------------------------------------


def test_highlight_clozes_only_with_the_switch() -> None:
    text = "The ==KV cache== grows with ==sequence length==.\n"
    assert parse_note(text, "n.md").cards == ()
    cards = parse_note(text, "n.md", highlight_cloze=True).cards
    assert [(c.cloze, c.question) for c in cards] == [
        (1, "The [...] grows with sequence length."),
        (2, "The KV cache grows with [...]."),
    ]
    assert cards[0].source == "The {{c1::KV cache}} grows with {{c2::sequence length}}."
    mixed = parse_note("A {{c2::b}} and ==c== `x == y`.\n", "n.md", highlight_cloze=True).cards
    assert [(c.cloze, c.question) for c in mixed] == [
        (2, "A [...] and c `x == y`."),
        (3, "A b and [...] `x == y`."),
    ]


@given(
    st.text(alphabet="ab ?:=", min_size=1, max_size=20).filter(lambda s: s.strip()),
    st.integers(1, 400),
    st.integers(130, 400),
)
def test_schedule_comments_are_never_card_text(question: str, interval: int, ease: int) -> None:
    plain = f"{question.strip()} :: answer\n\nC: a {{{{cloze}}}} here\n"
    commented = (
        f"{question.strip()} :: answer <!--SR:!2026-01-02,{interval},{ease}-->\n\n"
        f"C: a {{{{cloze}}}} here <!--SR:!2026-01-02,{interval},{ease}-->\n"
    )
    a, b = parse_note(plain, "n.md").cards, parse_note(commented, "n.md").cards
    assert [(c.question, c.answer, c.source, c.fingerprint) for c in a] == [
        (c.question, c.answer, c.source, c.fingerprint) for c in b
    ]


def test_schedules_go_to_their_cards_in_order() -> None:
    note = parse_note(OSR_NOTE, "memory.md", highlight_cloze=True)
    got = {(c.question, s.interval, whole) for c, s, whole in card_schedules(OSR_NOTE, note)}
    assert ("Warp", 4, False) in got and ("32 threads", 5, False) in got
    assert ("No comment", 12, True) in got and len(got) == 7


def test_stripping_keeps_line_endings_and_never_merges_paragraphs() -> None:
    text = "a ::b <!--SR:!2026-01-02,3,250-->\r\nq\r\n?\r\nans\r\n<!--SR:!2026-01-02,3,250-->\r\nnext\r\n"
    assert strip_schedule_comments_from(text) == "a ::b\r\nq\r\n?\r\nans\r\n\r\nnext\r\n"
    assert strip_schedule_comments_from("x\n<!--SR:!2026-01-02,3,250-->\n\ny\n") == "x\n\ny\n"


# --- the safe writer -----------------------------------------------------------------------


def test_create_file_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "n.md"
    create_file(target, b"first")
    with pytest.raises(FileExists):
        create_file(target, b"second")
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["n.md"]


def test_rewrite_note_refuses_a_changed_file_and_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "n.md"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with pytest.raises(NoteChanged):
        rewrite_note(target, b"something else", b"new")
    assert target.read_bytes() == b"old"
    rewrite_note(target, b"old", b"new")
    assert target.read_bytes() == b"new" and (target.stat().st_mode & 0o777) == 0o640
    link = tmp_path / "link.md"
    link.symlink_to(target)
    rewrite_note(link, b"new", b"newer")
    assert link.is_symlink() and target.read_bytes() == b"newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.md", "n.md"]


def test_turning_the_highlight_switch_on_parses_every_note_again(
    run: Cli, vault: Path, isolated_user_dirs: Path
) -> None:
    (vault / "n.md").write_text("The ==KV cache== grows.\n")
    run("sync", env=NOW)
    assert json.loads(run("cards", "--json", env=NOW).stdout) == []
    (isolated_user_dirs / "config.toml").write_text("[parse]\nosr_highlight_cloze = true\n")
    run("sync", env=NOW)
    assert [c["question"] for c in json.loads(run("cards", "--json", env=NOW).stdout)] == ["The [...] grows."]
