"""`mlsys-srs report`: a self-contained page whose numbers are `stats --json`, drawn in real Chromium.

A simulated year of reviews (the benchmarks' history builder) over a synthetic
vault plus one note with HTML in its cards. The page is opened from file:// in
headless Chromium with every non-file request aborted; screenshots go to
tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import html
import json
import math
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


@pytest.mark.parametrize(
    "missing", [("networkx",), ("numpy",), ("plotly",), ("plotly", "networkx", "numpy")], ids="-".join
)
def test_report_without_optional_packages_says_how_to_install(
    year: Year, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, missing: tuple[str, ...]
) -> None:
    for name in missing:
        monkeypatch.setitem(sys.modules, name, None)
    page = tmp_path / "r.html"
    result = year.cli("report", "--out", str(page), env=year.env, code=1)
    # One line naming every missing package (and only those), with the pip command that adds them.
    [line] = result.output.strip().splitlines()
    assert f"pip install {' '.join(missing)} " in line
    for name in ("plotly", "networkx", "numpy"):
        assert (name in line.split(":")[1]) == (name in missing), line
    assert "mlsys-srs[report]" in line
    assert not page.exists()


def test_domains_are_islands_apart_with_their_notes_inside(year: Year) -> None:
    discs = {c["domain"]: c for c in year.data["centres"]}
    nodes = year.data["graph"]["nodes"]
    assert set(discs) == {n["domain"] for n in nodes}
    for n, (x, y) in zip(nodes, year.data["layout"], strict=True):
        c = discs[n["domain"]]
        assert math.dist((x, y), (c["x"], c["y"])) <= c["r"] + 1e-3, n["path"]
    names = sorted(discs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            da, db = discs[a], discs[b]
            gap = math.dist((da["x"], da["y"]), (db["x"], db["y"])) - da["r"] - db["r"]
            assert gap >= 1.0, (a, b, gap)


def test_each_domain_counts_its_cards_by_state(year: Year) -> None:
    stats = json.loads(year.cli("stats", "--json", env=year.env).output)
    states = ("new", "learning", "young", "mature", "suspended")
    for s in states:
        assert sum(d["counts"][s] for d in stats["domains"]) == stats["counts"][s]
    for d in stats["domains"]:
        assert d["counts"]["total"] == sum(d["counts"][s] for s in states)
    # The same numbers as stats for that one domain.
    some = [d for d in stats["domains"] if d["counts"]["suspended"]][:2]
    assert some
    for d in some:
        alone = json.loads(year.cli("stats", "--json", "--domain", d["domain"], env=year.env).output)
        assert {s: alone["counts"][s] for s in states} == {s: d["counts"][s] for s in states}


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

    def open(self, path: Path, size: tuple[int, int] = (1280, 800)) -> None:
        self.page.set_viewport_size({"width": size[0], "height": size[1]})
        self.page.goto(path.as_uri())
        self.page.wait_for_selector('body[data-ready="1"]', timeout=60_000)

    def clean(self) -> bool:
        """Nothing went wrong: no script error, no request, no dialog."""
        return self.errors == [] and self.failed == [] and self.dialogs == []


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
    assert len(charts) == 12
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
    # A key entry shows and hides its series.
    domain = year.data["stats"]["retention_by_week"]["domains"][0]["domain"]
    visible = "i => document.getElementById('chart-retention').data[i].visible"
    assert page.evaluate(visible, 1) == "legendonly"
    button = page.locator('.key[data-key-for="chart-retention"] button', has_text=domain).first
    button.click()
    assert page.evaluate(visible, 1) is True and button.get_attribute("aria-pressed") == "true"
    page.locator('.key[data-key-for="chart-forecast"] button').first.click()
    assert page.evaluate("() => document.getElementById('chart-forecast').data[0].visible") == "legendonly"
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


# -- what a person sees, at a desktop and a phone size -------------------------------------

SIZES = [(1280, 800), (390, 844)]

CHART_TEXTS_JS = """
() => [...document.querySelectorAll('[data-chart]')].filter(c => c.querySelector('svg.main-svg')).map(c => {
  const b = c.getBoundingClientRect();
  const texts = [...c.querySelectorAll('svg text')]
    .filter(t => t.textContent.trim() && t.checkVisibility({opacityProperty: true, visibilityProperty: true}))
    .map(t => { const r = t.getBoundingClientRect();
                return {text: t.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; })
    .filter(r => r.x1 > r.x0 && r.y1 > r.y0);
  return {id: c.id, box: {x0: b.left, y0: b.top, x1: b.right, y1: b.bottom}, texts};
})
"""

KEYS_JS = """
() => [...document.querySelectorAll('[data-chart]')].filter(c => Array.isArray(c.data)).map(c => ({
  id: c.id,
  traces: c.data.map(t => ({
    name: t.name,
    colour: (t.mode || '').includes('lines') ? (t.line || {}).color : (t.marker || {}).color,
  })),
  key: [...document.querySelectorAll(`.key[data-key-for="${c.id}"] li`)].map(li => {
    const sw = li.querySelector('.sw'), st = getComputedStyle(sw);
    return {name: li.textContent, colour: sw.classList.contains('line') ? st.borderTopColor : st.backgroundColor};
  }),
}))
"""

TODAY_CELL_JS = """
(day) => {
  const gd = document.getElementById('chart-heatmap');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, t = gd.data[0];
  const row = t.text.findIndex(r => r.includes(day)), col = t.text[row].indexOf(day);
  const svg = gd.querySelector('svg.main-svg').getBoundingClientRect();
  const cx = svg.left + xa._offset + xa.d2p(t.x[col]), cy = svg.top + ya._offset + ya.d2p(t.y[row]);
  const w = xa._length / t.x.length / 2 - 1, h = ya._length / 7 / 2 - 1;
  return {x0: cx - w, y0: cy - h, x1: cx + w, y1: cy + h, cx: cx, cy: cy};
}
"""

OVER_CELL_JS = """
(p) => document.elementsFromPoint(p.cx, p.cy).slice(0, 1).map(e => ({
  inHeatmap: !!e.closest('#chart-heatmap'), inModebar: !!e.closest('.modebar, .modebar-container'),
  tag: e.tagName, cls: e.getAttribute('class'),
}))[0]
"""

PLOT_AREAS_JS = """
() => [...document.querySelectorAll('[data-chart] .draglayer .nsewdrag')].map(e => {
  const r = e.getBoundingClientRect();
  return {id: e.closest('[data-chart]').id, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom};
})
"""

MODEBAR_JS = """
() => [...document.querySelectorAll('.modebar, .modebar-container, .modebar-btn')]
  .filter(e => e.checkVisibility({opacityProperty: true, visibilityProperty: true}))
  .map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0)
  .map(r => ({x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}))
