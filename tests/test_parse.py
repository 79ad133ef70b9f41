"""The parser against every rule of docs/format.md, including where cards must not be found."""

from __future__ import annotations

import pytest

from mlsys_srs.parse import LinkResolver, ParsedNote, domain_of, parse_note
from mlsys_srs.parse.model import Link


def one(text: str, path: str = "n.md") -> ParsedNote:
    return parse_note(text, path)


def qa(note: ParsedNote) -> list[tuple[str, str]]:
    return [(c.question, c.answer) for c in note.cards]


# -- Q/A blocks -------------------------------------------------------------------------


def test_qa_block_multiline_answer_keeps_markdown() -> None:
    n = one(
        "Q: Why does gradient accumulation save memory?\n"
        "A: Activations are held for one *micro-batch* at a time;\n"
        "gradients are summed over `k` micro-batches.\n"
    )
    assert qa(n) == [
        (
            "Why does gradient accumulation save memory?",
            "Activations are held for one *micro-batch* at a time;\ngradients are summed over `k` micro-batches.",
        )
    ]
    card = n.cards[0]
    assert (card.kind, card.syntax, card.direction, card.cloze) == ("basic", "qa", "forward", None)
    assert (card.line, card.end_line) == (1, 3)


def test_question_spans_lines_until_a() -> None:
    n = one("Q: First line\nsecond line of the question\nA: answer\n")
    assert qa(n) == [("First line\nsecond line of the question", "answer")]


def test_answer_ends_at_blank_line_heading_and_next_q() -> None:
    n = one("Q: one\nA: a1\nQ: two\nA: a2\n# Heading\nQ: three\nA: a3\n\nprose after\n")
    assert qa(n) == [("one", "a1"), ("two", "a2"), ("three", "a3")]


def test_answer_continues_into_fenced_code_and_math_after_blank_line() -> None:
    text = (
        "Q: Show it\n"
        "A: Like this:\n"
        "\n"
        "```python\n"
        "x = 1  # Q: not a card\n"
        "```\n"
        "and then this formula:\n"
        "\n"
        "$$\n"
        "a :: b\n"
        "$$\n"
        "\n"
        "Unrelated prose.\n"
    )
    n = one(text)
    assert len(n.cards) == 1
    assert n.cards[0].answer == (
        "Like this:\n\n```python\nx = 1  # Q: not a card\n```\nand then this formula:\n\n$$\na :: b\n$$"
    )
    assert n.cards[0].end_line == 11


def test_answer_does_not_swallow_prose_after_blank_line() -> None:
    n = one("Q: q\nA: a\n\nNot part of the answer.\n")
    assert qa(n) == [("q", "a")]


def test_q_without_a_and_empty_sides_are_diagnostics() -> None:
    n = one("Q: lonely question\n\nQ:\nA: answer\n\nQ: question\nA:\n")
    assert n.cards == ()
    msgs = [(d.line, d.message) for d in n.diagnostics]
    assert msgs == [
        (1, "Q: has no A: in its paragraph"),
        (3, "Q: has an empty question"),
        (7, "A: has an empty answer"),
    ]
    assert all(d.path == "n.md" and d.severity == "error" for d in n.diagnostics)
    assert str(n.diagnostics[0]) == "n.md:1: Q: has no A: in its paragraph"


def test_a_blank_line_separates_q_from_a() -> None:
    n = one("Q: question\n\nA: answer\n")
    assert n.cards == ()
    assert [d.line for d in n.diagnostics] == [1]


# -- inline ---------------------------------------------------------------------------------


def test_inline_card_and_reversible_pair() -> None:
    n = one(
        "All-reduce cost per GPU :: 2(N-1)/N times the message size\n"
        "Megatron-LM ::: tensor (intra-layer) model parallelism\n"
    )
    assert qa(n) == [
        ("All-reduce cost per GPU", "2(N-1)/N times the message size"),
        ("Megatron-LM", "tensor (intra-layer) model parallelism"),
        ("tensor (intra-layer) model parallelism", "Megatron-LM"),
    ]
    assert [c.direction for c in n.cards] == ["forward", "forward", "reverse"]
    assert n.cards[1].line == n.cards[2].line == 2


