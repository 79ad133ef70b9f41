"""Resolve concept links the way Obsidian does: by path, then file name, then alias."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

from .model import Link


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[:-3] if name.lower().endswith(".md") else name


@dataclass
class LinkResolver:
    """Maps link targets to note paths for one vault.

    Build it once per vault from every note's path and aliases; ``resolve`` is
    then a few dictionary look-ups per link.
    """

    by_path: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    by_alias: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, notes: Iterable[tuple[str, Iterable[str]]]) -> LinkResolver:
        """A resolver for notes given as ``(path, aliases)`` pairs."""
        r = cls()
        # Shortest path wins for a shared file name, as in Obsidian; ties by path.
        for path, aliases in sorted(notes, key=lambda n: (n[0].count("/"), len(n[0]), n[0])):
            key = path.lower()
            r.by_path.setdefault(key, path)
            r.by_path.setdefault(key[:-3] if key.endswith(".md") else key, path)
            r.by_name.setdefault(_stem(path).lower(), path)
            for alias in aliases:
                r.by_alias.setdefault(str(alias).strip().lower(), path)
        return r

    def resolve(self, link: Link, from_path: str) -> str | None:
        """The vault path a link points to, or None for a dangling concept."""
        target = link.target.strip()
        if not target:
            return None
        low = target.lower().lstrip("/")
        if link.markdown:
            here = posixpath.dirname(from_path)
            rel = posixpath.normpath(posixpath.join(here, low)) if here else posixpath.normpath(low)
            for cand in (rel, low):
                hit = self.by_path.get(cand)
                if hit:
                    return hit
        if "/" in low:
            hit = self.by_path.get(low) or self.by_path.get(low + ".md")
            if hit:
                return hit
            suffix = "/" + (low if low.endswith(".md") else low + ".md")
            ends = [p for k, p in self.by_path.items() if k.endswith(suffix)]
            if ends:
                return min(ends, key=lambda p: (p.count("/"), len(p), p))
        name = _stem(low.rsplit("/", 1)[-1])
        return self.by_name.get(name) or self.by_alias.get(target.lower())
