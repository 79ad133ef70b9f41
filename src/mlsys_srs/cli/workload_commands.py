"""Workload commands: ``postpone``, ``advance``, ``break`` (``vacation``) and ``plan``.

Each parses its options, calls one function of ``app.workload`` and prints what it did (or would
do, with ``--dry-run``): the cards moved, their predicted recall before and after, and the load
of each day before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.fmt import plural
from ..errors import UsageError
from .context import DeckOpt, DomainOpt, JsonOpt, NoteOpt, TagOpt, card_filter, console, emit_json, workspace
from .output import Piece, fields, records, styled

if TYPE_CHECKING:
    from ..app.workload import MoveReport, PlanReport
    from ..app.workspace import CardFilter
    from ..history.moves import UndoneMoves

app = typer.Typer()
"""The commands of this group, added to the main app by ``cli/__init__``."""

DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", help="Show what would change (the load before and after); change nothing."),
]
UndoOpt = Annotated[
    bool, typer.Option("--undo", help="Undo the latest one (cards answered since keep their new day).")
]


def _day(text: str, what: str) -> date:
    from ..config import parse_day

    day = parse_day(text.strip())
    if day is None:
        raise UsageError(f"{what} {text!r}: a date is YYYY-MM-DD")
    return day


@app.command()
def postpone(
    ctx: typer.Context,
    count: Annotated[
        int | None, typer.Argument(metavar="N", help="How many due cards to postpone.", show_default=False)
    ] = None,
    domain: DomainOpt = None,
    tag: TagOpt = None,
    note: NoteOpt = None,
    deck: DeckOpt = None,
    dry_run: DryRunOpt = False,
    undo: UndoOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Postpone the N due cards that suffer least from waiting (FSRS Helper's rule).

    Cards due today or overdue are taken by how far past FSRS's interval they
    would be after the wait (least first), then by stability (highest first):
    the highest recall now and the longest intervals. Each moves 5-10% of its
    interval later (at least a day). Says how many due cards are safe to
    postpone (they stay within 15% of their interval) and the mean predicted
    recall before and after. A journal event per card (every device replays
    it; `rebuild` keeps it); `postpone --undo` undoes the latest postponement.
    """
    _move(ctx, "postpone", count, card_filter(ctx, domain, tag, note, deck), dry_run, undo, as_json)


