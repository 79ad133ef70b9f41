"""The layout says the design: packages import only downwards, the root holds a handful of modules,
no two modules share a name, no module grows past about 800 lines, and the CLI reaches the
database only through the application layer."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

import mlsys_srs

PACKAGE = Path(mlsys_srs.__file__).parent

LAYERS: list[set[str]] = [
    {"__main__"},
    {"cli"},
    {"web"},  # a front end too; the CLI's `serve` command starts it
    {"app"},
    {"review", "insights", "anki", "importers"},
    {"render"},
    {"history"},
    {"scheduling"},
    {"sync"},
    {"store"},
    {"config"},
    {"vault"},
    {"parse"},
    {"core"},
    {"errors", "__init__"},
]
"""Front ends first, the foundations last: a package may import from its own layer's packages only
when they are itself, and from any layer below."""

ROOT_MODULES = {"__init__.py", "__main__.py", "errors.py", "config.py"}


def _rank(top: str) -> int:
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"{top}: a top-level package no layer names (add it to LAYERS)")


def _imports(path: Path) -> list[tuple[int, list[str]]]:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    pkg = parts if parts[-1] == "__init__" else parts[:-1]
    if pkg and pkg[-1] == "__init__":
        pkg = pkg[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
                if not node.module:  # from . import x: x is the module
                    for alias in node.names:
                        out.append((node.lineno, [*target, alias.name]))
                    continue
            elif node.module and node.module.split(".")[0] == "mlsys_srs":
                target = node.module.split(".")[1:]
            else:
                continue
            out.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mlsys_srs":
                    out.append((node.lineno, alias.name.split(".")[1:]))
    return out


def _top(parts: list[str]) -> str:
    if not parts:
        return "__init__"
    name = parts[0].removesuffix(".py")
    if not (PACKAGE / name).is_dir() and not (PACKAGE / f"{name}.py").is_file():
        return "__init__"  # a name of the package face (``__version__``)
    return name


def test_packages_import_only_downwards() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        src = _top(list(rel.parts))
        for line, target in _imports(path):
            dst = _top(target)
            if dst == src:
                continue
            if _rank(dst) <= _rank(src):
                offenders.append(f"{rel.as_posix()}:{line}: {src} imports {'.'.join(target)}")
    assert offenders == []


def test_the_cli_reaches_the_database_only_through_the_application_layer() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE).as_posix()}:{line}: {'.'.join(target)}"
        for path in sorted((PACKAGE / "cli").rglob("*.py"))
        for line, target in _imports(path)
        if target and target[0] in ("store", "sync")
    ]
    assert offenders == []


def test_the_root_holds_a_handful_of_modules() -> None:
    root = {p.name for p in PACKAGE.glob("*.py")}
    assert root == ROOT_MODULES


def test_no_two_modules_share_a_name() -> None:
    names = Counter(p.stem for p in PACKAGE.rglob("*.py") if p.stem not in ("__init__", "__main__"))
    assert [n for n, k in names.items() if k > 1] == []


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.relative_to(PACKAGE).as_posix()
)
def test_no_module_is_over_800_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 820


def test_the_typer_patches_still_apply() -> None:
    # cli/__init__ adjusts two typer internals (flags shown without a type; plain options coerced
    # without pydantic). typer is bounded in pyproject.toml; a release that moves either internal
    # fails here, loudly, instead of silently costing start-up time or changing --help.
    import typer.core

    import mlsys_srs.cli  # noqa: F401  (applies the patches)

    assert getattr(typer.core.TyperOption.display_type_rich, "_srs", False)
    assert getattr(typer.core.build_runtime_param, "_srs", False)  # type: ignore[attr-defined]
