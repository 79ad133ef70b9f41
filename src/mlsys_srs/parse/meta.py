"""Frontmatter: YAML (``---``) or TOML (``+++``) at the top of a note, read through python-frontmatter.

The handlers are passed to python-frontmatter explicitly (JSON detection is
off: a note that starts with ``{`` is an ordinary note). Only the handlers'
``detect``/``split`` and our own loading are used, never ``frontmatter.loads``,
which strips the text and so loses line numbers: the body's first line and
every diagnostic's line are computed here from offsets in the original text.

YAML is read with PyYAML's C safe loader when available, with a bound on
alias expansion: a document whose anchors and aliases expand beyond
``MAX_YAML_NODES`` nodes (a "billion laughs" alias bomb), nests deeper than
``MAX_YAML_DEPTH`` or refers to itself is refused with a diagnostic before any
Python object is built, and the note is read with empty frontmatter.
"""

from __future__ import annotations

import datetime as _dt
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import BaseHandler, YAMLHandler

from .model import Diagnostic

MAX_YAML_NODES = 10_000
MAX_YAML_DEPTH = 64
# libyaml's safe loader is ~10x faster than the pure-Python one; same results.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOML_LINE_RE = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_KEY_RE = re.compile(r"^[ \t]*[\"']?([A-Za-z0-9_-]+)[\"']?[ \t]*=", re.MULTILINE)


