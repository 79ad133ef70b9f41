"""The parser on hostile input: linear time, cloze numbers, NUL bytes, unclosed fences, one kind of line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_srs.parse import parse_note
from mlsys_srs.parse.text import line_starts, split_lines

from .test_properties import make_card_block

# -- linear time ----------------------------------------------------------------------------

HOSTILE_TOKENS = {
    "spaces": " ",
    "lbracket": "[",
    "backticks": "`",
    "cloze-open": "{{",
    "double-colon": "::",
    "dollar": "$",
    "html-comment": "<!--",
    "hash": "#",
    "quote": ">",
    "link-dest": "](",
    "obsidian-comment": "%%",
    "empty-cloze": "{{}}",
    "mixed": "",
}
HOSTILE_SIZE = 200_000

_CHILD = textwrap.dedent(
    """
    import json, random, sys, time
    from mlsys_srs.parse import parse_note
    tok, size = sys.argv[1], int(sys.argv[2])
    if tok:
        body = (tok * (size // len(tok) + 1))[:size]
    else:
        rng = random.Random(1)
        alphabet = [" ", "[", "`", "{{", "::", "$", "<!--", "#", ">", "]", "}}", "a", "\\n", "-->", "%%", "(", ")"]
        body = "".join(rng.choice(alphabet) for _ in range(size // 2))[:size]
    out = {}
    for layout, (head, tail) in {
        "line": ("", "x"),
        "heading": ("# a", "b"),
        "paragraph": ("Some text ", " more :: answer"),
        "flashcards": ("---\\ntags: [flashcards]\\n---\\nq::a ", " b"),
    }.items():
        t = time.perf_counter()
        note = parse_note(head + body + tail, "hostile.md")
        out[layout] = [len(note.cards), len(note.diagnostics), time.perf_counter() - t]
    print(json.dumps(out))
    """
)


@pytest.mark.parametrize("case", list(HOSTILE_TOKENS))
def test_hostile_input_parses_in_linear_time(case: str) -> None:
    """200 KB of one token on one line (also in a heading, a paragraph, a #flashcards note).

    The parser before the linear-time fixes needed ~22 s for 40 KB of spaces and
    ~1.5 s for 20 KB of '[' (quadratic or worse: minutes at 200 KB, far past the
    60 s timeout here); it now takes well under a second per case. No timing is
    asserted beyond the generous timeout, so a slow machine cannot make it flaky.
    """
    r = subprocess.run(
        [sys.executable, "-c", _CHILD, HOSTILE_TOKENS[case], str(HOSTILE_SIZE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)
    assert set(result) == {"line", "heading", "paragraph", "flashcards"}
    if case in ("spaces", "dollar", "hash", "quote", "lbracket"):
        # One inline card "Some text ... more :: answer" in the paragraph layout.
        assert result["paragraph"][0] == 1


def test_one_cloze_paragraph_with_many_deletions_is_bounded() -> None:
    n = parse_note("{{a}} " * 50_000, "c.md")
    assert 1 <= len(n.cards) <= 999
    assert any("too large" in d.message for d in n.diagnostics)
    assert n.cards[0].cloze == 1


# -- cloze numbers -------------------------------------------------------------------------


def test_cloze_number_beyond_64_bits_is_a_diagnostic_and_skipped() -> None:
    n = parse_note(
        "# T\n\nC: first {{c1::one}} and\nhuge {{c99999999999999999999::x}} and {{c2::two}}\n\nQ: q\nA: a\n",
        "big.md",
    )
    assert [(c.cloze, c.line) for c in n.cards if c.kind == "cloze"] == [(1, 3), (2, 3)]
    assert [c.question for c in n.cards if c.kind == "basic"] == ["q"]
    (d,) = n.diagnostics
    assert str(d).startswith("big.md:4: cloze number")
    assert "out of range" in d.message
    assert d.severity == "error"
    # The skipped deletion is plain text everywhere, also in the Anki source.
    c1 = n.cards[0]
    assert "huge x and" in c1.question
    assert "c99999999999999999999" not in c1.source
    assert all(c.cloze is not None and c.cloze < 2**63 for c in n.cards if c.kind == "cloze")


def test_cloze_number_with_thousands_of_digits_does_not_raise() -> None:
    n = parse_note("C: {{c" + "9" * 6000 + "::x}} {{c1::y}}\n", "d.md")
    assert [c.cloze for c in n.cards] == [1]
    assert "out of range" in n.diagnostics[0].message


def test_cloze_number_1000_is_out_of_range_999_is_fine() -> None:
    n = parse_note("C: {{c999::a}} {{c1000::b}} {{c0007::c}}\n", "d.md")
    assert [c.cloze for c in n.cards] == [7, 999]
    assert [d.line for d in n.diagnostics] == [1]


def test_c0_is_a_warning() -> None:
    n = parse_note("text\n\nC: {{c0::a}} and {{c1::b}}\n", "z.md")
    (d,) = n.diagnostics
    assert (d.line, d.severity) == (3, "warning")
    assert "start at 1" in d.message
    assert 1 in [c.cloze for c in n.cards]


def test_shorthand_clozes_past_999_make_no_card() -> None:
    n = parse_note("C: {{c998::a}} {{b}} {{c}} {{d}}\n", "s.md")
    assert [c.cloze for c in n.cards] == [998, 999]
    assert any("past c999" in d.message for d in n.diagnostics)


def test_out_of_range_cloze_survives_sync(tmp_path: Path) -> None:
    from mlsys_srs.store import open_db
    from mlsys_srs.sync import sync_vault

    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "n.md").write_text("C: {{c99999999999999999999::x}} {{c2::y}}\n\nQ: q\nA: a\n")
    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    conn = open_db(tmp_path / "db.sqlite", now)
    sync_vault(conn, vault, now)
    clozes = [r[0] for r in conn.execute("SELECT cloze FROM card WHERE cloze IS NOT NULL")]
    assert clozes == [2]
    conn.close()


# -- NUL bytes ------------------------------------------------------------------------------


def test_nul_byte_is_a_warning_and_dropped() -> None:
    n = parse_note("# T\n\nQ: what\x00 is it?\nA: an\x00swer\n\nx\x00\n", "nul.md")
    assert [(c.line, c.question, c.answer) for c in n.cards] == [(3, "what is it?", "answer")]
    (d,) = n.diagnostics
    assert (d.line, d.severity) == (3, "warning")
    assert "NUL" in d.message and "2 more lines" in d.message


def test_nul_in_frontmatter_is_dropped_too() -> None:
    n = parse_note("---\ntitle: A\x00B\n---\nQ: q\nA: a\n", "f.md")
    assert n.title == "AB"
    assert [d.line for d in n.diagnostics] == [2]
    assert n.cards[0].line == 4


# -- unclosed code fences --------------------------------------------------------------------


def test_unclosed_fence_is_a_warning_at_its_opening_line() -> None:
    n = parse_note("Q: before\nA: yes\n\n```python\nQ: inside\nA: no\n", "f.md")
    assert [c.question for c in n.cards] == ["before"]
    (d,) = n.diagnostics
    assert (d.line, d.severity) == (4, "warning")
    assert d.message.startswith("unclosed code fence")
    assert "cards after it are ignored" in d.message


def test_closed_fences_are_not_reported() -> None:
    n = parse_note("```\ncode\n```\n\n~~~~\n```\n~~~~\nQ: q\nA: a\n", "f.md")
    assert n.diagnostics == ()
    assert len(n.cards) == 1


# -- one definition of a line -----------------------------------------------------------------

EXOTIC = ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def test_split_lines_breaks_only_at_newline_and_carriage_return() -> None:
    assert split_lines("") == [""]
    assert split_lines("a\n") == ["a", ""]
    assert split_lines("a\r\nb\rc\nd") == ["a", "b", "c", "d"]
    assert split_lines("a\r\r\nb") == ["a", "", "b"]
    weird = "".join(f"x{c}" for c in EXOTIC) + "x"
    assert split_lines(weird) == [weird]
    assert len(weird.splitlines()) == len(EXOTIC) + 1  # what str.splitlines would do
    text = "a\r\nbb\rc\x85c\nd"
    starts = line_starts(text)
    assert len(starts) == len(split_lines(text))
    assert [text[s : s + 1] for s in starts] == ["a", "b", "c", "d"]


def test_exotic_line_breaks_do_not_shift_card_lines() -> None:
    text = "# T\x0c\x85\n\nintro\u2028more\x1c\n\nQ: q\u2029x\nA: a\x0b\n\nw :: v\n"
    n = parse_note(text, "n.md")
    assert [(c.line, c.question) for c in n.cards] == [(5, "q\u2029x"), (8, "w")]


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=6)
SEP = st.sampled_from([" ", *EXOTIC, " \x85 ", "\u2028 "])
BREAK = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def phrase(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORD, min_size=1, max_size=4))
    out = words[0]
    for w in words[1:]:
        out += draw(SEP) + w
    return out


def card_block() -> st.SearchStrategy[tuple[list[str], list[int], list[str]]]:
    """The card blocks of test_properties, with words joined by odd separators."""
    return make_card_block(phrase())


@settings(max_examples=200, deadline=None)
@given(st.lists(card_block(), max_size=10), st.data())
def test_card_line_is_its_index_in_split_lines(
    blocks: list[tuple[list[str], list[int], list[str]]], data: st.DataObject
) -> None:
    lines: list[str] = ["# Title" + data.draw(SEP)]
    expected: list[tuple[int, str]] = []
    for block, starts, questions in blocks:
        lines.append("")
        base = len(lines)
        lines.extend(block)
        expected.extend((base + s + 1, q) for s, q in zip(starts, questions, strict=True))
    breaks = [data.draw(BREAK) for _ in lines]
    for i in range(len(lines) - 1):
        if breaks[i] == "\r" and lines[i + 1] == "" and breaks[i + 1] != "\r":
            breaks[i] = "\r\n"  # "\r" then "\n" would be one break, "\r\n"
    text = "".join(line + br for line, br in zip(lines, breaks, strict=True))
    note = parse_note(text, "n.md")
    assert note.diagnostics == ()
    assert [(c.line, c.question) for c in note.cards] == expected
    file_lines = split_lines(text)
    assert file_lines[:-1] == lines
    for card in note.cards:
        first = split_lines(card.question.split("[...]")[0])[0].strip()
        assert first in file_lines[card.line - 1] or card.direction == "reverse"
