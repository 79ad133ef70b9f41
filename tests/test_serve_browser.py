"""`mlsys-srs serve` in real Chromium: a phone with touch and a desktop with keys grade through the
page into the review log; answers given offline wait in the page and are sent once when the
server is back, across a reload; a note's HTML stays text; ``--lan`` wants its token.

The server runs in this process on a free port (tests/webserver.py); stopping and starting it
again cuts the connection as a phone leaving the Wi-Fi would (Playwright's offline switch does
not reach a service worker). Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, write_notes
from .webserver import Served, serve

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

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
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}

NOTES = {
    "01-systems/roofline.md": (
        "# Roofline model\n\n## Bounds\n\n"
        "Q: What bounds attainable throughput in the roofline model?\n"
        "A: The lower of peak compute and $I \\cdot B$ (intensity times **bandwidth**).\n\n"
        "C: Arithmetic intensity is {{c1::FLOPs per byte}} moved from {{c2::memory}}.\n\n"
        "Q: Softmax over $z$?\nA: $$\\mathrm{softmax}(z)_i = \\frac{e^{z_i}}{\\sum_j e^{z_j}}$$\n"
    ),
    "02-gpu/warps.md": "# Warps\n\n"
    + "\n\n".join(f"Q: Warp fact {i}?\nA: Answer {i} with `code {i}`." for i in range(8))
    + "\n",
}
XSS = """# Escaping

