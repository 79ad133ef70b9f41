// The report page: draws the embedded data (stats --json, graph --json, cards) with Plotly.
// Note text is shown with textContent, or HTML-escaped in chart labels; never as markup.
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("report-data").textContent);
  var S = D.stats;
  var G = D.graph;
  var CONFIG = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
  };
  var FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", size: 12 };
  var GRADES = ["again", "hard", "good", "easy"];
  var GRADE_COLOURS = { again: "#d62828", hard: "#f4a261", good: "#2a9d5b", easy: "#2f6fde" };
  var PALETTE = [
    "#2f6fde", "#e76f51", "#2a9d5b", "#9b5de5", "#f4a261", "#00a6a6", "#d62828",
    "#6c757d", "#c9a227", "#ef476f", "#118ab2", "#8338ec", "#06d6a0", "#8d6e63",
  ];
  var drawing = [];

  // -- helpers ------------------------------------------------------------------

  function esc(text) {
    // For Plotly labels, which read a little HTML: show the text, never markup.
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function pct(x, digits) {
    return x === null || x === undefined ? "–" : (100 * x).toFixed(digits === undefined ? 0 : digits) + " %";
  }
  function num(x, digits) {
    return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
  }
  function addDays(iso, n) {
    var d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  function sum(xs) {
    var t = 0;
    for (var i = 0; i < xs.length; i++) t += xs[i] || 0;
    return t;
  }
  function domainColour(name) {
    var i = DOMAINS.indexOf(name);
    return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
  }
  function empty(id, message) {
    var box = document.getElementById(id);
    box.classList.add("empty");
    box.textContent = message;
  }
  function layout(extra) {
    var base = {
      font: FONT,
      margin: { l: 48, r: 12, t: 10, b: 40 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      legend: { orientation: "h", y: -0.2 },
      hoverlabel: { namelength: -1 },
    };
    for (var k in extra) base[k] = extra[k];
    return base;
  }
  function plot(id, traces, lay) {
    drawing.push(Plotly.newPlot(id, traces, layout(lay || {}), CONFIG));
    return document.getElementById(id);
  }
  function weaknessColour(score) {
    if (score === null || score === undefined) return "#b8bec9";
    var t = Math.max(0, Math.min(1, score / 0.6));
    var stops = [[42, 157, 91], [233, 196, 106], [214, 40, 40]];
    var seg = t < 0.5 ? 0 : 1;
    var u = t < 0.5 ? t / 0.5 : (t - 0.5) / 0.5;
    var a = stops[seg], b = stops[seg + 1];
    var c = [0, 1, 2].map(function (i) { return Math.round(a[i] + (b[i] - a[i]) * u); });
    return "rgb(" + c.join(",") + ")";
  }
  function cardList(target, title, rows, note) {
    target.replaceChildren();
    target.appendChild(el("h3", title));
    if (note) target.appendChild(el("p", note, "muted"));
    var ul = el("ul", null, "cards");
    rows.forEach(function (r) {
      var li = el("li");
      li.appendChild(el("div", r.text));
      li.appendChild(el("div", r.meta, "meta"));
      ul.appendChild(li);
    });
    target.appendChild(ul);
  }
  function table(target, head, rows, numeric) {
    var t = el("table");
    var tr = el("tr");
    head.forEach(function (h, i) { tr.appendChild(el("th", h, numeric[i] ? "num" : "")); });
    var thead = el("thead");
    thead.appendChild(tr);
    t.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (c, i) { row.appendChild(el("td", c, numeric[i] ? "num" : "")); });
      tbody.appendChild(row);
    });
    t.appendChild(tbody);
    target.replaceChildren(t);
  }

  var DOMAINS = (function () {
    var seen = {};
    S.domains.forEach(function (d) { seen[d.domain] = 1; });
    G.nodes.forEach(function (n) { seen[n.domain] = 1; });
    return Object.keys(seen).sort();
  })();
  var NOTE_OF = G.nodes.map(function (n) { return n; });
  var CARD = {};
  var CARDS_OF_NOTE = G.nodes.map(function () { return []; });
  D.cards.forEach(function (c) {
    CARD[c[0]] = c;
    if (c[1] !== null && c[1] !== undefined) CARDS_OF_NOTE[c[1]].push(c);
  });

  // -- header -------------------------------------------------------------------

  function header() {
    var sc = S.scope, parts = [];
    if (sc.deck) parts.push("deck " + sc.deck);
    if (sc.domains.length) parts.push("domains " + sc.domains.join(", "));
    if (sc.tags.length) parts.push("tags " + sc.tags.join(", "));
    if (sc.notes.length) parts.push("notes " + sc.notes.join(", "));
    document.getElementById("scope").textContent =
      (parts.length ? "Cards of " + parts.join("; ") : "All cards") +
      " · last " + S.days + " days · generated " + D.generated.replace("T", " ").slice(0, 16) + " UTC";
    var r30 = S.retention.filter(function (r) { return r.days === 30; })[0] || S.retention[S.retention.length - 1];
    var tiles = [
      ["cards", S.counts.total - S.counts.retired],
      ["studied", S.distributions ? S.distributions.studied : "–"],
      ["left today", S.today.left],
      ["current streak", S.streak.current + (S.streak.current === 1 ? " day" : " days")],
      ["longest streak", S.streak.longest + (S.streak.longest === 1 ? " day" : " days")],
      ["reviews, " + S.days + " days", S.heatmap.total],
      ["retention, " + (r30 ? r30.days : 30) + " days", r30 ? pct(r30.rate, 1) : "–"],
      ["memorised now", S.memorised ? Math.round(S.memorised.cards[S.memorised.cards.length - 1]) : "–"],
    ];
    var box = document.getElementById("tiles");
    tiles.forEach(function (t) {
      var d = el("div", null, "tile");
      d.dataset.key = t[0];
      d.appendChild(el("div", t[1], "v"));
      d.appendChild(el("div", t[0], "k"));
      box.appendChild(d);
    });
    document.getElementById("footer").textContent =
      "mlsys-srs report · the numbers are those of `mlsys-srs stats --json` and `mlsys-srs graph --json`.";
  }

  // -- heatmap ------------------------------------------------------------------

  function heatmap() {
    var h = S.heatmap;
    document.getElementById("streak-line").textContent =
      "Current streak " + S.streak.current + " days, longest " + S.streak.longest + " days" +
      (S.streak.longest_end ? " (ended " + S.streak.longest_end + ")" : "") +
      " · " + h.total + " reviews on " + h.days_studied + " days.";
    if (!h.total) {
      empty("chart-heatmap", "No reviews yet: run `mlsys-srs review` and your days will fill in here.");
      return;
    }
    var first = new Date(h.first + "T00:00:00Z");
    var offset = (first.getUTCDay() + 6) % 7; // Monday first
    var n = Math.round((new Date(h.last + "T00:00:00Z") - first) / 86400000) + 1;
    var weeks = Math.ceil((n + offset) / 7);
    var z = [], text = [], x = [];
    for (var wd = 0; wd < 7; wd++) { z.push(new Array(weeks).fill(null)); text.push(new Array(weeks).fill("")); }
    for (var w = 0; w < weeks; w++) x.push(addDays(h.first, w * 7 - offset));
    for (var i = 0; i < n; i++) {
      var day = addDays(h.first, i);
      var cell = i + offset;
      var c = h.days[day] || 0;
      z[cell % 7][Math.floor(cell / 7)] = c;
      text[cell % 7][Math.floor(cell / 7)] = day;
    }
    var node = plot(
      "chart-heatmap",
      [{
        type: "heatmap", z: z, x: x, y: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], text: text,
        xgap: 2, ygap: 2, hoverongaps: false,
        colorscale: [[0, "#ebedf0"], [0.0001, "#c6e48b"], [0.35, "#7bc96f"], [0.7, "#239a3b"], [1, "#196127"]],
        showscale: false,
        hovertemplate: "%{text}: %{z} reviews<extra></extra>",
      }],
      { margin: { l: 36, r: 8, t: 6, b: 28 }, yaxis: { autorange: "reversed", fixedrange: true },
        xaxis: { type: "date", tickformat: "%b", fixedrange: true } }
    );
    node.on("plotly_click", function (ev) {
      var p = ev.points[0];
      if (p && p.text) showDay(p.text);
    });
  }

  function showDay(day) {
    var ids = D.answered[day] || [];
    var rows = ids.map(function (id) {
      var c = CARD[id];
      if (!c) return { text: "card " + id + " (not in the vault any more)", meta: "" };
      var note = c[1] !== null && c[1] !== undefined ? NOTE_OF[c[1]].path : "";
      return { text: c[2], meta: note + " · recall now " + pct(c[4]) };
    });
    var count = (S.heatmap.days[day] || 0);
    cardList(document.getElementById("day-cards"), day + ": " + count + " answers, " + ids.length + " cards", rows,
      ids.length ? null : "Nothing answered on this day.");
  }

  // -- forecast -----------------------------------------------------------------

  function forecast() {
    var f = S.forecast;
    document.getElementById("backlog-line").textContent =
      "Today's backlog: " + f.overdue + " overdue card" + (f.overdue === 1 ? "" : "s") +
      " (counted in today's bar) · " + S.today.left + " left to review today.";
    var days = f.days.map(function (d) { return d.day; });
    if (!sum(f.days.map(function (d) { return d.due; }))) {
      empty("chart-forecast", "Nothing falls due in the next 30 days. New cards start with `mlsys-srs review`.");
      return;
    }
    var traces = f.domains.map(function (d) {
      return {
        type: "bar", name: esc(d.domain), x: days, y: d.due, marker: { color: domainColour(d.domain) },
        hovertemplate: "%{x}: %{y} due<extra>" + esc(d.domain) + "</extra>",
      };
    });
    plot("chart-forecast", traces, {
      barmode: "stack", xaxis: { type: "date" }, yaxis: { title: { text: "cards due" } }, showlegend: false,
    });
  }

  // -- retention per week ----------------------------------------------------------

  function retention() {
    var r = S.retention_by_week;
    if (!r || !sum(r.weeks.map(function (w) { return w.reviews; }))) {
      empty("chart-retention", "Review for a week to see retention: it counts answers to cards you have already learned.");
      return;
    }
    function trace(weeks, name, main) {
      var pts = weeks.filter(function (w) { return w.reviews > 0; });
      return {
        type: "scatter", mode: "lines+markers", name: esc(name),
        x: pts.map(function (w) { return w.end; }),
        y: pts.map(function (w) { return w.rate; }),
        customdata: pts.map(function (w) { return [w.start, w.reviews, w.passed]; }),
        visible: main ? true : "legendonly",
        line: { width: main ? 3 : 1.5, color: main ? "#1d2330" : domainColour(name) },
        marker: { size: main ? 6 : 4 },
        hovertemplate: "%{customdata[0]} to %{x}: %{y:.1%} of %{customdata[1]} answers<extra>" + esc(name) + "</extra>",
      };
    }
    var traces = [trace(r.weeks, "all domains", true)];
    r.domains.forEach(function (d) { traces.push(trace(d.weeks, d.domain, false)); });
    var x0 = r.weeks[0].start, x1 = r.weeks[r.weeks.length - 1].end;
    traces.push({
      type: "scatter", mode: "lines", name: "desired " + pct(r.desired), x: [x0, x1], y: [r.desired, r.desired],
      line: { dash: "dash", color: "#2f6fde" }, hoverinfo: "name",
    });
    plot("chart-retention", traces, {
      xaxis: { type: "date" }, yaxis: { tickformat: ".0%", rangemode: "tozero" },
      legend: { orientation: "h", y: -0.25, font: { size: 10 } }, margin: { l: 48, r: 12, t: 10, b: 10 },
    });
  }

  // -- calibration ----------------------------------------------------------------

  function calibration() {
    var bins = (S.calibration || []).filter(function (b) { return b.reviews > 0; });
    if (!bins.length) {
      empty("chart-calibration", "Answer cards you have already learned (their second review on) to compare predicted and actual recall.");
      return;
    }
    var max = Math.max.apply(null, bins.map(function (b) { return b.reviews; }));
    plot("chart-calibration", [
      { type: "scatter", mode: "lines", x: [0, 1], y: [0, 1], name: "perfect", line: { dash: "dot", color: "#9aa3b2" }, hoverinfo: "skip" },
      {
        type: "scatter", mode: "lines+markers+text", name: "actual",
        x: bins.map(function (b) { return b.predicted; }), y: bins.map(function (b) { return b.actual; }),
        text: bins.map(function (b) { return String(b.reviews); }), textposition: "top left",
        customdata: bins.map(function (b) { return [b.low, b.high, b.reviews, b.passed]; }),
        marker: { size: bins.map(function (b) { return 6 + 18 * Math.sqrt(b.reviews / max); }), color: "#2f6fde" },
        hovertemplate: "predicted %{customdata[0]:.0%}–%{customdata[1]:.0%} (mean %{x:.1%}): " +
          "%{y:.1%} passed of %{customdata[2]} answers<extra></extra>",
      },
    ], {
      showlegend: false,
      xaxis: { title: { text: "predicted recall" }, tickformat: ".0%", range: [0, 1.02] },
      yaxis: { title: { text: "pass rate" }, tickformat: ".0%", range: [0, 1.05] },
    });
  }

  // -- memorised ------------------------------------------------------------------

  function memorised() {
    var m = S.memorised;
    if (!m || !sum(m.cards)) {
      empty("chart-memorised", "Review some cards to see how much you hold in memory, day by day.");
      return;
    }
    var x = m.cards.map(function (_, i) { return addDays(m.first, i); });
    plot("chart-memorised", [{
      type: "scatter", mode: "lines", x: x, y: m.cards, fill: "tozeroy", line: { color: "#2a9d5b" },
      hovertemplate: "%{x}: %{y:,.0f} cards<extra></extra>",
    }], { xaxis: { type: "date" }, yaxis: { title: { text: "cards" }, rangemode: "tozero" } });
  }

  // -- distributions ----------------------------------------------------------------

  function histogram(id, h, label, colour, title) {
    var d = S.distributions;
    if (!d || !d.studied) {
      empty(id, "No studied cards yet: review some to see their " + title + ".");
      return;
    }
    var names = [];
    for (var i = 0; i < h.counts.length; i++) names.push(label(h.edges[i], h.edges[i + 1]));
    plot(id, [{
      type: "bar", x: names, y: h.counts, marker: { color: colour },
      hovertemplate: "%{x}: %{y} cards<extra></extra>",
    }], { xaxis: { type: "category" }, yaxis: { title: { text: "cards" } }, margin: { l: 48, r: 8, t: 6, b: 48 } });
  }
  function distributions() {
    var d = S.distributions || { stability_days: {}, difficulty: {}, recall: {} };
    histogram("chart-stability", d.stability_days, function (a, b) {
      return b === null ? "≥ " + a + " d" : a + "–" + b + " d";
    }, "#2f6fde", "stability");
    histogram("chart-difficulty", d.difficulty, function (a, b) { return a + "–" + b; }, "#e76f51", "difficulty");
    histogram("chart-recall", d.recall, function (a, b) {
      return Math.round(100 * a) + "–" + Math.round(100 * b) + " %";
    }, "#2a9d5b", "recall");
  }

  // -- answer buttons and time ------------------------------------------------------

  function buttons() {
    var ab = S.answer_buttons || [];
    var total = sum(ab.map(function (s) { return s.again + s.hard + s.good + s.easy; }));
    if (!total) {
      empty("chart-buttons", "No answers in this period yet: run `mlsys-srs review`.");
      return;
    }
    var states = ab.map(function (s) { return s.state; });
    var traces = GRADES.map(function (g) {
      return {
        type: "bar", name: g.charAt(0).toUpperCase() + g.slice(1), x: states,
        y: ab.map(function (s) { return s[g]; }), marker: { color: GRADE_COLOURS[g] },
        customdata: ab.map(function (s) {
          var n = s.again + s.hard + s.good + s.easy;
          return n ? s[g] / n : 0;
        }),
        hovertemplate: "%{x}: %{y} (%{customdata:.1%})<extra>%{fullData.name}</extra>",
      };
    });
    plot("chart-buttons", traces, { barmode: "group", yaxis: { title: { text: "answers" } } });
  }

  function timePerDay() {
    var t = S.time_per_day;
    if (!t || !sum(t.ms)) {
      empty("chart-time", "No review time logged in this period yet.");
      return;
    }
    plot("chart-time", [{
      type: "bar", x: t.ms.map(function (_, i) { return addDays(t.first, i); }),
      y: t.ms.map(function (ms) { return Math.round(ms / 600) / 100; }), marker: { color: "#9b5de5" },
      hovertemplate: "%{x}: %{y:.1f} min<extra></extra>",
    }], { xaxis: { type: "date" }, yaxis: { title: { text: "minutes" } } });
  }

  // -- weak domains and concepts ----------------------------------------------------

  function weakTables() {
    var wd = S.weak_domains;
    var box = document.getElementById("weak-domains");
    if (!wd.length) {
      box.replaceChildren(el("p", "Not started: review some cards and the weakest domains show up here.", "muted"));
    } else {
      table(box, ["#", "domain", "weakness", "retention", "recall now", "lapses/card", "overdue"],
        wd.map(function (d) {
          return [d.rank, d.domain, num(d.score, 3),
            pct(d.retention.rate) + " of " + d.retention.reviews, pct(d.retrievability),
            num(d.lapses_per_card, 2), d.overdue];
        }), [1, 0, 1, 1, 1, 1, 1]);
    }
    var wc = G.weak.slice(0, 15);
    box = document.getElementById("weak-concepts");
    if (!wc.length) {
      box.replaceChildren(el("p", "Not started: once notes have studied cards, the weakest concepts show up here.", "muted"));
    } else {
      table(box, ["#", "note", "score", "why"], wc.map(function (w, i) {
        return [i + 1, w.title + " (" + w.path + ")", num(w.score, 3), w.reason];
      }), [1, 0, 1, 0]);
    }
  }

  // -- concept map --------------------------------------------------------------------

  function conceptMap() {
    var nodes = G.nodes;
    document.getElementById("map-line").textContent =
      nodes.length + " notes, " + G.links + " links, " + G.dangling.length + " dangling concepts. " +
      "Notes cluster by domain; lines are [[links]].";
    var dbox = document.getElementById("dangling");
    if (!G.dangling.length) {
      dbox.replaceChildren(el("p", "None: every link points to a note.", "muted"));
    } else {
      table(dbox, ["concept", "notes", "linked from"], G.dangling.slice(0, 50).map(function (d) {
        var src = d.sources.slice(0, 4).map(function (s) { return s.note + ":" + s.line; }).join(", ");
        return [d.target, d.notes, src + (d.sources.length > 4 ? ", …" : "")];
      }), [0, 1, 0]);
    }
    if (!nodes.length) {
      empty("concept-map", "No notes yet: point --vault at your notes and run `mlsys-srs sync`.");
      return;
    }
    var ex = [], ey = [];
    G.edges.forEach(function (e) {
      var a = D.layout[e[0]], b = D.layout[e[1]];
      if (!a || !b) return;
      ex.push(a[0], b[0], null);
      ey.push(a[1], b[1], null);
    });
    var nodeTrace = {
      type: "scatter", mode: "markers", name: "notes",
      x: D.layout.map(function (p) { return p[0]; }), y: D.layout.map(function (p) { return p[1]; }),
      customdata: nodes.map(function (n, i) { return i; }),
      text: nodes.map(function (n) {
        return esc(n.title) + "<br>" + esc(n.domain) + " · " + n.cards + " cards · recall " + pct(n.recall) +
          " · weakness " + num(n.score !== null ? n.score : n.own_score, 2);
      }),
      hovertemplate: "%{text}<extra></extra>",
      marker: {
        size: nodes.map(function (n) { return 5 + 2.2 * Math.sqrt(n.cards); }),
        color: nodes.map(function (n) { return weaknessColour(n.score !== null ? n.score : n.own_score); }),
        line: { width: 1, color: nodes.map(function (n) { return domainColour(n.domain); }) },
      },
    };
    var labels = D.centres.map(function (c) {
      return { x: c.x, y: c.y, text: "<b>" + esc(c.domain) + "</b>", showarrow: false, opacity: 0.75,
        font: { size: 11, color: domainColour(c.domain) }, bgcolor: "rgba(255,255,255,0.6)" };
    });
    var node = plot("concept-map", [
      { type: "scatter", mode: "lines", x: ex, y: ey, line: { width: 0.6, color: "rgba(120,130,150,0.35)" }, hoverinfo: "skip", name: "links" },
      nodeTrace,
    ], {
      showlegend: false, hovermode: "closest", dragmode: "pan", margin: { l: 4, r: 4, t: 4, b: 4 },
      xaxis: { visible: false, scaleanchor: "y" }, yaxis: { visible: false }, annotations: labels,
    });
    node.on("plotly_click", function (ev) {
      var p = ev.points.filter(function (q) { return q.curveNumber === 1; })[0];
      if (p) showNote(p.customdata);
    });
  }

  function showNote(i) {
    var n = NOTE_OF[i];
    var cards = CARDS_OF_NOTE[i].slice().sort(function (a, b) {
      return (a[4] === null ? 2 : a[4]) - (b[4] === null ? 2 : b[4]);
    });
    cardList(document.getElementById("note-cards"), n.title, cards.map(function (c) {
      return { text: c[2], meta: c[3] + " · recall now " + pct(c[4]) };
    }), n.path + " · " + n.domain + " · " + n.cards + " cards · weakness " + num(n.score !== null ? n.score : n.own_score, 3) +
      (cards.length ? "" : " · no cards"));
  }

  // -- draw -------------------------------------------------------------------------

  var steps = [header, heatmap, forecast, memorised, retention, calibration, distributions, buttons, timePerDay,
    weakTables, conceptMap];
  steps.forEach(function (step) {
    try {
      step();
    } catch (err) {
      console.error("report: " + step.name + ": " + err);
    }
  });
  Promise.all(drawing).then(function () {
    document.body.dataset.ready = "1";
  });
  window.mlsysReport = { showDay: showDay, showNote: showNote };
})();
