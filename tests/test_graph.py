"""The concept graph on a small vault whose link structure is known."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlsys_srs.insights.graph import ConceptGraph, NoteNotFound, concept_graph, find_note, neighbourhood

from .conftest import Cli
from .stats_history import CLOCK, History, local

NOW = local(2026, 3, 15, 12)
Notes = Callable[[dict[str, str]], None]

VAULT = {
    "a.md": (
        "---\ntitle: Alpha note\naliases: [Alpha, First idea]\n---\n# Alpha\n\n"
        "Builds on [[b]], names [[Missing Concept]] and [[c#Some heading|see c]].\n\n"
        "a question 0 :: answer 0\n"
        "a question 1 :: answer 1\n"
    ),
    "sub/b.md": (
        "# B\n\nBack to [[Alpha]] and [[missing concept]] again.\n\n"
        "b question 0 :: answer 0\n"
        "b question 1 :: answer 1\n"
    ),
    "c.md": "# C\n\nSee [[sub/b|bee]] and [[Nowhere]].\n\n## Some heading\n\nc question :: answer\n",
    "d.md": "# D\n\nA link to itself: [[d]].\n\nd question :: answer\n",
    "e.md": "---\nsrs: false\n---\n# E\n\nJust prose, no links.\n",
    "moc.md": "# Map\n\n- [[a]]\n- [[b]]\n- [[c]]\n- [the b note](sub/b.md)\n",
}


@pytest.fixture
def graph_db(run: Cli, notes: Notes, db_path: Path) -> Iterator[History]:
    notes(VAULT)
    run("sync", "-q")
    h = History(db_path, NOW)
    yield h
    h.close()


def whole(h: History) -> ConceptGraph:
    return concept_graph(h.conn, CLOCK, NOW)


def test_hubs_count_linking_notes(graph_db: History) -> None:
    g = whole(graph_db)
    assert g.notes == 6
    # b: from a, c (by path), moc ([[b]] and a Markdown link); a: from b (by alias) and moc;
    # c: from a (heading link) and moc. d links only to itself.
    assert [(h.note.path, h.linked_from, h.links) for h in g.hubs] == [
        ("sub/b.md", 3, 4),
        ("a.md", 2, 2),
        ("c.md", 2, 2),
    ]


def test_dangling_concepts_with_who_links_to_them(graph_db: History) -> None:
    g = whole(graph_db)
    assert [d.target.lower() for d in g.dangling] == ["missing concept", "nowhere"]
    missing = g.dangling[0]
    assert missing.notes == 2
    assert sorted(s.note for s in missing.sources) == ["a.md", "sub/b.md"]
    assert {s.note: s.line for s in missing.sources}["sub/b.md"] == 3
    assert g.dangling_links == 3


def test_orphans_and_notes_without_cards(graph_db: History) -> None:
    g = whole(graph_db)
    assert [n.path for n in g.orphans] == ["d.md", "e.md"]  # a self-link is no link
    assert [n.path for n in g.without_cards] == ["moc.md"]  # e.md says srs: false


def test_retired_cards_do_not_count(graph_db: History) -> None:
    for cid in graph_db.cards("d.md"):
        graph_db.set_card(cid, retired=1)
    assert [n.path for n in whole(graph_db).without_cards] == ["d.md", "moc.md"]


def _study_all(h: History) -> None:
    """Every card strong, except b's two cards: weak, lapsed and overdue."""
    for path in ("a.md", "c.md", "d.md"):
        for cid in h.cards(path):
            h.study(cid, stability=100.0, last_review=local(2026, 3, 14, 9), due=local(2026, 6, 1))
            h.review(cid, local(2026, 3, 14, 9), 3)
    # c's and d's single cards get as many passed reviews as a's two: equal own scores.
    h.review(h.cards("c.md")[0], local(2026, 3, 1, 9), 3)
    h.review(h.cards("d.md")[0], local(2026, 3, 1, 9), 3)
    for cid in h.cards("sub/b.md"):
        h.study(cid, stability=1.0, last_review=local(2026, 2, 20), due=local(2026, 2, 21), lapses=4)
        h.review(cid, local(2026, 2, 20), 1)