@app.command()
def advance(
    ctx: typer.Context,
    count: Annotated[
        int | None, typer.Argument(metavar="N", help="How many cards to bring forward.", show_default=False)
    ] = None,
    domain: DomainOpt = None,
    tag: TagOpt = None,
    note: NoteOpt = None,
    deck: DeckOpt = None,
    dry_run: DryRunOpt = False,
    undo: UndoOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Bring forward the N cards not yet due that gain most from a review now (FSRS Helper's rule).

    Cards due after today (not answered today) are taken by how much of FSRS's
    interval is still ahead of them (least first: the lowest recall), then by
    stability (highest first); each becomes due today. Says how many are safe to
    advance (less than 13% of their interval ahead). A journal event per card;
    `advance --undo` undoes the latest advance.
    """
    _move(ctx, "advance", count, card_filter(ctx, domain, tag, note, deck), dry_run, undo, as_json)


def _move(
    ctx: typer.Context,
    kind: str,
    count: int | None,
    flt: CardFilter,
    dry_run: bool,
    undo: bool,
    as_json: bool,
) -> None:
    """``postpone`` or ``advance`` ``count`` cards of ``flt`` (or, with ``undo``, undo the latest)."""
    if undo:
        _undone(ws_undo(ctx, kind), kind, as_json)
        return
    if count is None:
        raise UsageError(f"{kind} N: say how many cards (or --undo)")
    from ..app.workload import advance, postpone

    run = postpone if kind == "postpone" else advance
    _show_moves(run(workspace(ctx), flt, count, dry_run=dry_run), as_json)


def ws_undo(ctx: typer.Context, what: str) -> UndoneMoves:
    """Undo the latest batch of ``what``."""
    from ..app.workload import undo_last

    return undo_last(workspace(ctx), what)


def _undone(done: UndoneMoves, what: str, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "undone": done.batch,
                "period": (done.data or {}).get("period"),
                "at": None if done.at is None else done.at.isoformat(),
                "restored": done.restored,
                "kept": done.kept,
            }
        )
        return
    c = console()
    period = (done.data or {}).get("period")
    if done.batch is None and period:
        c.print(f"forgot the break {str(period).replace('/', ' to ')} (it had moved no card)")
        return
    if done.batch is None:
        c.print(f"nothing to undo: no {what} left that is not undone")
        return
    kept = f"; {plural(done.kept, 'card')} answered since keep their new day" if done.kept else ""
    c.print(
        f"undid the {what} of {done.at:%Y-%m-%d %H:%M} UTC: {plural(done.restored, 'card')} back on their day{kept}"
    )


@app.command("break")
def take_break(
    ctx: typer.Context,
    first: Annotated[
        str | None,
        typer.Argument(metavar="FROM", help="The first day of the break, YYYY-MM-DD.", show_default=False),
    ] = None,
    last: Annotated[
        str | None,
        typer.Argument(metavar="TO", help="The last day of the break, YYYY-MM-DD.", show_default=False),
    ] = None,
    spread: Annotated[
        int, typer.Option("--spread", help="Days before and after the break the cards may go to.")
    ] = 7,
    domain: DomainOpt = None,
    tag: TagOpt = None,
    note: NoteOpt = None,
    deck: DeckOpt = None,
    dry_run: DryRunOpt = False,
    undo: UndoOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Take a break from FROM to TO (also `vacation`): the cards due then go before and after it.

    The cards due in the period (and the overdue ones when it starts today) are
    spread over the --spread days before it (from today on) and after it: the
    cards that can least afford to wait go first, and each takes the open day
    with the least load (what is due there, easy days counted) plus the cost of
    the move (a day late costs twice a day early, relative to its interval). A
    day after the break is open to a card only while it stays within 15% of its
    FSRS interval there, so short intervals are reviewed before the break. The
    period is kept in the vault's `\\[schedule] breaks`, so later answers avoid
    it too. --dry-run shows the load before and after. A journal event per
    card; `break --undo` undoes the latest break and forgets its period.
    """
    ws = workspace(ctx)
    if undo:
        _undone(ws_undo(ctx, "break"), "break", as_json)
        return
    if first is None or last is None:
        raise UsageError("break FROM TO: two dates, YYYY-MM-DD (or --undo)")
    from ..app.workload import take_break as run

    report = run(
        ws,
        card_filter(ctx, domain, tag, note, deck),
        _day(first, "FROM"),
        _day(last, "TO"),
        spread=spread,
        dry_run=dry_run,
    )
    _show_moves(report, as_json)


app.command("vacation", hidden=True, help="Take a break from FROM to TO: the same command as `break`.")(
    take_break
)


def _show_moves(report: MoveReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.as_json())
        return
    c = console()
    verb = {"postpone": "postponed", "advance": "advanced", "break": "moved"}[report.what]
    head = f"would be {verb}" if report.dry_run else verb
    n = len(report.moved)
    line: list[Piece] = [(plural(n, "card"), "bold"), f" {head}"]
    if report.period is not None:
        line.append(f" out of the break {report.period[0]} to {report.period[1]}")
    if report.recall_before is not None and report.recall_after is not None:
        line.append(f" · mean recall on the day {report.recall_before:.0%} -> {report.recall_after:.0%}")
    c.print(styled(*line), soft_wrap=True)
    if report.safe is not None:
        what = "postpone" if report.what == "postpone" else "advance"
        c.print(f"{report.safe:,} of {report.candidates:,} cards are safe to {what}", soft_wrap=True)
    if report.held:
        c.print(f"{plural(report.held, 'card')} stay: the maximum interval stops them", soft_wrap=True)
    rows = []
    for i, (b, a) in enumerate(zip(report.before, report.after, strict=True)):
        if (
            b == a
            and i > 0
            and not (
                report.period and report.period[0] <= report.first + timedelta(days=i) <= report.period[1]
            )
        ):
            continue
        day = report.first + timedelta(days=i)
        mark = " (break)" if report.period and report.period[0] <= day <= report.period[1] else ""
        rows.append([f"{day:%a %Y-%m-%d}{mark}", str(b), str(a), f"{a - b:+d}" if a != b else ""])
    if rows and n:
        records(
            c,
            "cards due per day",
            ["day", "before", "after", "change"],
            rows,
            name=0,
            right=(1, 2, 3),
            name_last=False,
        )
    if report.dry_run:
        c.print("--dry-run: nothing was changed")


@app.command()
def plan(
    ctx: typer.Context,
    by: Annotated[
        str | None, typer.Option("--by", help="The date to be ready by, YYYY-MM-DD.", show_default=False)
    ] = None,
    target: Annotated[
        float, typer.Option("--target", help="Predicted recall each card must reach on the date (0.5-0.99).")
    ] = 0.95,
    domain: Annotated[
        list[str] | None, typer.Option("--domain", "-d", help="The plan's cards: this domain (repeatable).")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", "-t", help="The plan's cards: this tag or a nested one (repeatable)."),
    ] = None,
    note: Annotated[
        list[str] | None,
        typer.Option(
            "--note", "-n", help="The plan's cards: notes whose path matches this glob (repeatable)."
        ),
    ] = None,
    deck: Annotated[
        str | None,
        typer.Option("--deck", help="The plan's cards: the deck recipe decks/NAME.toml.", show_default=False),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="End the plan (the cards keep their days).")] = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Be ready by a date: `plan --deck interview-prep --by 2027-01-15 [--target 0.95]`; `plan` alone shows it.

    Until the date, every card of the selection (a card matching any of --deck,
    --domain, --tag and --note, as in a deck recipe) is scheduled so that its predicted recall on that day is at least
    the target: a card whose next review would come after the date without
    reaching it is reviewed in time (in the days before the date from which its
    recall on the date reaches the target, levelled by load), the selection's
    new cards come first in the queue at a pace that introduces the last of them
    a week (at most a quarter of the days left) before the date, and the cards
    due after the date now that would miss the target move into their window. It
    shows, per domain, the predicted recall on the date as things stand and as
    planned (every review answered Good), and the reviews per day it takes. The
    plan is kept in the vault's `\\[plan]` settings, so every device follows it;
    after the date normal scheduling resumes. `plan --clear` ends it.
    """
    ws = workspace(ctx)
    from ..app import workload

    if clear:
        ended = workload.clear_plan(ws)
        if as_json:
            emit_json({"cleared": ended is not None, "by": None if ended is None else ended.by})
        else:
            console().print(f"plan ended (it was: ready by {ended.by})" if ended else "no plan to end")
        return
    if by is None:
        if domain or tag or note or deck:
            raise UsageError("plan: --by DATE says when to be ready")
        report = workload.plan_status(ws)
        if report is None:
            if as_json:
                emit_json(None)
            else:
                console().print("no plan (make one: mlsys-srs plan --deck NAME --by YYYY-MM-DD)")
            return
    else:
        report = workload.set_plan(
            ws,
            by=_day(by, "--by"),
            target=target,
            deck=deck,
            domains=tuple(domain or ()),
            tags=tuple(tag or ()),
            notes=tuple(note or ()),
            dry_run=dry_run,
        )
    if as_json:
        emit_json(report.as_json())
        return
    _show_plan(report)


def plan_line(plan: Mapping[str, Any]) -> str:
    """One line that names an active plan, from ``plan --json`` (``plan``, ``due``, ``stats``)."""
    sel = plan["selection"]
    what = sel["deck"] or ", ".join([*sel["domains"], *(f"#{t}" for t in sel["tags"]), *sel["notes"]])
    days = int(plan["days_left"])
    left = "the date has come" if days == 0 else plural(days, "day") + " left"
    line = f"plan: {what} ready by {plan['by']} at {plan['target']:.0%} recall ({left}; {plural(plan['cards'], 'card')}"
    if plan.get("at_target_now") is not None:
        line += f", {plan['at_target_now']:.0%} there now"
    return line + ")"


def _show_plan(report: PlanReport) -> None:
    c = console()
    c.print(styled((plan_line(report.as_json()), "bold")), soft_wrap=True)
    rows = [
        (
            "new cards",
            f"{report.new_cards:,}, {report.pace} a day until {report.intro_until}"
            if report.new_cards
            else "none",
        )
    ]
    if report.moved:
        verb = "would move" if report.dry_run else "moved"
        rows.append(
            ("started", f"{verb} {plural(len(report.moved), 'card')} due after the date into their window")
        )
    pr = report.projection
    if pr is not None and pr.cards:
        n = len(pr.cards)
        rows.append(("at the target", f"{pr.at_target('now') / n:.0%} as things stand, {pr.at_target('planned') / n:.0%} as planned"
                     f" ({pr.at_target('unplanned') / n:.0%} without the plan)"))  # fmt: skip
        total, without = sum(pr.reviews.values()), sum(pr.reviews_without.values())
        days = max(1, report.days_left)
        peak = max(pr.reviews.values(), default=0)
        rows.append(("reviews", f"{total:,} until the date ({total / days:.1f} a day, at most {peak:,}); "
                     f"{without:,} without the plan"))  # fmt: skip
    fields(c, rows)
    if pr is not None and pr.cards:
        records(
            c,
            "predicted recall on the date, by domain",
            ["domain", "cards", "now", "planned"],
            [[d, str(k), f"{now:.0%}", f"{pl:.0%}"] for d, k, now, pl in pr.by_domain()],
            name=0,
            right=(1, 2, 3),
            name_last=False,
        )
        weeks: dict[date, int] = {}
        for d, k in pr.reviews.items():
            start = d - timedelta(days=d.weekday())
            weeks[start] = weeks.get(start, 0) + k
        if weeks:
            records(
                c,
                "the selection's reviews per week, as planned",
                ["week of", "reviews", "a day"],
                [[f"{w}", str(k), f"{k / 7:.1f}"] for w, k in sorted(weeks.items())],
                name=0,
                right=(1, 2),
                name_last=False,
            )
    if report.written:
        c.print(f"kept in {report.written} ([plan])", soft_wrap=True)
    elif report.dry_run:
        c.print("--dry-run: nothing was changed")
