"""Frontmatter through python-frontmatter: YAML and TOML, exact line numbers, hostile and ill-typed input."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_srs.parse import ParsedNote, parse_note
from mlsys_srs.parse.meta import (
    HANDLERS,
    MAX_YAML_NODES,
    BoundedYAMLHandler,
    FrontmatterTooLarge,
    TomllibHandler,
    check_expansion,
    load_simple_yaml,
)

# A 9-level "billion laughs": 10**9 strings once expanded, ~400 bytes as written.
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "tags: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
    "title: *i\n"
)


def one(text: str, path: str = "n.md") -> ParsedNote:
    return parse_note(text, path)


def messages(n: ParsedNote) -> list[tuple[int, str]]:
    return [(d.line, d.message) for d in n.diagnostics]


def test_handlers_are_python_frontmatter_handlers_without_json() -> None:
    import frontmatter.default_handlers as dh

    assert [type(h) for h in HANDLERS] == [BoundedYAMLHandler, TomllibHandler]
    assert isinstance(HANDLERS[0], dh.YAMLHandler)
    assert isinstance(HANDLERS[1], dh.BaseHandler)
    assert not any(isinstance(h, dh.JSONHandler) for h in HANDLERS)


def test_yaml_frontmatter_and_exact_body_lines() -> None:
    n = one("---\ntitle: T\ntags: [x, y]\naliases: [al]\n---\n\n\nQ: q\nA: a\n")
    assert (n.title, n.tags, n.aliases) == ("T", ("x", "y"), ("al",))
    assert n.cards[0].line == 8
    assert n.diagnostics == ()


def test_yaml_closing_with_dots_and_trailing_space() -> None:
    n = one("---  \ntitle: T\n...\nQ: q\nA: a\n")
    assert n.title == "T"
    assert n.cards[0].line == 4


def test_toml_frontmatter_with_tomllib() -> None:
    n = one('+++\ntitle = "Raft"\ntags = ["consensus", "logs"]\ndomain = "dist"\n+++\n\nQ: q\nA: a\n')
    assert (n.title, n.tags, n.domain) == ("Raft", ("consensus", "logs"), "dist")
    assert n.cards[0].line == 7
    assert n.diagnostics == ()


def test_toml_srs_false() -> None:
    assert one("+++\nsrs = false\n+++\nQ: q\nA: a\n").cards == ()


def test_invalid_yaml_points_at_the_broken_line() -> None:
    text = "---\ntitle: ok\ndomain: x\nbad: : :\n---\n\nQ: q\nA: a\n"
    n = one(text, "bad.md")
    assert [(c.line, c.question) for c in n.cards] == [(7, "q")]
    (d,) = n.diagnostics
    assert str(d).startswith("bad.md:4: invalid YAML frontmatter")
    assert n.title == "bad"  # empty frontmatter


def test_invalid_yaml_unclosed_flow_list_line() -> None:
    n = one("---\ntitle: ok\ntags: [unclosed\n---\nQ: q\nA: a\n", "bad.md")
    assert [(c.line, c.question) for c in n.cards] == [(5, "q")]
    assert n.diagnostics[0].message.startswith("invalid YAML frontmatter")
    assert 3 <= n.diagnostics[0].line <= 4


def test_invalid_toml_points_at_the_broken_line() -> None:
    n = one('+++\ntitle = "ok"\n\ntags = [1,\nbroken = \n+++\nQ: q\nA: a\n', "t.md")
    assert [(c.line, c.question) for c in n.cards] == [(7, "q")]
    (d,) = n.diagnostics
    assert d.message.startswith("invalid TOML frontmatter")
    assert d.line == 5


def test_json_is_not_detected() -> None:
    n = one('{\n"title": "x"\n}\nQ: q\nA: a\n', "j.md")
    assert n.title == "j"
    assert [(c.line, c.question) for c in n.cards] == [(4, "q")]


def test_frontmatter_only_at_the_very_start_and_closed() -> None:
    assert one("\n---\ntitle: T\n---\n", "a.md").title == "a"
    n = one("---\ntitle: T\nQ: q\nA: a\n", "a.md")  # never closed: not frontmatter
    assert n.title == "a"
    assert [(c.line, c.question) for c in n.cards] == [(3, "q")]


def test_bom_and_crlf_line_numbers() -> None:
    n = one("\ufeff---\r\ntitle: T\r\nx: [\r\n---\r\n\r\nQ: q\r\nA: a\r\n")
    assert n.cards[0].line == 6
    assert n.diagnostics[0].line in (3, 4)


# -- wrong types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("tags: {a: 1}", "tags"),
        ("domain: [x]", "domain"),
        ('srs: "maybe"', "srs"),
        ("aliases: 5", "aliases"),
        ("title: {a: b}", "title"),
        ("tags: [a, [b]]", "tags"),
    ],
)
def test_wrong_types_name_the_key_and_the_note_still_parses(line: str, key: str) -> None:
    n = one(f"---\nok: 1\n{line}\n---\nQ: q\nA: a\n", "04-systems/n.md")
    assert [(c.line, c.question) for c in n.cards] == [(5, "q")]
    (d,) = n.diagnostics
    assert d.line == 3
    assert f"'{key}'" in d.message
    assert n.domain == "systems"
    assert n.srs is True
    assert n.title == "n"


def test_wrong_type_keeps_the_other_keys() -> None:
    n = one("---\ntitle: T\ntags: [a, {b: 1}, c]\nsrs: maybe\n---\nQ: q\nA: a\n")
    assert n.title == "T"
    assert n.tags == ("a", "c")
    assert [d.line for d in n.diagnostics] == [3, 4]


def test_wrong_type_in_toml_names_the_key_and_line() -> None:
    n = one('+++\ntitle = "T"\nsrs = "maybe"\n+++\nQ: q\nA: a\n')
    assert [(d.line, "'srs'" in d.message) for d in n.diagnostics] == [(3, True)]
    assert len(n.cards) == 1


def test_numbers_and_dates_are_fine_as_text() -> None:
    n = one("---\ntitle: 2024-01-02\ntags: [2024, x]\ndomain: 7\n---\n")
    assert n.diagnostics == ()
    assert n.title == "2024-01-02"
    assert n.tags == ("2024", "x")


# -- hostile YAML -------------------------------------------------------------------------


def test_check_expansion_counts_aliases_and_stops_early() -> None:
    node = yaml.compose("a: &x [1, 2, 3]\nb: [*x, *x]\n", Loader=yaml.SafeLoader)
    # root + 2 keys + list x (4) + list b (1 + 2 * 4)
    assert check_expansion(node) == 1 + 2 + 4 + 9
    bomb = yaml.compose(ALIAS_BOMB, Loader=yaml.SafeLoader)
    with pytest.raises(FrontmatterTooLarge):
        check_expansion(bomb)
    assert check_expansion(yaml.compose(ALIAS_BOMB.split("e:")[0], Loader=yaml.SafeLoader)) < MAX_YAML_NODES


def test_alias_bomb_is_a_diagnostic_and_the_body_parses() -> None:
    """The ~400-byte bomb expands to 10**9 values: unbounded, str() of it runs out of memory.

    Parsed in a child process limited to 1 GB and 60 s, so that a missing bound fails
    cleanly instead of taking the test run down; the bounded parser takes milliseconds.
    """
    assert len(ALIAS_BOMB) < 450
    code = textwrap.dedent(
        """
        import json, resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from mlsys_srs.parse import parse_note
        n = parse_note(sys.stdin.read(), "bomb.md")
        print(json.dumps([n.title, list(n.tags), [str(d) for d in n.diagnostics],
                          [(c.line, c.question) for c in n.cards]]))
        """
    )
    text = "---\n" + ALIAS_BOMB + "---\n\nQ: q\nA: a\n"
    r = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    import json

    title, tags, diags, cards = json.loads(r.stdout)
    assert (title, tags) == ("bomb", [])
    assert cards == [[14, "q"]]
    assert len(diags) == 1
    assert diags[0].startswith("bomb.md:")
    assert "too large after alias expansion" in diags[0]
    assert 2 <= int(diags[0].split(":")[1]) <= 11


def test_self_referencing_alias_is_a_diagnostic() -> None:
    n = one("---\ntags: &a [x, *a]\n---\nQ: q\nA: a\n")
    assert len(n.cards) == 1
    assert "refers to itself" in n.diagnostics[0].message
    assert n.tags == ()


def test_deep_nesting_is_a_diagnostic_not_a_crash() -> None:
    for fm in ("tags: " + "[" * 200 + "]" * 200, "title: " + "[" * 5000, "a = " + "[" * 5000):
        opener = "+++" if fm.startswith("a =") else "---"
        n = one(f"{opener}\n{fm}\n{opener}\nQ: q\nA: a\n")
        assert len(n.cards) == 1
        assert len(n.diagnostics) == 1
        assert n.diagnostics[0].line == 2


def test_huge_frontmatter_is_linear_enough() -> None:
    fm = "tags: [" + ", ".join(f"t{i}" for i in range(5000)) + "]\n"
    n = one("---\n" + fm + "---\nQ: q\nA: a\n")
    assert len(n.tags) == 5000
    assert n.cards[0].line == 4


# -- the fast path for flat frontmatter -------------------------------------------------------

# fmt: off
_WORDS = [
    "queue", "bench", "Note 00004", "a.b", "x-1/y", "e5", "yes", "No", "ON", "off", "true", "False",
    "null", "Null", "NULL", "y", "n", "inf", "nan", "a  b", "a b ", "1a", "-a", "a:b", "a: b", "a #b",
    "a,b", "[a]", "'a'", '"a"', "&a", "*a", "!a", "a\tb", "<<", "=", "~", "", "é", "a\\b", "0x1f",
    ".5", "a.", "_a",
]
# fmt: on
_GOOD = [
    "queue",
    "bench",
    "Note 00004",
    "a.b",
    "x-1/y",
    "e5",
    "ml/systems",
    "a-",
    "Zz 9",
    "A/B testing",
    "x  y",
]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["title", "tags", "aliases", "srs", "domain", "yes", "On", "t_1", "1k", "a-b"]),
            st.one_of(
                st.sampled_from(_GOOD + _WORDS).map(lambda w: f" {w}" if w else ""),
                st.lists(st.sampled_from(_GOOD * 4 + _WORDS), max_size=4).map(
                    lambda ws: " [" + ", ".join(ws) + "]"
                ),
                st.text(alphabet="ab :#[],'\"-.\t", max_size=12),
            ),
        ),
        min_size=0,
        max_size=6,
    ),
    st.sampled_from(["\n", "", "\n\n", " \n"]),
)
@settings(max_examples=400, deadline=None)
def test_flat_frontmatter_fast_path_reads_what_pyyaml_reads(pairs: list[tuple[str, str]], end: str) -> None:
    fm = "\n" + "".join(f"{k}:{v}\n" for k, v in pairs)[:-1] + end if pairs else "\n" + end
    fast = load_simple_yaml(fm)
    if fast is None:
        return
    slow = BoundedYAMLHandler().load_with_pyyaml(fm)
    assert fast == slow
    assert all(type(v) is type(slow[0][k]) for k, v in fast[0].items())
    assert [type(x) for v in fast[0].values() if isinstance(v, list) for x in v] == [
        type(x) for v in slow[0].values() if isinstance(v, list) for x in v
    ]


def test_flat_frontmatter_fast_path_takes_the_usual_notes() -> None:
    fm = "\ntitle: Note 00004\ntags: [queue, bench]\naliases: [ml/sys, a-b, A/B testing]\n"
    assert load_simple_yaml(fm) == (
        {"title": "Note 00004", "tags": ["queue", "bench"], "aliases": ["ml/sys", "a-b", "A/B testing"]},
        {"title": 1, "tags": 2, "aliases": 3},
    )
    for other in ("\ntitle: yes\n", "\na: b\na: c\n", "\ntitle: 'quoted'\n", "\ntags:\n  - a\n"):
        assert load_simple_yaml(other) is None
