"""Duplicate-card detection (mlsys_srs.insights.duplicates): what must match, what must not, order."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsys_srs.insights.duplicates import (
    DEFAULT_THRESHOLD,
    CardText,
    DuplicatePair,
    cards_from_notes,
    find_duplicates,
    normalize,
    similarity,
)
from mlsys_srs.parse import parse_note


def card(path: str, line: int, question: str, answer: str, group: str | None = None) -> CardText:
    return CardText(path, line, question, answer, group or f"{path}#{line}")


def places(pairs: list[DuplicatePair]) -> list[tuple[str, str]]:
    return [(f"{p.first.path}:{p.first.line}", f"{p.second.path}:{p.second.line}") for p in pairs]


def vault(*notes: tuple[str, str]) -> list[CardText]:
    return cards_from_notes(parse_note(text, path) for path, text in notes)


# -- normalisation ----------------------------------------------------------------


def test_normalize_strips_markdown_and_cloze_syntax() -> None:
    assert normalize("ZeRO stage {{c1::2::which?}} shards {{gradients}}.") == "zero stage 2 shards gradients"
    assert normalize("See [[kv-cache|the KV cache]] and [[Paged Attention]]!") == (
        "see the kv cache and paged attention"
    )
    assert (
        normalize("Call `torch.cuda.synchronize()` first #gpu #interview")
        == "call torch cuda synchronize first"
    )
    assert normalize("Ring cost: $2(N-1)/N$ times   S ^srs-7f3a9c") == "ring cost 2 n 1 n times s"
    assert normalize("ＦＰ16 Value") == "fp16 value"


# -- pairs that must be reported ----------------------------------------------------


def test_reworded_question_with_the_same_answer_matches() -> None:
    cards = [
        card("07-ml-systems/zero.md", 10, "What does ZeRO stage 2 shard?", "Gradients and optimizer states."),
        card(
            "12-paper-reading/zero-paper.md",
            40,
            "Which state does ZeRO-2 partition across data-parallel ranks?",
            "The optimizer states and the gradients",
        ),
    ]
    assert places(find_duplicates(cards)) == [
        ("07-ml-systems/zero.md:10", "12-paper-reading/zero-paper.md:40")
    ]


def test_same_card_with_other_case_and_punctuation_matches() -> None:
    a = card("a.md", 3, "Why does FP16 training need loss scaling?", "Small gradients underflow to zero.")
    b = card("b.md", 9, "why does fp16 training need loss-scaling", "small gradients underflow to zero")
    pairs = find_duplicates([b, a])
    assert len(pairs) == 1
    assert pairs[0].first == a and pairs[0].second == b
    assert pairs[0].score == 100.0


def test_cloze_copied_into_another_note_matches_once() -> None:
    paragraph = "C: ZeRO stage 1 shards {{c1::optimizer states}}; stage 2 also shards {{c2::gradients}}.\n"
    cards = vault(
        ("07-ml-systems/distributed-training.md", "# DT\n\n" + paragraph),
        (
            "12-paper-reading/zero-paper.md",
            "# ZeRO\n\nIntro text.\n\n" + paragraph.replace("shards", "partitions"),
        ),
    )
    assert len(cards) == 4
    assert places(find_duplicates(cards)) == [
        ("07-ml-systems/distributed-training.md:3", "12-paper-reading/zero-paper.md:5")
    ]


def test_cloze_and_question_card_of_one_fact_match() -> None:
    cards = vault(
        (
            "kv.md",
            "KV cache bytes per token = {{c1::2 x layers x KV heads x head dim x bytes per element}}.\n",
        ),
        (
            "serving.md",
            "Q: How many bytes per token does the KV cache take?\nA: 2 x layers x KV heads x head dim x bytes per element\n",
        ),
    )
    assert places(find_duplicates(cards)) == [("kv.md:1", "serving.md:1")]


def test_inline_and_qa_forms_of_one_fact_match() -> None:
    cards = vault(
        ("fp.md", "Largest finite FP16 value :: 65504\n"),
        ("mp.md", "Q: What is the largest finite FP16 value?\nA: 65504\n"),
    )
    assert places(find_duplicates(cards)) == [("fp.md:1", "mp.md:1")]


# -- pairs that must not be reported --------------------------------------------------


def test_siblings_of_one_cloze_paragraph_are_not_reported() -> None:
    text = "Deadlock needs {{c1::mutual exclusion}}, {{c2::hold and wait}}, {{c3::no preemption}} and circular wait.\n"
    cards = vault(("os.md", text))
    assert len(cards) == 3
    assert find_duplicates(cards, threshold=0) == []


def test_two_directions_of_a_bidirectional_card_are_not_reported() -> None:
    cards = vault(("p.md", "Megatron-LM ::: tensor (intra-layer) model parallelism\n"))
    assert len(cards) == 2
    assert find_duplicates(cards, threshold=0) == []


def test_cards_of_one_paragraph_are_siblings() -> None:
    text = "Q: What is a stack?\nA: A LIFO collection\nQ: What is a stack?\nA: A LIFO collection\n"
    cards = vault(("ds.md", text))
    assert len(cards) == 2
    assert len({c.group for c in cards}) == 1
    assert find_duplicates(cards, threshold=0) == []


def test_same_path_and_line_is_never_reported_even_with_other_groups() -> None:
    a = card("n.md", 5, "What is a stack?", "A LIFO collection", group="x")
    b = card("n.md", 5, "What is a stack?", "A LIFO collection", group="y")
    assert find_duplicates([a, b], threshold=0) == []


def test_same_question_in_two_paragraphs_of_one_note_is_reported() -> None:
    text = "Q: What is a stack?\nA: A LIFO collection\n\nSome text.\n\nQ: What is a stack?\nA: a LIFO collection.\n"
    assert places(find_duplicates(vault(("ds.md", text)))) == [("ds.md:1", "ds.md:6")]


def test_different_stages_of_one_topic_are_not_duplicates() -> None:
    cards = [
        card("a.md", 1, "What does ZeRO stage 1 shard?", "Optimizer states"),
        card("b.md", 1, "What does ZeRO stage 3 shard?", "Optimizer states, gradients and parameters"),
        card("c.md", 1, "What does ZeRO stage 2 shard?", "Optimizer states and gradients"),
    ]
    assert find_duplicates(cards) == []


def test_same_template_with_a_different_blank_is_not_a_duplicate() -> None:
    cards = vault(
        (
            "mha.md",
            "C: Grouped-query attention with g KV heads for h query heads is multi-head attention when g = {{c1::h}}.\n",
        ),
        (
            "mqa.md",
            "C: Grouped-query attention with g KV heads for h query heads is multi-query attention when g = {{c1::1}}.\n",
        ),
    )
    assert find_duplicates(cards) == []


def test_different_numbers_are_different_facts() -> None:
    cards = [
        card("pcie.md", 3, "A 16-lane PCIe 4.0 link carries about how much in each direction?", "32 GB/s"),
        card("gpu.md", 7, "A 16-lane PCIe 5.0 link carries about how much in each direction?", "64 GB/s"),
    ]
    assert find_duplicates(cards) == []


def test_related_questions_with_different_answers_are_not_duplicates() -> None:
    # Two cards of the bundled notes: one template, two subjects.
    cards = [
        card(
            "04-distributed-systems/replication.md",
            35,
            "What is the trade-off between synchronous and asynchronous replication? #interview",
            "Synchronous: no acknowledged write is lost on leader failure, but write\n"
            "latency and availability depend on the slowest follower. Asynchronous: fast\n"
            "writes, but recent writes can be lost on failover and reads from followers may\n"
            "be stale.",
        ),
        card(
            "14-interview-prep/tradeoff-batch-size-vs-sync-cost.md",
            88,
            "What is the trade-off between synchronous and asynchronous data-parallel SGD? #interview",
            "Synchronous waits for the slowest worker but uses fresh, consistent gradients;\n"
            "asynchronous never waits but applies stale gradients, hurting convergence.",
        ),
    ]
    assert similarity(*cards) < DEFAULT_THRESHOLD
    assert find_duplicates(cards) == []


# -- output shape and determinism --------------------------------------------------------


def _cluster() -> list[CardText]:
    return [
        card("b.md", 20, "Largest finite FP16 value", "65504"),
        card("a.md", 10, "largest finite fp16 value?", "65504."),
        card("c.md", 5, "What is the largest finite FP16 value", "65504"),
        card(
            "a.md",
            30,
            "Why is KL divergence not a metric?",
            "It is not symmetric and breaks the triangle inequality.",
        ),
        card(
            "d.md",
            2,
            "Why is the KL divergence not a distance metric?",
            "Not symmetric; no triangle inequality.",
        ),
    ]


def test_pairs_are_ordered_and_sorted() -> None:
    pairs = find_duplicates(_cluster())
    assert places(pairs) == [
        ("a.md:10", "b.md:20"),
        ("a.md:10", "c.md:5"),
        ("a.md:30", "d.md:2"),
        ("b.md:20", "c.md:5"),
    ]
    for p in pairs:
        assert (p.first.path, p.first.line) < (p.second.path, p.second.line)
        assert DEFAULT_THRESHOLD <= p.score <= 100


def test_result_does_not_depend_on_input_order() -> None:
    cards = _cluster()
    expected = find_duplicates(cards)
    rng = random.Random(7)
    for _ in range(10):
        shuffled = cards[:]
        rng.shuffle(shuffled)
        assert find_duplicates(shuffled) == expected


def test_threshold_is_respected() -> None:
    cards = _cluster()
    assert all(p.score >= 95 for p in find_duplicates(cards, threshold=95))
    assert find_duplicates(cards, threshold=100.1) == []


def test_planted_copy_is_found_among_many_cards() -> None:
    rng = random.Random(3)
    vocab = [f"term{i}" for i in range(3000)]
    cards = [
        card(
            f"n{i // 10}.md",
            i % 10 * 3 + 1,
            " ".join(rng.sample(vocab, 8)) + "?",
            " ".join(rng.sample(vocab, 6)),
        )
        for i in range(3000)
    ]
    original = cards[1234]
    cards.append(card("copy.md", 4, original.question.upper(), original.answer + "."))
    pairs = find_duplicates(cards)
    assert [(p.first, p.second) for p in pairs] == [(cards[-1], original)]  # "copy.md" < "n123.md"


# -- properties ----------------------------------------------------------------------------

WORDS = [
    "zero",
    "stage",
    "shard",
    "kv",
    "cache",
    "ring",
    "all-reduce",
    "bubble",
    "fp16",
    "2",
    "3",
    "the",
    "of",
]
phrase = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
card_st = st.builds(
    CardText,
    path=st.sampled_from(["a.md", "b.md", "c.md"]),
    line=st.integers(1, 4),
    question=phrase,
    answer=phrase,
    group=st.sampled_from(["g1", "g2", "g3", "g4"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(card_st, max_size=12), st.randoms(use_true_random=False))
def test_properties(cards: list[CardText], rnd: random.Random) -> None:
    pairs = find_duplicates(cards, threshold=50)
    seen_groups = set()
    for p in pairs:
        assert p.first.group != p.second.group
        assert (p.first.path, p.first.line) != (p.second.path, p.second.line)
        assert (p.first.path, p.first.line) <= (p.second.path, p.second.line)
        assert p.score >= 50
        key = frozenset((p.first.group, p.second.group))
        assert key not in seen_groups  # at most one pair per pair of groups
        seen_groups.add(key)
    shuffled = cards[:]
    rnd.shuffle(shuffled)
    assert find_duplicates(shuffled, threshold=50) == pairs


@settings(max_examples=100, deadline=None)
@given(card_st, card_st)
def test_similarity_is_symmetric_and_bounded(a: CardText, b: CardText) -> None:
    s = similarity(a, b)
    assert 0 <= s <= 100
    assert abs(s - similarity(b, a)) < 1e-9
