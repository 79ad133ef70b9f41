"""Scheduling commands: ``card`` (one card in full) and ``optimize`` (fit FSRS parameters).

``optimize`` needs the optional extra ``optimizer`` (fsrs-rs-python, tomlkit),
imported only inside it: ``due`` and ``review`` never load optimizer code.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.fmt import plural
from .context import (
    JsonOpt,
    console,
    emit_json,
    err_console,
    workspace,
)
from .output import fields, records, styled

if TYPE_CHECKING:
    from ..scheduling.cardinfo import CardReport
    from ..scheduling.optimize import Fit

app = typer.Typer()
"""The commands of this group, added to the main app by ``cli/__init__``."""


@app.command()
def card(
    ctx: typer.Context,
    card_id: Annotated[
        str, typer.Argument(metavar="CARD_ID", help="The card's id (as `cards` shows it) or its uid.")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Show one card in full: text, note:line, memory state, recall now, what each grade would give, history.

    Stability is in days; recall now is FSRS's retrievability at this moment;
    elapsed time counts review days. The history lists every answer (time,
    grade, review days since the previous one, state, stability after), and
    the forgetting curve shows predicted recall from the last review on. Does
    not sync the vault.
    """
    from ..app.study import card_info

    report = card_info(workspace(ctx), card_id)
    if as_json:
        emit_json(report.as_json())
        return
    _render_card(ctx, report)


def _render_card(ctx: typer.Context, report: CardReport) -> None:
    from ..core.fmt import format_interval, format_when, sparkline
    from ..render.terminal import terminal_card
    from ..scheduling.memory import RATINGS

    ws = workspace(ctx)
    c, card, t = console(), report.card, ws.now()
    tz = ws.day_clock().tz
    c.print(
        styled(
            (f"#{card.id}", "bold"),
            " ",
            (card.uid, "dim"),
            "  ",
            f"{card.note}:{card.line}",
            "  ",
            (card.domain, "cyan"),
        ),
        soft_wrap=True,
    )
    from ..render.embeds import NoteLibrary, prepare
    from ..vault.layout import strict_line_breaks

    library = NoteLibrary(ws.config.vault) if ws.config.vault.is_dir() else None
    breaks = not strict_line_breaks(ws.config.vault)
    width = max(20, c.width - 3)
    for label, text, cloze in (
        ("Q:", card.question, None),
        ("A:", card.source if card.kind == "cloze" else card.answer, card.cloze),
    ):
        lines = terminal_card(prepare(text, card.note, library), c, width, cloze=cloze, breaks=breaks).lines
        for k, line in enumerate(lines or [styled()]):
            c.print(styled((label if k == 0 else "  ", "bold"), " ") + line, soft_wrap=True)
    flags = [f for f, on in (("suspended", card.suspended), ("retired", card.retired)) if on]
    rows = [("state", card.state + (f" ({', '.join(flags)})" if flags else ""))]
    if card.stability is not None:
        rows.append(("stability", f"{card.stability:.2f} days"))
    if card.difficulty is not None:
        rows.append(("difficulty", f"{card.difficulty:.2f} (1-10)"))
    if report.retrievability is not None:
        rows.append(("recall now", f"{report.retrievability:.1%}"))
    rows.append(("due", format_when(card.due, t, tz) if card.due else "new"))
    rows.append(("reviews", f"{card.reps} ({plural(card.lapses, 'lapse')})"))
    rows.append(
        (
            "if graded now",
            "  ".join(f"{r} {RATINGS[r]} {format_interval(d)}" for r, d in report.intervals.items()),
        )
    )
    fields(c, rows)
    if report.history:
        records(
            c,
            None,
            ["time", "grade", "elapsed", "state", "stability"],
            [
                [
                    h.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    RATINGS.get(h.rating, str(h.rating)) + (" (cram)" if h.kind != "review" else ""),
                    "-" if h.elapsed_days is None else f"{h.elapsed_days}d",
                    f"{h.state_before} -> {h.state_after}",
                    "-" if h.stability_after is None else f"{h.stability_after:.2f}",
                ]
                for h in report.history
            ],
            name=0,
            right=(2, 4),
        )
    if report.curve:
        lo = math.floor(min(report.curve) * 10) / 10  # the bars span the part of 0-100% the curve uses
        c.print(f"recall  {sparkline(report.curve, lo, 1.0)}  0 to {report.curve_days} days after the last review "
                f"({report.curve[0]:.0%} -> {report.curve[-1]:.0%})", soft_wrap=False)  # fmt: skip


