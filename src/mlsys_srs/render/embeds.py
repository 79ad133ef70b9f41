"""Obsidian's note embeds and footnotes, shown with the card as Obsidian shows them.

A card may embed a whole note, a section or a block of another note (``![[note]]``,
``![[note#Heading]]``, ``![[note#^block]]``) to reuse a definition written once, and may
refer to a footnote defined elsewhere in its note (``[^1]`` ... ``[^1]: text``). The parser
keeps the card's text as written; ``prepare`` gives every renderer (the terminal, the Anki
export, the web page) the same Markdown with the embedded content in place, as a quote under
the embed's name, and the footnotes' text after the card.

Bounded: embeds nest at most ``MAX_DEPTH`` deep, an embedded part is cut at ``MAX_CHARS``,
and a note that embeds itself (directly or through others) is refused, not followed.
Images (``![[x.png]]``) stay images; an embed that resolves to nothing stays as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ..parse.lines import strip_comments
from ..parse.link_resolver import LinkResolver
from ..parse.model import Link
from ..parse.text import IMAGE_EXTENSIONS, WIKILINK_RE

MAX_DEPTH = 3
MAX_CHARS = 4000
MAX_NOTE_BYTES = 2_000_000

_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_BLOCK_END_RE = re.compile(r"[ \t]+\^([A-Za-z0-9-]+)[ \t]*$")
_LONE_BLOCK_RE = re.compile(r"^\^([A-Za-z0-9-]+)[ \t]*$")
_FOOTNOTE_REF_RE = re.compile(r"\[\^([^\]\s]{1,40})\](?!:)")
_FOOTNOTE_DEF_RE = re.compile(r"^\[\^([^\]\s]{1,40})\]:[ \t]?(.*)$")
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class NoteLibrary:
    """The vault's notes, read on demand (and kept) to show embeds and footnotes."""

    def __init__(self, vault: Path, notes: Iterable[tuple[str, Iterable[str]]] | None = None) -> None:
        self.vault = vault
        self._notes = notes
        self._resolver: LinkResolver | None = None
        self._texts: dict[str, str | None] = {}

    def _resolve(self, target: str, from_path: str) -> str | None:
        if self._resolver is None:
            notes = self._notes
            if notes is None:
                notes = [
                    (p.relative_to(self.vault).as_posix(), ())
                    for p in self.vault.rglob("*.md")
                    if not any(part.startswith(".") for part in p.relative_to(self.vault).parts)
                ]
            self._resolver = LinkResolver.build(notes)
        return self._resolver.resolve(Link(target=target, line=0), from_path)

    def text(self, path: str) -> str | None:
        """A note's text (vault-relative path), or None when it cannot be read."""
        if path not in self._texts:
            file = self.vault / path
            try:
                if file.stat().st_size > MAX_NOTE_BYTES:
                    raise OSError("too large")
                self._texts[path] = file.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
            except (OSError, UnicodeDecodeError):
                self._texts[path] = None
        return self._texts[path]

    def find(self, target: str, from_path: str) -> str | None:
        """The path a link target names, seen from ``from_path``."""
        return self._resolve(target, from_path)