def test_inline_in_list_items_strips_marker() -> None:
    n = one("- KV cache :: stores keys and values\n1. TTFT :: time to first token\n")
    assert qa(n) == [("KV cache", "stores keys and values"), ("TTFT", "time to first token")]


@pytest.mark.parametrize(
    "text",
    [
        "Use std::vector for this.\n",
        "a::b is a path\n",
        "Write `x :: y` in Haskell.\n",
        "    indented :: code block\n",
        "```\ncode :: here\n```\n",
        "~~~~\nQ: in tilde fence\nA: no\n~~~~\n",
        "<!-- a :: b -->\n",
        "%% a :: b %%\n",
        "<!--\nQ: hidden\nA: still hidden\n-->\n",
        "%%\nC: {{c1::hidden}}\n%%\n",
        "$$\na :: b\n$$\n",
        "Inline code ``a :: {{b}}`` with double backticks.\n",
    ],
)
def test_no_card_in_code_comments_math_or_without_spaces(text: str) -> None:
    n = one(text)
    assert n.cards == ()
    assert n.diagnostics == ()


def test_frontmatter_is_not_searched_for_cards() -> None:
    n = one('---\ntitle: "x :: y"\nsummary: "Q: no"\n---\nbody\n')
    assert n.cards == ()
    assert n.title == "x :: y"


def test_flashcards_note_needs_no_spaces() -> None:
    n = one("---\ntags: [flashcards]\n---\nCapital of France::Paris\nsee `a::b` and [[x::y]]\n")
    assert qa(n) == [("Capital of France", "Paris")]
    inline_tag = one("#flashcards\nQuestion::Answer\n")
    assert qa(inline_tag) == [("Question", "Answer")]
    plain = one("Question::Answer\n")
    assert plain.cards == ()


def test_inline_needs_text_on_both_sides() -> None:
    n = one("- term :: \n")
    assert n.cards == ()
    assert [(d.line, d.message) for d in n.diagnostics] == [(1, "'::' card needs text on both sides")]


# -- multi-line -----------------------------------------------------------------------------


def test_multiline_and_double() -> None:
    n = one(
        "What are the three axes?\n?\nData, tensor and pipeline.\n\nTerm\nover two lines\n??\nDefinition\n"
    )
    assert qa(n) == [
        ("What are the three axes?", "Data, tensor and pipeline."),
        ("Term\nover two lines", "Definition"),
        ("Definition", "Term\nover two lines"),
    ]
    assert [c.syntax for c in n.cards] == ["multiline"] * 3


def test_multiline_answer_takes_following_code_block() -> None:
    n = one("How to sum?\n?\nUse:\n\n```py\nsum(xs)\n```\n")
    assert n.cards[0].answer == "Use:\n\n```py\nsum(xs)\n```"


def test_multiline_missing_side_is_a_diagnostic() -> None:
    n = one("?\nanswer\n")
    assert n.cards == ()
    assert n.diagnostics[0].line == 1


# -- cloze ----------------------------------------------------------------------------------


def test_cloze_numbers_hints_and_shorthand() -> None:
    n = one("C: ZeRO stage {{c1::2}} shards {{c2::gradients}} and {{optimizer states::what?}}.\n")
    assert [(c.cloze, c.question) for c in n.cards] == [
        (1, "ZeRO stage [...] shards gradients and optimizer states."),
        (2, "ZeRO stage 2 shards [...] and optimizer states."),
        (3, "ZeRO stage 2 shards gradients and [what?]."),
    ]
    assert {c.answer for c in n.cards} == {"ZeRO stage 2 shards gradients and optimizer states."}
    assert (
        n.cards[0].source
        == "ZeRO stage {{c1::2}} shards {{c2::gradients}} and {{c3::optimizer states::what?}}."
    )
    assert all(c.kind == "cloze" for c in n.cards)


def test_cloze_in_plain_paragraph_and_shared_numbers() -> None:
    n = one("The KV cache grows {{c1::linearly}} with {{c1::sequence length}} and {{c2::batch}}.\n")
    assert [(c.cloze, c.question) for c in n.cards] == [
        (1, "The KV cache grows [...] with [...] and batch."),
        (2, "The KV cache grows linearly with sequence length and [...]."),
    ]


