"""Parser time on hostile input: it must grow linearly with the input's size.

    python benchmarks/bench_parse_adversarial.py [--sizes 250,500,1000] [--repeat 1]

Each case is one note made of a single repeated token (one long line of
spaces, of ``[``, of backticks, ...), plus a mixed random case, parsed at each
size in KB. For every case it prints the time per size and the ratio of each
time to the smallest size's time: for a linear parser the ratio follows the
size ratio (1x, 2x, 4x); a quadratic spot shows up as 4x, 16x.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from mlsys_srs.parse import parse_note

TOKENS: dict[str, str] = {
    "spaces": " ",
    "[": "[",
    "backticks": "`",
    "{{": "{{",
    "::": "::",
    "$": "$",
    "<!--": "<!--",
    "#": "#",
    ">": ">",
    # a few more shapes that once were quadratic
    "](": "](",
    "%%": "%%",
    "{{}}": "{{}}",
    "{{c1::x}}": "{{c1::x}}",
    "x://": "x://",
}
MIXED_ALPHABET = [
    " ",
    "[",
    "`",
    "{{",
    "::",
    "$",
    "<!--",
    "#",
    ">",
    "]",
    "}}",
    "a",
    "\n",
    "-->",
    "%%",
    "(",
    ")",
]
# Where the repeated token goes: alone on one line (followed by a word so that a line
# of spaces is not blank), inside a heading, in a paragraph, in a #flashcards note.
LAYOUTS: dict[str, tuple[str, str]] = {
    "line": ("", "x"),
    "heading": ("# a", "b"),
    "paragraph": ("Some text ", " more text :: answer"),
    "flashcards": ("---\ntags: [flashcards]\n---\nq::a ", " b"),
}


def make(case: str, size: int, layout: str = "line", seed: int = 1) -> str:
    """About ``size`` characters of the case's token (or a random mix for ``mixed``)."""
    if case == "mixed":
        rng = random.Random(seed)
        parts: list[str] = []
        n = 0
        while n < size:
            tok = rng.choice(MIXED_ALPHABET)
            parts.append(tok)
            n += len(tok)
        body = "".join(parts)[:size]
    else:
        tok = TOKENS[case]
        body = (tok * (size // len(tok) + 1))[:size]
    head, tail = LAYOUTS[layout]
    return head + body + tail


def time_parse(text: str, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        parse_note(text, "hostile.md")
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="250,500,1000", help="sizes in KB, comma-separated")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cases", default="", help="comma-separated subset of cases (default: all)")
    ap.add_argument("--layouts", default="", help="comma-separated subset of " + ", ".join(LAYOUTS))
    a = ap.parse_args()
    sizes = [int(float(s) * 1000) for s in a.sizes.split(",")]
    cases = a.cases.split(",") if a.cases else [*TOKENS, "mixed"]
    layouts = a.layouts.split(",") if a.layouts else list(LAYOUTS)
    head = "".join(f"{s / 1000:>9g} KB" for s in sizes)
    print(f"{'case':<24}{head}   ratios (time / time at {sizes[0] / 1000:g} KB)")
    worst = 0.0
    total = 0.0
    for layout in layouts:
        for case in cases:
            times = [time_parse(make(case, s, layout), a.repeat) for s in sizes]
            total += sum(times)
            base = max(times[0], 1e-4)
            ratios = [t / base for t in times]
            worst = max(worst, ratios[-1] / (sizes[-1] / sizes[0]))
            cells = "".join(f"{t:>10.3f} s" for t in times)
            print(
                f"{case + ' / ' + layout:<24}{cells}   " + " ".join(f"{r:.1f}x" for r in ratios), flush=True
            )
    print(
        f"size ratio {sizes[-1] / sizes[0]:.1f}x; worst (time ratio / size ratio): {worst:.2f} "
        f"(about 1 = linear, about {sizes[-1] / sizes[0]:.0f} = quadratic); total {total:.1f} s"
    )


if __name__ == "__main__":
    main()
