"""The progress report: one self-contained HTML page of charts and the concept map.

``report_data`` gathers the page's data from the functions behind
``stats --json`` (``compute_stats`` with its chart figures) and ``graph --json``
(``concept_graph``), plus the cards' text and recall now for the page's lists
and the map's layout; nothing on the page is computed twice. ``render_html``
writes that data, Plotly's JavaScript (from the ``plotly`` package: the
``report`` extra), and this package's own script and style into one file that
requests nothing from the network.

Note text reaches the page only as JSON inside a ``<script type="application/json">``
element, with ``<``, ``>`` and ``&`` escaped, and the page's script shows it with
``textContent`` (or, in chart labels, HTML-escaped), so a card containing
``<script>`` shows that text and never runs it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any

from ..config import ScheduleConfig
from ..errors import SrsError
from ..scheduling.days import DayClock
from ..scheduling.memory import ForgettingCurve
from ..store import card_stats as stats_store
from ..store.db import dt_to_db
from ..store.filters import CardFilter
from .charts import card_recall
from .graph import concept_graph
from .stats import compute_stats

WEAK_SHOWN = 15
"""Weak concepts listed on the page (as many as ``graph`` shows)."""

REPORT_PACKAGES = ("plotly", "networkx", "numpy")
"""What the ``report`` extra installs: Plotly's JavaScript, and networkx with numpy for the map's layout."""

QUESTION_CHARS = 300
"""A card's question on the page is cut to this many characters (the map's lists stay light)."""


class ReportDependencyMissing(SrsError):
    """The optional packages that draw the report are not installed."""


def report_data(
    conn: sqlite3.Connection,
    clock: DayClock,
    now: datetime,
    *,
    flt: CardFilter | None = None,
    days: int = 365,
    keep_streak_on_empty_days: bool = False,
    schedule: ScheduleConfig | None = None,
    parameters: Sequence[float] = (),
    workload: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the page shows, as plain data (``workload``: as ``compute_stats`` takes it).

    Keys: ``stats`` (exactly ``stats --json`` for the same options), ``graph``
    (``graph --json``'s counts, nodes, dangling concepts and first 15 weak
    concepts, with edges as ``[source index, target index, links]`` into
    ``nodes``; with filters, only the notes that have a selected card and the
    links among them), ``cards`` (``[id, note
    index, question, state, recall now or null]``; the note index points into
    ``graph.nodes``), ``answered`` (card ids answered on each day of the
    heatmap), ``layout`` (``[x, y]`` per node) and ``centres`` (each domain's disc
    on the map: ``domain``, ``x``, ``y``, ``r``).

    Raises:
        ReportDependencyMissing: networkx or numpy is not installed.
    """
    f = flt or CardFilter()
    sched = schedule or ScheduleConfig()
    stats = compute_stats(
        conn,
        clock,
        now,
        flt=f,
        days=days,
        keep_streak_on_empty_days=keep_streak_on_empty_days,
        schedule=sched,
        parameters=parameters,
        charts=True,
        workload=workload,
        answered=True,
    )
    graph = concept_graph(conn, clock, now, days=days, parameters=parameters)
    curve = ForgettingCurve.from_parameters(parameters)
    cards = stats_store.card_memory(conn, f.scope())

    graph_json = graph.as_json()
    if _filtered(f):
        with_cards = {c.note_id for c in cards}
        graph_json = _restrict(graph_json, {n.note.path for n in graph.nodes if n.note.id in with_cards})
    note_index = {n["path"]: i for i, n in enumerate(graph_json["nodes"])}
    index_of_id = {n.note.id: note_index[n.note.path] for n in graph.nodes if n.note.path in note_index}

    from .map_layout import concept_layout

    try:
        positions, discs = concept_layout(
            [(n["path"], n["domain"]) for n in graph_json["nodes"]],
            [(e["source"], e["target"], e["links"]) for e in graph_json["edges"]],
        )
    except ImportError as exc:
        raise _missing([exc.name or "networkx"]) from None

    charts = stats.charts
    return {
        "generated": dt_to_db(now),
        "stats": stats.as_json(),
        "graph": {
            # What the page shows of ``graph --json``: hubs and the full weak list stay out of the file.
            **{k: graph_json[k] for k in ("notes", "links", "dangling_links", "nodes", "dangling")},
            "weak": graph_json["weak"][:WEAK_SHOWN],
            "edges": [
                [note_index[e["source"]], note_index[e["target"]], e["links"]] for e in graph_json["edges"]
            ],
        },
        "cards": [
            [
                c.id,
                index_of_id.get(c.note_id),
                _cut(c.question),
                c.state,
                None if (r := card_recall(c, now, curve)) is None else round(r, 4),
            ]
            for c in cards
        ],
        "answered": {d.isoformat(): list(ids) for d, ids in charts.answered.items()} if charts else {},
        "layout": [list(positions[n["path"]]) for n in graph_json["nodes"]],
        "centres": [{"domain": d, "x": x, "y": y, "r": r} for d, (x, y, r) in sorted(discs.items())],
    }


