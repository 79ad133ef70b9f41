"""Writing the vault's shared settings (``.mlsys-srs/config.toml``): a table or one key, nothing else.

``plan`` writes its ``[plan]`` table and ``break`` the ``[schedule] breaks`` list there, so they
travel with the vault and every device schedules alike. The file may hold a person's comments
and layout: only the lines of the table (or the one key) are rewritten, the rest is kept byte for
byte, and the result is parsed again and compared with what was meant (every other value
unchanged) before it replaces the file; a layout this cannot edit safely (a multi-line value, a
dotted key) is refused with a message that says what to write by hand. Values are TOML strings,
numbers, booleans and lists of those.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .layout import CONFIG_FILE, checked_meta_dir, inside_vault

_HEADER_RE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(?:#.*)?$")


def toml_value(value: Any) -> str:
    """A value as TOML: a string (JSON's escapes are TOML's), a number, a boolean or a list of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _blocks(lines: list[str]) -> list[tuple[str | None, int, int]]:
    """``(table name, first line, end)`` of each table, the top-level keys first (name None)."""
    out: list[tuple[str | None, int, int]] = []
    name: str | None = None
    start = 0
    for i, line in enumerate(lines):
        array = line.lstrip().startswith("[[")
        m = None if array else _HEADER_RE.match(line)
        if m is not None or array:
            out.append((name, start, i))
            name = m.group(1).strip() if m is not None else "[[array]]"
            start = i
    out.append((name, start, len(lines)))
    return out


def _read(vault: Path) -> tuple[Path, str, dict[str, Any]]:
    folder = checked_meta_dir(vault)
    path = folder / CONFIG_FILE
    if path.is_symlink() and not inside_vault(vault, path):
        raise ConfigError(f"{path}: leads outside the vault (a symlink); nothing is written there")
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the vault's settings ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return path, text, data


def _write(path: Path, text: str, expected: Mapping[str, Any], by_hand: str) -> None:
    try:
        got = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        got = None
    if got != expected:
        raise ConfigError(
            f"{path}: cannot update the vault's settings safely; write this by hand:\n{by_hand}"
        )
    try:
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the vault's settings ({exc.strerror})") from None


def set_vault_table(vault: Path, table: str, values: Mapping[str, Any] | None) -> Path:
    """Replace the ``[table]`` of the vault's settings with ``values`` (None or empty: remove it).

    Raises:
        ConfigError: the file cannot be read, written or safely edited.
    """
    path, text, data = _read(vault)
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    for name, start, end in _blocks(lines):
        if name == table:
            continue
        kept.extend(lines[start:end])
    body = "".join(kept).rstrip("\n")
    expected = {k: v for k, v in data.items() if k != table}
    block = ""
    if values:
        block = f"[{table}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items())
        expected[table] = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    new = body + "\n\n" + block if body and block else body + "\n" if body else block
    _write(path, new, expected, block or f"(remove the [{table}] table)")
    return path


def set_vault_key(vault: Path, table: str, key: str, value: Any) -> Path:
    """Set ``[table] key`` in the vault's settings (None: remove the key), keeping everything else.

    Raises:
        ConfigError: the file cannot be read, written or safely edited.
    """
    path, text, data = _read(vault)
    lines = text.splitlines(keepends=True)
    line = None if value is None else f"{key} = {toml_value(value)}\n"
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*=")
    out = list(lines)
    blocks = [b for b in _blocks(lines) if b[0] == table]
    if blocks:
        _, start, end = blocks[-1]
        found = [i for i in range(start, end) if key_re.match(lines[i])]
        if found:
            if line is None:
                del out[found[0]]
                if all(not x.strip() for x in out[start + 1 : end - 1]) and not any(
                    k != key for k in data.get(table, {})
                ):
                    del out[start : end - 1]  # the table held only this key: it goes too
            else:
                out[found[0]] = line
        elif line is not None:
            out.insert(start + 1, line)
    elif line is not None:
        body = "".join(out).rstrip("\n")
        out = [body + "\n\n" if body else "", f"[{table}]\n", line]
    expected = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    section = dict(expected.get(table, {}))
    if value is None:
        section.pop(key, None)
    else:
        section[key] = list(value) if isinstance(value, tuple) else value
    if section:
        expected[table] = section
    elif value is None:
        expected.pop(table, None)
    _write(path, "".join(out), expected, f"[{table}]\n{line or f'(remove {key})'}")
    return path
