"""The ``mlsys-srs`` command line: the app, its global options, errors as one line, exit codes.

Each group of commands is a module of this package with a module-level Typer
app (``notes``, ``review``, ``stats``, ``report``, ``export``), added here with
``add_typer``; what they share lives in ``context``. Commands import what they
need inside their bodies so that ``mlsys-srs due`` never pays for the Anki
exporter or the Markdown renderer.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ..errors import SrsError
from . import export_commands as export
from . import history_commands as history
from . import import_commands as imports
from . import insight_commands as stats
from . import notes_commands as notes
from . import report_command as report
from . import schedule_commands as schedule
from . import serve_command as serve
from . import study_commands as review
from . import workload_commands as workload
from .context import State, err_console


def _error(message: str, code: int = 1) -> typer.Exit:
    from rich.text import Text

    err_console().print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    return typer.Exit(code)


def _db_path(ctx: Any) -> Path | None:
    obj = ctx.find_root().obj
    cfg = getattr(obj, "_config", None)
    return getattr(cfg, "db", None) or getattr(obj, "db", None)


class _Group(TyperGroup):
    """Turns any expected failure of a command into one clear line and an exit code.

    ``SrsError`` carries its own message. The failures no command can prevent
    (a database that fails mid-command: read-only, damaged, a full disk; a
    file system error) become one line too, naming the file where it is known.
    """

    def invoke(self, ctx: Any) -> Any:
        import sqlite3

        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _quiet_broken_pipe()
            raise typer.Exit(141) from None  # as a shell reports SIGPIPE
        except SrsError as exc:
            raise _error(str(exc), exc.exit_code) from None
        except sqlite3.Error as exc:
            from ..app.workspace import describe_db_error

            raise _error(str(describe_db_error(_db_path(ctx) or Path("the database"), exc))) from None
        except OSError as exc:
            from ..core.fmt import display_path

            where = f"{display_path(exc.filename)}: " if exc.filename else ""
            raise _error(f"{where}{exc.strerror or exc}") from None
        except KeyboardInterrupt:
            err_console().print("interrupted")
            raise typer.Exit(130) from None


def _typer() -> typer.Typer:
    """The app's root, without commands (``app``, and ``main``'s app of one command)."""
    return typer.Typer(
        cls=_Group,
        name="mlsys-srs",
        help=(
            "Spaced repetition for your ML-systems notes.\n\n"
            "Reads the Q/A blocks, clozes and concept links of a folder of Markdown notes "
            "(an Obsidian vault works as it is), keeps them in a SQLite review database, "
            "schedules them with FSRS and reviews them in the terminal.\n\n"
            "Start with:  mlsys-srs sync   then   mlsys-srs review"
        ),
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )


app = _typer()


def _flags_without_type() -> None:
    """Help lists flags (``--json``) without a ``<bool>`` type: a flag takes no value."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_srs", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) or getattr(self, "is_bool_flag", False):
            return None
        return shown(self, ctx)

    display_type_rich._srs = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_without_type()