class FrontmatterTooLarge(ValueError):
    """A YAML document whose aliases expand too far, nest too deep or refer to themselves."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line  # 0-based line in the frontmatter text


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_expansion(root: Any, max_nodes: int = MAX_YAML_NODES, max_depth: int = MAX_YAML_DEPTH) -> int:
    """The number of nodes ``root`` stands for once every alias is expanded.

    Shared (aliased) nodes are counted once per reference, with memoization, so
    the check itself takes time linear in the document. Raises
    ``FrontmatterTooLarge`` past ``max_nodes`` or ``max_depth``, or on a cycle.
    """
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        line = node.start_mark.line if node.start_mark is not None else 0
        if done:
            open_nodes.discard(key)
            total = 1 + sum(size[id(c)] for c in _children(node))
            if total > max_nodes:
                raise FrontmatterTooLarge(
                    f"frontmatter too large after alias expansion (more than {max_nodes} values)", line
                )
            size[key] = total
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise FrontmatterTooLarge("frontmatter refers to itself through an alias", line)
        if depth > max_depth:
            raise FrontmatterTooLarge(f"frontmatter nested deeper than {max_depth} levels", line)
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(node) if id(c) not in size)
    return size[id(root)]


class BoundedYAMLHandler(YAMLHandler):
    """python-frontmatter's YAML handler with a bound on alias expansion.

    The opening line is exactly ``---`` and the closing line ``---`` or ``...``
    (trailing whitespace allowed), as before this handler existed.
    """

    FM_BOUNDARY = re.compile(r"^(?:---|\.\.\.)[^\S\n]*$", re.MULTILINE)

    def detect(self, text: str) -> bool:
        return text.startswith("---") and self.FM_BOUNDARY.match(text) is not None

    def load(self, fm: str, **kwargs: object) -> Any:
        return self.load_with_lines(fm)[0]

    def load_with_lines(self, fm: str) -> tuple[Any, dict[str, int]]:
        """The data and, for each top-level key, its 0-based line in ``fm``."""
        simple = load_simple_yaml(fm)
        if simple is not None:
            return simple
        return self.load_with_pyyaml(fm)

    def load_with_pyyaml(self, fm: str) -> tuple[Any, dict[str, int]]:
        """``load_with_lines`` through PyYAML, whatever the document."""
        loader = _YAML_LOADER(fm)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            # Without an alias the nodes form a tree no larger than the text, and every
            # level of nesting takes two characters: short alias-free frontmatter is safe.
            if "*" in fm or len(fm) > 2 * MAX_YAML_DEPTH:
                check_expansion(node)
            lines: dict[str, int] = {}
            if isinstance(node, yaml.MappingNode):
                for k, _ in node.value:
                    if isinstance(k, yaml.ScalarNode):
                        lines.setdefault(str(k.value), k.start_mark.line)
            return loader.construct_document(node), lines
        finally:
            loader.dispose()


# One ``key: value`` or ``key: [item, item]`` line whose words (items of words) start with a letter
# and hold no character YAML gives a meaning inside a plain scalar (no quote, colon, hash, bracket,
# comma...).
_SIMPLE_YAML_LINE = re.compile(
    r"([A-Za-z][A-Za-z0-9_]*):"
    r"(?: ([A-Za-z][A-Za-z0-9_ ./-]*[A-Za-z0-9_./-]|[A-Za-z])"
    r"| \[((?:[A-Za-z](?:[A-Za-z0-9_ ./-]*[A-Za-z0-9_./-])?)(?:, [A-Za-z](?:[A-Za-z0-9_ ./-]*[A-Za-z0-9_./-])?)*)?\])\Z"
)
_SIMPLE_YAML_MAX = 4096
_STR_TAG = "tag:yaml.org,2002:str"


def load_simple_yaml(fm: str) -> tuple[dict[str, Any], dict[str, int]] | None:
    """The data and key lines of a frontmatter made only of ``key: word words`` and
    ``key: [word, word]`` lines, as PyYAML reads them; None for any other document.

    Most notes' frontmatter is such a flat mapping of strings, which PyYAML takes ~15 us
    to compose and construct. Every key and scalar here is a plain scalar that PyYAML's
    own resolver types as a string (``yes``, ``null``, ``e5``... are not, and go to PyYAML),
    a repeated key goes to PyYAML, and no alias can occur (no ``*`` or ``&``).
    """
    if len(fm) > _SIMPLE_YAML_MAX:
        return None
    lines = fm.split("\n")
    if len(lines) < 3 or lines[0] or lines[-1]:
        return None
    data: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    resolve = _RESOLVER.resolve
    for number in range(1, len(lines) - 1):
        m = _SIMPLE_YAML_LINE.match(lines[number])
        if m is None:
            return None
        key, scalar, items = m.groups()
        if key in data or resolve(yaml.ScalarNode, key, (True, False)) != _STR_TAG:
            return None
        if scalar is not None:
            if resolve(yaml.ScalarNode, scalar, (True, False)) != _STR_TAG:
                return None
            data[key] = scalar
        else:
            values = items.split(", ") if items else []
            for value in values:
                if resolve(yaml.ScalarNode, value, (True, False)) != _STR_TAG:
                    return None
            data[key] = values
        key_lines[key] = number
    return data, key_lines


_RESOLVER = yaml.resolver.Resolver()


class TomllibHandler(BaseHandler):
    """TOML frontmatter between ``+++`` lines, read with the standard library's ``tomllib``.

    python-frontmatter's own TOMLHandler needs the unmaintained ``toml`` package;
    this one only reads (``export`` is not supported).
    """

    FM_BOUNDARY = re.compile(r"^\+\+\+[^\S\n]*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "+++"

    def load(self, fm: str, **kwargs: object) -> Any:
        return tomllib.loads(fm)

    def load_with_lines(self, fm: str) -> tuple[Any, dict[str, int]]:
        data = tomllib.loads(fm)
        lines: dict[str, int] = {}
        for m in _TOML_KEY_RE.finditer(fm):
            if fm.startswith("[", fm.rfind("\n", 0, m.start()) + 1):
                break
            lines.setdefault(m.group(1), fm.count("\n", 0, m.start()))
        return data, lines

    def export(self, metadata: dict[str, object], **kwargs: object) -> str:
        raise NotImplementedError("TOML frontmatter is read-only")


YAML_HANDLER = BoundedYAMLHandler()
TOML_HANDLER = TomllibHandler()
HANDLERS: tuple[BaseHandler, ...] = (YAML_HANDLER, TOML_HANDLER)


@dataclass
class Frontmatter:
    """The frontmatter of one note."""

    data: dict[str, Any] = field(default_factory=dict)
    body_start: int = 0  # 0-based index of the note's first body line
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (_dt.date, _dt.time)):
        return "a date"
    return type(value).__name__


def _is_text(value: Any) -> bool:
    return isinstance(value, (str, int, float, _dt.date, _dt.time)) and not isinstance(value, bool)


def _check_types(data: dict[str, Any], key_line: Any) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """Drop values of the wrong type for the keys the parser reads; report each by key."""
    clean = dict(data)
    problems: list[tuple[int, str]] = []
    for key in ("title", "domain"):
        if key in clean and clean[key] is not None and not _is_text(clean[key]):
            problems.append(
                (key_line(key), f"frontmatter '{key}' must be text, not {_type_name(clean[key])}")
            )
            del clean[key]
    for key in ("tags", "tag", "aliases", "alias"):
        value = clean.get(key)
        if value is None or isinstance(value, str):
            continue
        if isinstance(value, list) and all(_is_text(v) or v is None for v in value):
            continue
        if isinstance(value, list):
            bad = next(v for v in value if not (_is_text(v) or v is None))
            problems.append(
                (key_line(key), f"frontmatter '{key}' must be a list of strings, but holds {_type_name(bad)}")
            )
            clean[key] = [v for v in value if _is_text(v)]
        else:
            problems.append(
                (
                    key_line(key),
                    f"frontmatter '{key}' must be a string or a list of strings, not {_type_name(value)}",
                )
            )
            del clean[key]
    if "srs" in clean and clean["srs"] is not None and not isinstance(clean["srs"], bool):
        problems.append(
            (key_line("srs"), f"frontmatter 'srs' must be true or false, not {_type_name(clean['srs'])}")
        )
        del clean["srs"]
    return clean, problems


def read_frontmatter(text: str, path: str) -> Frontmatter:
    """Split and load the frontmatter of ``text`` (BOM removed, line breaks normalized to ``\\n``).

    No frontmatter, or an opening line without a closing one, gives empty data
    and ``body_start == 0``. Invalid or hostile frontmatter gives empty data, a
    ``path:line`` diagnostic, and the body still starts after the closing line.
    """
    handler = frontmatter.detect_format(text, HANDLERS)
    if handler is None:
        return Frontmatter()
    try:
        fm, content = handler.split(text)
    except ValueError:  # no closing line: not frontmatter
        return Frontmatter()
    # ``fm`` starts right after the opening delimiter, on line 0 of the note, so a
    # 0-based line inside ``fm`` is the 0-based line of the note.
    body_start = text.count("\n", 0, len(text) - len(content)) + 1
    last_line = body_start  # 1-based line of the closing delimiter
    out = Frontmatter(body_start=body_start)
    fmt = "TOML" if handler is TOML_HANDLER else "YAML"

    def report(line: int, message: str, code: str = "frontmatter") -> None:
        out.diagnostics.append(Diagnostic(path, min(max(line, 1), last_line), message, code=code))

    assert isinstance(handler, (BoundedYAMLHandler, TomllibHandler))
    try:
        data, key_lines = handler.load_with_lines(fm)
    except FrontmatterTooLarge as exc:
        report(exc.line + 1, str(exc), "yaml")
        return out
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["error"])[0]
        report(mark.line + 1 if mark is not None else 1, f"invalid YAML frontmatter: {problem}", "yaml")
        return out
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_LINE_RE.search(msg)
        line = int(m.group(1)) if m else last_line
        problem = _TOML_LINE_RE.sub("", msg).replace("(at end of document)", "").strip()
        report(line, f"invalid TOML frontmatter: {problem}", "toml")
        return out
    except RecursionError:
        report(2, f"invalid {fmt} frontmatter: nested too deeply", fmt.lower())
        return out
    except (ValueError, TypeError, OverflowError) as exc:
        report(2, f"invalid {fmt} frontmatter: {exc}", fmt.lower())
        return out
    if data is None:
        return out
    if not isinstance(data, dict):
        report(1, f"frontmatter is not a {fmt} mapping", fmt.lower())
        return out
    clean, problems = _check_types(data, lambda key: key_lines.get(key, 0) + 1)
    for line, message in problems:
        report(line, message)
    out.data = clean
    return out
