"""Commands over review history and the concept graph: ``stats`` and ``graph``.

The figures come from ``insights/stats.py`` and ``insights/graph.py`` (through ``app.insight``); this module only parses
options and draws them with rich (tables, a calendar heatmap and a forecast
chart that fit 80 columns and read without colour).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.fmt import format_duration, plural
from .context import (
    DeckOpt,
    DomainOpt,
    NoteOpt,
    TagOpt,
    card_filter,
    console,
    emit_json,
    workspace,
)
from .output import records, styled

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..app.workspace import CardRef
    from ..insights.graph import ConceptGraph, Neighbour, Neighbourhood
    from ..insights.stats import Forecast, Heatmap, Stats
    from ..insights.weakness import Retention

SHADES = ("·", "░", "▒", "▓", "█")
"""Heatmap cells by level (none, then quarters of the busiest day); readable without colour."""
SHADE_STYLES = ("grey42", "green4", "green3", "green1", "bold bright_green")
BLOCKS = " ▁▂▃▄▅▆▇█"
FORECAST_HEIGHT = 5
LIST_LIMIT = 15


# -- small formatters ---------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _retention_cell(r: Retention) -> str:
    return "-" if not r.reviews else f"{_pct(r.rate)} ({r.reviews:,})"


# -- heatmap and forecast -----------------------------------------------------------


def shade_level(count: int, top: int, levels: int = len(SHADES) - 1) -> int:
    """0 for no reviews, else 1..levels by share of the busiest day (GitHub-style quarters)."""
    if count <= 0 or top <= 0:
        return 0
    return max(1, min(levels, -(-levels * count // top)))


def heatmap_lines(hm: Heatmap, width: int) -> list[Text]:
    """The calendar heatmap: weeks as columns (Monday first), months labelled above.

    At narrow widths the oldest weeks are dropped so that the map never wraps.
    """
    from rich.text import Text

    label_w = 4
    start = hm.first - timedelta(days=hm.first.weekday())
    weeks = (hm.last - start).days // 7 + 1
    cell = 2 if label_w + 2 * weeks <= width else 1
    shown = max(1, min(weeks, (width - label_w) // cell))
    first_week = weeks - shown
    top = max(hm.counts, default=0)

    # A month is labelled above the week holding its 1st; the first visible week is
    # labelled too when that leaves room before the next label.
    starts: list[tuple[int, date]] = []
    for w in range(first_week, weeks):
        monday = start + timedelta(days=7 * w)
        day_one = next(
            (monday + timedelta(days=k) for k in range(7) if (monday + timedelta(days=k)).day == 1), None
        )
        if day_one is not None and day_one <= hm.last:
            starts.append(((w - first_week) * cell, day_one))
    lead = max(hm.first, start + timedelta(days=7 * first_week))
    if not starts or (starts[0][0] >= 4 and starts[0][1] != lead):
        starts.insert(0, (0, lead))
    months = [" "] * (shown * cell + 4)
    free_from = 0
    for pos, day in starts:
        if pos >= free_from:
            months[pos : pos + 3] = list(day.strftime("%b"))
            free_from = pos + 4
    lines = [Text(" " * label_w + "".join(months).rstrip())]
    labels = ("Mon", "", "Wed", "", "Fri", "", "")
    for row in range(7):
        line = Text(labels[row].ljust(label_w))
        for w in range(first_week, weeks):
            d = start + timedelta(days=7 * w + row)
            pad = " " if cell == 2 else ""
            if d < hm.first or d > hm.last:
                line.append(" " + pad)
                continue
            level = shade_level(hm.counts[(d - hm.first).days], top)
            line.append(SHADES[level], style=SHADE_STYLES[level])
            line.append(pad)
        lines.append(line)
    legend = Text(" " * label_w + "less ")
    for level, ch in enumerate(SHADES):
        legend.append(ch, style=SHADE_STYLES[level])
        legend.append(" ")
    legend.append(f"more (busiest day {top:,})")
    lines.append(legend)
    return lines


def workload_lines(workload: dict[str, Any]) -> list[str]:
    """What shapes the coming days, under the forecast: the plan, breaks, easy days, balancing."""
    out = []
    if workload.get("plan"):
        from .workload_commands import plan_line

        out.append("  " + plan_line(workload["plan"]))
    for b in workload.get("breaks", ()):
        out.append(f"  break {b['from']} to {b['to']}: no reviews are scheduled then")
    easy = workload.get("easy_days") or [1.0] * 7
    if any(x != 1.0 for x in easy):
        names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        days = ", ".join(f"{n} {x:.0%}" for n, x in zip(names, easy, strict=True) if x != 1.0)
        out.append(f"  easy days: {days}")
    if workload and not workload.get("load_balance", True):
        out.append("  load balancing off: each review day is the plain fuzz draw")
    return out


def forecast_lines(fc: Forecast, width: int) -> list[Text]:
    """A column chart of cards due per day, today first.

    The scale is set by the busiest day without the overdue backlog, so that a
    large backlog does not flatten the rest; today's column is then clipped
    and marked with ``+``.
    """
    from rich.text import Text

    n = len(fc.counts)
    top = max([fc.counts[0] - fc.overdue, *fc.counts[1:]], default=0) or max(fc.counts, default=0)
    axis_w = len(f"{top:,}") + 1
    cell = 2 if axis_w + 1 + 2 * n <= width else 1
    lines = []
    for row in range(FORECAST_HEIGHT, 0, -1):
        label = f"{top:,}" if row == FORECAST_HEIGHT else ("0" if row == 1 else "")
        line = Text(label.rjust(axis_w - 1) + " │")
        for c in fc.counts:
            eighths = min(8 * FORECAST_HEIGHT, round(8 * FORECAST_HEIGHT * c / top)) if top else 0
            if c and not eighths:
                eighths = 1  # a day with any card due stays visible
            fill = eighths - 8 * (row - 1)
            ch = "+" if row == FORECAST_HEIGHT and c > top else BLOCKS[max(0, min(8, fill))]
            line.append(ch * cell, style="cyan")
        lines.append(line)
    axis = [" "] * (n * cell + 8)
    for i in range(0, n, 7):
        tag = "today" if i == 0 else f"+{i}d"
        axis[i * cell : i * cell + len(tag)] = list(tag)
    lines.append(Text(" " * axis_w + " " + "".join(axis).rstrip()))
    return lines


# -- tables -------------------------------------------------------------------------


def _titled(out: Console, title: str, *, header: bool = True) -> Table:
    """A compact table whose title is printed above it (a rich title wraps to the table's width)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    out.print(Text(title, style="bold"))
    return Table(
        box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, show_header=header, show_edge=False
    )


def _bold(out: Console, text: str) -> None:
    from rich.text import Text

    out.print(Text(text, style="bold"))


def _card_table(out: Console, title: str, cards: tuple[CardRef, ...], limit: int) -> None:
    """Cards as lapses, ``note:line`` and question; the path (what finds the card) is never cut."""
    from rich.text import Text

    shown = cards[:limit]
    places = [f"{c.note}:{c.line}" for c in shown]
    lapses_w = max(len("lapses"), *(len(str(c.lapses)) for c in shown))
    question_w = out.width - lapses_w - max(len(p) for p in places) - 4
    if question_w >= 20:
        t = _titled(out, title)
        t.add_column("lapses", justify="right", no_wrap=True)
        t.add_column("note:line", no_wrap=True)
        t.add_column("question", overflow="ellipsis", no_wrap=True, max_width=question_w)
        for c, place in zip(shown, places, strict=True):
            t.add_row(str(c.lapses), place, c.question.replace("\n", " "))
        out.print(t)
    else:
        # Too narrow for a table: the path on one line, the question under it.
        _bold(out, title)
        for c, place in zip(shown, places, strict=True):
            out.print(Text(f"{c.lapses:>{lapses_w}}  {place}"), overflow="fold")
            out.print(
                Text(" " * (lapses_w + 2) + c.question.replace("\n", " "), style="dim"),
                no_wrap=True,
                overflow="ellipsis",
            )
    if len(cards) > limit:
        out.print(f"  ... and {len(cards) - limit:,} more (--json lists them all)")


# -- stats --------------------------------------------------------------------------


def render_stats(s: Stats, out: Console, limit: int = 10) -> None:
    """Draw every section of ``stats`` on ``out``."""
    width = out.width
    t = s.today
    scope = [*(f"domain {d}" for d in s.scope.get("domains", []))]
    if s.scope.get("deck"):
        scope.append(f"deck {s.scope['deck']}")
    _bold(out, f"Today, {t.day.isoformat()}" + (f" ({', '.join(scope)})" if scope else ""))
    out.print(
        f"  {plural(t.reviewed, 'review')}, again {_pct(t.again_rate)}"
        + (f", {t.crammed:,} crammed (schedules unchanged)" if t.crammed else "")
        + f", {format_duration(t.time_ms)}; "
        f"left {t.left:,} ({t.due_left:,} due, {t.new_left:,} new)"
    )
    st = s.streak
    longest = f"longest {plural(st.longest, 'day')}"
    if st.longest_end is not None and st.longest_end < t.day - timedelta(days=1):
        longest += f" (ended {st.longest_end.isoformat()})"
    keep = "" if st.studied_today or not st.current else ", review today to keep it"
    out.print(f"  streak {plural(st.current, 'day')}{keep}; {longest}")
    out.print()

    hm = s.heatmap
    _bold(out, f"Reviews, last {plural(s.days, 'day')}: {hm.total:,} on {plural(hm.days_studied, 'day')}")
    for line in heatmap_lines(hm, width):
        out.print(line, no_wrap=True, overflow="crop")
    out.print()

    fc = s.forecast
    tomorrow = fc.counts[1] if len(fc.counts) > 1 else 0
    _bold(
        out,
        f"Due: today {fc.counts[0]:,} ({fc.overdue:,} overdue), tomorrow {tomorrow:,}, "
        f"7 days {sum(fc.counts[:7]):,}, {len(fc.counts)} days {sum(fc.counts):,}",
    )
    if any(fc.counts):
        for line in forecast_lines(fc, width):
            out.print(line, no_wrap=True, overflow="crop")
    for note in workload_lines(s.workload):
        out.print(note, soft_wrap=True)
    out.print()

    c = s.counts
    names = ("new", "learning", "young", "mature", "suspended", "retired")
    _bold(out, f"Cards: {c.total:,}")
    out.print(
        styled(
            "  ",
            *(
                f"{name} {getattr(c, name):,}" + (" · " if k < len(names) - 1 else "")
                for k, name in enumerate(names)
            ),
        ),
        soft_wrap=True,
    )
    out.print()

    heads = ["domain", *(f"{r.days} d" for r in s.retention)]
    rows = [["all", *(_retention_cell(r) for r in s.retention)]]
    rows += [
        [d.domain, *(_retention_cell(r) for r in d.retention)]
        for d in s.domains
        if any(r.reviews for r in d.retention)
    ]
    records(
        out,
        "True retention (review-card answers not graded Again)",
        heads,
        rows,
        name=0,
        right=range(1, len(heads)),
        name_last=False,
    )
    out.print()

    answers = sum(b.reviews for b in s.calibration)
    if answers:
        records(
            out,
            f"Predicted recall vs passed ({answers:,} answers)",
            ["predicted", "answers", "passed"],
            [
                [f"{b.low:.0%}-{b.high:.0%} (mean {_pct(b.predicted)})", f"{b.reviews:,}", _pct(b.actual)]
                for b in s.calibration
                if b.reviews
            ],
            name=0,
            right=(1, 2),
        )
        rbw = s.retention_by_week
        weeks = [w for w in rbw.weeks if w.reviews][-8:] if rbw is not None else []
        if rbw is not None and weeks:
            out.print(
                f"  true retention by week (desired {rbw.desired:.0%}): "
                + ", ".join(f"{w.end.strftime('%d %b')} {_pct(w.rate)}" for w in weeks)
            )
        out.print()

    weak = s.weak_domains
    if weak:
        records(
            out,
            f"Weak domains, weakest first (retention over {s.days} d)",
            ["domain", "score", "retention", "recall", "lapses", "overdue", "studied"],
            [
                [
                    d.domain,
                    _num(d.weakness.score, 3),
                    _retention_cell(d.weakness.retention),
                    _pct(d.weakness.retrievability),
                    _num(d.weakness.lapses_per_card),
                    f"{d.weakness.overdue:,}",
                    f"{d.weakness.studied:,}",
                ]
                for d in weak
            ],
            name=0,
            right=range(1, 7),
            name_last=False,
        )
        out.print(
            "score = 0.4 (1 - retention*) + 0.3 (1 - recall) + 0.2 L/(1+L) + 0.1 overdue\n"
            "recall: mean FSRS retrievability now; L: lapses per studied card;\n"
            "overdue: share of studied cards; retention*: smoothed (see stats --help)",
            style="dim",
        )
    early = [d.domain for d in s.domains if d.weakness.studied and not d.weakness.enough_data]
    if early:
        if not weak:
            _bold(out, "Weak domains")
        out.print(
            f"  not enough data yet: {', '.join(early)} (cards still learning or first answered today)",
            soft_wrap=True,
        )
    if weak or early:
        out.print()

    if s.leeches:
        _card_table(out, f"Leeches: {len(s.leeches):,} (suspended)", s.leeches, limit)
        out.print()
    if s.most_lapsed:
        _card_table(out, "Most lapsed cards", s.most_lapsed, limit)


# -- graph --------------------------------------------------------------------------


def _more(items: list[str], limit: int) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", +{len(items) - limit} more" if len(items) > limit else "")


