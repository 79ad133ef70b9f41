"""`mlsys-srs serve` over HTTP: who may use it, what every answer carries, answers taken once,
and a terminal review and the page at once never losing or doubling a grade."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from mlsys_srs.app.study import StudyPlan, start_session
from mlsys_srs.core.identity import event_id

from .conftest import write_notes
from .webserver import Served, api, request, serve

NOTE = "# Rings\n\n" + "\n\n".join(f"Q: question {i}?\nA: answer {i}" for i in range(40)) + "\n"
IMAGE_NOTE = "# Pictures\n\nQ: What does ![[ring.png]] show?\nA: A ring.\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    v = tmp_path / "vault"
    write_notes(v, {"rings.md": NOTE, "pics/pictures.md": IMAGE_NOTE})
    (v / "pics" / "ring.png").write_bytes(PNG)
    (tmp_path / "secret.png").write_bytes(PNG)
    return v


@pytest.fixture
def local(vault: Path, tmp_path: Path) -> Iterator[Served]:
    s = serve(vault, tmp_path / "srs.db")
    yield s
    s.stop()


def _answer(card: int, rating: int = 3) -> dict[str, object]:
    at = datetime.now(UTC)
    return {"id": event_id(at), "card": card, "rating": rating, "at": at.isoformat(), "ms": 1500}


def test_every_answer_carries_a_strict_policy(local: Served) -> None:
    for path in ("/", "/static/app.js", "/api/ping"):
        status, headers, _ = request(local, path)
        assert status == 200, path
        csp = headers["content-security-policy"]
        assert (
            "default-src 'none'" in csp
            and "script-src 'self'" in csp
            and "unsafe-inline" not in csp.split("style-src-attr")[0]
        )
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
    page = request(local, "/")[2].decode()
    assert "<script>" not in page and "<style" not in page  # no inline script or style
    assert "http" not in page  # nothing from the internet


def test_only_loopback_names_are_accepted_without_a_token(local: Served) -> None:
    assert request(local, "/", headers={"Host": f"evil.example:{local.port}"})[0] == 403
    assert request(local, "/", headers={"Host": f"localhost:{local.port}"})[0] == 200


def test_changes_need_the_page_itself(local: Served) -> None:
    body = {"tab": "T1", "query": ""}
    assert request(local, "/api/session", body)[0] == 200
    assert request(local, "/api/session", body, origin=False)[0] == 403
    assert request(local, "/api/session", body, headers={"Origin": "http://evil.example"})[0] == 403
    plain = {"Content-Type": "text/plain", "Origin": f"http://127.0.0.1:{local.port}"}
    assert request(local, "/api/session", body, headers=plain)[0] == 403
    same = {"Sec-Fetch-Site": "same-origin"}
    assert request(local, "/api/session", body, headers=same, origin=False)[0] == 200


def test_lan_mode_refuses_requests_without_the_token(vault: Path, tmp_path: Path) -> None:
    s = serve(vault, tmp_path / "srs.db", lan=True, token="t0ken-abcdefghijklmnopqrstuvwxyz012345")
    try:
        for path in ("/", "/static/app.js", "/api/ping", "/media/ring.png"):
            assert request(s, path)[0] == 403, path
        assert request(s, "/?token=wrong")[0] == 403
        assert request(s, "/api/session", {"tab": "T1", "query": ""})[0] == 403
        status, headers, _ = request(s, "/?token=t0ken-abcdefghijklmnopqrstuvwxyz012345&mode=cram")
        assert status == 303
        assert headers["location"] == "/?mode=cram"  # the token leaves the address bar
        assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
        assert headers["cache-control"] == "no-store"
        cookie = {"Cookie": headers["set-cookie"].split(";")[0]}
        assert request(s, "/", headers=cookie)[0] == 200
        assert request(s, "/api/session", {"tab": "T1", "query": ""}, headers=cookie)[0] == 200
        token = {"X-Token": "t0ken-abcdefghijklmnopqrstuvwxyz012345"}
        assert request(s, "/api/ping", headers=token)[0] == 200
    finally:
        s.stop()


def test_media_only_by_the_names_the_server_gave(local: Served) -> None:
    state = api(local, "/api/session", {"tab": "T1", "query": "note=pics/*"})
    question = state["card"]["question"]
    assert '<img src="media/ring.png"' in question
    assert request(local, "/media/ring.png")[0] == 200
    for path in (
        "/media/secret.png",
        "/media/..%2Fsecret.png",
        "/media/%2E%2E/secret.png",
        "/media/rings.md",
    ):
        assert request(local, path)[0] == 404, path


def test_an_answer_sent_twice_is_graded_once(local: Served) -> None:
    state = api(local, "/api/session", {"tab": "T1", "query": ""})
    card = state["card"]["id"]
    answer = _answer(card, 3)
    first = api(local, "/api/answer", {"tab": "T1", "query": "", "answer": answer, "live": True})
    assert first["result"] == {"graded": [answer["id"]]}
    again = api(local, "/api/answer", {"tab": "T1", "query": "", "answer": answer, "live": True})
    assert again["result"] == {"duplicates": [answer["id"]]}
    batch = api(local, "/api/answers", {"tab": "T1", "query": "", "answers": [answer, answer]})
    assert batch["result"]["taken"] == []
    assert [r[0] for r in local.reviews()] == [answer["id"]]


def test_bad_requests_are_refused_with_a_message(local: Served) -> None:
    body = {"tab": "T1", "query": "mode=sideways"}
    status, _, raw = request(local, "/api/session", body)
    assert status == 400 and "mode" in json.loads(raw)["error"]
    status, _, raw = request(local, "/api/answer", {"tab": "T1", "query": "", "answer": {"id": "x"}})
    assert status == 400
    status, _, raw = request(local, "/api/session", {"tab": "T1", "query": "mode=ahead&reschedule=1&days=x"})
    assert status == 400


def test_terminal_and_page_at_once_lose_and_double_nothing(local: Served, vault: Path) -> None:
    """The page answers over HTTP while a terminal session grades in this process: every grade is
    stored once, a card answered on both keeps both answers, and the journal holds each once."""
    rounds = 15
    phone_ids: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def phone() -> None:
        try:
            state = api(local, "/api/session", {"tab": "P1", "query": ""})
            start.wait()
            for _ in range(rounds):
                answer = _answer(state["card"]["id"], 3)
                state = api(local, "/api/answer", {"tab": "P1", "query": "", "answer": answer, "live": True})
                phone_ids.append(str(answer["id"]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    term = local.workspace("terminal")
    with term.connect() as conn:
        session = start_session(term, conn, term.card_filter(), StudyPlan(), clock=term.clock)
        first = session.card
        thread = threading.Thread(target=phone)
        thread.start()
        start.wait()
        terminal_cards = []
        for _ in range(rounds):
            assert session.card is not None
            terminal_cards.append(session.card.id)
            session.grade(3)
        thread.join()
    assert errors == []
    reviews = local.reviews()
    uids = [r[0] for r in reviews]
    assert len(uids) == len(set(uids)) == 2 * rounds
    assert set(phone_ids) <= set(uids)
    assert first is not None and sum(1 for r in reviews if r[1] == first.id) == 2  # answered on both
    journal = [
        json.loads(line)
        for path in sorted((vault / ".mlsys-srs" / "journal").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert sorted(e["id"] for e in journal if e["kind"] == "review") == sorted(uids)