@app.command()
def optimize(
    ctx: typer.Context,
    revlog: Annotated[
        Path | None,
        typer.Option(
            "--revlog",
            help="Train on this review log (CSV, fsrs-optimizer schema) instead of your own reviews.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the result; change nothing.")] = False,
    reschedule: Annotated[
        bool,
        typer.Option(
            "--reschedule",
            help="Also recompute every card's due date with the new parameters (shows the workload change).",
        ),
    ] = False,
    retention: Annotated[
        bool, typer.Option("--retention", help="Also suggest a desired retention (simulation; advice only).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fit FSRS parameters to your review history and adopt them if they predict it better.

    Needs the optimizer extra: pip install 'mlsys-srs\\[optimizer]'. Trains on
    your reviews or on --revlog FILE.csv (columns card_id, review_time in ms or
    ISO 8601, review_rating, optional review_state and review_duration), with
    Anki's training items: a card's history from its last learning steps on, one
    item per answer a review day or more after the previous one, cram answers
    left out. Fits on the earliest 80% of the history and scores the default,
    current and fitted parameters on the rest (log loss, RMSE(bins), AUC,
    calibration error, and a table of predicted recall against the share
    passed). The fitted parameters are written to `\\[schedule] parameters` in
    the config file (comments and layout kept) only if they beat the current
    ones on log loss and are no worse on RMSE and calibration. --reschedule then
    recomputes every card's due date from its history, after showing how the
    next 7 and 30 days' reviews change, and backs the database up first.
    """
    from ..app.insight import optimize as fit

    result, extra = fit(
        workspace(ctx), revlog=revlog, dry_run=dry_run, reschedule=reschedule, retention=retention
    )
    if as_json:
        emit_json({**result.as_json(), **extra})
        return
    _render_fit(result, extra, dry_run)


def _render_fit(result: Fit, extra: dict[str, object], dry_run: bool) -> None:
    from rich.table import Table

    c = console()
    if not result.enough:
        c.print(
            f"Not enough reviews to optimize: {plural(result.long_term_reviews, 'review')} a day or more after "
            f"the previous one; {result.needed:,} are needed ({result.needed - result.long_term_reviews:,} more). "
            "The default parameters stay.",
            soft_wrap=True,
        )
        return
    c.print(
        f"{plural(result.reviews, 'review')}; fitted on {plural(result.train_items, 'item')}, "
        f"scored on the later {plural(result.test_items, 'review')}:"
    )
    t = Table(box=None, pad_edge=False)
    for col in ("parameters", "log loss", "RMSE(bins)", "AUC", "calibration error"):
        t.add_column(col, justify="left" if col == "parameters" else "right")
    shown = [(name, s) for name, s in (("default", result.default), ("current", result.current),
             ("fitted", result.fitted)) if s is not None and not (name == "current" and s == result.default)]  # fmt: skip
    for name, s in shown:
        t.add_row(
            name, f"{s.log_loss:.4f}", f"{s.rmse_bins:.4f}", f"{s.auc:.4f}", f"{s.calibration_error:.4f}"
        )
    c.print(t)
    cal = Table(
        box=None, pad_edge=False, title="predicted recall against the share passed", title_justify="left"
    )
    cal.add_column("predicted")
    for name, _ in shown:
        cal.add_column(f"{name}: n", justify="right")
        cal.add_column("predicted / passed", justify="right")
    bins = {(b.low, b.high) for _, s in shown for b in s.calibration}
    for low, high in sorted(bins):
        row = [f"{low:.2f}-{high:.2f}"]
        for _, s in shown:
            b = next((b for b in s.calibration if (b.low, b.high) == (low, high)), None)
            row += ["0", "-"] if b is None else [str(b.count), f"{b.predicted:.3f} / {b.actual:.3f}"]
        cal.add_row(*row)
    c.print(cal)
    c.print(result.reason)
    if result.adopt:
        c.print("parameters: " + ", ".join(f"{p:.4f}" for p in result.parameters), soft_wrap=True)
        if extra.get("config_written"):
            c.print(f"written to {extra['config_written']} ([schedule] parameters)", soft_wrap=True)
        elif dry_run:
            c.print("--dry-run: the config file was not changed")
    rs = extra.get("reschedule")
    if isinstance(rs, dict):
        w7, w30 = rs["next_7_days"], rs["next_30_days"]
        c.print(
            f"workload: next 7 days {w7['before']} -> {w7['after']} reviews, next 30 days "
            f"{w30['before']} -> {w30['after']}"
        )
        if rs.get("backup"):
            c.print(
                f"rescheduled {plural(int(str(rs['changed'])), 'card')} (backup: {rs['backup']})",
                soft_wrap=True,
            )
    if result.retention is not None:
        c.print(f"suggested desired retention: {result.retention:.2f} (simulated; advice only)")
    if not result.adopt and dry_run:
        err_console().print("nothing would change")
