"""A seeded synthetic vault of the second kind: long ML-systems prose with math, lists and code.

python benchmarks/synth_prose.py OUT_DIR --notes 2000 --cards 10 [--seed 1]

``synth.py``'s vault has short one-line cards and a code block in one card of six. This
one reads like the bundled notes: every note has paragraphs of prose with ``[[links]]``
and inline math between its cards, a display formula, a fenced code block, and cards
whose answers are lists, formulas (inline and ``$$`` display) and code. Per note (10
cards): Q/A with inline math, a multi-line card with a bullet list answer, a Q/A with a
fenced Python or C++ answer, an inline card, a Q/A with a display formula, a cloze, a
numbered-list answer, a question callout, a plain Q/A with emphasis and a link, and a
two-way ``:::`` card. About 4.7 KB a note (20,000 notes: about 95 MB).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from synth import DOMAINS

CONCEPTS = [
    "data parallelism",
    "tensor parallelism",
    "pipeline parallelism",
    "ZeRO sharding",
    "gradient accumulation",
    "activation checkpointing",
    "mixed precision training",
    "the KV cache",
    "paged attention",
    "FlashAttention",
    "speculative decoding",
    "continuous batching",
    "quantization",
    "all-reduce",
    "ring all-reduce",
    "the parameter server",
    "kernel fusion",
    "operator scheduling",
    "memory bandwidth",
    "arithmetic intensity",
    "the roofline model",
    "warp divergence",
    "shared memory tiling",
    "the attention score matrix",
    "layer normalization",
    "the learning-rate schedule",
    "the Adam optimizer",
    "load balancing",
    "request routing",
    "model distillation",
    "embedding tables",
    "the feature store",
    "checkpoint sharding",
    "collective communication",
    "NCCL",
    "the optimizer state",
]
NOUNS = [
    "throughput",
    "latency",
    "GPU memory",
    "HBM traffic",
    "the batch size",
    "the sequence length",
    "the hidden size",
    "the number of layers",
    "network bandwidth",
    "the replica count",
    "tail latency",
    "the step time",
    "the microbatch count",
    "the pipeline bubble",
    "compute utilization",
    "the cache hit rate",
    "the token budget",
    "the loss curve",
]
VERBS = [
    "reduces",
    "increases",
    "bounds",
    "hides",
    "overlaps with",
    "trades off against",
    "dominates",
    "amortizes",
    "shards",
    "replicates",
    "recomputes",
    "caches",
]
ADJ = ["quadratic", "linear", "constant", "logarithmic", "memory-bound", "compute-bound", "latency-bound"]
INLINE_MATH = [
    r"O(n^2)",
    r"O(n \log n)",
    r"2(N-1)/N",
    r"\frac{1}{\sqrt{d_k}}",
    r"b \cdot s \cdot h",
    r"\alpha + \beta n",
    r"p = 1 - (1 - q)^k",
    r"\eta_t = \eta_0 / \sqrt{t}",
    r"\mathrm{softmax}(QK^\top)",
    r"\sigma^2",
    r"16\Psi",
    r"(p - 1)/(m + p - 1)",
    r"\lambda \lVert w \rVert^2",
    r"x \in \mathbb{R}^{d}",
]
DISPLAY_MATH = [
    r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right) V",
    r"m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2",
    r"T_{\text{ring}} = 2 (N - 1) \left( \alpha + \frac{M}{N \beta} \right)",
    r"\text{bubble} = \frac{p - 1}{m + p - 1}",
    r"\text{AI} = \frac{\text{FLOPs}}{\text{bytes moved}} \le \frac{P_{\text{peak}}}{B_{\text{mem}}}",
    r"\mathcal{L} = -\sum_{i=1}^{n} y_i \log \hat{y}_i + \lambda \lVert \theta \rVert_2^2",
    r"M_{\text{KV}} = 2 \cdot n_{\text{layers}} \cdot n_{\text{heads}} \cdot d_{\text{head}} \cdot s \cdot b",
]
PY_SNIPPETS = [
    "model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[rank])\n"
    "for step, batch in enumerate(loader):\n"
    "    loss = model(batch).mean() / {k}\n"
    "    loss.backward()\n"
    "    if (step + 1) % {k} == 0:\n"
    "        optimizer.step()\n"
    "        optimizer.zero_grad(set_to_none=True)",
    "scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)\n"
    "scores = scores.masked_fill(mask == 0, float('-inf'))\n"
    "weights = torch.softmax(scores, dim=-1)  # {k} heads\n"
    "out = weights @ v",
    "with torch.autocast(device_type='cuda', dtype=torch.bfloat16):\n"
    "    logits = model(input_ids[:, :{k}])\n"
    "    loss = F.cross_entropy(logits.view(-1, vocab), labels.view(-1))\n"
    "scaler.scale(loss).backward()",
    "def all_reduce_mean(t: torch.Tensor, world: int = {k}) -> torch.Tensor:\n"
    "    dist.all_reduce(t, op=dist.ReduceOp.SUM)\n"
    "    return t / world",
    "cache = {{}}\n"
    "def lookup(key, ttl={k}):\n"
    "    hit = cache.get(key)\n"
    "    if hit is None or hit.expired(ttl):\n"
    "        hit = cache[key] = fetch(key)\n"
    "    return hit.value",
]
CPP_SNIPPETS = [
    "__global__ void saxpy(int n, float a, const float* x, float* y) {{\n"
    "  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
    "  if (i < n) y[i] = a * x[i] + y[i];  // {k} threads a block\n"
    "}}",
    "__shared__ float tile[{k}][{k}];\ntile[threadIdx.y][threadIdx.x] = A[row * n + col];\n__syncthreads();",
    "std::vector<float> buf({k});\n"
    "std::transform(buf.begin(), buf.end(), buf.begin(), [](float v) {{ return v * 0.5f; }});",
]
LIST_ITEMS = [
    "it keeps every device busy while the next microbatch arrives",
    "the communication volume grows with the parameter count, not the batch",
    "activations dominate memory at long sequence lengths",
    "the optimizer state is twice the size of the weights in fp32",
    "a slow worker stalls every collective it takes part in",
    "the kernel is memory-bound below the ridge point of the roofline",
    "recomputation trades about a third more compute for memory",
    "small messages are latency-bound, large ones bandwidth-bound",
    "the scheduler must keep the KV cache of every running request",
    "a larger batch raises throughput until memory runs out",
]


def _c(rng: random.Random) -> str:
    return rng.choice(CONCEPTS)


def _n(rng: random.Random) -> str:
    return rng.choice(NOUNS)


def _m(rng: random.Random) -> str:
    return f"${rng.choice(INLINE_MATH)}$"


def _link(rng: random.Random, names: list[str]) -> str:
    target = rng.choice(names)
    return f"[[{target}|{target.replace('-', ' ')}]]" if rng.random() < 0.3 else f"[[{target}]]"


def _sentence(rng: random.Random, names: list[str]) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return f"In practice {_c(rng)} {rng.choice(VERBS)} {_n(rng)}, which is why it matters for {_c(rng)}."
    if kind == 1:
        return (
            f"The cost is {rng.choice(ADJ)} in {_n(rng)}, roughly {_m(rng)}, as {_link(rng, names)} explains."
        )
    if kind == 2:
        return f"When {_n(rng)} grows, {_c(rng)} {rng.choice(VERBS)} {_n(rng)} and the system becomes {rng.choice(ADJ)}."
    if kind == 3:
        return f"A common mistake is to tune {_n(rng)} before measuring {_n(rng)}; profile first, then change {_c(rng)}."
    return f"Compare this with {_link(rng, names)}: there {_c(rng)} {rng.choice(VERBS)} {_n(rng)} instead."


def _paragraph(rng: random.Random, names: list[str], sentences: int) -> str:
    return "\n".join(_sentence(rng, names) for _ in range(sentences))


def _card(rng: random.Random, kind: int, i: int, names: list[str]) -> str:
    if kind == 0:
        return (
            f"Q: Why does {_c(rng)} scale as {_m(rng)} in {_n(rng)} ({i})?\n"
            f"A: Because {_c(rng)} {rng.choice(VERBS)} {_n(rng)}: with {_m(rng)} the {_n(rng)} "
            f"term dominates (see {_link(rng, names)})."
        )
    if kind == 1:
        items = rng.sample(LIST_ITEMS, 3)
        return (
            f"What are three reasons {_c(rng)} {rng.choice(VERBS)} {_n(rng)} ({i})?\n?\n"
            f"- **{items[0].split()[1]}**: {items[0]}\n- {items[1]} ({_link(rng, names)})\n"
            f"- {items[2]}, about {_m(rng)}"
        )
    if kind == 2:
        if rng.random() < 0.7:
            lang, code = "python", rng.choice(PY_SNIPPETS)
        else:
            lang, code = "cpp", rng.choice(CPP_SNIPPETS)
        return (
            f"Q: How is {_c(rng)} written in code ({i})?\nA: Like this, where {_n(rng)} is the knob:\n\n"
            f"```{lang}\n{code.format(k=rng.randrange(2, 4096))}\n```"
        )
    if kind == 3:
        return f"{_c(rng).capitalize()} in {_link(rng, names)} ({i}) :: it {rng.choice(VERBS)} {_n(rng)}, about {_m(rng)}"
    if kind == 4:
        return (
            f"Q: What formula gives {_n(rng)} for {_c(rng)} ({i})?\nA: With {_m(rng)} per step:\n\n"
            f"$$\n{rng.choice(DISPLAY_MATH)}\n$$"
        )
    if kind == 5:
        return (
            f"C: {_c(rng).capitalize()} {{{{c1::{rng.choice(VERBS)}}}}} {_n(rng)} ({i}), and its cost is "
            f"{{{{c2::{rng.choice(ADJ)}}}}} in {_n(rng)}."
        )
    if kind == 6:
        items = rng.sample(LIST_ITEMS, 4)
        return f"In what order do you debug slow {_c(rng)} ({i})?\n?\n" + "\n".join(
            f"{k}. {item}" for k, item in enumerate(items, 1)
        )
    if kind == 7:
        return (
            f"> [!question] What limits {_n(rng)} under {_c(rng)} ({i})?\n"
            f"> Mostly {_n(rng)}: {rng.choice(LIST_ITEMS)}, roughly {_m(rng)}."
        )
    if kind == 8:
        return (
            f"Q: When is {_c(rng)} the *wrong* choice ({i})?\n"
            f"A: When {_n(rng)} is already **{rng.choice(ADJ)}**; prefer {_link(rng, names)} then."
        )
    return f"{_c(rng).capitalize()} ({i}) ::: {_n(rng)} {rng.choice(VERBS)} {_n(rng)}"


def make_prose_vault(root: Path, notes: int, cards: int, seed: int = 1) -> int:
    """Write ``notes`` notes with ``cards`` card blocks each; return the card blocks written."""
    rng = random.Random(seed)
    names = [f"topic-{i:05d}" for i in range(notes)]
    written = 0
    for i, name in enumerate(names):
        folder = root / DOMAINS[i % len(DOMAINS)]
        folder.mkdir(parents=True, exist_ok=True)
        title = f"{_c(rng).capitalize()} {i}"
        parts = [
            f"---\ntitle: {title}\ntags: [ml-systems, {DOMAINS[i % len(DOMAINS)][3:]}]\n"
            f"aliases: [{name.replace('-', ' ')}]\n---\n",
            f"# {title}\n\nBack to [[{rng.choice(names)}]].\n\n{_paragraph(rng, names, 4)}\n",
        ]
        for c in range(cards):
            if c % 3 == 0:
                parts.append(f"## Part {c // 3 + 1}\n\n{_paragraph(rng, names, 4)}\n")
            if c == 3:  # prose blocks come after a heading's paragraph: they join no answer
                parts.append(f"$$\n{rng.choice(DISPLAY_MATH)}\n$$\n")
            if c == 6:
                code = rng.choice(PY_SNIPPETS).format(k=rng.randrange(2, 4096))
                parts.append(f"```python\n{code}\n```\n\n{_paragraph(rng, names, 2)}\n")
            parts.append(_card(rng, (c + i) % 10, i * cards + c, names) + "\n")
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
    print(make_prose_vault(a.out, a.notes, a.cards, a.seed))
