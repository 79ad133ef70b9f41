"""``mlsys-srs review``: wall time from the command to the first question on screen, at 20,000 cards.

Builds the synced 20,000-card vault with a review history of ``bench_review.py``
(reused with ``--keep``), then starts ``mlsys-srs review`` on a pseudo-terminal that
is its controlling terminal (80x24, as ``tests/test_screens.py`` does), feeds what it
writes to a pyte screen, and times each run from the start of the process until the
first card's question text is drawn; then presses ``q``. Everything ``review`` does
first is inside the time: Python start-up, the configuration, the warm sync of the
vault (2,000 notes), the journal merge check, today's queue, the session and the first
frame (markdown-it, rich).

Bytecode is written and used as an installed package would (``PYTHONDONTWRITEBYTECODE`` is
dropped). A first, untimed run seeds this device's journal with the history and makes the day's
database backup, and tells which question comes first (the text below the
``── question`` rule); the timed runs wait for that text. Nothing is answered, so every
run starts from the same state (the clock is fixed with ``MLSYS_SRS_NOW``).

    python benchmarks/bench_review_start.py [--cards 20000] [--runs 9] [--keep DIR]

With ``--compare SRC`` each run is paired with one of the code in ``SRC`` (a checkout's
``src`` folder, put first on ``PYTHONPATH``), interleaved, to measure a change on a
busy machine. ``--cpu`` also reports the process's CPU time (user + system).

Target: under 0.3 s.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_review import build_collection, collection_env  # noqa: E402

COLS, ROWS = 80, 24


def _controlling_tty() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process so far (with its waited-for children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def run_once(
    env: dict[str, str], needle: str | None, timeout: float = 60.0
) -> tuple[float, float, list[str]]:
    """Start ``review`` on a pty; seconds until ``needle`` (or the question rule) is on screen,
    the process's CPU seconds by then, and the screen's lines once it settled."""
    import pyte

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)
    script = Path(sys.executable).with_name("mlsys-srs")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(script), "review"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
        preexec_fn=_controlling_tty,
    )
    os.close(slave)
    target = needle or "── question"
    elapsed = None
    cpu = 0.0
    try:
        while elapsed is None:
            if time.perf_counter() - t0 > timeout:
                raise SystemExit("no question on screen:\n" + "\n".join(screen.display))
            if not select.select([master], [], [], 0.5)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                raise SystemExit("review ended before a question:\n" + "\n".join(screen.display))
            stream.feed(data)
            if any(target in line for line in screen.display):
                elapsed = time.perf_counter() - t0
                cpu = _cpu_seconds(proc.pid)
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:  # let the rest of the frame arrive
            if select.select([master], [], [], 0.05)[0]:
                try:
                    stream.feed(os.read(master, 65536))
                except OSError:
                    break
        lines = [line.rstrip() for line in screen.display]
        os.write(master, b"q")
        deadline = time.perf_counter() + 30
        while proc.poll() is None and time.perf_counter() < deadline:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    return elapsed, cpu, lines


def first_question(lines: list[str]) -> str:
    """The first line of text below the ``── question`` rule."""
    top = next(i for i, line in enumerate(lines) if "── question" in line)
    for line in lines[top + 1 :]:
        text = line.strip()
        if len(text) >= 8:
            return text[:40]
    raise SystemExit("no question text below the rule:\n" + "\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cards", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    ap.add_argument("--compare", type=Path, help="a src folder to time against, interleaved")
    ap.add_argument("--cpu", action="store_true", help="also report CPU time")
    a = ap.parse_args()

    root = a.keep or Path(tempfile.mkdtemp(prefix="bench-review-start-"))
    try:
        vault, db = build_collection(root, a.cards, a.seed)
        env = collection_env(
            vault, db, XDG_DATA_HOME=str(root / "data"), TERM="xterm-256color", EDITOR="true"
        )
        for k in ("NO_COLOR", "COLUMNS", "LINES", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"):
            env.pop(k, None)
        variants = {"this": env}
        if a.compare:
            variants = {"compare": {**env, "PYTHONPATH": str(a.compare.resolve())}, "this": env}
        needle = None
        for name, e in variants.items():
            _, _, lines = run_once(e, None)  # seeds the journal, makes the day's backup
            q = first_question(lines)
            if needle is not None and q != needle:
                raise SystemExit(f"{name} shows another first question: {q!r} (not {needle!r})")
            needle = q
        print(f"first question: {needle!r}")
        times: dict[str, list[float]] = {k: [] for k in variants}
        cpus: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(a.runs):
            for name, e in variants.items():
                t, cpu, _ = run_once(e, needle)
                times[name].append(t)
                cpus[name].append(cpu)
        for name in variants:
            xs = times[name]
            line = (
                f"{name:8s} review -> first question over {a.runs} runs: median {statistics.median(xs):.3f} s, "
                f"min {min(xs):.3f} s, max {max(xs):.3f} s"
            )
            if a.cpu:
                line += f"; CPU median {statistics.median(cpus[name]):.3f} s"
            print(line)
        print(f"load average: {os.getloadavg()[0]:.2f}")
    finally:
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