def render_graph(g: ConceptGraph, out: Console, limit: int) -> None:
    """Draw the whole-vault view of ``graph`` on ``out``."""
    _bold(
        out,
        f"Concept graph: {plural(g.notes, 'note')}, {plural(g.links, 'link')} ({g.dangling_links:,} dangling)",
    )
    out.print()
    if g.hubs:
        records(
            out,
            "Hub concepts (most linked to)",
            ["#", "note", "linked from", "links"],
            [
                [str(i), h.note.path, plural(h.linked_from, "note"), f"{h.links:,}"]
                for i, h in enumerate(g.hubs[:limit], 1)
            ],
            name=1,
            right=(0, 2, 3),
        )
        out.print()
    if g.dangling:
        records(
            out,
            f"Dangling concepts: {len(g.dangling):,} (linked, not written)",
            ["concept", "notes", "linked from"],
            [
                [d.target, str(d.notes), _more([f"{s.note}:{s.line}" for s in d.sources], 3)]
                for d in g.dangling[:limit]
            ],
            name=0,
            right=(1,),
        )
        out.print()
    for title, notes in (
        ("Orphan notes (no links in or out)", g.orphans),
        ("Notes without cards", g.without_cards),
    ):
        if notes:
            _bold(out, f"{title}: {len(notes):,}")
            for n in notes[:limit]:
                out.print(f"  {n.path}", soft_wrap=True)
            if len(notes) > limit:
                out.print(f"  ... and {len(notes) - limit:,} more (--json lists them all)")
            out.print()
    if g.weak:
        records(
            out,
            "Weak concepts (own cards + 0.5 x weakest prerequisite)",
            ["#", "note", "score", "why"],
            [[str(i), w.note.path, _num(w.score, 3), w.reason] for i, w in enumerate(g.weak[:limit], 1)],
            name=1,
            right=(0, 2),
        )
    early = sum(1 for n in g.nodes if n.studied and n.score is None)
    if early:
        if not g.weak:
            _bold(out, "Weak concepts")
        out.print(
            f"  not enough data yet for {plural(early, 'note')} (cards still learning or first answered today)",
            soft_wrap=True,
        )


