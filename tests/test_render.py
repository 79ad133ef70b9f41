"""Card Markdown on the terminal (render.terminal_card) and its agreement with the Anki HTML."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from mlsys_srs.render.html import MarkdownRenderer
from mlsys_srs.render.terminal import CLOZE_STYLE, MATH_STYLE, math_to_unicode, terminal_card


def lines(text: str, width: int = 80, **kw: object) -> list[str]:
    card = terminal_card(text, Console(width=width, color_system=None), width, **kw)  # type: ignore[arg-type]
    return [line.plain for line in card.lines]


def test_wikilinks_show_their_display_text_and_embeds_a_marker() -> None:
    card = terminal_card(
        "See [[ZeRO#Stage 2|ZeRO-2]], [[Ring all-reduce]] and [[ZeRO#Stage 3]] ![[ring-allreduce.png]]",
        Console(width=100),
        100,
    )
    assert [x.plain for x in card.lines] == [
        "See ZeRO-2, Ring all-reduce and ZeRO > Stage 3 [image: ring-allreduce.png]"
    ]
    assert card.images == ["ring-allreduce.png"]


def test_card_line_tags_are_taken_out_of_the_text_and_returned() -> None:
    card = terminal_card("Why is fsync slow on disk? #interview #storage/disk", Console(width=80), 80)
    assert [x.plain for x in card.lines] == ["Why is fsync slow on disk?"]
    assert card.tags == ["interview", "storage/disk"]
    # A tag inside the sentence stays where it is (styled), the text still reads.
    mid = terminal_card("The #interview question is hard", Console(width=80), 80)
    assert [x.plain for x in mid.lines] == ["The #interview question is hard"] and mid.tags == []


def test_cloze_answer_highlights_only_this_cards_deletion() -> None:
    src = "ZeRO stage {{c1::2}} shards {{c2::**gradients**::what}} and optimizer states."
    card = terminal_card(src, Console(width=80), 80, cloze=2)
    (line,) = card.lines
    assert line.plain == "ZeRO stage 2 shards gradients and optimizer states."
    marked = [line.plain[s.start : s.end] for s in line.spans if CLOZE_STYLE in str(s.style)]
    assert marked == ["gradients"]


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        (r"\sqrt{d_k}", "√dₖ"),
        (r"\frac{QK^T}{\sqrt{d_k}}", "QKᵀ/√dₖ"),
        (r"O(N^2)", "O(N²)"),
        (r"\alpha \cdot \beta_t", "α ⋅ βₜ"),
        (r"\log_2 n", "log₂ n"),  # unicodeit alone gives "łog"
        (r"\mathrm{softmax}(x)_i", "softmax(x)ᵢ"),
        (r"\sum_{i=1}^{n} x_i", "∑ᵢ₌₁ⁿ xᵢ"),
        (r"x_{\text{max}}", "xₘₐₓ"),
        # Common forms of the bundled notes (issue 23): transposes, accents, sizes, thousands.
        (r"(AB)^\top", "(AB)ᵀ"),
        (r"U \Sigma V^\top", "U Σ Vᵀ"),
        (r"-\log p_y", "−log p_y"),  # no subscript y in Unicode: read as plain text
        (r"W_{q}", "W_q"),
        (r"e^{-t/S}", "e^(-t/S)"),
        (r"\bar A_t", "Āₜ"),
        (r"2^{16} = 65{,}536", "2¹⁶ = 65,536"),
        (r"\theta \leftarrow \theta - \eta\big(x\big)", "θ ← θ − η(x)"),
        (r"\hat\beta_{2,t}", "β̂_(2,t)"),  # never half raised
    ],
)
def test_math_converts_when_the_whole_formula_does(tex: str, expected: str) -> None:
    assert math_to_unicode(tex) == expected


@pytest.mark.parametrize("tex", [r"\begin{pmatrix} a \end{pmatrix}", r"\overbrace{x}", r"x_{\ell+1}"])
def test_math_that_does_not_convert_whole_is_left_as_written(tex: str) -> None:
    assert math_to_unicode(tex) is None
    card = terminal_card(f"It is ${tex}$ here", Console(width=80), 80)
    (line,) = card.lines
    assert tex in line.plain
    assert any(MATH_STYLE in str(s.style) for s in line.spans)


def test_code_keeps_indentation_and_is_cropped_with_a_marker() -> None:
    text = (
        "```python\ndef f():\n    return 'a very long string that goes past the edge of a narrow screen'\n```"
    )
    out = lines(text, width=40)
    assert out[0] == "  def f():"
    assert out[1].startswith("      return 'a very") and out[1].endswith("…") and len(out[1]) == 40
    assert len(out) == 2  # cropped, not wrapped into column 0


def test_lists_quotes_and_control_characters() -> None:
    out = lines("- one\n- two\n\n1. first\n2. second\n\n> quoted\x1b[2J")
    assert out == ["• one", "• two", "", "1. first", "2. second", "", "│ quoted␛[2J"]


def _visible_html(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


@pytest.mark.parametrize(
    "text",
    [
        "See [[ZeRO#Stage 2|ZeRO-2]] and [[Ring all-reduce]]",
        "Use **bold** and *italic* and `code`",
        "A [link](other-note.md) to a note",
    ],
)
def test_screen_and_anki_export_show_the_same_text(text: str) -> None:
    html = MarkdownRenderer().render(text)
    assert " ".join(lines(text)) == _visible_html(html)
