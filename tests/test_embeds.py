"""Obsidian Markdown as Obsidian shows it: embedded notes, sections and blocks, highlights and footnotes,
in the terminal, the Anki export and the web page alike."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from mlsys_srs import cli
from mlsys_srs.cli import context
from mlsys_srs.render.embeds import MAX_CHARS, NoteLibrary, prepare, section
from mlsys_srs.render.html import MarkdownRenderer
from mlsys_srs.render.terminal import HIGHLIGHT_STYLE, terminal_card

from .conftest import write_notes

PAGED = """---
title: Paged attention
---
# Paged attention

Intro text.

## Block table

Each sequence maps its logical KV blocks to physical blocks through a **block table**.

### Detail

Blocks are 16 tokens by default.

## Copy on write

A shared prefix is copied only when one sequence writes to it. ^cow
"""

CARD_NOTE = """# Serving

Q: How does vLLM find a sequence's KV blocks?
A: ![[paged-attention#Block table]]

Q: What happens when two sequences share a prefix?
A: ![[paged-attention#^cow]]

Q: What is the ==block size== of PagedAttention?[^1]
A: 16 tokens[^note].

[^1]: In vLLM's default configuration.
[^note]: Configurable per engine,
    with --block-size.
"""

LOOP = {"a.md": "# A\n\nQ: loop?\nA: ![[b]]\n", "b.md": "# B\n\nsee ![[a]]\n"}


def vault(tmp_path: Path) -> Path:
    v = tmp_path / "v"
    write_notes(v, {"10-llm/paged-attention.md": PAGED, "10-llm/serving.md": CARD_NOTE})
    return v


def test_a_section_is_the_heading_up_to_the_next_of_its_level() -> None:
    title, body = section(PAGED, "Block table")  # type: ignore[misc]
    assert title == "Block table"
    assert "block table" in body and "16 tokens" in body  # a subsection belongs to it
    assert "Copy on write" not in body
    assert section(PAGED, "^cow") == ("", "A shared prefix is copied only when one sequence writes to it.")
    assert section(PAGED, "Missing") is None
    assert section(PAGED, None)[1].startswith("# Paged attention")  # type: ignore[index]


def test_embeds_show_their_content_and_footnotes_their_text(tmp_path: Path) -> None:
    lib = NoteLibrary(vault(tmp_path))
    out = prepare("![[paged-attention#Block table]]", "10-llm/serving.md", lib)
    assert "> **paged-attention › Block table**" in out
    assert "> Each sequence maps its logical KV blocks" in out
    block = prepare("![[paged-attention#^cow]]", "10-llm/serving.md", lib)
    assert "copied only when one sequence writes" in block and "^cow" not in block
    notes = prepare("What is it?[^1] And[^note].", "10-llm/serving.md", lib)
    assert notes.startswith("What is it?¹ And[note].")
    assert "¹ In vLLM's default configuration." in notes
    assert "[note] Configurable per engine, with --block-size." in notes
    # Images and links are left alone; an embed of nothing stays as written.
    same = "![[diagram.png]] and [[paged-attention]] and ![[nowhere]]"
    assert prepare(same, "10-llm/serving.md", lib) == same


def test_embeds_that_loop_are_refused_and_big_ones_cut(tmp_path: Path) -> None:
    write_notes(tmp_path / "v", {**LOOP, "big.md": "# Big\n\n" + ("word " * 2000)})
    lib = NoteLibrary(tmp_path / "v")
    out = prepare("![[b]]", "a.md", lib)
    assert "it embeds itself" in out
    big = prepare("![[big]]", "a.md", lib)
    assert len(big) < MAX_CHARS + 200 and big.rstrip().endswith("…")


def test_the_terminal_shows_embeds_highlights_and_footnotes(tmp_path: Path) -> None:
    lib = NoteLibrary(vault(tmp_path))
    text = prepare(
        "The ==block size== is 16[^1] via ![[paged-attention#Block table]]", "10-llm/serving.md", lib
    )
    card = terminal_card(text, Console(width=80), 80)
    plain = "\n".join(line.plain for line in card.lines)
    assert "==" not in plain and "[^1]" not in plain and "![[" not in plain
    assert "Each sequence maps its logical KV blocks" in plain
    assert "¹ In vLLM's default configuration." in plain
    first = card.lines[0]
    start = first.plain.index("block size")
    assert any(s.style == HIGHLIGHT_STYLE and s.start <= start < s.end for s in first.spans)


def test_the_anki_html_shows_them_too(tmp_path: Path) -> None:
    lib = NoteLibrary(vault(tmp_path))
    r = MarkdownRenderer(library=lib)
    html = r.render("The ==block size==[^1] ![[paged-attention#Block table]]", note="10-llm/serving.md")
    assert "<mark>block size</mark>" in html
    assert "<blockquote>" in html and "<strong>block table</strong>" in html
    assert "In vLLM" in html and "[^1]" not in html
    hostile = MarkdownRenderer(library=lib).render("==<script>x</script>==", note="10-llm/serving.md")
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile


def test_the_exported_package_carries_the_embedded_section(tmp_path: Path) -> None:
    v = vault(tmp_path)
    out = tmp_path / "deck.apkg"
    context.reset_consoles()
    r = CliRunner().invoke(
        cli.app,
        ["--vault", str(v), "--db", str(tmp_path / "db.sqlite"), "export", "anki", "-o", str(out)],
        env={"MLSYS_SRS_NOW": "2026-12-07T08:00:00+00:00"},
    )
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(out) as z:
        (tmp_path / "c.anki2").write_bytes(z.read("collection.anki2"))
    fields = [row[0] for row in sqlite3.connect(tmp_path / "c.anki2").execute("SELECT flds FROM notes")]
    backs = "\n".join(fields)
    assert "Each sequence maps its logical KV blocks" in backs
    assert "paged-attention › Block table" in backs
    assert "copied only when one sequence writes" in backs


def test_card_shows_the_embedded_section(tmp_path: Path) -> None:
    v = vault(tmp_path)
    env = {"MLSYS_SRS_NOW": "2026-12-07T08:00:00+00:00"}
    args = ["--vault", str(v), "--db", str(tmp_path / "db.sqlite")]
    context.reset_consoles()
    CliRunner().invoke(cli.app, [*args, "sync", "-q"], env=env)
    cards = json.loads(CliRunner().invoke(cli.app, [*args, "cards", "--json"], env=env).stdout)
    first = next(c for c in cards if "find a sequence" in c["question"])
    context.reset_consoles()
    out = CliRunner().invoke(cli.app, [*args, "card", str(first["id"])], env={**env, "COLUMNS": "100"}).stdout
    assert "Each sequence maps its logical KV blocks" in out and "![[" not in out