def render_neighbourhood(nb: Neighbourhood, out: Console) -> None:
    """Draw one concept's neighbourhood on ``out``."""
    w = nb.own
    _bold(out, f"{nb.note.title}  ({nb.note.path}, {nb.note.domain})")
    out.print(
        f"  {plural(w.cards, 'card')} ({w.studied:,} studied), retention {_retention_cell(w.retention)}, "
        f"recall {_pct(w.retrievability)}, weakness {_num(w.score, 3)}"
    )
    out.print()

    def table(title: str, rows: tuple[Neighbour, ...], outgoing: bool) -> None:
        cells = []
        for n in rows:
            if n.note is None:
                name = f"{n.target} (dangling)"
            else:
                name = n.note.path + (f" # {n.heading}" if outgoing and n.heading else "")
            cells.append([str(n.line), name, str(n.cards), _retention_cell(n.retention), _num(n.weakness, 3)])
        records(
            out,
            f"{title}: {len(rows)}",
            ["line", "note", "cards", "retention", "weakness"],
            cells,
            name=1,
            right=(0, 2, 3, 4),
        )
        out.print()

    if nb.links_out:
        table("Links out (prerequisites; line in this note)", nb.links_out, True)
    else:
        _bold(out, "No links out.")
    if nb.links_in:
        table("Links in (notes that build on it; line in that note)", nb.links_in, False)
    else:
        _bold(out, "No links in.")


