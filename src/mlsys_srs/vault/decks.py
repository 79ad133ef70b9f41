"""Deck recipes: ``decks/NAME.toml`` files that name a useful subset of cards.

A recipe looks like::

    title = "Interview prep"
    description = "System design and interview questions"
    domains = ["system-design", "interview-prep"]
    tags = ["interview"]
    notes = ["12-paper-reading/*"]

A card belongs to the deck if it matches *any* of the lists (its note's domain,
one of its tags or a nested tag, or its note path matching a glob). ``review``,
``stats`` and ``export`` accept ``--deck NAME``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DeckError


@dataclass(frozen=True)
class DeckRecipe:
    """A named subset of cards."""

    name: str
    title: str
    description: str
    domains: tuple[str, ...]
    tags: tuple[str, ...]
    notes: tuple[str, ...]
    path: Path


class UnknownDeck(DeckError):
    """``--deck NAME`` names no recipe: a usage error (exit 2), with the closest names."""

    exit_code = 2


def deck_dirs(vault: Path, cwd: Path, config_dir: Path) -> list[Path]:
    """Where recipes are looked for: ./decks, the vault's sibling decks/, the config folder."""
    out: list[Path] = []
    for d in (cwd / "decks", vault.parent / "decks", vault / "decks", config_dir / "decks"):
        if d not in out:
            out.append(d)
    return out


def _strings(data: dict[str, Any], key: str, path: Path) -> tuple[str, ...]:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise DeckError(f"{path}: {key} must be a list of strings")
    return tuple(x.strip().lstrip("#") if key == "tags" else x.strip() for x in value if x.strip())


def read_deck(path: Path) -> DeckRecipe:
    """Read one recipe file.

    Raises:
        DeckError: not valid TOML, a wrong type, or a recipe that selects nothing.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DeckError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeckError(f"{path}: cannot read the deck recipe ({exc})") from None
    known = {"title", "description", "domains", "tags", "notes"}
    for key in data:
        if key not in known:
            raise DeckError(f"{path}: unknown key {key!r} (expected {', '.join(sorted(known))})")
    recipe = DeckRecipe(
        name=path.stem,
        title=str(data.get("title") or path.stem),
        description=str(data.get("description") or ""),
        domains=_strings(data, "domains", path),
        tags=_strings(data, "tags", path),
        notes=_strings(data, "notes", path),
        path=path,
    )
    if not (recipe.domains or recipe.tags or recipe.notes):
        raise DeckError(f"{path}: the recipe names no domains, tags or notes")
    return recipe


def find_deck(name: str, dirs: list[Path]) -> DeckRecipe:
    """The recipe called ``name`` (or a path to a ``.toml`` file).

    Raises:
        DeckError: no such recipe; the message lists the ones that exist.
    """
    as_path = Path(name)
    if as_path.suffix == ".toml" and as_path.is_file():
        return read_deck(as_path)
    for d in dirs:
        candidate = d / f"{name}.toml"
        if candidate.is_file():
            return read_deck(candidate)
    available = sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.toml")})
    hint = f"; available: {', '.join(available)}" if available else ""
    raise UnknownDeck(f"no deck recipe {name!r} in {', '.join(str(d) for d in dirs)}{hint}")
