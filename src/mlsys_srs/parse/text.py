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
# A tag's name (after the '#'): no whitespace or punctuation but '/', '-' and '_'.
TAG_NAME_RE = re.compile(r"[^\s#!\"$%&'()*+,.:;<=>?@\[\]^`{|}~\\]+")
# A tag starts after whitespace or line start; Obsidian forbids all-digit tags.
TAG_RE = re.compile(r"(?:(?<=\s)|^)#(" + TAG_NAME_RE.pattern + ")")
# The target of a wikilink can hold no bracket, so each "[[" scans only up to the next bracket.
WIKILINK_RE = re.compile(r"(!?)\[\[([^\[\]\n]+?)\]\]")
# Link text holds no bracket and the destination no unbalanced parenthesis (one level of
# "(...)" is allowed, as in "foo(1).md"): every start position then scans only up to the
# next bracket or parenthesis, which keeps a line of 100 KB of "[" or "](" linear.
MDLINK_RE = re.compile(r"(!?)\[([^\[\]\n]*)\]\((<[^<>\n]+>|(?:[^()\s]|\([^()\s]*\))+)(?:\s+\"[^\"\n]*\")?\)")
URL_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_BACKTICK_RUN_RE = re.compile(r"`+")
_NOT_NEWLINE_RE = re.compile(r"[^\n]")
_LINE_BREAK_RE = re.compile(r"\r\n?|\n")


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """The lines of ``text``, the one definition of "line" for the whole program.

    A line ends only at ``\n``, ``\r\n`` or a lone ``\r`` (each one break), as in
    editors. Every other character, including the ones ``str.splitlines`` also
    breaks at (``\f``, ``\v``, ``\x1c``-``\x1e``, U+0085, U+2028, U+2029), is
    ordinary text inside a line. Line ``k`` (1-based) of a card or diagnostic is
    ``split_lines(text)[k - 1]``.

    Without ``keepends`` the breaks are dropped and there is always one more line
    than breaks: ``split_lines("") == [""]``, ``split_lines("a\n") == ["a", ""]``.
    With ``keepends`` (for writers) each line keeps its break, ``"".join`` gives the
    text back, and a final break starts no further line, as with ``str.splitlines``.
    """
    if not keepends:
        if "\r" not in text:
            return text.split("\n")
        return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    starts = line_starts(text)
    bounds = [*starts[1:], len(text)]
    return [text[a:b] for a, b in zip(starts, bounds, strict=True) if a < b]


def line_starts(text: str) -> list[int]:
    """The offset in ``text`` where each line of ``split_lines(text)`` starts.

    ``len(line_starts(text)) == len(split_lines(text))``; the 1-based line of
    offset ``p`` is ``bisect.bisect_right(line_starts(text), p)``.
    """
    return [0, *(m.end() for m in _LINE_BREAK_RE.finditer(text))]


def blank(text: str) -> str:
    """Replace every character but newlines with a space, keeping positions."""
    if "\n" not in text:
        return " " * len(text)
    return _NOT_NEWLINE_RE.sub(" ", text)


def code_spans(line: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every inline code span in one line, backticks included.

    CommonMark's rule: a run of N backticks opens a span that the next run of
    exactly N backticks closes; a run with no such closer is literal text. Runs
    are found once and each closer is looked up by length, so a line of 100 KB
    of backticks takes linear time.
    """
    runs = [(m.start(), m.end()) for m in _BACKTICK_RUN_RE.finditer(line)]
    by_length: dict[int, list[int]] = {}
    for idx, (s, e) in enumerate(runs):
        by_length.setdefault(e - s, []).append(idx)
    # For each length, a cursor into its list of run indices; it only moves forward.
    cursor: dict[int, int] = dict.fromkeys(by_length, 0)
    spans: list[tuple[int, int]] = []
    idx = 0
    while idx < len(runs):
        s, e = runs[idx]
        length = e - s
        same = by_length[length]
        c = cursor[length]
        while c < len(same) and same[c] <= idx:
            c += 1
        cursor[length] = c
        if c < len(same):
            close = same[c]
            spans.append((s, runs[close][1]))
            idx = close + 1
        else:
            idx += 1
    return spans


def mask_inline_code(line: str) -> str:
    """Blank out inline code spans (backticks included) in one line."""
    if "`" not in line:
        return line
    spans = code_spans(line)
    return blank_spans(line, spans) if spans else line


def blank_spans(line: str, spans: list[tuple[int, int]]) -> str:
    """``line`` with each ``(start, end)`` of ``spans`` (in order, apart) blanked to spaces."""
    out: list[str] = []
    pos = 0
    for s, e in spans:
        out.append(line[pos:s])
        out.append(" " * (e - s))
        pos = e
    out.append(line[pos:])
    return "".join(out)


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
    if "[[" in scan:
        for m in WIKILINK_RE.finditer(scan):
            raw = original[m.start(2) : m.end(2)]
            inner, _, display = raw.partition("|")
            target, heading, block = _split_target(inner)
            out.append(Link(target, line, heading, block, display.strip() or None, False, bool(m.group(1))))
    if "](" in scan:
        for m in MDLINK_RE.finditer(scan):
            dest = original[m.start(3) : m.end(3)].strip("<>").strip()
            if URL_SCHEME_RE.match(dest) or dest.startswith("//"):
                continue
            target, heading, block = _split_target(unquote(dest))
            shown = original[m.start(2) : m.end(2)] or None
            out.append(Link(target, line, heading, block, shown, True, bool(m.group(1))))
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
    # NFKC leaves ASCII text as it is (and is the costly step).
    text = (text if text.isascii() else unicodedata.normalize("NFKC", text)).casefold()
    # str.split() splits at exactly the characters \s matches (str.isspace): runs become one space.
    text = " ".join(text.split())
    return text.rstrip(" ?.!:")


def fingerprint(kind: str, direction: str, question: str, cloze: int | None) -> str:
    """A card's content fingerprint: kind, direction, normalized question, cloze number."""
    key = f"{kind}\x1f{direction}\x1f{cloze or ''}\x1f{normalize_question(question)}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=10).hexdigest()
