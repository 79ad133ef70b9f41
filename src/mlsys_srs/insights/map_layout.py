"""Where each note sits on the concept map: one force-directed cluster per domain.

Each domain's notes are laid out by networkx's spring layout (Fruchterman-Reingold)
over the links between them, seeded, so a report of the same vault always draws
the same map. The clusters sit on a ring in domain order (numbered folders keep
their learning order), each as large as the square root of its note count, so
links across domains cross the ring and links inside one stay inside its cluster.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

CLUSTER_GAP = 0.6
"""Space between neighbouring clusters, in units of a one-note cluster's radius."""

SEED = 7


def concept_layout(
    nodes: Sequence[tuple[str, str]], edges: Sequence[tuple[str, str, int]]
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """Positions of notes and the centres of their domains.

    Args:
        nodes: ``(note path, domain)`` of every note.
        edges: ``(source path, target path, links)`` between notes.

    Returns:
        ``{path: (x, y)}`` and ``{domain: (x, y)}``, rounded to 4 places.
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
        r = radius[domain]
        for path, (x, y) in pos.items():
            out[path] = (round(cx + r * float(x), 4), round(cy + r * float(y), 4))
    return out, {d: (round(x, 4), round(y, 4)) for d, (x, y) in centres.items()}


def _ring(domains: Sequence[str], radius: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Cluster centres on a circle whose circumference fits every cluster's diameter and a gap."""
    if len(domains) == 1:
        return {domains[0]: (0.0, 0.0)}
    arcs = [2 * radius[d] + CLUSTER_GAP for d in domains]
    ring = max(sum(arcs) / (2 * math.pi), max(radius.values()) * 1.2)
    out: dict[str, tuple[float, float]] = {}
    angle = math.pi / 2
    for d, arc in zip(domains, arcs, strict=True):
        half = arc / ring / 2
        angle -= half
        out[d] = (ring * math.cos(angle), ring * math.sin(angle))
        angle -= half
    return out
