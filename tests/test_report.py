"""`mlsys-srs report`: a self-contained page whose numbers are `stats --json`, drawn in real Chromium.

A simulated year of reviews (the benchmarks' history builder) over a synthetic
vault plus one note with HTML in its cards. The page is opened from file:// in
headless Chromium with every non-file request aborted; screenshots go to
tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlsys_srs.store import open_db
from mlsys_srs.sync import sync_vault

from .conftest import REPO, Cli

sys.path.insert(0, str(REPO / "benchmarks"))
from history import NOW, simulate
from synth import make_vault

ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS_NOTE = """---
title: Escaping <b>check</b>
---
# Escaping

Q: What does <script>alert(1)</script> print?
A: Nothing <img src=x onerror=alert(2)>, it is text.

See [[not written yet]].
"""
XSS_QUESTION = "What does <script>alert(1)</script> print?"


def _report_data(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m, "no embedded data"
    data: dict[str, Any] = json.loads(m.group(1))
    return data


@dataclass
class Year:
    """A vault with a simulated year of reviews and its report."""

    cli: Cli
    env: dict[str, str]
    page: Path
    html: str
    data: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Year:
    root = tmp_path_factory.mktemp("year")
    vault, db = root / "vault", root / "srs.db"
    make_vault(vault, 36, 10, seed=3)
    (vault / "14-interview-prep" / "escaping.md").write_text(XSS_NOTE, encoding="utf-8")
    conn = open_db(db, NOW)
    sync_vault(conn, vault, NOW)
    conn.close()
    simulate(db, 9000, 365, seed=3)
    config = root / "config.toml"
    config.write_text('[schedule]\ntimezone = "America/Los_Angeles"\nrollover_hour = 4\n', encoding="utf-8")
    env = {"MLSYS_SRS_NOW": NOW.isoformat(), "MLSYS_SRS_CONFIG": str(config)}
    cli = Cli(vault, db)
    page = root / "report.html"
    result = cli("report", "--out", str(page), env=env)
    assert "wrote" in result.output
    html = page.read_text(encoding="utf-8")
    return Year(cli=cli, env=env, page=page, html=html, data=_report_data(html))


def test_embedded_numbers_are_stats_json(year: Year) -> None:
    stats = json.loads(year.cli("stats", "--json", env=year.env).output)
    assert year.data["stats"] == stats
    for key in (
        "memorised",
        "distributions",
        "answer_buttons",
        "time_per_day",
        "calibration",
        "retention_by_week",
    ):
        assert key in stats
    assert stats["heatmap"]["total"] > 1000
    assert sum(b["reviews"] for b in stats["calibration"]) > 0


def test_embedded_graph_is_graph_json(year: Year) -> None:
    graph = json.loads(year.cli("graph", "--json", env=year.env).output)
    g = year.data["graph"]
    assert g["nodes"] == graph["nodes"]
    assert g["dangling"] == graph["dangling"]
    assert g["weak"] == graph["weak"][:15]
    paths = [n["path"] for n in graph["nodes"]]
    assert [[paths[a], paths[b], n] for a, b, n in g["edges"]] == [
        [e["source"], e["target"], e["links"]] for e in graph["edges"]
    ]
    assert len(year.data["layout"]) == len(graph["nodes"]) == graph["notes"] == 37


def test_page_requests_nothing_and_escapes_note_text(year: Year) -> None:
    html = year.html
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)\s*=""", html, re.I)
    assert "default-src 'none'" in html
    # The card's HTML is in the data, escaped: it cannot close the data element or open a tag.
    data_block = re.search(r'id="report-data">(.*?)</script>', html, re.S)
    assert data_block and "<" not in data_block.group(1)
    assert any(c[2] == XSS_QUESTION for c in year.data["cards"])
    assert html.count("</script>") == 3


def test_report_without_optional_packages_says_how_to_install(
    year: Year, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "networkx", None)
    result = year.cli("report", "--out", str(tmp_path / "r.html"), env=year.env, code=1)
    assert "pip install plotly networkx" in result.output


# -- in a real browser -------------------------------------------------------------


