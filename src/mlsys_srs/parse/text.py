"""Inline scanning shared by the parser: tags, links, media, block ids, normalization.

These functions take one piece of Markdown and return what it names. They are
used on text where code spans and comments have already been blanked out, so
nothing inside code is ever read as a tag or a link.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import unquote

from .model import Link

IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "avif", "tif", "tiff"})

# Obsidian block id at the very end of a line: "text ^my-id".
BLOCK_ID_RE = re.compile(r"(?:^|\s)\^([A-Za-z0-9-]+)\s*$")
# A tag's name: what may follow "#" (Obsidian forbids all-digit tags).
TAG_NAME = r"[^\s#!\"$%&'()*+,.:;<=>?@\[\]^`{|}~\\]+"
TAG_NAME_RE = re.compile(TAG_NAME)
# A tag starts after whitespace or line start.
TAG_RE = re.compile(r"(?:(?<=\s)|^)#(" + TAG_NAME + ")")
WIKILINK_RE = re.compile(r"(!?)\[\[([^\[\]\n]+?)\]\]")
MDLINK_RE = re.compile(r"(!?)\[([^\]\n]*)\]\((<[^>\n]+>|[^)\s]+)(?:\s+\"[^\"\n]*\")?\)")
URL_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
INLINE_CODE_RE = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """The lines of a note: the one definition of a line for the whole program.

    A line ends at ``"\\n"`` only (``"\\r\\n"`` is one break). Unlike
    ``str.splitlines``, ``\\f``, ``\\v``, U+0085, U+2028, U+2029 and a lone
    ``\\r`` are characters inside a line. As with ``str.splitlines``, a final
    line break does not start another line, and with ``keepends`` each line
    keeps its ``"\\n"`` or ``"\\r\\n"`` (so ``"".join`` gives the text back).
    """
    parts = text.split("\n")
    last = parts.pop()
    lines = [p + "\n" if keepends else p.removesuffix("\r") for p in parts]
    if last:
        lines.append(last)
    return lines


def blank(text: str) -> str:
    """Replace every character but newlines with a space, keeping positions."""
    return re.sub(r"[^\n]", " ", text)


def mask_inline_code(line: str) -> str:
    """Blank out inline code spans (backticks included) in one line."""
    if "`" not in line:
        return line
    return INLINE_CODE_RE.sub(lambda m: blank(m.group(0)), line)


def strip_block_id(line: str) -> tuple[str, str | None]:
    """Split a trailing Obsidian block id off a line: ``("text", "id")``."""
    if "^" not in line:
        return line, None
    m = BLOCK_ID_RE.search(line)
    if not m:
        return line, None
    return line[: m.start()].rstrip(), m.group(1)


def find_tags(scan: str) -> list[str]:
    """Tags written inline (``#tag``, ``#a/b``) in already-masked text."""
    out = []
    for m in TAG_RE.finditer(scan):
        tag = m.group(1).rstrip("/")
        if tag and not tag.isdigit():
            out.append(tag)
    return out


def normalize_tag(tag: str) -> str:
    """A tag as stored: no leading '#', surrounding space removed."""
    return tag.strip().lstrip("#").strip()


def _split_target(raw: str) -> tuple[str, str | None, str | None]:
    target, _, sub = raw.partition("#")
    heading = block = None
    if sub:
        if sub.startswith("^"):
            block = sub[1:].strip() or None
        else:
            heading = sub.strip() or None
    return target.strip(), heading, block


def find_links(scan: str, original: str, line: int) -> list[Link]:
    """Concept links and embeds in one line; positions come from the masked scan."""
    out: list[Link] = []
    if "[" not in scan:
        return out
    for m in WIKILINK_RE.finditer(scan):
        raw = original[m.start(2) : m.end(2)]
        inner, _, display = raw.partition("|")
        target, heading, block = _split_target(inner)
        out.append(
            Link(
                target=target,
                line=line,
                heading=heading,
                block=block,
                display=display.strip() or None,
                embed=bool(m.group(1)),
            )
        )
    for m in MDLINK_RE.finditer(scan):
        dest = original[m.start(3) : m.end(3)].strip("<>").strip()
        if URL_SCHEME_RE.match(dest) or dest.startswith("//"):
            continue
        target, heading, block = _split_target(unquote(dest))
        out.append(
            Link(
                target=target,
                line=line,
                heading=heading,
                block=block,
                display=original[m.start(2) : m.end(2)] or None,
                markdown=True,
                embed=bool(m.group(1)),
            )
        )
    return out


def is_media(link: Link) -> bool:
    """True for an embed or image whose target is a picture, not a note."""
    ext = link.target.rsplit(".", 1)[-1].lower() if "." in link.target else ""
    return ext in IMAGE_EXTENSIONS


def is_concept(link: Link) -> bool:
    """True for a link that names a note (wikilink or a Markdown link to ``.md``)."""
    if not link.target or is_media(link):
        return False
    if link.markdown:
        return link.target.lower().endswith(".md")
    ext = link.target.rsplit(".", 1)[-1].lower() if "." in link.target else ""
    # "[[paper.pdf]]" names an attachment, not a concept; dots in names are fine.
    return ext in ("", "md") or " " in ext or len(ext) > 4


def normalize_question(text: str) -> str:
    """The form of a question used for fingerprints: case, width and space folded."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\s+", " ", text).strip()
    return text.rstrip(" ?.!:")


def fingerprint(kind: str, direction: str, question: str, cloze: int | None) -> str:
    """A card's content fingerprint: kind, direction, normalized question, cloze number."""
    key = f"{kind}\x1f{direction}\x1f{cloze or ''}\x1f{normalize_question(question)}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=10).hexdigest()
