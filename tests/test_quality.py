"""`check --quality` teaches good cards: each rule on small exact cases, its opt-out, its settings, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mlsys_srs import cli
from mlsys_srs.cli import context
from mlsys_srs.parse import parse_note
from mlsys_srs.parse.lines import strip_comments
from mlsys_srs.parse.quality import QualitySettings, check_note, gives_away, is_yes_no, list_items, word_count

from .conftest import Cli, write_notes


def rules(text: str, qs: QualitySettings | None = None) -> list[str]:
    note = parse_note(text, "n.md")
    return [d.code.split("/")[1] for d in check_note(note, text, qs)]


LONG = "A: " + " ".join(["word"] * 41)


@pytest.mark.parametrize(
    ("card", "rule"),
    [
        ("Q: What is it?\n" + LONG, "long-answer"),
        ("Q: Which stages are there?\nA:\n- one\n- two\n- three\n- four", "long-list"),
        ("Q: What does it need?\nA: Its inputs are alpha, beta, gamma and delta.", "long-list"),
        ("Q: What does RoCE stand for, RDMA over Converged Ethernet?\nA: RoCE", "giveaway"),
        (
            "Instruction latency versus throughput ::: latency is cycles; throughput is starts per cycle about latency and throughput of instruction",
            "giveaway",
        ),
        ("C: Megatron's {{c1::f}} operator is an identity forward.", "short-cloze"),
        ("C: The {{c1::the}} cache.", "short-cloze"),
        ("C: A feature store has an {{c1::online}} store and an {{c2::offline}} store.", "cloze-pair"),
        ("Q: Is the KV cache stored on the GPU?\nA: Yes, in HBM.", "yes-no"),
        ("Q: Which is faster, prefill or decode?\nA: Prefill per token.", "yes-no"),
    ],
)
def test_each_rule_catches_its_case(card: str, rule: str) -> None:
    assert rule in rules(f"# N\n\n{card}\n")


@pytest.mark.parametrize(
    "card",
    [
        "Q: Why does gradient accumulation save memory?\nA: Activations are held for one micro-batch at a time.",
        "Q: What is the KV cache's size per token?\nA: 2 x layers x KV heads x head dim x bytes.",
        "Q: What does ZeRO stage 2 shard?\nA: Gradients and optimizer states.",
        "C: ZeRO stage {{c1::2}} shards gradients as well as optimizer states.",
        "C: Softmax scales by {{c1::$\\sqrt{d_k}$}} before exponentiating.",
        "Q: Derive the ring all-reduce time.\nA:\n```\n"
        + "\n".join(f"step {i} sends M/N" for i in range(60))
        + "\n```",
    ],
)
def test_good_cards_pass(card: str) -> None:
    assert rules(f"# N\n\n{card}\n") == []


@pytest.mark.parametrize(
    ("card", "comment"),
    [
        ("Q: What is it?\n" + LONG, "allow-long"),
        ("Q: What is it?\n" + LONG, "allow-long-answer"),
        ("Q: Is it on the GPU?\nA: Yes, in HBM.", "allow-yes-no"),
        ("Q: Is it on the GPU?\n" + LONG, "allow-all"),
    ],
)
def test_a_comment_on_the_card_lets_it_break_a_rule(card: str, comment: str) -> None:
    assert rules(f"# N\n\n{card} <!-- srs: {comment} -->\n") == []
    assert rules(f"# N\n\n<!-- srs: {comment} -->\n{card}\n") == []  # on the line above


def test_settings_change_the_limits_and_switch_rules_off() -> None:
    text = "# N\n\nQ: What is it?\nA: " + " ".join(["word"] * 30) + "\n"
    assert rules(text) == []
    assert rules(text, QualitySettings(max_answer_words=20)) == ["long-answer"]
    yes = "# N\n\nQ: Is it?\nA: Yes.\n"
    assert rules(yes, QualitySettings(disabled=frozenset({"yes-no"}))) == []


def test_words_lists_giveaways_and_questions_count_as_a_reader_does() -> None:
    assert word_count("one [[two|three]] `x` $a+b$ four <!-- not counted at all -->") == 5
    assert word_count("text\n```\n" + "code " * 100 + "\n```") == 1
    assert list_items("- a\n- b\n- c") == 3
    assert list_items("It needs data (a, b, c, d) and time.") < 4  # an aside is not the sentence's series
    assert gives_away("What is the FLP result about consensus?", "FLP")
    assert not gives_away("Why does Raft randomize timeouts?", "So one node usually times out first.")
    assert is_yes_no("Does Raft tolerate Byzantine faults?")
    assert not is_yes_no("Why does Raft not tolerate Byzantine faults?")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_the_rules_never_raise_on_any_card_text(answer: str) -> None:
    text = f"# N\n\nQ: What is it?\nA: {answer}\n\nC: a {{{{c1::{answer[:10] or 'x'}}}}} b\n"
    note = parse_note(text, "n.md")
    for d in check_note(note, text):
        assert d.path == "n.md" and d.line > 0 and d.severity == "warning" and "\n" not in d.message


def test_comments_are_left_out_of_what_a_card_shows_but_not_out_of_code() -> None:
    assert strip_comments("an answer <!-- srs: allow-long --> and %%a note%% more") == "an answer  and  more"
    assert strip_comments("`<!-- kept -->` and <!--\nmulti\n-->end") == "`<!-- kept -->` and end"
    assert strip_comments("```\n<!-- code -->\n```") == "```\n<!-- code -->\n```"
    # A comment at a line's end leaves no trailing blanks (two would make a hard break);
    # a hard break on a line without a comment is kept.
    assert strip_comments("first  \nsecond <!-- note -->  \nthird %%x%%") == "first  \nsecond\nthird"
    # The parser's comments: one left open hides the rest; none inside a fence of either kind.
    assert strip_comments("shown %% hidden\nstill hidden") == "shown"
    assert strip_comments("~~~\n%%code%%\n~~~\nafter %%x%%") == "~~~\n%%code%%\n~~~\nafter"


def test_check_quality_prints_path_line_and_fix_and_exits_0_on_warnings(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    write_notes(vault, {"a.md": "# A\n\nQ: Is it on the GPU?\nA: Yes.\n\nQ: Why?\nA: Because.\n"})
    context.reset_consoles()
    quiet = CliRunner().invoke(cli.app, ["--vault", str(vault), "check"])
    assert quiet.exit_code == 0 and "yes-no" not in quiet.stdout  # off by default on your own vault
    out = CliRunner().invoke(cli.app, ["--vault", str(vault), "check", "--quality"])
    assert out.exit_code == 0
    assert "a.md:3: a yes/no or either-or question can be answered by a guess [yes-no]: ask why" in out.stdout
    data = json.loads(
        CliRunner().invoke(cli.app, ["--vault", str(vault), "check", "--quality", "--json"]).stdout
    )
    assert [d["code"] for d in data["diagnostics"]] == ["quality/yes-no"]
    (vault / ".mlsys-srs").mkdir()
    (vault / ".mlsys-srs" / "config.toml").write_text("[check]\nquality = true\n")
    context.reset_consoles()
    assert "yes-no" in CliRunner().invoke(cli.app, ["--vault", str(vault), "check"]).stdout


def test_card_and_cards_show_no_comment(run: Cli, notes) -> None:  # type: ignore[no-untyped-def]
    notes({"t.md": "# T\n\nQ: What is x? %% private %%\nA: The answer <!-- srs: allow-long --> here.\n"})
    run("sync")
    listing = run("cards").stdout
    assert "What is x?" in listing and "The answer here." in listing
    shown = run("card", "1").stdout
    assert "Q: What is x?" in shown and "The answer" in shown
    for out in (listing, shown):
        assert "private" not in out and "srs:" not in out and "%%" not in out
