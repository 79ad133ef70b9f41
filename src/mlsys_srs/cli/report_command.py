"""The ``report`` command: the progress report as one self-contained HTML page.

The page's data comes from ``report.report_data`` (the functions behind
``stats --json`` and ``graph --json``); this module parses options, writes the
file and opens it when asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .context import (
    DeckOpt,
    DomainOpt,
    NoteOpt,
    TagOpt,
    card_filter,
    console,
    workspace,
)

app = typer.Typer()
"""The commands of this group, added to the main app by ``cli/__init__``."""

DEFAULT_OUT = Path("mlsys-srs-report.html")


@app.command()
def report(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Write the page to this file.", dir_okay=False)
    ] = DEFAULT_OUT,
    open_page: Annotated[bool, typer.Option("--open", help="Open the page in the web browser.")] = False,
    days: Annotated[
        int,
        typer.Option("--days", min=1, max=3660, help="Heatmap length and longest retention window, in days."),
    ] = 365,
    domain: DomainOpt = None,
    tag: TagOpt = None,
    note: NoteOpt = None,
    deck: DeckOpt = None,
) -> None:
    """Write your progress as one HTML page of charts and the concept map.

    The page works offline (every script and style is inside the file; it
    requests nothing) in any current browser, on a laptop or a phone. It shows
    a year's heatmap with your streaks (click a day for the cards answered),
    the 30-day forecast by domain, true retention per week against your
    desired retention, calibration (predicted against actual recall), cards
    memorised over time, the spread of stability, difficulty and recall,
    answer buttons, time per day, progress by domain (cards by state), weak
    domains and concepts, the leeches, and the concept map (each domain an
    island, the most linked notes named; click a note for its cards). The
    numbers are those of `stats --json` and `graph --json`. Needs the optional
    packages plotly, networkx and numpy: pip install 'mlsys-srs[report]'.
    """
    from ..app.insight import report as write_report

    flt = card_filter(ctx, domain, tag, note, deck)
    size = write_report(workspace(ctx), flt, out, days=days)
    console().print(f"wrote {out} ({size / 1e6:.1f} MB)", soft_wrap=True)
    if open_page:
        import webbrowser

        webbrowser.open(out.resolve().as_uri())