def test_a_weak_prerequisite_makes_its_dependents_shaky(graph_db: History) -> None:
    _study_all(graph_db)
    g = whole(graph_db)
    by = {w.note.path: w for w in g.weak}
    own = {p: w.own.score for p, w in by.items()}
    assert own["a.md"] == pytest.approx(own["d.md"])  # same cards, same history
    assert own["sub/b.md"] > own["a.md"]
    # a and c link to the weak b; d links to nothing; b links back to a.
    assert by["a.md"].prerequisite is not None and by["a.md"].prerequisite.path == "sub/b.md"
    assert by["a.md"].score == pytest.approx(own["a.md"] + 0.5 * own["sub/b.md"])
    assert by["c.md"].score == pytest.approx(own["c.md"] + 0.5 * own["sub/b.md"])
    assert by["d.md"].prerequisite is None
    assert by["d.md"].score == pytest.approx(own["d.md"])
    assert by["sub/b.md"].score == pytest.approx(own["sub/b.md"] + 0.5 * own["a.md"])
    # a and c tie (both lean on b): by path.
    assert [w.note.path for w in g.weak] == ["sub/b.md", "a.md", "c.md", "d.md"]
    assert "weakest prerequisite B" in by["a.md"].reason
    assert "4.0 lapses/card" in by["sub/b.md"].reason
    assert "moc.md" not in by  # no cards of its own: not ranked


def test_find_note_by_path_name_alias_and_link(graph_db: History) -> None:
    for name in ("a.md", "a", "A", "Alpha", "first idea", "[[Alpha|x]]", "[[a#Heading]]", "alpha NOTE"):
        assert find_note(graph_db.conn, name).path == "a.md", name
    for name in ("sub/b.md", "sub/b", "b", "B.md"):
        assert find_note(graph_db.conn, name).path == "sub/b.md", name
    with pytest.raises(NoteNotFound, match="no note named 'zzz'"):
        find_note(graph_db.conn, "zzz")


def test_neighbourhood_links_in_and_out(graph_db: History) -> None:
    _study_all(graph_db)
    nb = neighbourhood(graph_db.conn, CLOCK, NOW, "Alpha")
    assert nb.note.path == "a.md"
    assert nb.own.cards == 2
    out = [(n.note.path if n.note else None, n.target, n.heading) for n in nb.links_out]
    assert out == [("sub/b.md", "b", None), (None, "Missing Concept", None), ("c.md", "c", "Some heading")]
    b = nb.links_out[0]
    assert (b.cards, b.retention.reviews, b.retention.passed) == (2, 2, 0)
    assert b.weakness is not None and b.weakness > 0.3
    assert nb.links_out[1].cards == 0 and nb.links_out[1].weakness is None
    assert [(n.note.path if n.note else None, n.line) for n in nb.links_in] == [
        ("moc.md", 3),
        ("sub/b.md", 3),
    ]


def test_graph_command_json(run: Cli, graph_db: History) -> None:
    _study_all(graph_db)
    graph_db.conn.commit()
    Path(os.environ["MLSYS_SRS_CONFIG"]).write_text(
        '[schedule]\ntimezone = "America/Los_Angeles"\n', encoding="utf-8"
    )
    env = {"MLSYS_SRS_NOW": NOW.isoformat()}
    data = run.json("graph", env=env)
    assert isinstance(data, dict)
    assert data["hubs"][0] == {
        "path": "sub/b.md",
        "title": "B",
        "domain": "sub",  # the first folder
        "linked_from": 3,
        "links": 4,
    }
    assert data["dangling"][0]["notes"] == 2
    assert [n["path"] for n in data["orphans"]] == ["d.md", "e.md"]
    assert [n["path"] for n in data["without_cards"]] == ["moc.md"]
    assert data["weak"][0]["path"] == "sub/b.md"
    assert data["weak"][1]["prerequisite"]["path"] == "sub/b.md"
    one = run.json("graph", "First idea", env=env)
    assert isinstance(one, dict)
    assert one["note"]["path"] == "a.md"
    assert [n["dangling"] for n in one["links_out"]] == [False, True, False]
    assert [n["note"]["path"] for n in one["links_in"]] == ["moc.md", "sub/b.md"]


def test_graph_unknown_note_is_one_clear_error(run: Cli, graph_db: History) -> None:
    result = run("graph", "no-such-note", code=1)
    assert "error: no note named 'no-such-note'" in result.output + result.stderr
