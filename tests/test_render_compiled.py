"""The compiled renderer (render/fast.py, markdown-it-pyrs) writes exactly the HTML markdown-it-py
writes, on every text it takes; the others, and every text without the package, take the Python
path and come out the same."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_srs.render import fast
from mlsys_srs.render.embeds import NoteLibrary
from mlsys_srs.render.html import MarkdownRenderer, highlight_code
from mlsys_srs.sync import read_vault

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from synth import make_vault
from synth_prose import make_prose_vault

pytest.importorskip("markdown_it_pyrs")

GOLDEN = Path(__file__).parent / "golden" / "notes"


def _mathml(tex: str, display: bool) -> str:
    return f'<math display="{"block" if display else "inline"}">{tex.replace("<", "&lt;")}</math>'


def python_html(text: str, *, breaks: bool, math: fast.MathHtml | None = None) -> str:
    """markdown-it-py's whole output for ``text``, with render/html.py's rules."""
    renderer = MarkdownRenderer(breaks=breaks, math=math)
    return str(renderer._md.render(text, {"note": "", "line": 0}))


def card_texts(vault: Path) -> list[str]:
    notes, _ = read_vault(vault)
    return [
        t.strip()
        for n in notes
        for c in n.cards
        for t in ((c.source,) if c.kind == "cloze" else (c.question, c.answer))
    ]


def corpus() -> list[str]:
    texts = card_texts(GOLDEN)
    with tempfile.TemporaryDirectory() as tmp:
        make_vault(Path(tmp) / "short", 60, 10, seed=3)
        make_prose_vault(Path(tmp) / "prose", 60, 10, seed=3)
        texts += card_texts(Path(tmp) / "short") + card_texts(Path(tmp) / "prose")
    return texts


CORPUS = corpus()


@pytest.mark.parametrize("breaks", [False, True])
def test_golden_notes_and_synthetic_vaults_render_the_same_on_both_paths(breaks: bool) -> None:
    compiled = fast.CompiledRenderer(highlight_code)
    taken = 0
    for text in CORPUS:
        html = compiled.render(text, breaks=breaks)
        if html is not None:
            taken += 1
            assert html == python_html(text, breaks=breaks), text
    assert taken > 0.95 * len(CORPUS)  # nearly every card (a few need the Python path)


def test_the_web_pages_math_renderer_gets_the_same_formulas() -> None:
    compiled = fast.CompiledRenderer(highlight_code, _mathml, cloze=True)
    for text in CORPUS:
        html = compiled.render(text, breaks=False)
        if html is not None:
            assert "{{" not in text  # the web page's clozes are the Python path's
            assert html == python_html(text, breaks=False, math=_mathml), text


ATOMS = [
    *("a", "word", "b c", " ", " ", "é", "α", "(", ")", ":", ".", "!", "?", "<", "< ", "&", "& ", "|", "\\"),
    *("$x$", "$a b$", "$ x$", "$5", "$x$5", "$$y$$", "$$ $$", "$", "\\$", "`c`", "``d`e``", "`", "`$x$`"),
    *("[[n]]", "[[n|al ias]]", "[[n#H]]", "[[n#^b]]", "![[i.png]]", "[a]", "[a](b)", "#tag", "#9", " #t"),
    *("#t*", "*", "**", "_", "__", "~~", "~", "*e*", "_e_", "**s**", "*é*", "x*é", "==h==", "=", "{{c1::x}}"),
    *("\n", "\n", "\n\n", "\n- ", "\n1. ", "\n> ", "\n# ", "\n## ", "\n  ", "\n    ", "\n---\n", "  \n"),
    *("\n```\n", "\n```python\ncode $x$ {{ <a>\n```\n", "\n```cpp\nx;\n```", "\n$$\nx_1 * y\n$$\n"),
    *("\n$$x$$\n", "\n$$\n", "\n  - ", "\n- [ ] ", "\n===", "\n> - ", "\n~~~\nq\n~~~\n", "<b>", "&amp;"),
    # Where the two parsers were found to differ (those texts take the Python path):
    *("___", "***", "~~~", "1) ", "\n:-", "\n---:", "\n= ", " #9", "_*", "`   `", "\n-     ", "- - $$y$$"),
]


@given(st.lists(st.sampled_from(ATOMS), min_size=1, max_size=14), st.booleans())
@settings(max_examples=1500, deadline=None)
def test_any_text_the_compiled_path_takes_renders_as_markdown_it_py(atoms: list[str], breaks: bool) -> None:
    text = "".join(atoms).strip()
    html = fast.CompiledRenderer(highlight_code).render(text, breaks=breaks)
    if html is not None:
        assert html == python_html(text, breaks=breaks)


@pytest.mark.parametrize(
    "text",
    [
        "Why? #interview\n#only-tags",  # a line of tags only
        "## Heading #tag",
        "![[diagram.png]]",
        "See [the paper](https://arxiv.org)",
        "[a]: https://x.y\n\n[a]",
        "Cost is $3 and then\n$4 later",  # a formula that could close on the next line
        "a \\* b",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "==highlighted==",
        "x\ty",
        "  $$\n  x\n  $$",  # a formula block that is not at the margin
        "> ```\n> code\n> ```",
        "<https://example.com>",
        "&copy;",
        # Where markdown-it-pyrs differs from markdown-it-py (found by the property above):
        "a~~a~~~~",  # a run of three or more tildes pairs differently
        "`   `",  # a code span of blanks only is trimmed
        "-     [[b]]",  # indented code in a list item: the link stays as written
        ">     $x$",  # and in a quote
        "___ #tag",  # text, which would be a rule without its closing tag
        "a\n___ #tag",
        "1) - ___ #tag",
        "a\n---:",  # a table's delimiter row with no pipe: a paragraph
        "a\n= #tag",  # text, which would be a heading's underline without its tag
        "a\n~ #t    #9",  # a number after a tag: the tag is not the line's last
        "- - $$y$$",  # a formula block in a nested list item
        "*x\nw_*_e_",  # "_*" after a line break
        "**s****!",  # a run of three or more stars
    ],
)
def test_texts_with_what_only_the_python_rules_read_take_the_python_path(text: str) -> None:
    assert fast.CompiledRenderer(highlight_code).render(text, breaks=False) is None
    assert MarkdownRenderer().render(text)  # and render there


def test_clozes_are_text_for_anki_but_the_web_pages_python_path() -> None:
    text = "C: ZeRO stage {{c1::2}} shards `{{x}}`"
    html = fast.CompiledRenderer(highlight_code).render(text, breaks=False)
    assert html == python_html(text, breaks=False)
    assert html is not None and "{&#123;x}}" in html  # Anki must not read code as a deletion
    assert fast.CompiledRenderer(highlight_code, cloze=True).render(text, breaks=False) is None


def test_embeds_and_footnotes_take_the_python_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.md").write_text("# A\n\nQ: x?\nA: See[^1] and $y$.\n\n[^1]: The note.\n")
    (tmp_path / "b.md").write_text("Defined once.\n")
    calls = []
    real = fast.CompiledRenderer.render
    monkeypatch.setattr(
        fast.CompiledRenderer, "render", lambda self, t, **kw: calls.append(t) or real(self, t, **kw)
    )
    renderer = MarkdownRenderer(library=NoteLibrary(tmp_path))
    with_footnote = renderer.render("See[^1] and $y$.", note="a.md")
    assert "The note." in with_footnote and calls == []
    renderer.render("Plain $y$ *too*.", note="a.md")
    assert calls == ["Plain $y$ *too*."]


def test_without_the_package_the_python_path_renders_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    sample = CORPUS[::7]
    with_it = MarkdownRenderer()
    assert with_it._compiled.available
    expected = [with_it.render(t) for t in sample]
    fast.compiled.cache_clear()
    monkeypatch.setitem(sys.modules, "markdown_it_pyrs", None)  # import fails
    try:
        without = MarkdownRenderer()
        assert not without._compiled.available
        assert [without.render(t) for t in sample] == expected
        assert without.cache_key("x") != with_it.cache_key("x")  # the key says which path rendered
    finally:
        fast.compiled.cache_clear()


def test_only_the_tested_series_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import markdown_it_pyrs

    fast.compiled.cache_clear()
    monkeypatch.setattr(markdown_it_pyrs, "__version__", "9.0.0")
    try:
        assert fast.compiled() is None
    finally:
        fast.compiled.cache_clear()
