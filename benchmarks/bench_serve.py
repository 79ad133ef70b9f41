"""The web review (`mlsys-srs serve`) at 20,000 cards: grade to next card, page weight, first card.

Builds the collection of bench_review.py (a synthetic vault of about 20,000 cards with a
review history), syncs it as `serve` does at start, starts the server in this process on a
free port, then measures:

- server time from a grade to the next card: the hub's work for one live answer (the grade's
  commit, the next card chosen, loaded and rendered with its intervals), and the same over
  HTTP on the loopback (JSON in and out, Starlette and uvicorn included);
- taking 50 answers queued offline in one request (each in its own transaction);
- page weight: the page, its script, style, manifest, icon and service worker, plus the first
  session state and the 40 cards fetched ahead, gzipped (card media not included);
- time to first card in headless Chromium at 390x844 with touch (a new browser context each
  run: nothing cached), from navigation to the "Show answer" button shown; each run starts a
  study (a warm sync of the vault and today's queue), as opening the page does.

    python benchmarks/bench_serve.py [--cards 20000] [--answers 300] [--runs 5] [--keep DIR]

Targets: under 20 ms from a grade to the next card; under 300 KB gzipped before media.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_review import NOW, build_collection, ms  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _post(url: str, path: str, body: dict[str, object], port: int) -> tuple[dict[str, object], int]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(
        url + path,
        data=data,
        headers={"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"},
    )
    with urllib.request.urlopen(req, timeout=60) as res:
        raw = res.read()
    return json.loads(raw), len(gzip.compress(raw))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as res:
        return bytes(res.read())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cards", type=int, default=20000)
    ap.add_argument("--answers", type=int, default=300)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="Keep (and reuse) the collection in this folder.")
    args = ap.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-serve-"))
    root.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_DATA_HOME"] = str(root / "data")
    os.environ["MLSYS_SRS_CONFIG"] = str(root / "none.toml")
    vault, db = build_collection(root, args.cards, seed=7)

    from mlsys_srs.app.syncing import sync
    from mlsys_srs.app.workspace import Workspace
    from mlsys_srs.core.identity import event_id
    from mlsys_srs.history.ingest import Answer
    from mlsys_srs.web.server import WebServer

    start = time.monotonic()

    def clock() -> datetime:
        return NOW + timedelta(seconds=time.monotonic() - start)

    ws = Workspace.open(vault=vault, db=db, clock=clock, device="bench-phone")
    t = time.perf_counter()
    sync(ws)
    print(f"sync at start (first: seeds the journal): {time.perf_counter() - t:.2f} s")
    port = free_port()
    server = WebServer(ws, port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    hub = server.hub
    try:
        # -- grade to next card: the hub alone ---------------------------------------------------
        state, _ = _post(url, "/api/session", {"tab": "BENCH1", "query": ""}, port)
        tab = hub.tabs["BENCH1"]
        times: list[float] = []
        for _ in range(args.answers):
            card = tab.session.card
            if card is None:
                break
            answer = Answer(event_id(clock()), card.id, 3, clock(), 4000)
            t = time.perf_counter()
            hub.run(lambda a=answer: hub.answer(tab, a, live=True))
            times.append(time.perf_counter() - t)
        print(f"grade to next card, server (hub: commit, next card, render, intervals): {ms(times)}")

        # -- the same over HTTP ---------------------------------------------------------------------
        http: list[float] = []
        state, _ = _post(url, "/api/session", {"tab": "BENCH2", "query": ""}, port)
        for _ in range(args.answers):
            card_state = state.get("card")
            if not isinstance(card_state, dict):
                break
            at = clock()
            body = {
                "tab": "BENCH2",
                "query": "",
                "live": True,
                "answer": {
                    "id": event_id(at),
                    "card": card_state["id"],
                    "rating": 3,
                    "at": at.isoformat(),
                    "ms": 4000,
                },
            }
            t = time.perf_counter()
            state, _ = _post(url, "/api/answer", body, port)
            http.append(time.perf_counter() - t)
        print(f"grade to next card over HTTP on the loopback (JSON, Starlette, uvicorn): {ms(http)}")

        # -- answers queued offline --------------------------------------------------------------------
        state, _ = _post(url, "/api/session", {"tab": "BENCH3", "query": ""}, port)
        ahead = [state["card"]["id"], *state["ahead"]][:50]  # type: ignore[index]
        at = clock() - timedelta(minutes=5)
        queued = [
            {
                "id": event_id(at + timedelta(seconds=i)),
                "card": c,
                "rating": 3,
                "at": (at + timedelta(seconds=i)).isoformat(),
                "ms": 5000,
            }
            for i, c in enumerate(ahead)
        ]
        t = time.perf_counter()
        _post(url, "/api/answers", {"tab": "BENCH3", "query": "", "answers": queued}, port)
        print(
            f"{len(queued)} answers queued offline taken in one request: {(time.perf_counter() - t) * 1000:.0f} ms"
        )

        # -- page weight ------------------------------------------------------------------------------
        files = [
            "/",
            "/static/app.js",
            "/static/app.css",
            "/manifest.webmanifest",
            "/static/icon.svg",
            "/sw.js",
        ]
        sizes = {f: len(gzip.compress(_get(url + f))) for f in files}
        state, state_gz = _post(url, "/api/session", {"tab": "BENCH4", "query": ""}, port)
        cards, cards_gz = _post(
            url, "/api/cards", {"tab": "BENCH4", "query": "", "ids": state["ahead"]}, port
        )
        total = sum(sizes.values()) + state_gz + cards_gz
        parts = ", ".join(f"{f} {n / 1024:.1f}" for f, n in sizes.items())
        print(
            f"page weight gzipped: {total / 1024:.1f} KB ({parts}; first state {state_gz / 1024:.1f}; "
            f"{len(cards['cards'])} cards ahead {cards_gz / 1024:.1f}) KB"  # type: ignore[arg-type]
        )

        # -- time to first card at phone size --------------------------------------------------------
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        if not Path(chromium).exists():
            print("time to first card: skipped (no chromium)")
            return
        from playwright.sync_api import sync_playwright

        firsts: list[float] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                context = browser.new_context(
                    viewport={"width": 390, "height": 844},
                    has_touch=True,
                    is_mobile=True,
                    service_workers="block",
                )
                page = context.new_page()
                t = time.perf_counter()
                page.goto(url + "/")
                page.get_by_role("button", name="Show answer").wait_for(state="visible")
                firsts.append(time.perf_counter() - t)
                context.close()
            browser.close()
        print(
            f"time to first card, Chromium 390x844 (each run a new page: a warm sync, today's queue, "
            f"the first card): median {statistics.median(firsts) * 1000:.0f} ms, "
            f"range {min(firsts) * 1000:.0f}-{max(firsts) * 1000:.0f} ms"
        )
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
