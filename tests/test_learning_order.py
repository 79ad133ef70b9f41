"""New cards in learning order: numbered folders first to last, notes as their index note lists them."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsys_srs.config import ConfigError, ScheduleConfig, load_config
from mlsys_srs.scheduling.days import DayClock
from mlsys_srs.scheduling.queue import QueueItem, build_queue, learning_ranks, todays_queue
from mlsys_srs.store import candidates as candidate_store
from mlsys_srs.store import notes as note_store
from mlsys_srs.store import open_db
from mlsys_srs.store import review_log as review_store
from mlsys_srs.store.filters import CardFilter
from mlsys_srs.sync import sync_vault

from .conftest import add_review, set_card, write_notes

NOTES = Path(__file__).resolve().parent.parent / "notes"
NOW = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
CLOCK = DayClock(UTC, 4)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    conn = open_db(tmp_path_factory.mktemp("order") / "db.sqlite", NOW)
    sync_vault(conn, NOTES, NOW)
    return conn


def test_learning_ranks_folders_index_links_then_names() -> None:
    paths = ["10-late/a.md", "2-two/zeta.md", "2-two/alpha.md", "2-two/two-moc.md", "misc/x.md", "top.md",
             "2-two/beta.md", "3-three/3-three.md", "3-three/b.md", "3-three/a.md"]  # fmt: skip
    links = [("2-two/two-moc.md", "2-two/zeta.md"), ("2-two/two-moc.md", "10-late/a.md"),
             ("2-two/two-moc.md", "2-two/beta.md"), ("3-three/3-three.md", "3-three/b.md")]  # fmt: skip
    ranks = learning_ranks(paths, links)
    order = sorted(paths, key=lambda p: ranks[p])
    assert order == ["top.md", "2-two/two-moc.md", "2-two/zeta.md", "2-two/beta.md", "2-two/alpha.md",
                     "3-three/3-three.md", "3-three/b.md", "3-three/a.md", "10-late/a.md", "misc/x.md"]  # fmt: skip


def new(i: int, path: str, line: int, domain: str) -> QueueItem:
    return QueueItem(i, i, line, domain, path, "new", None)


def test_new_orders_learning_interleave_and_random_by_day() -> None:
    cards = [new(1, "1-a/x.md", 5, "a"), new(2, "1-a/x.md", 9, "a"), new(3, "2-b/y.md", 1, "b"),
             new(4, "2-b/y.md", 2, "b"), new(5, "1-a/w.md", 1, "a")]  # fmt: skip
    end = CLOCK.day_end(CLOCK.today(NOW))
    learn = build_queue(cards, now=NOW, day_end=end, bury_new_siblings=False)
    assert [it.id for it in learn.main] == [5, 1, 2, 3, 4]
    mixed = build_queue(cards, now=NOW, day_end=end, bury_new_siblings=False, new_order="interleave")
    assert [it.domain for it in mixed.main] == ["a", "b", "a", "b", "a"]
    shuffled = [
        [it.id for it in build_queue(cards, now=NOW, day_end=end, new_order="random", seed=day).main]
        for day in range(20)
    ]
    again = [it.id for it in build_queue(cards, now=NOW, day_end=end, new_order="random", seed=7).main]
    assert again == shuffled[7]  # the same all day: due and review agree
    assert len({tuple(s) for s in shuffled}) > 1


def moc_order(moc: Path) -> list[str]:
    return re.findall(r"^\d+\. \[\[([^\]|#]+)", moc.read_text(encoding="utf-8"), re.MULTILINE)


def test_bundled_deep_learning_new_cards_follow_the_moc(bundled: sqlite3.Connection) -> None:
    cfg = ScheduleConfig()
    assert cfg.new_order == "learning"
    q = todays_queue(
        bundled, replace(cfg, new_per_day=10_000), CLOCK, NOW, CardFilter(domains=("deep-learning",))
    )
    notes: list[str] = []
    for it in q.main:
        name = Path(it.path).stem
        if not notes or notes[-1] != name:
            notes.append(name)
    listed = [n for n in moc_order(NOTES / "06-deep-learning" / "deep-learning-moc.md") if n in notes]
    assert len(listed) >= 10
    assert notes[: len(listed)] == listed
    # Within a note, by line.
    first = [it for it in q.main if Path(it.path).stem == listed[0]]
    assert [it.line for it in first] == sorted(it.line for it in first)


def test_bundled_vault_starts_with_the_first_folder(bundled: sqlite3.Connection) -> None:
    q = todays_queue(bundled, ScheduleConfig(), CLOCK, NOW)
    assert q.main and all(it.path.startswith("01-math-foundations/") for it in q.main)
    mixed = todays_queue(bundled, ScheduleConfig(new_order="interleave"), CLOCK, NOW)
    assert len({it.domain for it in mixed.main}) > 1


def test_new_order_is_checked(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[schedule]\nnew_order = "alphabetical"\n')
    with pytest.raises(ConfigError, match="new_order"):
        load_config(vault=tmp_path, config_path=cfg, environ={})


# -- new cards fetched on demand give the queue one full sort would ---------------------------

FOLDERS = ("01-a", "2-b", "misc", "")
NAMES = ("a-moc.md", "index.md", "readme.md", "x.md", "Y.md", "y.md", "z.md")


@st.composite
def vaults(draw: st.DrawFn) -> dict[str, str]:
    """A small vault: notes in a few folders, some with index notes linking to the others."""
    paths = draw(
        st.lists(
            st.tuples(st.sampled_from(FOLDERS), st.sampled_from(NAMES)).map(
                lambda t: "/".join(p for p in t if p)
            ),
            min_size=1,
            max_size=8,
            unique_by=str.lower,
        )
    )
    files = {}
    for p in paths:
        links = draw(st.lists(st.sampled_from(paths), max_size=4))
        lines = [f"[[{q.rsplit('/', 1)[-1][:-3]}]]" for q in links]
        cards = draw(st.integers(0, 4))
        body = [
            f"Q {p} {i}? ::: A {i}." if i % 2 else f"Fact {i} of {p} is {{{{c1::one}}}} and {{{{c2::two}}}}."
            for i in range(cards)
        ]
        files[p] = "\n\n".join(["# " + p, *lines, *body]) + "\n"
    return files


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    files=vaults(),
    states=st.lists(
        st.sampled_from(["new", "new", "review", "learning", "suspended", "reviewed"]), max_size=40
    ),
    new_per_day=st.integers(0, 6),
    bury=st.booleans(),
    total=st.one_of(st.none(), st.integers(0, 8)),
)
def test_new_cards_on_demand_equal_one_full_sort(
    tmp_path_factory: pytest.TempPathFactory,
    files: dict[str, str],
    states: list[str],
    new_per_day: int,
    bury: bool,
    total: int | None,
) -> None:
    root = tmp_path_factory.mktemp("lazy")
    write_notes(root / "v", files)
    (root / "v").mkdir(exist_ok=True)
    conn = open_db(root / "db.sqlite", NOW)
    sync_vault(conn, root / "v", NOW)
    ids = [r[0] for r in conn.execute("SELECT id FROM card ORDER BY id")]
    for cid, state in zip(ids, states, strict=False):
        if state in ("review", "learning"):
            set_card(conn, cid, state=state, due=NOW, stability=2.0, last_review=NOW)
        elif state == "suspended":
            set_card(conn, cid, suspended=True)
        elif state == "reviewed":
            set_card(conn, cid, state="review", due=NOW.replace(year=2027), stability=9.0, last_review=NOW)
            add_review(conn, cid, NOW, before="new")
    conn.commit()
    cfg = replace(ScheduleConfig(), new_per_day=new_per_day, bury_new_siblings=bury)
    lazy = todays_queue(conn, cfg, CLOCK, NOW, total_limit=total)

    # The same queue from every candidate at once, ranked over every present note.
    today = CLOCK.today(NOW)
    start, end = CLOCK.day_start(today), CLOCK.day_end(today)
    paths = [r[0] for r in conn.execute("SELECT path FROM note WHERE present = 1")]
    eager = build_queue(
        [QueueItem(*c) for c in candidate_store.queue_candidates(conn, NOW, end)],
        now=NOW,
        day_end=end,
        reviewed_groups=review_store.reviewed_groups(conn, start),
        new_left=max(0, new_per_day - review_store.cards_answered_since(conn, start, "new")),
        reviews_left=cfg.reviews_per_day if cfg.reviews_per_day > 0 else None,
        total_limit=total,
        bury_new_siblings=bury,
        note_ranks=learning_ranks(paths, note_store.resolved_note_links(conn)),
    )
    assert [it.id for it in lazy.main] == [it.id for it in eager.main]
    assert [it.id for it in lazy.learning] == [it.id for it in eager.learning]
    assert (lazy.held_new, lazy.held_siblings, lazy.held_reviews) == (
        eager.held_new,
        eager.held_siblings,
        eager.held_reviews,
    )
    assert lazy.groups == eager.groups
    conn.close()