# -- commands -----------------------------------------------------------------------


STATS_HELP = """Show your streak, where you are weak, and what is coming due.

Sections: today (reviewed, again rate, time, left to do); current and longest
streak of review days (review days start at the configured rollover hour);
a calendar heatmap of reviews; the due forecast for 30 days; cards by state
(young: interval under 21 days); true retention (share of review-card
answers not graded Again) over 7, 30 and --days days, overall and by domain;
weak domains; leeches and the most-lapsed cards.

Weakness score of a domain (higher is weaker, 0 to 1):
0.4 x (1 - retention*) + 0.3 x (1 - recall now) + 0.2 x L/(1+L) + 0.1 x overdue share.
retention* is the true retention over --days, smoothed toward recall now with
5 pseudo-reviews; recall now is the mean FSRS retrievability of the studied
cards; L is lapses per studied card; overdue share is the share of studied
cards due before today. A domain whose studied cards are all still learning
or were first answered today has no score yet ("not enough data yet").

A day with nothing due and nothing reviewed breaks the streak unless
\\[stats] keep_streak_on_empty_days = true is set in the config.
"""


app = typer.Typer()
"""The commands of this group, added to the main app by ``cli/__init__``."""


@app.command(help=STATS_HELP)
def stats(
    ctx: typer.Context,
    domain: DomainOpt = None,
    tag: TagOpt = None,
    note: NoteOpt = None,
    deck: DeckOpt = None,
    days: Annotated[
        int,
        typer.Option("--days", min=1, max=3660, help="Heatmap length and longest retention window, in days."),
    ] = 365,
    as_json: Annotated[bool, typer.Option("--json", help="Print every figure as JSON.")] = False,
) -> None:
    from ..app.insight import stats as figures

    flt = card_filter(ctx, domain, tag, note, deck)
    result = figures(workspace(ctx), flt, days=days, charts=as_json)
    if as_json:
        emit_json(result.as_json())
    else:
        render_stats(result, console())


