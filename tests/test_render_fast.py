"""The export renderer's fast paths render exactly as markdown-it does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_srs.parse.lines import strip_comments
from mlsys_srs.render.html import MarkdownRenderer

_WORD = st.text(alphabet="abcXYZ019 .,:;?'\"()/-+|#^%=@{}", min_size=0, max_size=8)
_INNER = st.text(alphabet="abc XY19.#|^-/'()*`_&<", min_size=1, max_size=10)


def _markdown_it(renderer: MarkdownRenderer, text: str) -> str:
    html = str(renderer._md.render(text, {})).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return html


@given(st.lists(st.tuples(_WORD, _INNER), min_size=1, max_size=4), _WORD)
@settings(max_examples=400, deadline=None)
def test_the_fast_path_for_plain_lines_with_wikilinks_renders_as_markdown_it(
    pieces: list[tuple[str, str]], tail: str
) -> None:
    from mlsys_srs.render.html import _plain_with_wikilinks

    text = ("".join(f"{word}[[{inner}]]" for word, inner in pieces) + tail).strip()
    fast = _plain_with_wikilinks(text)
    if fast is not None:
        assert fast == _markdown_it(MarkdownRenderer(), text)
    # A comment (%%...%% or <!-- -->) is not shown, as in Obsidian's reading view.
    shown = strip_comments(text)
    assert MarkdownRenderer().render(text) == _markdown_it(MarkdownRenderer(), shown.strip())


_LINE = st.text(alphabet="abc XY19.:;'\"()=+-<>&{}#*_`~\t\\", min_size=0, max_size=12)


@given(
    st.one_of(st.just(""), _WORD),
    st.sampled_from(["", "python", "cpp", "Py", "nosuchlang", "c++", "x y"]),
    st.lists(_LINE, max_size=5),
    st.sampled_from(["\n\n", "\n", "\n\n\n"]),
)
@settings(max_examples=400, deadline=None)
def test_the_fast_path_for_a_line_and_a_code_fence_renders_as_markdown_it(
    head: str, lang: str, code: list[str], gap: str
) -> None:
    from mlsys_srs.render.html import _plain_then_fence

    text = (head + gap + f"```{lang}\n" + "".join(line + "\n" for line in code) + "```").strip()
    fast = _plain_then_fence(text)
    if fast is not None:
        assert fast == _markdown_it(MarkdownRenderer(), text)
    # A comment is not shown: an unclosed %% hides the rest of the text, as in Obsidian.
    shown = strip_comments(text)
    assert MarkdownRenderer().render(text) == _markdown_it(MarkdownRenderer(), shown.strip())


def test_an_unclosed_comment_before_a_fence_hides_the_fence() -> None:
    assert MarkdownRenderer().render("%%\n\n```\n```") == ""
    assert MarkdownRenderer().render("a %%b%%\n\n```\nx\n```") == "<p>a</p>\n<pre><code>x\n</code></pre>"