"""

MAP_LABELS_JS = """
() => {
  const map = document.getElementById('concept-map'), b = map.getBoundingClientRect();
  return {
    box: {x0: b.left, y0: b.top, x1: b.right, y1: b.bottom},
    labels: [...map.querySelectorAll('g.annotation')].map(g => {
      const r = g.querySelector('rect.bg').getBoundingClientRect();
      return {text: g.querySelector('text').textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom};
    }),
    placed: window.mlsysReport.mapLabels(),
    islands: map.querySelectorAll('.shapelayer path').length,
    key: [...document.querySelectorAll('#map-key li')].map(li => li.textContent),
    labelled: map.dataset.labelled,
  };
}
"""


def _overlap(a: dict[str, float], b: dict[str, float], tol: float = 0.5) -> bool:
    return (
        a["x0"] < b["x1"] - tol
        and b["x0"] < a["x1"] - tol
        and a["y0"] < b["y1"] - tol
        and b["y0"] < a["y1"] - tol
    )


def _inside(a: dict[str, float], box: dict[str, float], tol: float = 1.0) -> bool:
    return (
        a["x0"] >= box["x0"] - tol
        and a["y0"] >= box["y0"] - tol
        and a["x1"] <= box["x1"] + tol
        and a["y1"] <= box["y1"] + tol
    )


def _rgb(colour: str) -> str:
    if colour.startswith("#"):
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgb({r}, {g}, {b})"
    return colour


def _links(data: dict[str, Any]) -> list[int]:
    """Links in and out of each note (the map's "most linked")."""
    out = [0] * len(data["graph"]["nodes"])
    for a, b, n in data["graph"]["edges"]:
        if a != b:
            out[a] += n
            out[b] += n
    return out


def _check_map_labels(page: Any, data: dict[str, Any], size: tuple[int, int]) -> dict[str, Any]:
    m: dict[str, Any] = page.evaluate(MAP_LABELS_JS)
    labels = m["labels"]
    overlaps = [
        (a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1 :] if _overlap(a, b, 0)
    ]
    assert overlaps == [], (size, overlaps)
    assert [lb["text"] for lb in labels if not _inside(lb, m["box"])] == [], size
    domains = sorted({n["domain"] for n in data["graph"]["nodes"]})
    assert m["islands"] == len(domains)
    assert sorted(m["key"]) == domains
    # Labels name the most linked notes (not every note), each with the note's own title.
    nodes, links = data["graph"]["nodes"], _links(data)
    assert sorted(lb["text"] for lb in labels) == sorted(p["text"] for p in m["placed"])
    named = [p for p in m["placed"] if p["kind"] == "note"]
    assert 4 <= len(named) < len(nodes), (size, len(named))
    for p in named:
        title = nodes[p["node"]]["title"]
        assert p["text"] == title or (p["text"].endswith("…") and title.startswith(p["text"][:-1])), p
    ranked = sorted(range(len(nodes)), key=lambda i: -links[i])
    assert ranked[0] in {p["node"] for p in named}
    assert min(links[p["node"]] for p in named) >= links[ranked[3 * len(named)]]
    return m


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_what_a_person_sees(year: Year, browser: Browser, size: tuple[int, int]) -> None:
    page = browser.page
    browser.open(year.page, size)
    stats = json.loads(year.cli("stats", "--json", env=year.env).output)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tag = f"{size[0]}x{size[1]}"
    page.screenshot(path=str(ARTIFACTS / f"report-{tag}.png"), full_page=True)
    for section in page.eval_on_selector_all("main > section", "els => els.map(e => e.id)"):
        page.locator(f"#{section}").screenshot(path=str(ARTIFACTS / f"report-{tag}-{section}.png"))

    # No label is cut off by its chart's edge, and no two labels of a chart overlap.
    charts = page.evaluate(CHART_TEXTS_JS)
    assert len(charts) == 12
    problems = []
    for c in charts:
        texts = c["texts"]
        problems += [(c["id"], "clipped", t["text"]) for t in texts if not _inside(t, c["box"])]
        problems += [
            (c["id"], "overlap", a["text"], b["text"])
            for i, a in enumerate(texts)
            for b in texts[i + 1 :]
            if _overlap(a, b)
        ]
    assert problems == [], (tag, problems)
    recall = next(c for c in charts if c["id"] == "chart-recall")
    assert "90–100" in [t["text"] for t in recall["texts"]]

    # Every chart with more than one coloured series has a key naming each, in its colour.
    for c in page.evaluate(KEYS_JS):
        if c["id"] == "concept-map" or len(c["traces"]) < 2:
            continue
        want = [(html.unescape(t["name"]), _rgb(t["colour"])) for t in c["traces"]]
        assert [(k["name"], _rgb(k["colour"])) for k in c["key"]] == want, c["id"]
    forecast_key = page.locator('.key[data-key-for="chart-forecast"] li').all_inner_texts()
    assert forecast_key == [d["domain"] for d in stats["forecast"]["domains"]] and len(forecast_key) > 5

    # Nothing floats over the data: no mode bar, even with the pointer on today's cell.
    page.locator("#chart-heatmap").scroll_into_view_if_needed()
    cell = page.evaluate(TODAY_CELL_JS, stats["heatmap"]["last"])
    page.mouse.move(cell["cx"], cell["cy"])
    page.wait_for_timeout(500)  # a mode bar shown on hover fades in
    bars = page.evaluate(MODEBAR_JS)
    assert [bar for bar in bars if _overlap(bar, cell)] == []
    covered = [a["id"] for a in page.evaluate(PLOT_AREAS_JS) for bar in bars if _overlap(bar, a)]
    assert covered == []
    top = page.evaluate(OVER_CELL_JS, cell)
    assert top["inHeatmap"] and not top["inModebar"], top
    page.mouse.move(0, 0)

    # The concept map: islands, labels that never overlap, note names on the labelled nodes.
    m = _check_map_labels(page, year.data, size)
    if size[0] >= 1280:
        assert {p["text"] for p in m["placed"] if p["kind"] == "domain"} == set(m["key"])

    # Progress by domain: the numbers of stats --json, per domain and in total.
    states = ["new", "learning", "young", "mature", "suspended"]
    rows = page.eval_on_selector_all(
        "#progress-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert rows == [
        [d["domain"], *(str(d["counts"][s]) for s in [*states, "total"])]
        for d in stats["domains"]
        if d["counts"]["total"]
    ]
    foot = page.eval_on_selector("#progress-table tfoot tr", "r => [...r.cells].map(c => c.textContent)")
    assert foot == ["all domains", *(str(stats["counts"][s]) for s in states), str(stats["counts"]["total"])]
    assert page.locator('.key[data-key-for="chart-progress"] li').all_inner_texts() == states

    # The leeches: each suspended leech with its note:line, question and lapses.
    leeches = page.eval_on_selector_all(
        "#leeches tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert len(stats["leeches"]) > 0
    assert leeches == [
        [f"#{c['id']}", f"{c['note']}:{c['line']}", c["question"], str(c["lapses"])] for c in stats["leeches"]
    ]

    text = page.locator("body").inner_text()
    assert not re.search(PLURAL_AFTER_ONE, text), re.search(PLURAL_AFTER_ONE, text)
    assert browser.clean()


PLURAL_AFTER_ONE = r"(?<![\d.,])1 (days|reviews|cards|notes|links|answers|dangling concepts|overdue cards)\b"


def test_map_labels_are_placed_again_after_a_resize(year: Year, browser: Browser) -> None:
    page = browser.page
    browser.open(year.page, SIZES[0])
    before = page.evaluate(MAP_LABELS_JS)["labelled"]
    page.set_viewport_size({"width": SIZES[1][0], "height": SIZES[1][1]})
    page.wait_for_function(
        "before => document.getElementById('concept-map').dataset.labelled !== before", arg=before
    )
    _check_map_labels(page, year.data, SIZES[1])
    assert browser.clean()


def test_counts_of_one_are_singular(tmp_path: Path, vault: Path, db_path: Path, browser: Browser) -> None:
    (vault / "01-math").mkdir()
    (vault / "01-math" / "a.md").write_text("# A\n\nQ: one?\nA: two.\n\nSee [[b]].\n", encoding="utf-8")
    cli = Cli(vault, db_path)
    cli("sync")
    cli("grade", "1", "good")
    page_path = tmp_path / "one.html"
    cli("report", "--out", str(page_path))
    browser.open(page_path, SIZES[1])
    text = browser.page.locator("body").inner_text()
    assert "Current streak 1 day, longest 1 day" in text
    assert "1 review on 1 day." in text
    assert "1 note, 1 link, 1 dangling concept." in text
    assert not re.search(PLURAL_AFTER_ONE, text), re.search(PLURAL_AFTER_ONE, text)
    browser.page.screenshot(path=str(ARTIFACTS / "report-one-card-390x844.png"), full_page=True)
    assert browser.clean()


def test_map_labels_show_note_titles_as_text(
    tmp_path: Path, vault: Path, db_path: Path, browser: Browser
) -> None:
    (vault / "01-web").mkdir()
    hostile = "<img src=x onerror=alert(3)> & <b>bold</b>"
    (vault / "01-web" / "a.md").write_text(
        f"---\ntitle: {hostile}\n---\n# A\n\nQ: one?\nA: two.\n\nSee [[b]] and [[c]].\n", encoding="utf-8"
    )
    for name in ("b", "c"):
        (vault / "01-web" / f"{name}.md").write_text(
            f"# {name.upper()}\n\nBack to [[a]].\n", encoding="utf-8"
        )
    cli = Cli(vault, db_path)
    cli("sync")
    page_path = tmp_path / "hostile.html"
    cli("report", "--out", str(page_path))
    browser.open(page_path)
    page = browser.page
    labels = page.eval_on_selector_all("#concept-map g.annotation text", "ts => ts.map(t => t.textContent)")
    assert hostile[:27] + "…" in labels  # long names are cut to 28 characters
    assert page.locator("#concept-map img, #concept-map b, #concept-map script").count() == 0
    assert browser.clean()
