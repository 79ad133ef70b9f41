"""``stats`` and ``graph`` as printed: the heatmap, the forecast chart and the tables fit the terminal."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len

from mlsys_srs.cli.insight_commands import forecast_lines, heatmap_lines, shade_level
from mlsys_srs.insights.stats import Forecast, Heatmap

from .conftest import Cli
from .stats_history import History, inline_cards, local

NOW = local(2026, 3, 15, 12)
ENV = {"MLSYS_SRS_NOW": NOW.isoformat()}
Notes = Callable[[dict[str, str]], None]
SGR = re.compile(r"\x1b\[([\d;]*)m")


def colour_codes(text: str) -> list[str]:
    """SGR sequences that set a colour (30-38, 90-97), as opposed to bold or dim."""
    out = []
    for m in SGR.finditer(text):
        params = [int(p) for p in m.group(1).split(";") if p]
        if any(30 <= p <= 38 or 90 <= p <= 97 for p in params):
            out.append(m.group(0))
    return out


def widest(text: str) -> int:
    return max((cell_len(SGR.sub("", line)) for line in text.splitlines()), default=0)


@pytest.fixture
def collection(run: Cli, notes: Notes, db_path: Path) -> Cli:
    """Three domains, links (one dangling), a year of reviews, a leech and lapses."""
    Path(os.environ["MLSYS_SRS_CONFIG"]).write_text(
        '[schedule]\ntimezone = "America/Los_Angeles"\nrollover_hour = 4\n', encoding="utf-8"
    )
    notes(
        {
            "01-machine-learning/attention-mechanism.md": "See [[kv-cache]] and [[Softmax tricks]].\n\n"
            + inline_cards("attention", 8),
            "08-llm-systems/kv-cache.md": "---\naliases: [KV caching]\n---\nBuilds on [[attention-mechanism]].\n\n"
            + inline_cards("kv", 8),
            "09-gpu-systems/a-rather-long-note-name-about-memory-hierarchies.md": inline_cards("gpu", 8),
        }
    )
    run("sync", "-q")
    h = History(db_path, NOW)
    cards = h.cards("01-machine-learning/attention-mechanism.md") + h.cards("08-llm-systems/kv-cache.md")
    gpu = h.cards("09-gpu-systems/a-rather-long-note-name-about-memory-hierarchies.md")
    day0 = NOW - timedelta(days=400)
    for d in range(0, 400, 3):
        for k, cid in enumerate(cards[: 1 + d % 7]):
            h.review(cid, day0 + timedelta(days=d, minutes=k), 1 if (d + k) % 5 == 0 else 3)
    for i, cid in enumerate(cards + gpu):
        h.study(
            cid,
            stability=1.0 + i,
            last_review=NOW - timedelta(days=i % 9),
            due=NOW + timedelta(days=i % 35 - 3),
            lapses=i % 4,
        )
    h.set_card(gpu[0], suspended=1, lapses=12)
    h.tag(gpu[0], "leech")
    h.close()
    return run


@pytest.mark.parametrize(("columns", "no_color"), [("80", False), ("200", False), ("80", True)])
def test_stats_prints_within_the_width(collection: Cli, columns: str, no_color: bool) -> None:
    env = {**ENV, "COLUMNS": columns, **({"NO_COLOR": "1"} if no_color else {})}
    out = collection("stats", env=env).stdout
    assert widest(out) <= int(columns), out
    for text in (
        "Today, 2026-03-15",
        "streak",
        "Mon",
        "Wed",
        "Fri",
        "Mar",
        "Due:",
        "today",
        "+7d",
        "True retention",
        "Weak domains",
        "Leeches: 1",
        "Most lapsed",
        "mature",
    ):
        assert text in out, text
    assert "a-rather-long-note-name-about-memory-hierarchies.md:" in out  # paths are never cut


@pytest.mark.parametrize(("columns", "no_color"), [("80", False), ("200", False), ("80", True)])
def test_graph_prints_within_the_width(collection: Cli, columns: str, no_color: bool) -> None:
    env = {**ENV, "COLUMNS": columns, **({"NO_COLOR": "1"} if no_color else {})}
    out = collection("graph", env=env).stdout
    assert widest(out) <= int(columns), out
    for text in ("Hub concepts", "Dangling concepts", "Softmax tricks", "Orphan notes", "Weak concepts"):
        assert text in out, text
    one = collection("graph", "KV caching", env=env).stdout
    assert widest(one) <= int(columns), one
    assert "Links out" in one and "Links in" in one and "01-machine-learning/attention-mechanism.md" in one


def test_no_color_means_no_colour(collection: Cli) -> None:
    coloured = collection("stats", env={**ENV, "FORCE_COLOR": "1"}).stdout
    assert colour_codes(coloured)  # a forced terminal gets colour
    plain = collection("stats", env={**ENV, "FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    assert not colour_codes(plain)
    # The heatmap still reads without colour: shades are characters.
    assert any(ch in SGR.sub("", plain) for ch in "░▒▓█")


# -- the drawings themselves --------------------------------------------------------


def _year(counts: dict[date, int]) -> Heatmap:
    last = date(2026, 3, 15)  # a Sunday
    first = last - timedelta(days=364)
    return Heatmap(
        first=first, last=last, counts=tuple(counts.get(first + timedelta(days=i), 0) for i in range(365))
    )


def test_heatmap_weeks_are_columns_and_months_are_labelled() -> None:
    hm = _year({date(2026, 3, 2): 8, date(2026, 3, 3): 3, date(2025, 3, 16): 1})
    for width, cell in ((80, 1), (200, 2)):
        lines = [t.plain for t in heatmap_lines(hm, width)]
        assert len(lines) == 9  # months, 7 days, legend
        assert [ln[:4] for ln in lines[1:8]] == ["Mon ", "    ", "Wed ", "    ", "Fri ", "    ", "    "]
        # The first day (Sunday 2025-03-16) is in week 0 (from Monday 2025-03-10);
        # Monday 2026-03-02 is in week 51, the week that holds March 1st is 50.
        assert lines[7][4] == "░"
        assert lines[1][4 + 51 * cell] == "█"  # the busiest day
        assert lines[2][4 + 51 * cell] == "▒"  # 3 of 8: the second quarter
        assert lines[1][4 + 50 * cell] == "·"
        assert lines[0][4 + 50 * cell : 4 + 50 * cell + 3] == "Mar"
        assert lines[1][4] == " "  # before the first day
        assert all(cell_len(ln) <= width for ln in lines)


def test_heatmap_drops_the_oldest_weeks_when_narrow() -> None:
    hm = _year({date(2026, 3, 15): 3})
    lines = [t.plain for t in heatmap_lines(hm, 40)]
    assert all(len(ln) <= 40 for ln in lines)
    assert lines[7].rstrip().endswith("█")  # today is still shown, in the last column
    assert len(lines[7].rstrip()) == 40


def test_shade_levels_are_quarters_of_the_busiest_day() -> None:
    assert [shade_level(c, 8) for c in (0, 1, 2, 3, 4, 5, 8)] == [0, 1, 1, 2, 2, 3, 4]
    assert shade_level(3, 0) == 0


def test_forecast_scale_ignores_the_backlog() -> None:
    fc = Forecast(first=date(2026, 3, 15), counts=(500, 4, 0, 2) + (0,) * 26, overdue=498)
    lines = [t.plain for t in forecast_lines(fc, 80)]
    assert lines[0].startswith("4 │")  # scaled to the busiest day without the backlog
    assert lines[0][3] == "+"  # today is clipped
    assert lines[0][5] == "█"  # tomorrow fills the chart
    assert lines[-2][9] == "█" and lines[-2][7] == " "  # day 3: two of four; day 2: nothing
    assert lines[-1].split()[0] == "today"
