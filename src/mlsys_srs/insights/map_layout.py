"""Where each note sits on the concept map: one force-directed disc per domain, the discs apart.

Each domain's notes are laid out by networkx's spring layout (Fruchterman-Reingold)
over the links between them, seeded, so a report of the same vault always draws
the same map, and scaled into a disc whose radius grows with the square root of
the domain's note count (equal area per note). The discs sit on a ring in domain
order (numbered folders keep their learning order) with a clear gap between
neighbours, so each domain reads as one island; the page draws links inside a
domain note to note and links across domains as one chord per pair of domains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

GAP_SHARE = 0.7
"""Gap between neighbouring discs, as a share of the mean disc radius (at least ``MIN_GAP``)."""

MIN_GAP = 1.0
"""The smallest gap between discs, in units of a one-note disc's radius."""

FILL = 0.9
"""Notes stay inside this share of their disc's radius, so a node's marker stays inside the disc."""

SEED = 7


def concept_layout(
    nodes: Sequence[tuple[str, str]], edges: Sequence[tuple[str, str, int]]
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float, float]]]:
    """Positions of notes and the disc of each domain.

    Args:
        nodes: ``(note path, domain)`` of every note.
        edges: ``(source path, target path, links)`` between notes.

    Returns:
        ``{path: (x, y)}`` and ``{domain: (x, y, radius)}``, rounded to 4 places.
        Every note lies inside its domain's disc; no two discs touch.

    Raises:
        ImportError: networkx (or numpy, which its layout needs) is not installed.
    """
    import networkx as nx

    by_domain: dict[str, list[str]] = {}
    for path, domain in nodes:
        by_domain.setdefault(domain, []).append(path)
    domain_of = dict(nodes)
    radius = {d: math.sqrt(len(ps)) for d, ps in by_domain.items()}
    centres = _ring(sorted(by_domain), radius)

    out: dict[str, tuple[float, float]] = {}
    for domain, paths in by_domain.items():
        cx, cy = centres[domain]
        if len(paths) == 1:
            out[paths[0]] = (round(cx, 4), round(cy, 4))
            continue
        g = nx.Graph()
        g.add_nodes_from(sorted(paths))
        for a, b, links in edges:
            if a != b and domain_of.get(a) == domain and domain_of.get(b) == domain:
                w = g.get_edge_data(a, b, {"weight": 0})["weight"]
                g.add_edge(a, b, weight=w + links)
        pos = nx.spring_layout(g, seed=SEED, method="force", iterations=60 if len(paths) < 400 else 30)
        # Centre the cluster and scale its farthest note onto the disc's inner rim.
        mx = sum(float(x) for x, _ in pos.values()) / len(pos)
        my = sum(float(y) for _, y in pos.values()) / len(pos)
        far = max(math.hypot(float(x) - mx, float(y) - my) for x, y in pos.values()) or 1.0
        scale = FILL * radius[domain] / far
        for path, (x, y) in pos.items():
            out[path] = (
                round(cx + scale * (float(x) - mx), 4),
                round(cy + scale * (float(y) - my), 4),
            )
    discs = {d: (round(x, 4), round(y, 4), round(radius[d], 4)) for d, (x, y) in centres.items()}
    return out, discs


def _ring(domains: Sequence[str], radius: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Disc centres on a circle whose circumference fits every disc's diameter and a gap.

    The ring grows until every two discs are at least their radii plus the gap apart.
    """
    if len(domains) == 1:
        return {domains[0]: (0.0, 0.0)}
    gap = max(MIN_GAP, GAP_SHARE * sum(radius.values()) / len(radius))
    # Arcs of length r_a + r_b + gap give chords a little shorter: grow the ring until all fit.
    ring = max(sum(2 * radius[d] + gap for d in domains) / (2 * math.pi), max(radius.values()) + gap)
    while True:
        out = _place(domains, radius, gap, ring)
        if all(
            math.dist(out[a], out[b]) >= radius[a] + radius[b] + gap
            for i, a in enumerate(domains)
            for b in domains[i + 1 :]
        ):
            return out
        ring *= 1.02


def _place(
    domains: Sequence[str], radius: dict[str, float], gap: float, ring: float
) -> dict[str, tuple[float, float]]:
    """Centres round a circle of radius ``ring``, each domain's share of angle its diameter plus the gap."""
    arcs = [2 * radius[d] + gap for d in domains]
    total = sum(arcs)
    out: dict[str, tuple[float, float]] = {}
    angle = math.pi / 2
    for d, arc in zip(domains, arcs, strict=True):
        half = math.pi * arc / total
        angle -= half
        out[d] = (ring * math.cos(angle), ring * math.sin(angle))
        angle -= half
    return out