def _need_browser() -> None:
    if os.environ.get("CI"):
        return  # CI installs chromium and playwright (.ci/run); a missing one must fail there
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this test")
    pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )


@dataclass
class Browser:
    """A page in headless Chromium with the network blocked and every problem recorded."""

    page: Any
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def open(self, path: Path) -> None:
        self.page.goto(path.as_uri())
        self.page.wait_for_selector('body[data-ready="1"]', timeout=60_000)


@pytest.fixture
def browser() -> Iterator[Browser]:
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM or "/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 800})
        b = Browser(page)
        page.on("console", lambda m: b.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: b.errors.append(str(e)))
        page.on("requestfailed", lambda r: b.failed.append(r.url))

        def on_dialog(d: Any) -> None:
            b.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)

        def route(r: Any) -> None:
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                b.failed.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        try:
            yield b
        finally:
            chromium.close()


def test_every_chart_draws_offline_in_chromium(year: Year, browser: Browser) -> None:
    page = browser.page
    browser.open(year.page)
    charts = page.eval_on_selector_all(
        "[data-chart]",
        "els => els.map(e => ({id: e.id, empty: e.classList.contains('empty'),"
        " drawn: [...e.querySelectorAll('svg.main-svg')].some(s => s.childElementCount > 0)"
        "   && e.querySelectorAll('.trace, .point, .bars, .hm, image').length > 0}))",
    )
    assert len(charts) == 11
    assert [c["id"] for c in charts if c["empty"] or not c["drawn"]] == []
    notes = year.data["graph"]["notes"]
    assert page.locator("#concept-map path.point").count() == notes
    tiles = {
        page.locator(".tile .k").nth(i).inner_text(): page.locator(".tile .v").nth(i).inner_text()
        for i in range(page.locator(".tile").count())
    }
    streak = year.data["stats"]["streak"]
    assert tiles["current streak"].split()[0] == str(streak["current"])
    assert tiles["longest streak"].split()[0] == str(streak["longest"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-1280x800.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)  # responsive charts redraw on resize; the screenshot is not asserted
    page.screenshot(path=str(ARTIFACTS / "report-390x844.png"))
    assert browser.errors == [] and browser.failed == [] and browser.dialogs == []


def test_clicking_shows_cards_as_text_and_runs_nothing(year: Year, browser: Browser) -> None:
    page = browser.page
    browser.open(year.page)
    # A click on the escaping note's node on the map lists its cards.
    i = next(i for i, n in enumerate(year.data["graph"]["nodes"]) if n["path"].endswith("escaping.md"))
    point = page.locator("#concept-map path.point").nth(i)
    page.locator("#concept-map").scroll_into_view_if_needed()
    box = point.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    panel = page.locator("#note-cards")
    panel.get_by_text(XSS_QUESTION, exact=True).wait_for(timeout=10_000)
    assert page.locator("#note-cards script, #note-cards img").count() == 0
    assert "Escaping <b>check</b>" in panel.inner_text()
    # A day of the heatmap lists the cards answered on it (the same data a click on a cell shows).
    day = max(year.data["answered"], key=lambda d: len(year.data["answered"][d]))
    page.evaluate("day => window.mlsysReport.showDay(day)", day)
    listed = page.locator("#day-cards li").count()
    assert listed == len(year.data["answered"][day]) > 0
    assert browser.errors == [] and browser.failed == [] and browser.dialogs == []


def test_empty_collection_says_what_to_do(
    tmp_path: Path, vault: Path, db_path: Path, browser: Browser
) -> None:
    (vault / "01-math").mkdir()
    (vault / "01-math" / "a.md").write_text("# A\n\nQ: one?\nA: two.\n\nSee [[b]].\n", encoding="utf-8")
    cli = Cli(vault, db_path)
    cli("sync")
    page_path = tmp_path / "empty.html"
    cli("report", "--out", str(page_path))
    browser.open(page_path)
    page = browser.page
    text = page.locator("main").inner_text()
    assert "Review for a week to see retention" in text
    assert "No reviews yet" in text
    assert page.locator("#concept-map path.point").count() == 1
    assert browser.errors == [] and browser.failed == [] and browser.dialogs == []
