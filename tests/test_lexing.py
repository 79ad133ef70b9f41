"""Lexers indexed by first character (render/lexing.py) give exactly Pygments' own tokens."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.lexers import get_lexer_by_name

from mlsys_srs.render import html
from mlsys_srs.render.lexing import fast_lexer

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from synth import make_vault
from synth_prose import make_prose_vault

FENCE = re.compile(r"^(\s*)```([A-Za-z0-9_+-]+)[^\n]*\n(.*?)^\1```", re.S | re.M)
LANGUAGES = [
    *("python", "cpp", "c", "cuda", "bash", "rust", "go", "javascript", "typescript", "java", "sql"),
    *("yaml", "toml", "haskell", "scala", "julia", "r", "latex", "diff", "dockerfile", "ini", "html"),
    *("xml", "css", "kotlin", "lua", "ruby", "php", "csharp", "matlab", "fortran", "llvm", "protobuf"),
]
SAMPLES = {
    "python": 'def f(x: int) -> str:\n    """Doc."""\n    return f"{x!r:>{w}}" + rb\'\\x00\' # c\n@dec\nclass A(B): ...\n',
    "cpp": "#include <vector>\ntemplate <class T> T f(T a) { size_t n = 0; return a; } // c\n/* x */ int main() {}\n",
    "cuda": "__global__ void k(float* a, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; }\n",
    "bash": 'for f in *.md; do echo "$f" | sed -e \'s/a/b/\' > "${f%.md}.txt"; done <<EOF\nx\nEOF\n',
    "sql": "SELECT a, count(*) FROM t WHERE b LIKE 'x%' GROUP BY a HAVING count(*) > 1; -- c\n",
    "rust": 'fn main() { let v: Vec<i32> = vec![1, 2]; println!("{:?}", v); } // c\n',
}


def fresh(lang: str) -> Any:
    return get_lexer_by_name(lang, stripnl=False, ensurenl=False)


def corpus() -> list[tuple[str, str]]:
    blocks = []
    with tempfile.TemporaryDirectory() as tmp:
        make_vault(Path(tmp) / "short", 40, 10, seed=5)
        make_prose_vault(Path(tmp) / "prose", 40, 10, seed=5)
        for root in (Path(__file__).parent / "golden" / "notes", Path(tmp)):
            for p in sorted(root.rglob("*.md")):
                blocks += [(m.group(2).lower(), m.group(3)) for m in FENCE.finditer(p.read_text("utf-8"))]
    return blocks


def test_code_of_the_golden_notes_and_the_synthetic_vaults_lexes_the_same() -> None:
    lexers: dict[str, tuple[Any, Any]] = {}
    blocks = corpus()
    assert len(blocks) > 100
    for lang, code in blocks:
        if lang not in lexers:
            lexers[lang] = (fresh(lang), fast_lexer(fresh(lang)))
        ref, quick = lexers[lang]
        assert list(quick.get_tokens(code)) == list(ref.get_tokens(code)), (lang, code)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_common_language_lexes_the_same(lang: str) -> None:
    ref, quick = fresh(lang), fast_lexer(fresh(lang))
    sample = SAMPLES.get(lang, "x = 1 # c\n'str' \"s\" 0x1F <a b='c'>\n")
    for text in (sample, sample * 3, sample[::-1], sample.upper()):
        assert list(quick.get_tokens(text)) == list(ref.get_tokens(text))


CODE = st.text(
    alphabet=st.sampled_from(list("abcxyz_019 \n\t(){}[]<>\"'`#/*\\$@%.,;:=+-!?&|^~é→")), max_size=60
)


@given(
    st.sampled_from(["python", "cpp", "bash", "rust", "sql", "javascript", "yaml"]), CODE, st.integers(0, 200)
)
@settings(max_examples=600, deadline=None)
def test_any_text_lexes_the_same(lang: str, noise: str, at: int) -> None:
    sample = SAMPLES.get(lang, "a: [1, 'b']\n")
    text = sample[:at] + noise + sample[at:]
    assert list(fast_lexer(fresh(lang)).get_tokens(text)) == list(fresh(lang).get_tokens(text))


def test_each_distinct_block_is_highlighted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import pygments

    calls = []
    real = pygments.highlight
    monkeypatch.setattr(pygments, "highlight", lambda *a: calls.append(a[0]) or real(*a))
    html._highlighted.cache_clear()
    first = html.highlight_code("x = 1  # once\n", "python")
    assert html.highlight_code("x = 1  # once\n", "Python") == first
    assert html.highlight_code("y = 2\n", "python") != first
    assert calls == ["x = 1  # once\n", "y = 2\n"]


def test_a_language_is_indexed_after_a_few_blocks() -> None:
    lexer = html._lexer("haskell")
    assert "get_tokens_unprocessed" not in vars(lexer)
    for k in range(html.FAST_LEXER_AFTER):
        html.highlight_code(f"main = print {k}\n", "haskell")
    assert "get_tokens_unprocessed" in vars(lexer)
