"""Duplicate-card detection on a synthetic vault of N cards, with planted duplicates.

python benchmarks/bench_duplicates.py [--cards 200000] [--planted 500] [--seed 1]

Cards are Q/A pairs and cloze paragraphs drawn from a Zipf-distributed vocabulary
(the shape of real note text: a few very common words, a long tail of terms),
grouped into notes of 10 cards with the folders of ``synth.py``. ``--planted``
cards are copied into another note with small rewording (case, punctuation,
a dropped or swapped word, Markdown added). Prints the time of
``find_duplicates``, its peak traced memory and how many planted copies it found.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cards", type=int, default=200_000)
    ap.add_argument("--planted", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    cards, expected = make_cards(a.cards, a.planted, a.seed)
    tracemalloc.start()
    t0 = time.perf_counter()
    pairs = find_duplicates(cards)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # A second, untraced run: tracemalloc slows allocation-heavy code down.
    t0, c0 = time.perf_counter(), time.process_time()
    find_duplicates(cards)
    untraced, cpu = time.perf_counter() - t0, time.process_time() - c0

    found = {frozenset((p.first.group, p.second.group)) for p in pairs}
    hits = sum(frozenset(e) in found for e in expected)
    print(f"cards              {len(cards)}")
    print(f"find_duplicates    {untraced:.2f} s wall, {cpu:.2f} s CPU ({elapsed:.2f} s under tracemalloc)")
    print(f"load average       {os.getloadavg()[0]:.1f} (other processes slow the wall time)")
    print(f"peak memory        {peak / 2**20:.0f} MiB (traced)")
    print(f"pairs reported     {len(pairs)}")
    print(f"planted found      {hits}/{len(expected)}")
    print(f"other pairs        {len(found) - hits}")


if __name__ == "__main__":
    main()
