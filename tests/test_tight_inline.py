"""A tight `Q::A` outside a #flashcards note is not a card, and check and sync say so (unless it is code)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlsys_srs.parse import parse_note

from .conftest import Cli


def warnings(line: str, tags: str = "") -> list[tuple[int, str, str, str]]:
    note = parse_note(f"---\ntags: [{tags}]\n---\n# T\n\n{line}\n", "n.md")
    return [(d.line, d.code, d.severity, d.message) for d in note.diagnostics]


@pytest.mark.parametrize(
    "line",
    [
        "Capital of France::Paris",
        "What is a warp?::32 threads",
        "GEMM::General Matrix Multiply",
        "- a list item?::yes",
    ],
)
def test_a_tight_card_line_warns_at_its_line(line: str) -> None:
    [(at, code, severity, message)] = warnings(line)
    assert (at, code, severity) == (6, "tight-inline", "warning")
    assert (
        "is not a card in a note without #flashcards: put spaces around :: or tag the note #flashcards"
        in message
    )
    assert parse_note(f"# T\n\n{line}\n", "n.md").cards == ()
    # The same line is a card in a #flashcards note, and then there is nothing to warn about.
    assert warnings(line, "flashcards") == []
    assert len(parse_note(f"---\ntags: [flashcards]\n---\n{line}\n", "n.md").cards) == 1


@pytest.mark.parametrize(
    "line",
    [
        "std::vector is a type",
        "Use std::move(x) to hand it over",
        "a::b",
        "Vec::new() makes one",
        "Foo::Bar::baz is nested",
        "torch::Tensor wraps it",
        "`France::Paris` in code",
        "see https://example.com/a::b for more",
        "[[France::Paris]] is a link",
        "term::",
        "Capital :: Paris",
        "France ::: Paris",
    ],
)
def test_code_and_cards_do_not_warn(line: str) -> None:
    assert [w for w in warnings(line) if w[1] == "tight-inline"] == []


def test_check_and_sync_report_it(run: Cli, notes: Callable[[dict[str, str]], None]) -> None:
    notes({"gpu.md": "# GPU\n\nWhat is a warp?::32 threads\n\nstd::vector is fine\n"})
    out = run("check")  # a warning: exit 0
    assert "gpu.md:3:" in out.output and "tight-inline" not in out.output
    assert "`warp?::32` is not a card in a note without #flashcards" in out.output
    res = run("sync")
    assert "gpu.md:3:" in res.output and "put spaces around ::" in res.output
    assert "gpu.md:5" not in res.output
