"""The rendered-HTML cache of ``export anki``: a re-export reads it, and its key names the renderer."""

from __future__ import annotations

import sqlite3
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlsys_srs.render import html as html_module
from mlsys_srs.render.html import MarkdownRenderer
from mlsys_srs.store import open_db
from mlsys_srs.store.render_cache import cached_renders, save_renders

from .conftest import Cli

NOW = "2026-11-22T16:00:00+00:00"
WHEN = datetime(2026, 11, 22, 16, tzinfo=UTC)
NOTE = """# Cache

Q: What does `fsync` do?
A: It *flushes* the file to disk:

```python
os.fsync(fd)
```

Plain question ::: plain answer

Q: Where is the picture?
A: Here: ![[pic.png]]
"""


def fields(apkg: Path) -> list[str]:
    with zipfile.ZipFile(apkg) as z:
        data = z.read("collection.anki2")
    col = sqlite3.connect(":memory:")
    col.deserialize(data)
    return sorted(str(r[0]) for r in col.execute("SELECT flds FROM notes"))


def test_a_re_export_takes_the_html_from_the_cache(
    run: Cli, notes: Callable[[dict[str, str]], None], vault: Path, db_path: Path, tmp_path: Path
) -> None:
    notes({"cache.md": NOTE})
    (vault / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\nbytes")
    run("export", "anki", "--out", str(tmp_path / "a.apkg"), env={"MLSYS_SRS_NOW": NOW})
    first = fields(tmp_path / "a.apkg")
    renderer = MarkdownRenderer()
    question_key = renderer.cache_key("What does `fsync` do?")
    picture_key = renderer.cache_key("Here: ![[pic.png]]")
    conn = open_db(db_path, WHEN)
    try:
        cached = cached_renders(conn, [question_key, picture_key, renderer.cache_key("plain answer")])
        # Markdown rendered once is cached; plain text and text with images are not.
        assert cached == {question_key: "What does <code>fsync</code> do?"}
        save_renders(conn, [(question_key, "FROM THE CACHE")], [question_key])
    finally:
        conn.close()
    run("export", "anki", "--out", str(tmp_path / "b.apkg"), env={"MLSYS_SRS_NOW": NOW})
    second = fields(tmp_path / "b.apkg")
    assert any(f.startswith("FROM THE CACHE\x1f") for f in second)
    assert [f for f in second if not f.startswith("FROM")] == [
        f for f in first if "fsync</code> do?" not in f
    ]
    assert any('<img src="pic' in f for f in second)  # the image is still bundled on a re-export


def test_texts_with_embeds_and_footnotes_are_looked_up_by_what_they_show(tmp_path: Path) -> None:
    """The cache keys a text by what it shows (embeds and footnotes in place): the keys a build
    looks up (``keys_for``, given each text's note) are those ``render`` stores."""
    from mlsys_srs.render.embeds import NoteLibrary

    (tmp_path / "a.md").write_text("# A\n\nQ: x?\nA: See ![[b]] and[^1] *this*.\n\n[^1]: The note.\n")
    (tmp_path / "b.md").write_text("Defined *once*.\n")
    renderer = MarkdownRenderer(library=NoteLibrary(tmp_path))
    texts = [("See ![[b]] and[^1] *this*.", "a.md"), ("Just *this*.", "a.md")]
    for text, note in texts:
        renderer.render(text, note=note)
    assert sorted(renderer.keys_for(texts)) == sorted(renderer.fresh)


def test_the_key_holds_the_text_the_renderer_version_and_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "Some *emphasis*"
    plain, breaks = MarkdownRenderer(), MarkdownRenderer(breaks=True)
    assert plain.cache_key(text) == MarkdownRenderer().cache_key(text)
    assert plain.cache_key(text) != breaks.cache_key(text)
    assert plain.cache_key(text) != plain.cache_key(text + " ")
    monkeypatch.setattr(html_module, "RENDER_VERSION", "changed")
    assert MarkdownRenderer().cache_key(text) != plain.cache_key(text)


def test_unused_entries_are_pruned_when_they_outnumber_the_used_ones(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "x.db", WHEN)
    keys = [f"k{i}" for i in range(1500)]
    save_renders(conn, [(k, "x") for k in keys], keys)
    assert len(cached_renders(conn, [f"k{i}" for i in range(1500)])) == 1500
    save_renders(conn, [("a", "A")], ["a", "k1"])
    assert cached_renders(conn, ["a", "k1", "k2"]) == {"a": "A", "k1": "x"}
    conn.close()