def _filtered(f: CardFilter) -> bool:
    return bool(f.domains or f.tags or f.note_globs or f.deck is not None)


def _restrict(graph: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    """The graph's lists cut down to the notes in ``keep`` (counts follow)."""
    out = dict(graph)
    out["nodes"] = [n for n in graph["nodes"] if n["path"] in keep]
    out["edges"] = [e for e in graph["edges"] if e["source"] in keep and e["target"] in keep]
    out["weak"] = [w for w in graph["weak"] if w["path"] in keep]
    out["hubs"] = [h for h in graph["hubs"] if h["path"] in keep]
    out["orphans"] = [n for n in graph["orphans"] if n["path"] in keep]
    out["without_cards"] = []
    dangling = []
    for d in graph["dangling"]:
        sources = [s for s in d["sources"] if s["note"] in keep]
        if sources:
            dangling.append({**d, "sources": sources, "notes": len({s["note"] for s in sources})})
    out["dangling"] = dangling
    out["notes"] = len(out["nodes"])
    out["links"] = sum(e["links"] for e in out["edges"])
    out["dangling_links"] = sum(len(d["sources"]) for d in dangling)
    return out


def _cut(text: str) -> str:
    return text if len(text) <= QUESTION_CHARS else text[: QUESTION_CHARS - 1] + "…"


def require_packages() -> None:
    """Check that every package the report needs is installed, without importing any.

    Raises:
        ReportDependencyMissing: one or more are missing; the message names each of
            them and the one ``pip install`` line that adds them.
    """
    from importlib.util import find_spec

    missing = [name for name in REPORT_PACKAGES if find_spec(name) is None]
    if missing:
        raise _missing(missing)


def _missing(names: Sequence[str]) -> ReportDependencyMissing:
    """The one-line error for missing packages: which, and the pip command that installs them."""
    names = list(dict.fromkeys(n.split(".")[0] for n in names))
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    are = "is" if len(names) == 1 else "are"
    return ReportDependencyMissing(
        f"the report needs {listed}, which {are} not installed: pip install {' '.join(names)} "
        "(or pip install 'mlsys-srs[report]')"
    )


def script_json(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``</script>``, ``<!--`` or ``]]>`` can form."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def plotly_js() -> str:
    """The Plotly bundle the ``plotly`` package ships (read as a file, without importing plotly).

    Raises:
        ReportDependencyMissing: plotly is not installed.
    """
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("plotly")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / "package_data" / "plotly.min.js"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise _missing(["plotly"])


def render_html(data: dict[str, Any], *, title: str = "mlsys-srs progress") -> str:
    """The whole page: style, data, Plotly and the page's script inline; nothing is fetched."""
    assets = resources.files(__package__).joinpath("page")
    template = assets.joinpath("page.html").read_text(encoding="utf-8")
    style = assets.joinpath("page.css").read_text(encoding="utf-8")
    # map.js defines the concept map's factory; page.js draws everything, the map with it.
    script = "\n".join(assets.joinpath(name).read_text(encoding="utf-8") for name in ("map.js", "page.js"))
    parts = {
        "{{TITLE}}": _html_escape(title),
        "{{STYLE}}": style,
        "{{DATA}}": script_json(data),
        "{{PLOTLY}}": plotly_js(),
        "{{SCRIPT}}": script,
    }
    # One pass, in template order, so no inserted text is searched for a later placeholder.
    out: list[str] = []
    rest = template
    while True:
        hits = [(rest.find(k), k) for k in parts if rest.find(k) >= 0]
        if not hits:
            out.append(rest)
            break
        pos, key = min(hits)
        out.append(rest[:pos])
        out.append(parts[key])
        rest = rest[pos + len(key) :]
    return "".join(out)


def _html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)
