"""How commands print: styled pieces that can never be read as markup, and one layout rule for tables.

- ``styled`` builds a line from ``(text, style)`` pieces. The consoles have markup off, so a
  ``[bold]`` in a note, a path or our own string is always text; styles come only from here
  (or from ``Text`` objects) and never from brackets in a string.
- ``fields`` prints ``key  value`` lines whose values (paths above all) are never cut: a value
  wider than the terminal continues on the next row, as one logical line a person can copy.
- ``records`` prints a list as aligned columns when every cell fits, and otherwise as one
  record per entry (the leading figure and the name whole on the first line, the other
  columns under it): no cell is ever wrapped inside a word or cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.fmt import inert

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

Piece = str | tuple[str, str]
"""Plain text, or ``(text, style)``."""


def styled(*pieces: Piece) -> Text:
    """One line of styled text; every piece is text (never markup), made safe for the terminal."""
    from rich.text import Text

    out = Text()
    for p in pieces:
        if isinstance(p, tuple):
            out.append(inert(p[0]), style=p[1])
        else:
            out.append(inert(p))
    return out


def fields(out: Console, rows: Sequence[tuple[str, str]]) -> None:
    """``key  value`` lines: keys bold and aligned, values whole (never cut or wrapped by us)."""
    width = max((len(k) for k, _ in rows), default=0)
    for key, value in rows:
        out.print(styled((f"{key:<{width}}", "bold"), "  ", value), soft_wrap=True)


def records(
    out: Console,
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    name: int,
    right: Sequence[int] = (),
    name_last: bool = True,
) -> None:
    """A list of entries: aligned columns when they fit ``out.width``, one record per entry when not.

    Args:
        out: The console.
        title: A bold line above the list (None for none).
        headers: The column headers.
        rows: The cells, as text.
        name: The column that names the entry (a note path): never cut, and last in the column
            layout when ``name_last`` (a long path then ends the line instead of pushing figures on).
        right: Columns aligned to the right (figures).
        name_last: Put the name column last (paths); off for short names that read best first.
    """
    if title:
        out.print(styled((title, "bold")), soft_wrap=True)
    if not rows:
        return
    order = [i for i in range(len(headers)) if i != name] + [name] if name_last else list(range(len(headers)))
    widths = {i: max(len(headers[i]), *(len(r[i]) for r in rows)) for i in order}
    total = sum(widths.values()) + 2 * (len(order) - 1) + 1
    if total <= out.width:
        head = styled()
        head.append(" ")
        for k, i in enumerate(order):
            cell = headers[i].rjust(widths[i]) if i in right else headers[i].ljust(widths[i])
            head.append(("  " if k else "") + cell, style="bold")
        head.rstrip()
        out.print(head, soft_wrap=True)
        out.print(styled(("─" * min(out.width, total), "dim")), soft_wrap=True)
        for r in rows:
            line = " " + "  ".join(
                (r[i].rjust(widths[i]) if i in right else r[i].ljust(widths[i])) for i in order
            )
            out.print(styled(line.rstrip()), soft_wrap=True)
        return
    lead = [0] if name != 0 and 0 in right else []  # a rank or a line number goes before the name
    rest = [i for i in range(len(headers)) if i != name and i not in lead]
    for r in rows:
        first = "  ".join([*(r[i] for i in lead), r[name]])
        out.print(styled(" ", first), soft_wrap=True)
        detail = " · ".join(f"{headers[i]} {r[i]}" for i in rest if r[i])
        if detail:
            pad = " " * min(8, 1 + sum(len(r[i]) + 2 for i in lead))
            # Prose: wrapped at words under the name, with the same indent.
            for part in styled((detail, "dim")).wrap(out, max(20, out.width - len(pad))):
                part.rstrip()
                row = styled(pad)
                row.append_text(part)
                out.print(row, soft_wrap=True)