def test_shorthand_numbered_after_explicit_in_reading_order() -> None:
    n = one("{{a}} then {{c2::b}} then {{c}}\n")
    assert [c.cloze for c in n.cards] == [2, 3, 4]
    assert n.cards[0].source == "{{c3::a}} then {{c2::b}} then {{c4::c}}"


def test_unclosed_cloze_is_a_diagnostic() -> None:
    n = one("C: The {{c1::cat}} sat on the {{mat.\n")
    assert [c.cloze for c in n.cards] == [1]
    assert [(d.line, d.message) for d in n.diagnostics] == [(1, "unclosed '{{' in a cloze paragraph")]
    n = one("C: no deletion at all\n")
    assert n.cards == ()
    assert n.diagnostics[0].message == "C: card has no {{cloze}} deletion"


# -- callouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["question]", "FAQ]", "Help]", "question]-", "faq]+"])
def test_question_callouts(kind: str) -> None:
    n = one(f"> [!{kind} What does FlashAttention avoid writing to HBM?\n> The N x N matrix:\n> it tiles.\n")
    assert qa(n) == [("What does FlashAttention avoid writing to HBM?", "The N x N matrix:\nit tiles.")]
    assert n.cards[0].syntax == "callout"


def test_other_callouts_make_no_cards() -> None:
    n = one("> [!note] Just a note\n> with text\n")
    assert n.cards == ()


# -- identity, tags, context ------------------------------------------------------------------


def test_block_ids_are_identity_and_stripped() -> None:
    n = one("Q: q\nA: answer ^srs-7f3a9c\n\nterm :: def ^my-id\n\nC: {{c1::a}} and {{c2::b}} ^cz\n")
    assert [(c.block_id, c.answer) for c in n.cards] == [
        ("srs-7f3a9c", "answer"),
        ("my-id", "def"),
        ("cz", "a and b"),
        ("cz", "a and b"),
    ]


def test_duplicate_block_id_in_one_note() -> None:
    n = one("a :: b ^dup\n\nc :: d ^dup\n")
    assert [c.block_id for c in n.cards] == ["dup", None]
    assert n.diagnostics[0].line == 3
    assert "already used on line 1" in n.diagnostics[0].message


def test_fingerprint_ignores_answer_and_case_but_not_question() -> None:
    a = one("Q: What is X?\nA: one\n").cards[0]
    b = one("Q: what   is x\nA: two\n").cards[0]
    c = one("Q: What is Y?\nA: one\n").cards[0]
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != c.fingerprint


def test_tags_from_frontmatter_note_and_card_lines() -> None:
    n = one(
        "---\ntags: [training, memory]\n---\n#note-level\n\n"
        "Q: q1 #interview\nA: a1\n\nQ: q2\nA: a2 #gpu/cuda\n\n`#notatag` and # heading-like and #123\n"
    )
    assert n.tags == ("training", "memory", "note-level")
    assert n.cards[0].tags == ("training", "memory", "note-level", "interview")
    assert n.cards[1].tags == ("training", "memory", "note-level", "gpu/cuda")
    assert one("---\ntags: a, b\n---\n").tags == ("a", "b")
    assert one("---\ntags: single\n---\n").tags == ("single",)


def test_context_is_title_and_heading_path() -> None:
    n = one("# ZeRO\n\n## Stage 2\n\n### Detail\n\nQ: q\nA: a\n\n## Stage 3\n\nx :: y\n", "z.md")
    assert [c.context for c in n.cards] == ["ZeRO > Stage 2 > Detail", "ZeRO > Stage 3"]
    n = one("---\ntitle: Given\n---\n## Part\nx :: y\n", "file-name.md")
    assert n.cards[0].context == "Given > Part"


def test_title_defaults() -> None:
    assert one("---\ntitle: From FM\n---\n# H1\n").title == "From FM"
    assert one("text\n# First H1\n# Second\n").title == "First H1"
    assert one("no heading\n", "dir/my-note.md").title == "my-note"


def test_srs_false_makes_no_cards_but_keeps_links() -> None:
    n = one("---\nsrs: false\n---\nQ: q\nA: a\n[[other]]\n")
    assert n.cards == ()
    assert [lk.target for lk in n.links] == ["other"]


