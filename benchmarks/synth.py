"""A seeded synthetic vault for benchmarks: 14 domain folders, links, code, every syntax.

python benchmarks/synth.py OUT_DIR --notes 2000 --cards 10 [--seed 1]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

DOMAINS = [
    "01-math-foundations",
    "02-computer-systems",
    "03-databases",
    "04-distributed-systems",
    "05-machine-learning",
    "06-deep-learning",
    "07-ml-systems",
    "08-llm-systems",
    "09-gpu-systems",
    "10-computer-architecture",
    "11-system-design",
    "12-paper-reading",
    "13-project-practice",
    "14-interview-prep",
]
WORDS = [
    "gradient",
    "tensor",
    "shard",
    "cache",
    "kernel",
    "latency",
    "throughput",
    "replica",
    "leader",
    "quorum",
    "batch",
    "token",
    "attention",
    "memory",
    "bandwidth",
    "pipeline",
    "stage",
    "optimizer",
    "loss",
    "queue",
    "index",
    "page",
    "warp",
    "block",
    "thread",
    "lock",
    "commit",
    "log",
    "vector",
    "matrix",
    "norm",
    "layer",
    "model",
    "serving",
]


def _phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _card(rng: random.Random, i: int, note_names: list[str]) -> str:
    link = f"[[{rng.choice(note_names)}]]"
    kind = i % 6
    if kind == 0:
        return f"Q: What does {_phrase(rng, 4)} {i} do?\nA: It {_phrase(rng, 8)} {link}.\n"
    if kind == 1:
        return f"{_phrase(rng, 3)} {i} :: {_phrase(rng, 5)}\n"
    if kind == 2:
        return f"C: The {_phrase(rng, 2)} {i} uses {{{{c1::{_phrase(rng, 2)}}}}} and {{{{c2::{_phrase(rng, 1)}}}}}.\n"
    if kind == 3:
        return f"Why is {_phrase(rng, 3)} {i} slow?\n?\nBecause {_phrase(rng, 6)}.\n"
    if kind == 4:
        return f"> [!question] What limits {_phrase(rng, 2)} {i}?\n> {_phrase(rng, 7)}\n"
    return (
        f"Q: Show {_phrase(rng, 2)} {i} in code\nA: Like this:\n\n```python\n"
        f"x = {i}  # {_phrase(rng, 3)} :: not a card\n```\n"
    )


def make_vault(root: Path, notes: int, cards: int, seed: int = 1) -> int:
    """Write ``notes`` notes with about ``cards`` card blocks each; return the card blocks written."""
    rng = random.Random(seed)
    names = [f"note-{i:05d}" for i in range(notes)]
    written = 0
    for i, name in enumerate(names):
        folder = root / DOMAINS[i % len(DOMAINS)]
        folder.mkdir(parents=True, exist_ok=True)
        parts = [
            f"---\ntitle: {name.replace('-', ' ').title()}\ntags: [{rng.choice(WORDS)}, bench]\n---\n",
            f"# {name}\n\nThis note explains {_phrase(rng, 12)}. See [[{rng.choice(names)}]] and "
            f"[[{rng.choice(names)}|an alias]].\n",
            "```cpp\nstd::vector<int> v; // Q: not a card\n```\n",
        ]
        for c in range(cards):
            if c % 4 == 0:
                parts.append(f"## Section {c // 4}\n\n{_phrase(rng, 20)}\n")
            parts.append(_card(rng, i * cards + c, names))
            written += 1
        (folder / f"{name}.md").write_text("\n".join(parts), encoding="utf-8")
    return written


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--cards", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    print(make_vault(a.out, a.notes, a.cards, a.seed))