Q: What does <script>window.__pwned = 1</script> do here?
A: Nothing <img src=x onerror="window.__pwned = 2"> and [a link](javascript:window.__pwned=3) and <a href="javascript:window.__pwned=4">raw</a>.
"""


def _need_browser() -> None:
    if CHROMIUM is None and not os.path.exists("/usr/bin/chromium"):
        if os.environ.get("CI"):
            return  # CI installs chromium (.ci/run); a missing one must fail there
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this test")
    pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )


@pytest.fixture
def browser() -> Iterator[Any]:
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM or "/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    vault = tmp_path / "vault"
    write_notes(vault, NOTES)
    s = serve(vault, tmp_path / "srs.db")
    yield s
    s.stop()


def _page(browser: Any, served: Served, options: dict[str, Any], path: str = "") -> tuple[Any, Any]:
    context = browser.new_context(**options)
    # Nothing but this server: any other request fails the test.
    outside: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(f"http://127.0.0.1:{served.port}/"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError(f"a dialog opened: {d.message}")))
    page.goto(served.url + path)
    page.get_by_role("button", name="Show answer").wait_for()
    page._outside = outside  # type: ignore[attr-defined]
    return context, page


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"serve-{name}.png"), full_page=True)


def _where(page: Any) -> str:
    return str(page.locator("#where").inner_text())


def _wait_new_card(page: Any, before: str) -> None:
    page.wait_for_function("w => document.querySelector('#where').textContent !== w", arg=before)


def _card_row(served: Served, card: int) -> tuple[Any, ...]:
    conn = sqlite3.connect(served.db)
    try:
        row = conn.execute("SELECT suspended, buried_until FROM card WHERE id = ?", (card,)).fetchone()
        return tuple(row)
    finally:
        conn.close()


def test_phone_taps_and_swipes_grade_into_the_review_log(browser: Any, served: Served) -> None:
    context, page = _page(browser, served, PHONE)
    _shot(page, "phone-question")
    # Touch targets a thumb can hit.
    for name in ("Show answer", "Undo", "Bury", "Suspend"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, name
    page.locator("#question").tap()  # a tap on the card shows the answer
    good = page.get_by_role("button", name="Good", exact=True)
    good.wait_for()
    assert page.locator("#answer").is_visible()
    for name in ("Again", "Hard", "Good", "Easy"):
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box is not None and box["height"] >= 56, name
    assert page.locator("#ivl3").inner_text().strip() != ""  # the interval Good gives
    _shot(page, "phone-answer")
    first = _where(page)
    good.tap()
    _wait_new_card(page, first)
    assert [r[2] for r in served.reviews()] == [3]
    # A swipe to the left on the answer is Again.
    second = _where(page)
    page.get_by_role("button", name="Show answer").tap()
    good.wait_for()
    box = page.locator("#card").bounding_box()
    assert box is not None
    cdp = context.new_cdp_session(page)
    x, y = box["x"] + box["width"] * 0.8, box["y"] + min(box["height"] / 2, 200)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 6):
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x - 40 * step, "y": y}]}
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    _wait_new_card(page, second)
    assert [r[2] for r in served.reviews()] == [3, 1]
    assert page._outside == []  # type: ignore[attr-defined]
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_desktop_keys_reveal_grade_undo_bury_and_suspend(browser: Any, served: Served, scheme: str) -> None:
    context, page = _page(browser, served, {**DESKTOP, "color_scheme": scheme})
    _shot(page, f"desktop-{scheme}-question")
    page.keyboard.press("Space")
    page.get_by_role("button", name="Easy", exact=True).wait_for()
    _shot(page, f"desktop-{scheme}-answer")
    first = _where(page)
    page.keyboard.press("4")
    _wait_new_card(page, first)
    assert [r[2] for r in served.reviews()] == [4]
    page.keyboard.press("u")  # undo: the answer goes, the card comes back
    page.wait_for_function("w => document.querySelector('#where').textContent === w", arg=first)
    assert served.reviews() == []
    card = int(first.split()[0].lstrip("#"))
    page.keyboard.press("b")
    _wait_new_card(page, first)
    assert _card_row(served, card)[1] is not None  # buried until tomorrow
    second = _where(page)
    page.keyboard.press("s")
    _wait_new_card(page, second)
    assert _card_row(served, int(second.split()[0].lstrip("#")))[0] == 1
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Again", exact=True).wait_for()
    third = _where(page)
    page.keyboard.press("1")
    _wait_new_card(page, third)
    assert [r[2] for r in served.reviews()] == [1]
    context.close()


def test_answers_given_offline_are_sent_once_when_the_server_is_back(browser: Any, served: Served) -> None:
    context, page = _page(browser, served, PHONE)
    page.wait_for_load_state("networkidle")  # the cards ahead are fetched
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the service worker
    page.get_by_role("button", name="Show answer").wait_for()
    page.wait_for_load_state("networkidle")
    served.stop()
    given: list[str] = []
    for rating in ("3", "2"):
        where = _where(page)
        given.append(where)
        page.keyboard.press("Space")
        page.keyboard.press(rating)
        _wait_new_card(page, where)
    page.wait_for_function("() => document.querySelector('#net').textContent.includes('2 answers waiting')")
    assert "Offline" in page.locator("#net").inner_text()
    _shot(page, "phone-offline")
    page.reload()  # the server is still down: the page comes from the service worker
    page.get_by_role("button", name="Show answer").wait_for()
    page.wait_for_function("() => document.querySelector('#net').textContent.includes('2 answers waiting')")
    where = _where(page)
    assert where not in given
    page.keyboard.press("Space")
    page.keyboard.press("1")
    _wait_new_card(page, where)
    page.wait_for_function("() => document.querySelector('#net').textContent.includes('3 answers waiting')")
    assert served.reviews() == []
    served.start()
    page.wait_for_function("() => document.querySelector('#net').hidden", timeout=20_000)
    reviews = served.reviews()
    assert sorted(r[2] for r in reviews) == [1, 2, 3]
    assert len({r[0] for r in reviews}) == 3
    page.reload()
    page.get_by_role("button", name="Show answer").wait_for()
    page.wait_for_load_state("networkidle")
    assert len(served.reviews()) == 3  # nothing sent twice
    context.close()


def test_html_in_a_note_is_shown_as_text_and_runs_nothing(browser: Any, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    write_notes(vault, {"escaping.md": XSS})
    s = serve(vault, tmp_path / "srs.db")
    try:
        context, page = _page(browser, s, DESKTOP)
        page.keyboard.press("Space")
        page.get_by_role("button", name="Good", exact=True).wait_for()
        card = page.locator("#card")
        assert "<script>window.__pwned = 1</script>" in card.inner_text()
        assert '<img src=x onerror="window.__pwned = 2">' in card.inner_text()
        assert card.locator("script, img, iframe, [onerror]").count() == 0
        hrefs = card.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
        assert not any(h and h.strip().lower().startswith("javascript") for h in hrefs)
        for link in card.get_by_text("a link").all() + card.get_by_text("raw").all():
            link.click()
        assert page.evaluate("window.__pwned") is None
        _shot(page, "escaping")
        context.close()
    finally:
        s.stop()


def test_lan_mode_page_needs_the_token(browser: Any, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    write_notes(vault, NOTES)
    token = "t0ken-abcdefghijklmnopqrstuvwxyz012345"
    s = serve(vault, tmp_path / "srs.db", lan=True, token=token)
    try:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        res = page.goto(s.url)
        assert res is not None and res.status == 403
        assert "token" in page.content()
        page.goto(s.url + f"?token={token}")
        page.get_by_role("button", name="Show answer").wait_for()
        assert "token" not in page.url  # gone from the address bar
        page.get_by_role("button", name="Show answer").tap()
        page.get_by_role("button", name="Good", exact=True).tap()
        page.wait_for_function("() => document.querySelector('#progress').textContent.startsWith('1 done')")
        assert len(s.reviews()) == 1
        context.close()
    finally:
        s.stop()


def test_the_end_of_session_summary(browser: Any, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    write_notes(vault, {"two.md": "# Two\n\nQ: first?\nA: 1\n\nQ: second?\nA: 2\n"})
    s = serve(vault, tmp_path / "srs.db")
    try:
        context, page = _page(browser, s, PHONE)
        for done in ("1 done", "2 done"):  # Easy takes both out of learning: the session ends
            page.get_by_role("button", name="Show answer").tap()
            page.get_by_role("button", name="Easy", exact=True).tap()
            page.wait_for_function(
                f"() => document.querySelector('#progress').textContent.startsWith('{done}')"
            )
        page.get_by_role("heading", name="Session done").wait_for()
        summary = page.locator("#summary").inner_text().replace("\t", "\n")
        assert "reviewed\n2" in summary and "Again 0" in summary and "Easy 2" in summary
        assert "new cards learned\n2" in summary
        _shot(page, "phone-summary")
        context.close()
    finally:
        s.stop()