def _body(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[0].strip() in ("---", "+++"):
        fence = lines[0].strip()
        for i in range(1, len(lines)):
            if lines[i].strip() == fence:
                return lines[i + 1 :]
    return lines


def _norm(heading: str) -> str:
    return " ".join(heading.strip().lower().split())


def section(text: str, sub: str | None) -> tuple[str, str] | None:
    """The part of a note an embed names: ``(title, markdown)``; the whole body when ``sub`` is None.

    ``sub`` is a heading (``Heading``, or a path of headings ``A#B``: the last is taken) or a
    block id (``^id``: the paragraph or list item that ends with it).
    """
    lines = _body(text)
    if not sub:
        return "", "\n".join(lines).strip("\n")
    if sub.startswith("^"):
        block = sub[1:]
        for i, line in enumerate(lines):
            m = _BLOCK_END_RE.search(line)
            lone = _LONE_BLOCK_RE.match(line.strip())
            if (m and m.group(1) == block) or (lone and lone.group(1) == block):
                end = i if lone else i + 1
                start = end - 1
                while start > 0 and lines[start - 1].strip() and not _HEADING_RE.match(lines[start - 1]):
                    start -= 1
                part = lines[start:end]
                if part and not lone:
                    part[-1] = _BLOCK_END_RE.sub("", part[-1])
                return "", "\n".join(part).strip("\n")
        return None
    wanted = _norm(sub.split("#")[-1])
    for i, line in enumerate(lines):
        m = _HEADING_RE.match(line)
        if m and _norm(m.group(2)) == wanted:
            level = len(m.group(1))
            j = i + 1
            while j < len(lines):
                n = _HEADING_RE.match(lines[j])
                if n and len(n.group(1)) <= level:
                    break
                j += 1
            return m.group(2).strip(), "\n".join(lines[i + 1 : j]).strip("\n")
    return None


def _is_image(target: str) -> bool:
    return "." in target and target.rsplit(".", 1)[-1].lower() in IMAGE_EXTENSIONS


def _quote(title: str, markdown: str) -> str:
    lines = [f"> **{title}**", ">"] if title else []
    lines += [f"> {line}" if line.strip() else ">" for line in markdown.split("\n")]
    return "\n".join(lines)


def _expand(markdown: str, from_path: str, library: NoteLibrary, chain: tuple[str, ...], depth: int) -> str:
    def embed(m: re.Match[str]) -> str:
        if not m.group(1):
            return m.group(0)  # a link, not an embed
        inner = m.group(2)
        target, _, _alias = inner.partition("|")
        page, _, sub = target.partition("#")
        page, sub = page.strip(), sub.strip() or None
        if _is_image(page):
            return m.group(0)
        path = library.find(page, from_path) if page else from_path
        if path is None:
            return m.group(0)
        key = f"{path}#{sub or ''}"
        name = page or from_path.rsplit("/", 1)[-1].removesuffix(".md")
        shown = f"{name} › {sub.lstrip('^')}" if sub and not sub.startswith("^") else name
        if key in chain:
            return f"\n\n> *{shown}: not shown (it embeds itself)*\n\n"
        if depth <= 0:
            return f"\n\n> *{shown}: embedded too deep to show*\n\n"
        text = library.text(path)
        part = section(text, sub) if text is not None else None
        if part is None:
            return m.group(0)
        body = part[1]
        if len(body) > MAX_CHARS:
            cut = body.rfind("\n", 0, MAX_CHARS)
            body = body[: cut if cut > 0 else MAX_CHARS].rstrip() + "\n\n…"
        body = _BLOCK_END_RE.sub("", body)
        body = _expand(body, path, library, (*chain, key), depth - 1)
        return "\n\n" + _quote(shown, body) + "\n\n"

    if "![[" not in markdown:
        return markdown
    return WIKILINK_RE.sub(embed, markdown)


def footnotes(markdown: str, note_text: str | None) -> str:
    """``markdown`` with its footnote references shown as marks and their text appended."""
    labels = list(dict.fromkeys(_FOOTNOTE_REF_RE.findall(markdown)))
    if not labels or not note_text:
        return markdown
    defs: dict[str, str] = {}
    lines = _body(note_text)
    for i, line in enumerate(lines):
        m = _FOOTNOTE_DEF_RE.match(line)
        if m and m.group(1) in labels and m.group(1) not in defs:
            parts = [m.group(2).strip()]
            for more in lines[i + 1 :]:
                if more.startswith(("  ", "\t")) and more.strip():
                    parts.append(more.strip())
                else:
                    break
            defs[m.group(1)] = " ".join(p for p in parts if p)
    if not defs:
        return markdown

    def mark(label: str) -> str:
        return label.translate(_SUPERSCRIPT) if label.isdigit() else f"[{label}]"

    out = _FOOTNOTE_REF_RE.sub(lambda m: mark(m.group(1)) if m.group(1) in defs else m.group(0), markdown)
    notes = [f"{mark(label)} {defs[label]}" for label in labels if label in defs]
    return out.rstrip("\n") + "\n\n" + "\\\n".join(notes)


def prepare(markdown: str, note_path: str, library: NoteLibrary | None) -> str:
    """A card side as every renderer shows it: comments left out (as Obsidian's reading view does),
    embeds replaced by what they embed, footnotes resolved.

    Args:
        markdown: The card side as written (a cloze card's ``source``).
        note_path: The card's note, vault-relative (embeds and footnotes are read from the vault).
        library: The vault's notes; None shows the text as written.
    """
    markdown = strip_comments(markdown)
    if library is None or ("![[" not in markdown and "[^" not in markdown):
        return markdown
    out = _expand(markdown, note_path, library, (f"{note_path}#",), MAX_DEPTH)
    if "[^" in out:
        out = footnotes(out, library.text(note_path))
    return out