@app.command()
def graph(
    ctx: typer.Context,
    note: Annotated[
        str | None,
        typer.Argument(
            help="Show this concept's neighbourhood: a note path, file name or alias.", show_default=False
        ),
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=3660, help="Retention window, in days.")] = 365,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Rows per list (--json lists all).")
    ] = LIST_LIMIT,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Explore the concept graph: hubs, dangling and orphan notes, weak concepts.

    Built from the [[links]] between notes. Hubs are the notes most linked to;
    dangling concepts are links to notes not written yet (with who links to
    them); orphans have no links in or out. A weak concept is a note whose own
    cards are weak (the weakness score of `stats --help`) or which links to a
    weak prerequisite: its score is its own plus half of its weakest
    prerequisite's (a note whose cards are all still learning, or first
    answered today, is not ranked yet: "not enough data yet"). With NOTE,
    shows that concept's links in and out, each neighbour with its card count
    and retention.
    """
    from ..app.insight import graph as concept_graph
    from ..app.insight import neighbourhood

    if note is not None and not note.strip():
        raise typer.BadParameter(
            "name a note (a path, file name or alias), or leave NOTE out", param_hint="NOTE"
        )
    ws = workspace(ctx)
    if note:
        nb = neighbourhood(ws, note, days=days)
    else:
        g = concept_graph(ws, days=days)
    if note:
        if as_json:
            emit_json(nb.as_json())
        else:
            render_neighbourhood(nb, console())
    elif as_json:
        emit_json(g.as_json())
    else:
        render_graph(g, console(), limit)