def _plain_coercion() -> None:
    """Coerce plain option values (text, paths, numbers; optional or repeated) without pydantic.

    typer 0.26 and later check every option through a pydantic ``TypeAdapter``: importing
    pydantic and building the adapters costs about 90 ms of every command, more than a third
    of a warm ``sync``. An integer with bounds (``min=``/``max=``, as ``review --limit`` and
    ``stats --days`` have) is read and checked here as pydantic reads it, with its messages.
    Any other constraint (a float's bounds, ``clamp``, path checks, a parser, a choice, a flag
    given a value) still goes through typer's own coercion, and a typer without this machinery
    is left alone.
    """
    try:
        from typer import core
        from typer._coercion import RuntimeParam
    except ImportError:
        return
    build = getattr(core, "build_runtime_param", None)
    if build is None or getattr(build, "_srs", False):
        return
    import re
    import types
    import typing
    from dataclasses import dataclass

    def text(value: Any) -> str:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

    def flag(value: Any) -> bool:
        if not isinstance(value, str):
            return bool(value)
        word = value.strip().lower()
        if word in ("", "0", "false", "f", "no", "n", "off"):
            return False
        if word in ("1", "true", "t", "yes", "y", "on"):
            return True
        raise ValueError(value)

    converters: dict[Any, Any] = {str: text, Path: Path, int: int, float: float, bool: flag}
    numbers = {int: "integer", float: "number", bool: "boolean"}

    integer = re.compile(r"([+-]?[0-9]+(?:_[0-9]+)*)(?:\.0+)?")

    def bounded_int(value: Any) -> int:
        """An integer as pydantic's lax mode reads one (``" 12"``, ``"1_000"``, ``"3.0"``; not ``"3.5"``)."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        m = integer.fullmatch(value.strip()) if isinstance(value, str) else None
        if m is None:
            raise ValueError("Input should be a valid integer, unable to parse string as an integer")
        return int(m.group(1))

    @dataclass(frozen=True)
    class BoundedIntParam(RuntimeParam):
        """An integer option with ``min=``/``max=``: typer's pydantic check and its messages."""

        low: int | None = None
        high: int | None = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                n = bounded_int(value)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), ctx=ctx, param=param) from None
            if self.high is not None and not n <= self.high:
                raise typer.BadParameter(
                    f"Input should be less than or equal to {self.high}", ctx=ctx, param=param
                )
            if self.low is not None and not n >= self.low:
                raise typer.BadParameter(
                    f"Input should be greater than or equal to {self.low}", ctx=ctx, param=param
                )
            return n

    @dataclass(frozen=True)
    class PlainParam(RuntimeParam):
        convert: Any = text
        kind: Any = str

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                if isinstance(value, (list, tuple)):
                    return [self.convert(v) for v in value]
                return self.convert(value)
            except (TypeError, ValueError):
                raise typer.BadParameter(
                    f"{value!r} is not a valid {numbers.get(self.kind, 'value')}.", ctx=ctx, param=param
                ) from None

    def unwrapped(annotation: Any) -> tuple[Any, bool]:
        """The plain type under ``X | None`` and ``list[X]`` (None when not plain), and whether listed."""
        listed = False
        for _ in range(3):
            origin = typing.get_origin(annotation)
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if origin in (typing.Union, types.UnionType) and len(args) == 1:
                annotation = args[0]
            elif origin is list and len(args) == 1 and not listed:
                annotation, listed = args[0], True
            else:
                break
        return (annotation if annotation in converters else None), listed

    def plain(info: Any, kind: Any) -> bool:
        if any(getattr(info, k, None) is not None for k in ("parser", "click_type", "min", "max")):
            return False
        if getattr(info, "clamp", False):
            return False
        if kind is Path:
            return (
                not any(getattr(info, k, False) for k in ("exists", "writable", "resolve_path", "allow_dash"))
                and all(getattr(info, k, True) for k in ("file_okay", "dir_okay", "readable"))
                and getattr(info, "path_type", None) is None
            )
        return True

    def bounded(info: Any) -> bool:
        """Only ``min=`` and ``max=``, both whole numbers (or unset), on an integer."""
        if any(getattr(info, k, None) is not None for k in ("parser", "click_type")):
            return False
        if getattr(info, "clamp", False):
            return False
        bounds = [getattr(info, k, None) for k in ("min", "max")]
        return any(b is not None for b in bounds) and all(
            b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in bounds
        )

    def build_runtime_param(descriptor: Any) -> Any:
        kind, listed = unwrapped(descriptor.annotation)
        info = descriptor.parameter_info
        if (
            kind is int
            and not listed
            and bounded(info)
            and getattr(descriptor, "file_annotation", None) is None
        ):
            return BoundedIntParam(
                parameter_info=info, annotation=descriptor.annotation, low=info.min, high=info.max
            )
        if kind is None or getattr(descriptor, "file_annotation", None) is not None or not plain(info, kind):
            return build(descriptor)
        return PlainParam(
            parameter_info=info, annotation=descriptor.annotation, convert=converters[kind], kind=kind
        )

    build_runtime_param._srs = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param  # type: ignore[attr-defined]


_plain_coercion()


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"mlsys-srs {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
    vault: Annotated[
        Path | None,
        typer.Option(
            "--vault",
            help="Notes folder (env MLSYS_SRS_VAULT; default ./notes, else the nearest folder at or above this one with .obsidian/ or .mlsys-srs/).",
            show_default=False,
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help=(
                "Review database file (env MLSYS_SRS_DB; default the vault's own, chosen by its id, in the user data folder: see `info`)."
            ),
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Config file, TOML (env MLSYS_SRS_CONFIG; default in the user config folder, see `info`).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Global options come before the command: mlsys-srs --vault ~/notes review."""
    ctx.obj = State(vault=vault, db=db, config_path=config)


_GROUPS = (
    notes.app,
    review.app,
    schedule.app,
    workload.app,
    stats.app,
    history.app,
    report.app,
    serve.app,
)
for _group in _GROUPS:
    app.add_typer(_group)
app.add_typer(export.app, name="export")
app.add_typer(imports.app, name="import")

_GLOBAL_VALUES = ("--vault", "--db", "--config")
"""The global options that take a value (``main_options``)."""


def _one_command(args: list[str]) -> typer.Typer | None:
    """The app with only the command ``args`` name, when it is one of the top-level commands.

    typer builds every command's options before it runs one (inspecting 58 signatures, ~15 ms
    of each run); the command line names one. Anything else (help, ``--version``, completion,
    a group such as ``export``, an unknown name) gets the whole app, so help, completion and
    "no such command" read as before.
    """
    import os

    if any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return None
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] in _GLOBAL_VALUES:
            i += 2
        elif args[i].partition("=")[0] in _GLOBAL_VALUES:
            i += 1
        else:
            return None  # --help, --version, --install-completion, or a mistake for click to name
    if i >= len(args):
        return None
    for group in _GROUPS:
        for info in group.registered_commands:
            callback = info.callback
            name = info.name or (callback.__name__.lower().replace("_", "-") if callback else None)
            if name == args[i]:
                one = _typer()
                one.callback()(main_options)
                one.registered_commands.append(info)
                return one
    return None


def _quiet_broken_pipe() -> None:
    """The reader of our output went away (``mlsys-srs cards | head``): say nothing more.

    Python would complain while flushing stdout at exit; point it at /dev/null instead.
    """
    import os
    import sys

    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main() -> None:
    """Console-script entry point."""
    import sys

    try:
        (_one_command(sys.argv[1:]) or app)()
    except BrokenPipeError:  # while printing --help, before a command runs
        _quiet_broken_pipe()
        raise SystemExit(141) from None
