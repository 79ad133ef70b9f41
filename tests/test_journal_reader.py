"""The strict journal reader: a line from another device can quarantine itself, wait, or apply, but never
stop a sync, flood the screen, or reach the schedule unchecked."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsys_srs.history.journal import Event, read_new
from mlsys_srs.history.reader import Quarantined, Waiting, read_line

from .conftest import Cli, write_notes

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
ENV = {"MLSYS_SRS_NOW": "2026-12-07T08:00:00+00:00"}


def line(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "v": 1,
        "id": "01JEVT0000000000000000000A",
        "kind": "review",
        "at": "2026-12-06T08:00:00.000000+00:00",
        "dev": "phone",
        "card": {
            "uid": "0123456789abcdef",
            "block": None,
            "dir": "forward",
            "cloze": None,
            "path": "a.md",
            "fp": "x",
            "q": "one?",
        },
        "rating": 3,
        "ms": 4000,
    }
    base.update(over)
    return base


def read(obj: Any, raw: str | None = None) -> Event | Waiting | Quarantined:
    return read_line(raw if raw is not None else json.dumps(obj), now=NOW, max_answer_ms=60_000)


HOSTILE: list[tuple[str, str, str]] = [
    # (name, line, the reason's words)
    (
        "rating NaN",
        '{"v":1,"id":"a1","kind":"review","at":"2026-12-06T08:00:00+00:00","dev":"p","card":{"uid":"u1"},"rating":NaN}',
        "NaN",
    ),
    ("rating Infinity", json.dumps(line()).replace('"rating": 3', '"rating": Infinity'), "Infinity"),
    ("rating a word", json.dumps(line(rating="good")), "rating"),
    ("rating a list", json.dumps(line(rating=[3])), "rating"),
    ("rating 5", json.dumps(line(rating=5)), "rating"),
    ("rating true", json.dumps(line(rating=True)), "rating"),
    ("ms NaN", json.dumps(line()).replace('"ms": 4000', '"ms": NaN'), "NaN"),
    ("ms 10**30", json.dumps(line(ms=10**30)), "ms"),
    ("ms negative", json.dumps(line(ms=-5)), "ms"),
    ("year 9999", json.dumps(line(at="9999-12-31T23:59:59+14:00")), "outside"),
    ("year 0001", json.dumps(line(at="0001-01-02T00:00:00-12:00")), "outside"),
    ("no offset", json.dumps(line(at="2026-12-06T08:00:00")), "offset"),
    ("bury until x", json.dumps(line(kind="bury", until="x")), "until"),
    ("undo target list", json.dumps(line(kind="undo", target=["a"])), "target"),
    ("import due never", json.dumps(line(kind="import", state={"state": "review", "due": "never"})), "due"),
    (
        "import stability inf",
        json.dumps(line(kind="import", state={"state": "review", "stability": 1e308})),
        "stability",
    ),
    ("deep nesting", "[" * 200_000, "JSON"),
    ("not an object", "[1, 2]", "object"),
    ("uid 100 KB", json.dumps(line(card={**line()["card"], "uid": "a" * 100_000})), "uid"),
    ("uid with ESC", json.dumps(line(card={**line()["card"], "uid": "abc\x1b[2J"})), "uid"),
    ("path with ESC", json.dumps(line(card={**line()["card"], "path": "a\x1b]0;x\x07.md"})), "control"),
    ("device with slash", json.dumps(line(dev="../../x")), "dev"),
    ("id missing", json.dumps({k: v for k, v in line().items() if k != "id"}), "id"),
    ("huge line", json.dumps(line(pad="x" * 300_000)), "longer"),
]


@pytest.mark.parametrize(("name", "raw", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_line_is_quarantined_with_its_reason(name: str, raw: str, words: str) -> None:
    got = read(None, raw)
    assert isinstance(got, Quarantined), got
    assert words.lower() in got.reason.lower(), got.reason
    assert "\n" not in got.reason and len(got.reason) < 200


def test_a_valid_line_is_an_event_with_its_answer_time_capped() -> None:
    got = read(line(ms=90_000))
    assert isinstance(got, Event)
    assert got.data["ms"] == 60_000  # capped as the review screen caps it
    assert got.card.uid == "0123456789abcdef"


def test_a_line_dated_ahead_waits_for_its_day_and_a_newer_kind_for_an_upgrade() -> None:
    future = read(line(at="3026-01-01T00:00:00+00:00"))
    assert isinstance(future, Quarantined)  # past 2200: damaged, not early
    ahead = read(line(at=(NOW + timedelta(days=3)).isoformat()))
    assert isinstance(ahead, Waiting) and ahead.reason == "future" and ahead.due == NOW + timedelta(days=2)
    near = read(line(at=(NOW + timedelta(hours=20)).isoformat()))
    assert isinstance(near, Event)  # clocks disagree by less than a day: applied
    newer = read(line(kind="postpone_v9", days=3))
    assert isinstance(newer, Waiting) and newer.reason == "newer"
    version = read(line(v=2))
    assert isinstance(version, Waiting) and version.reason == "newer"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(
        ["v", "id", "kind", "at", "dev", "card", "rating", "ms", "until", "target", "state", "first", "kept"]
    ),
    value=json_values,
    kind=st.sampled_from(
        ["review", "cram", "undo", "bury", "suspend", "unsuspend", "reset", "purge", "import"]
    ),
)
def test_no_json_value_in_any_field_escapes_the_reader(key: str, value: Any, kind: str) -> None:
    obj = line(kind=kind)
    obj[key] = value
    try:
        raw = json.dumps(obj, allow_nan=True)
    except (ValueError, TypeError):
        return
    got = read(None, raw)
    assert isinstance(got, Event | Waiting | Quarantined)
    if isinstance(got, Event):
        # Whatever got through is in bounds.
        assert datetime(2000, 1, 1, tzinfo=UTC) <= got.at <= NOW + timedelta(days=1)
        if got.kind in ("review", "cram"):
            assert got.data["rating"] in (1, 2, 3, 4) and not isinstance(got.data["rating"], bool)
            ms = got.data.get("ms")
            assert ms is None or (math.isfinite(ms) and 0 <= ms <= 60_000)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_no_bytes_escape_the_file_reader(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("j") / "d-x.jsonl"
    path.write_bytes(data)
    res = read_new(path, None, now=NOW)
    complete = data[: data.rfind(b"\n") + 1]
    assert res.cursor.consumed == len(complete)  # a torn last line is left for later


NOTE = {"01-a/a.md": "# A\n\nQ: one?\nA: 1\n\nQ: two?\nA: 2\n"}


def journals(vault: Path) -> Path:
    return vault / ".mlsys-srs" / "journal"


def test_a_bad_line_from_another_device_never_stops_a_sync_and_is_reported_once(
    run: Cli, vault: Path
) -> None:
    write_notes(vault, NOTE)
    run("sync", "-q", env=ENV)
    cards = run.json("cards", env=ENV)
    uid = cards[0]["uid"]  # type: ignore[index]
    good = line(id="01JEVT000000000000000000GD", card={**line()["card"], "uid": uid})
    folder = journals(vault)
    folder.mkdir(parents=True, exist_ok=True)
    bad = [
        json.dumps(line(id="01JEVT000000000000000000B1", rating="good")),
        '{"v":1,"id":"01JEVT000000000000000000B2","kind":"review","at":"0001-01-02T00:00:00+00:00","dev":"p","card":{"uid":"u1"},"rating":3}',
        "[" * 200_000,
    ]
    (folder / "phone.jsonl").write_text("\n".join([*bad, json.dumps(good)]) + "\n", encoding="utf-8")
    first = run("sync", env=ENV)
    assert first.exit_code == 0
    err = first.stderr
    for n in (1, 2, 3):
        assert f"phone.jsonl:{n}: not a valid journal event" in err
    assert "Traceback" not in err
    # The good line applied: the card was reviewed on the phone.
    after = run.json("card", uid, env=ENV)
    assert after["reps"] == 1  # type: ignore[index]
    # Reported once; listed until fixed.
    assert "not a valid journal event" not in run("sync", env=ENV).stderr
    info = run.json("info", env=ENV)
    assert info["journal_quarantined"] == 3  # type: ignore[index]
    assert info["journal_quarantined_lines"][0].startswith(".mlsys-srs/journal/phone.jsonl:1:")  # type: ignore[index]
    check = run.json("rebuild", "--check", env=ENV)
    assert check["journal_quarantined"] == 3 and check["differences"] == []  # type: ignore[index]
    # Fixed by hand: the list empties.
    (folder / "phone.jsonl").write_text(json.dumps(good) + "\n", encoding="utf-8")
    run("sync", "-q", env=ENV)
    assert run.json("info", env=ENV)["journal_quarantined"] == 0  # type: ignore[index]


def test_a_review_dated_ahead_waits_and_applies_on_its_day(run: Cli, vault: Path) -> None:
    write_notes(vault, NOTE)
    run("sync", "-q", env=ENV)
    uid = run.json("cards", env=ENV)[0]["uid"]  # type: ignore[index]
    ahead = line(
        id="01JEVT000000000000000000AH", at="2026-12-20T08:00:00+00:00", card={**line()["card"], "uid": uid}
    )
    journals(vault).mkdir(parents=True, exist_ok=True)
    (journals(vault) / "phone.jsonl").write_text(json.dumps(ahead) + "\n", encoding="utf-8")
    out = run("sync", env=ENV)
    assert "wait for their day" in out.stderr
    assert run.json("card", uid, env=ENV)["reps"] == 0  # type: ignore[index]
    later = {"MLSYS_SRS_NOW": "2026-12-19T09:00:00+00:00"}
    run("sync", "-q", env=later)
    assert run.json("card", uid, env=later)["reps"] == 1  # type: ignore[index]
    assert run.json("rebuild", "--check", env=later)["differences"] == []  # type: ignore[index]


def test_a_newer_versions_event_waits_with_one_warning(run: Cli, vault: Path) -> None:
    write_notes(vault, NOTE)
    run("sync", "-q", env=ENV)
    uid = run.json("cards", env=ENV)[0]["uid"]  # type: ignore[index]
    newer = line(
        id="01JEVT000000000000000000NW", kind="postpone_later", days=3, card={**line()["card"], "uid": uid}
    )
    journals(vault).mkdir(parents=True, exist_ok=True)
    (journals(vault) / "phone.jsonl").write_text(json.dumps(newer) + "\n", encoding="utf-8")
    out = run("sync", env=ENV)
    assert out.stderr.count("from a newer version of mlsys-srs wait: upgrade to apply them") == 1
    assert "upgrade" not in run("sync", env=ENV).stderr
    assert run.json("info", env=ENV)["journal_waiting_newer"] == 1  # type: ignore[index]


def test_a_million_garbage_lines_read_linearly_and_quietly(tmp_path: Path) -> None:
    # Measured in a subprocess: time and peak memory of reading a 1M-line journal (README figures).
    # Peak memory is the process's own high-water mark (VmHWM): getrusage's ru_maxrss keeps the
    # forking test process's across exec.
    path = tmp_path / "d-x.jsonl"
    with path.open("w") as fh:
        for i in range(1_000_000):
            fh.write(f'{{"garbage": {i}}}\n')
    script = (
        "import sys, time, resource\n"
        "from datetime import datetime, UTC\n"
        "from pathlib import Path\n"
        "from mlsys_srs.history.journal import read_new\n"
        "t = time.perf_counter()\n"
        "res = read_new(Path(sys.argv[1]), None, now=datetime(2026, 12, 7, tzinfo=UTC))\n"
        "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(res.problem_count, len(res.problems), time.perf_counter() - t, hwm)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    count, named, _seconds, rss_kb = out.stdout.split()  # the time is the README's, not an assertion
    assert int(count) == 1_000_000, out.stdout
    assert int(named) == 1000  # the first lines are named; the rest only counted
    assert int(rss_kb) < 150_000, out.stdout  # streamed: memory does not grow with the file


HOSTILE_JOURNALS = Path(__file__).parent / "hostile" / "journals"


@pytest.mark.parametrize(
    "name", sorted(json.loads((HOSTILE_JOURNALS / "expected.json").read_text())), ids=lambda n: n
)
def test_each_hostile_journal_file_is_one_quarantined_line_with_its_reason(tmp_path: Path, name: str) -> None:
    # A fixtures folder of bad journals, each with the reason its one line is quarantined.
    expected = json.loads((HOSTILE_JOURNALS / "expected.json").read_text())[name]
    res = read_new(HOSTILE_JOURNALS / f"{name}.jsonl", None, now=NOW)
    assert res.events == [] and res.waiting == []
    assert res.problem_count == 1
    ((line_no, reason),) = res.problems
    assert line_no == 1 and expected.lower() in reason.lower(), reason


ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    3,
    4,
    5,
    -1,
    2.5,
    3.0,
    10**9,
    10**30,
    "",
    "3",
    "x\n",
    [],
    {},
]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    over=st.dictionaries(
        st.sampled_from(["v", "id", "kind", "at", "dev", "rating", "ms", "first", "due", "extra"]),
        st.sampled_from(
            [
                *ODD_VALUES,
                "review",
                "cram",
                "undo",
                "phone",
                "01JEVT0000000000000000000B",
                "2026-12-06T08:00:00.000000+00:00",
                "2026-12-06T08:00:00Z",
                "2026-12-06T09:00:00+01:00",
                "2026-12-06T08:00:00",
                "2026-12-09T08:00:00+00:00",
                "1999-12-31T23:59:59+00:00",
                "2026-12-04",
                "2026-02-30",
                "2026-12-04\n",
            ]
        ),
        max_size=4,
    ),
    drop=st.sets(st.sampled_from(["v", "id", "kind", "at", "dev", "card", "rating", "ms"]), max_size=2),
    max_ms=st.sampled_from([1000, 60_000]),
)
def test_the_fast_check_of_an_answer_line_says_what_the_full_check_says(
    over: dict[str, Any], drop: set[str], max_ms: int
) -> None:
    from mlsys_srs.history.reader import _read_answer, _read_checked

    obj = line(**over)
    for key in drop:
        obj.pop(key, None)
    raw = json.dumps(obj)
    full = _read_checked(raw, now=NOW, max_answer_ms=max_ms)  # first: it knows the device afterwards
    fast = _read_answer(raw, NOW, max_ms)
    if fast is not None:
        assert repr(fast) == repr(full)
    assert repr(read_line(raw, now=NOW, max_answer_ms=max_ms)) == repr(full)
