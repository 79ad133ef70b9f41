"""The reference docs keep up with the code: every command, option and config key is documented.

Walks the click command tree that Typer builds from ``mlsys_srs.cli.app`` (so it
works whether the CLI is a module or a package) and checks ``docs/cli.md``; checks
that every config key of the config dataclasses is in its Configuration section,
and that the README links both reference documents.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer

from mlsys_srs import config as config_module
from mlsys_srs.cli import app

REPO = Path(__file__).resolve().parent.parent
CLI_MD = REPO / "docs" / "cli.md"
FORMAT_MD = REPO / "docs" / "format.md"
README = REPO / "README.md"
PROGRAM = "mlsys-srs"

# A command's section starts at a heading naming it in backticks: "## `mlsys-srs sync`".
COMMAND_HEADING_RE = re.compile(r"^(#{2,4}) `(mlsys-srs(?: [a-z][a-z0-9-]*)*)`", re.MULTILINE)


def _walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every visible command of the tree, root first, as ``(path, command)``."""
    if getattr(cmd, "hidden", False):
        return
    yield path, cmd
    # A group has a ``commands`` dict (click.Group, also Typer's vendored click).
    for name, sub in sorted((getattr(cmd, "commands", None) or {}).items()):
        yield from _walk(sub, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = dict(_walk(ROOT, ()))


def _name(path: tuple[str, ...]) -> str:
    return " ".join((PROGRAM, *path))


def _options(cmd: Any) -> list[Any]:
    return [p for p in cmd.params if p.param_type_name == "option" and not getattr(p, "hidden", False)]


def _long_flag(param: Any) -> str:
    """The option's long flag (``--write-ids``), else its only flag."""
    flags = [*param.opts, *getattr(param, "secondary_opts", [])]
    longs = [f for f in flags if f.startswith("--")]
    return longs[0] if longs else flags[0]


def _sections() -> dict[str, str]:
    """docs/cli.md split into ``{command name: its section text}``."""
    text = CLI_MD.read_text(encoding="utf-8")
    marks = list(COMMAND_HEADING_RE.finditer(text))
    out: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        # The Configuration section and later ones are not part of the last command.
        nxt = re.search(r"^## (?!`)", text[m.end() : end], re.MULTILINE)
        if nxt:
            end = m.end() + nxt.start()
        out[m.group(2)] = text[m.start() : end]
    return out


IDS = [_name(p) for p in COMMANDS]


def test_the_tree_is_walked() -> None:
    # Guards against a walk that silently finds nothing (e.g. an API change).
    assert ("sync",) in COMMANDS and ("check",) in COMMANDS
    assert len(COMMANDS) > 5


@pytest.mark.parametrize("path", list(COMMANDS), ids=IDS)
def test_command_is_documented(path: tuple[str, ...]) -> None:
    name = _name(path)
    assert name in _sections(), f"docs/cli.md has no section headed `{name}`"


@pytest.mark.parametrize("path", list(COMMANDS), ids=IDS)
def test_command_options_are_documented(path: tuple[str, ...]) -> None:
    name = _name(path)
    section = _sections().get(name, "")
    # Each option needs a row in the section's option table: "| `-q`, `--quiet` | help |".
    missing = [
        _long_flag(p)
        for p in _options(COMMANDS[path])
        if not re.search(r"^\|[^|\n]*`" + re.escape(_long_flag(p)) + r"[ `]", section, re.MULTILINE)
    ]
    assert not missing, f"docs/cli.md, section `{name}`, has no option-table row for: {', '.join(missing)}"


@pytest.mark.parametrize("path", list(COMMANDS), ids=IDS)
def test_command_has_help(path: tuple[str, ...]) -> None:
    cmd = COMMANDS[path]
    assert (cmd.help or getattr(cmd, "short_help", None) or "").strip(), f"`{_name(path)}` has no help text"


@pytest.mark.parametrize("path", list(COMMANDS), ids=IDS)
def test_command_options_have_help(path: tuple[str, ...]) -> None:
    missing = [_long_flag(p) for p in _options(COMMANDS[path]) if not (p.help or "").strip()]
    assert not missing, f"`{_name(path)}`: options without help text: {', '.join(missing)}"


# -- configuration --------------------------------------------------------------------


def _config_keys() -> list[str]:
    """Every config-file key, ``vault`` or ``schedule.new_per_day``, from the settings registry."""
    return [s.name for s in config_module.SETTINGS]


def _configuration_section() -> str:
    text = CLI_MD.read_text(encoding="utf-8")
    m = re.search(r"^## Configuration\b.*?(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert m, "docs/cli.md has no '## Configuration' section"
    return m.group(0)


@pytest.mark.parametrize("key", _config_keys())
def test_config_key_is_documented(key: str) -> None:
    assert f"`{key}`" in _configuration_section(), f"docs/cli.md, Configuration, does not list `{key}`"


def test_config_keys_are_found() -> None:
    keys = _config_keys()
    assert {"vault", "db", "ignore", "schedule.new_per_day", "export.root_deck"} <= set(keys)


def _default_text(s: config_module.Setting) -> str:
    """A setting's default as docs/cli.md shows it (TOML, in backticks, or a description)."""
    d = s.default
    if s.kind == "path" and s.key == "db":
        return str(d)
    if s.kind == "bool":
        text = "true" if d else "false"
    elif s.kind == "durations":
        text = "[" + ", ".join(f'"{_duration_text(x)}"' for x in d) + "]"
    elif s.kind in ("globs", "floats"):
        text = "[" + ", ".join(f'"{x}"' if isinstance(x, str) else str(x) for x in d) + "]"
    elif s.kind == "str":
        text = f'"{d}"'
    else:
        text = str(d)
    return f"`{text}`"


def _duration_text(step: timedelta) -> str:
    secs = int(step.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def _docs_rows() -> list[str]:
    """The rows of the settings table of docs/cli.md, one per registered key."""
    return [f"| `{s.name}` | {_default_text(s)} | {s.help} |" for s in config_module.SETTINGS]


@pytest.mark.parametrize("row", _docs_rows(), ids=_config_keys())
def test_config_table_row_matches_the_registry(row: str) -> None:
    # The row's default and help are the registry's, word for word.
    assert row in _configuration_section().splitlines(), f"docs/cli.md, Configuration, lacks the row {row}"


def test_registry_and_config_dataclasses_agree() -> None:
    """Each section's dataclass has a field per registered key, with the registered default."""
    sections = {
        "schedule": config_module.ScheduleConfig(),
        "review": config_module.ReviewConfig(),
        "stats": config_module.StatsConfig(),
        "export": config_module.ExportConfig(),
    }
    for name, obj in sections.items():
        fields = {f.name for f in dataclasses.fields(obj) if f.compare}
        registered = {s.key for s in config_module.SETTINGS if s.section == name}
        assert fields == registered, name
        for s in config_module.SETTINGS:
            if s.section == name:
                assert getattr(obj, s.key) == s.default, s.name


# -- README -----------------------------------------------------------------------------


@pytest.mark.parametrize("doc", ["docs/format.md", "docs/cli.md"])
def test_readme_links_the_reference_docs(doc: str) -> None:
    assert (REPO / doc).is_file(), f"{doc} is missing"
    readme = README.read_text(encoding="utf-8")
    assert re.search(r"\]\(\.?/?" + re.escape(doc) + r"(?:#[^)]*)?\)", readme), (
        f"README.md does not link {doc}"
    )


def _overview() -> str:
    text = CLI_MD.read_text(encoding="utf-8")
    return text[: text.index("Conventions shared by all commands")]


@pytest.mark.parametrize(
    "path",
    [p for p, cmd in COMMANDS.items() if p and not getattr(cmd, "commands", None)]
    + [p for p, cmd in COMMANDS.items() if len(p) == 1 and getattr(cmd, "invoke_without_command", False)],
    ids=lambda p: " ".join(p),
)
def test_every_command_is_in_the_overview_table(path: tuple[str, ...]) -> None:
    # The table at the top of docs/cli.md lists every command and sub-command (a group that runs
    # on its own, like `backup`, is listed by its name).
    name = " ".join(path)
    if len(path) == 2 and path[0] == "backup":
        name = "backup"
    assert f"[`{name}`](#" in _overview(), f"docs/cli.md's command table does not list `{name}`"
