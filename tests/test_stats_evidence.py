"""Learning answers count in stats and graph; no score is shown before there is evidence for one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conftest import Cli

NOTES = {
    "a.md": "# A\n\n" + "".join(f"alpha {i} :: answer {i}\n\n" for i in range(3)) + "[[b]]\n",
    "b.md": "# B\n\nbeta :: b\n",
}
DAY1 = "2026-11-30T10:00:00+00:00"
LATER = "2026-11-30T10:20:00+00:00"
DAY4 = "2026-12-03T10:00:00+00:00"


def at(when: str) -> dict[str, str]:
    return {"MLSYS_SRS_NOW": when}


def ids(run: Cli) -> dict[str, int]:
    cards: Any = run.json("cards")
    return {c["question"]: c["id"] for c in cards}


def test_day_one_says_not_enough_data_yet(run: Cli, notes: Callable[[dict[str, str]], None]) -> None:
    notes(NOTES)
    run("sync", env=at(DAY1))
    for q in ("alpha 0", "alpha 1"):
        run("grade", str(ids(run)[q]), "good", env=at(DAY1))
    stats: Any = run.json("stats", env=at(DAY1))
    [dom] = [d for d in stats["domains"] if d["weakness"]["studied"]]
    assert dom["weakness"]["score"] is None and dom["weakness"]["enough_data"] is False
    assert stats["retention"][-1]["answers"] == 2
    out = run("stats", env=at(DAY1)).stdout
    assert "not enough data yet" in out and "0.000" not in out
    graph = run("graph", env=at(DAY1)).stdout
    assert "recall now 100%" not in graph and "no reviews in" not in graph
    assert "not enough data yet for 1 note" in graph
    g: Any = run.json("graph", env=at(DAY1))
    a = next(n for n in g["nodes"] if n["path"] == "a.md")
    assert a["studied"] == 2


def test_a_review_card_from_an_earlier_day_gives_a_score(
    run: Cli, notes: Callable[[dict[str, str]], None]
) -> None:
    notes(NOTES)
    run("sync", env=at(DAY1))
    cid = ids(run)["alpha 0"]
    run("grade", str(cid), "good", env=at(DAY1))
    run("grade", str(cid), "good", env=at(LATER))  # graduates to review
    run("grade", str(ids(run)["alpha 1"]), "good", env=at(DAY1))
    stats: Any = run.json("stats", env=at(DAY4))
    [dom] = [d for d in stats["domains"] if d["weakness"]["studied"]]
    assert dom["weakness"]["enough_data"] is True and dom["weakness"]["score"] is not None
    graph = run("graph", env=at(DAY4)).stdout
    # Its answers were all while learning: the reason says so rather than "no reviews".
    assert "3 answers while learning, none of a review card in 365 days" in graph
