"""Duplicate-card detection on a synthetic vault of N cards, with planted duplicates.

python benchmarks/bench_duplicates.py [--cards 200000] [--planted 500] [--seed 1] [--repeat 1] [--traced]

Cards are Q/A pairs and cloze paragraphs drawn from a Zipf-distributed vocabulary
(the shape of real note text: a few very common words, a long tail of terms),
grouped into notes of 10 cards with the folders of ``synth.py``. ``--planted``
cards are copied into another note with small rewording (case, punctuation,
a dropped or swapped word, Markdown added).

Each run of ``find_duplicates`` happens in a fresh process (this script run again
with ``--child``), so its peak resident memory is its own: the figure printed is
that process's peak RSS (the cards and Python included) and, in brackets, how much
the detector added to what the process held once the cards were built. Prints
wall and CPU time of each run, the load average (other processes slow the wall
time), and how many planted copies were found. ``--traced`` adds a run under
``tracemalloc`` (much slower) for its peak of traced allocations.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc

from synth import DOMAINS, WORDS

from mlsys_srs.insights.duplicates import CardText, find_duplicates

STOP = ["the", "of", "a", "in", "to", "is", "and", "for", "what", "does", "why", "how", "with"]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = list(WORDS)
    seen = set(vocab)
    while len(vocab) < size:
        w = "".join(rng.choice(letters) for _ in range(rng.randint(4, 10)))
        if w not in seen:
            seen.add(w)
            vocab.append(w)
    return vocab


class _Text:
    """Random phrases: stopwords mixed with Zipf-distributed content words."""

    def __init__(self, rng: random.Random, vocab: list[str]) -> None:
        self.rng = rng
        self.vocab = vocab
        self.cum_weights = list(itertools.accumulate(1.0 / (r + 1) for r in range(len(vocab))))

    def phrase(self, n: int) -> list[str]:
        words = self.rng.choices(self.vocab, cum_weights=self.cum_weights, k=n)
        return [w if self.rng.random() > 0.3 else f"{self.rng.choice(STOP)} {w}" for w in words]


def _reword(rng: random.Random, text: str) -> str:
    words = text.split()
    edit = rng.randrange(4)
    if edit == 0 and len(words) > 3:
        del words[rng.randrange(len(words))]
    elif edit == 1 and len(words) > 3:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif edit == 2:
        words = [w.upper() if rng.random() < 0.3 else w for w in words]
    else:
        i = rng.randrange(len(words))
        words[i] = f"[[{words[i]}]]"
    return " ".join(words).rstrip("?.") + rng.choice(["?", "", " ?", "."])


def make_cards(n: int, planted: int, seed: int = 1) -> tuple[list[CardText], list[tuple[str, str]]]:
    """``n`` cards (``planted`` of them reworded copies) and the (original, copy) group pairs."""
    rng = random.Random(seed)
    text = _Text(rng, _vocabulary(rng, 50_000))
    cards: list[CardText] = []
    originals = n - planted
    for i in range(originals):
        path = f"{DOMAINS[(i // 10) % len(DOMAINS)]}/note-{i // 10:05d}.md"
        line = 10 + 4 * (i % 10)
        group = f"{path}#{line}"
        if i % 4 == 3:  # a cloze paragraph with two deletions: two sibling cards
            words = text.phrase(rng.randint(10, 18))
            a, b = sorted(rng.sample(range(len(words)), 2))
            for k in (a, b):
                hidden = words[k]
                q = " ".join("[...]" if j == k else w for j, w in enumerate(words))
                cards.append(CardText(path, line, q, hidden, group))
        else:
            q = " ".join(text.phrase(rng.randint(5, 12))) + "?"
            ans = " ".join(text.phrase(rng.randint(2, 12)))
            cards.append(CardText(path, line, q, ans, group))
        if len(cards) >= originals:
            break
    expected: list[tuple[str, str]] = []
    sources = rng.sample(range(len(cards)), planted)
    for k, src in enumerate(sources):
        c = cards[src]
        path = f"99-copies/copy-{k // 10:05d}.md"
        line = 10 + 4 * (k % 10)
        cards.append(CardText(path, line, _reword(rng, c.question), c.answer, f"{path}#{line}"))
        expected.append((c.group, f"{path}#{line}"))
    return cards, expected


def _rss_mib() -> float:
    """This process's resident memory now (Linux), in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _child(a: argparse.Namespace) -> None:
    cards, expected = make_cards(a.cards, a.planted, a.seed)
    before = _rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    if a.traced:
        tracemalloc.start()
    pairs = find_duplicates(cards)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if a.traced else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    found = {frozenset((p.first.group, p.second.group)) for p in pairs}
    hits = sum(frozenset(e) in found for e in expected)
    print(
        json.dumps(
            {
                "cards": len(cards),
                "wall": wall,
                "cpu": cpu,
                "rss_before": before,
                "peak_rss": peak,
                "traced": traced,
                "pairs": len(pairs),
                "hits": hits,
                "planted": len(expected),
                "other": len(found) - hits,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cards", type=int, default=200_000)
    ap.add_argument("--planted", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--traced", action="store_true", help="also one run under tracemalloc")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a)
        return

    def run(traced: bool) -> dict[str, float]:
        cmd = [sys.executable, __file__, "--child", "--cards", str(a.cards), "--planted", str(a.planted)]
        cmd += ["--seed", str(a.seed)] + (["--traced"] if traced else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        result: dict[str, float] = json.loads(out)
        return result

    for _ in range(a.repeat):
        r = run(False)
        print(
            f"find_duplicates    {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU, peak RSS {r['peak_rss']:.0f} MiB "
            f"(+{r['peak_rss'] - r['rss_before']:.0f} MiB over the {r['rss_before']:.0f} MiB of the built cards), "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    if a.traced:
        t = run(True)
        print(f"under tracemalloc  {t['wall']:.2f} s wall, peak traced {t['traced']:.0f} MiB")
    print(f"cards              {r['cards']}")
    print(f"pairs reported     {r['pairs']}")
    print(f"planted found      {r['hits']}/{r['planted']}")
    print(f"other pairs        {r['other']}")


if __name__ == "__main__":
    main()