def test_invalid_yaml_is_reported_and_body_still_read() -> None:
    n = one("---\ntitle: ok\ntags: [unclosed\n---\nQ: q\nA: a\n", "bad.md")
    assert qa(n) == [("q", "a")]
    assert n.diagnostics[0].path == "bad.md"
    assert n.diagnostics[0].line in (3, 4, 5)
    assert n.diagnostics[0].message.startswith("invalid YAML frontmatter")


def test_bom_and_crlf() -> None:
    n = one("\ufeff---\r\ntitle: T\r\n---\r\nQ: q\r\nA: a\r\n")
    assert n.title == "T"
    assert qa(n) == [("q", "a")]
    assert n.cards[0].line == 4


# -- domains and links ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fm", "domain"),
    [
        ("04-distributed-systems/raft.md", None, "distributed-systems"),
        ("gpu/deep/kernel.md", None, "gpu"),
        ("top.md", None, "general"),
        ("04-x/a.md", "07-ml-systems", "ml-systems"),
        ("a.md", "ML Systems", "ml-systems"),
    ],
)
def test_domain_rules(path: str, fm: str | None, domain: str) -> None:
    assert domain_of(path, fm) == domain


def test_links_all_forms_and_media() -> None:
    n = one(
        "See [[Target]], [[Other|alias]], [[Note#Heading]], [[Note#^blk]], [md](sub/file%20name.md#h),\n"
        "![[diagram.png]] ![alt](img/x.jpg) ![[embedded-note]] [web](https://x.org/a.md) `[[code]]`\n"
    )
    assert [(lk.target, lk.heading, lk.block, lk.display) for lk in n.links] == [
        ("Target", None, None, None),
        ("Other", None, None, "alias"),
        ("Note", "Heading", None, None),
        ("Note", None, "blk", None),
        ("sub/file name.md", "h", None, "md"),
        ("embedded-note", None, None, None),
    ]
    assert n.media == ("diagram.png", "img/x.jpg")


def test_card_links_are_those_in_its_text() -> None:
    n = one("[[note-level]]\n\nQ: How does [[zero]] relate?\nA: Via [[sharding|shards]].\n")
    assert n.cards[0].links == ("zero", "sharding")


def test_link_resolution_like_obsidian() -> None:
    r = LinkResolver.build(
        [
            ("a/deep/raft.md", []),
            ("raft.md", ["Raft consensus"]),
            ("b/zero.md", ["ZeRO optimizer"]),
            ("c/Paged Attention.md", []),
        ]
    )

    def res(target: str, markdown: bool = False, src: str = "x.md") -> str | None:
        return r.resolve(Link(target=target, line=1, markdown=markdown), src)

    assert res("raft") == "raft.md"  # shortest path wins
    assert res("RAFT") == "raft.md"  # case-insensitive
    assert res("a/deep/raft") == "a/deep/raft.md"  # by path
    assert res("deep/raft") == "a/deep/raft.md"  # by path suffix
    assert res("zero optimizer") == "b/zero.md"  # by alias
    assert res("paged attention") == "c/Paged Attention.md"
    assert res("../b/zero.md", markdown=True, src="a/n.md") == "b/zero.md"  # relative markdown link
    assert res("nowhere") is None


def test_a_cloze_number_whose_deletions_are_all_empty_makes_no_card() -> None:
    note = parse_note("A {{c1::}} and {{c2::full}}.\n\n{{}}\n", "p.md")
    assert [(c.cloze, c.question) for c in note.cards] == [(2, "A  and [...].")]
    assert [d.message for d in note.diagnostics] == ["empty cloze deletion: it makes no card"] * 2


def test_a_cloze_paragraph_is_a_value_with_problems_at_offsets() -> None:
    from mlsys_srs.parse.clozes import read_cloze_paragraph

    text = "The {{c2::sun}} is a {{star::kind}}. {{"
    p = read_cloze_paragraph(text, text)
    # Unnumbered deletions count on from the highest explicit number.
    assert p.cards == ((2, "The [...] is a star. {{"), (3, "The sun is a [kind]. {{"))
    assert p.source == "The {{c2::sun}} is a {{c3::star::kind}}. {{"
    assert [(q.offset, q.message) for q in p.problems] == [(37, "unclosed '{{' in a cloze paragraph")]
