// The report page: draws the embedded data (stats --json, graph --json, cards) with Plotly.
// Note text is shown with textContent, or HTML-escaped in chart labels; never as markup.
// Every chart with more than one coloured series gets a key under it (ours, not Plotly's
// legend, so it wraps on a phone and never covers the plot); Plotly's mode bar is off,
// so nothing floats over the data.
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("report-data").textContent);
  var S = D.stats;
  var G = D.graph;
  var CONFIG = { displayModeBar: false, displaylogo: false, responsive: true };
  var FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", size: 12 };
  var GRADES = ["again", "hard", "good", "easy"];
  var GRADE_COLOURS = { again: "#d62828", hard: "#f4a261", good: "#2a9d5b", easy: "#2f6fde" };
  var STATES = ["new", "learning", "young", "mature", "suspended"];
  var STATE_COLOURS = {
    new: "#a9c7ee", learning: "#f4a261", young: "#95d5b2", mature: "#2a9d5b", suspended: "#6c757d",
  };
  var PALETTE = [
    "#2f6fde", "#e76f51", "#2a9d5b", "#9b5de5", "#f4a261", "#00a6a6", "#d62828",
    "#6c757d", "#c9a227", "#ef476f", "#118ab2", "#8338ec", "#06d6a0", "#8d6e63",
  ];
  var HEAT = [[0, "#ebedf0"], [0.0001, "#c6e48b"], [0.35, "#7bc96f"], [0.7, "#239a3b"], [1, "#196127"]];
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
  function count(n, noun, plural) {
    // "1 day", "2 days": every count the page writes next to a noun goes through here.
    var word = Number(n) === 1 ? noun : (plural || noun + "s");
    return Number(n).toLocaleString("en-US") + " " + word;
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
  function darker(hex, share) {
    // Text in a domain's colour, dark enough to read on white.
    var c = [1, 3, 5].map(function (i) { return Math.round(parseInt(hex.slice(i, i + 2), 16) * (1 - share)); });
    return "rgb(" + c.join(",") + ")";
  }
  function translucent(hex, alpha) {
    var c = [1, 3, 5].map(function (i) { return parseInt(hex.slice(i, i + 2), 16); });
    return "rgba(" + c.join(",") + "," + alpha + ")";
  }
  function empty(id, message) {
    var box = document.getElementById(id);
    box.classList.add("empty");
    box.textContent = message;
  }
  function axis(extra) {
    var a = { automargin: true };
    for (var k in extra) a[k] = extra[k];
    return a;
  }
  function layout(extra) {
    var base = {
      font: FONT,
      margin: { l: 8, r: 16, t: 14, b: 8 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      showlegend: false,
      hoverlabel: { namelength: -1 },
    };
    for (var k in extra) base[k] = extra[k];
    ["xaxis", "yaxis"].forEach(function (a) { base[a] = axis(base[a] || {}); });
    return base;
  }
  function plot(id, traces, lay) {
    var done = Plotly.newPlot(id, traces, layout(lay || {}), CONFIG);
    drawing.push(done);
    return document.getElementById(id);
  }
  function key(chartId, entries, toggles) {
    // One entry per series, in trace order: a swatch of the series' colour and its name.
    // With toggles, an entry is a button that shows or hides its series.
    var ul = el("ul", null, "key");
    ul.dataset.keyFor = chartId;
    entries.forEach(function (e, i) {
      var li = el("li");
      var sw = el("span", null, "sw" + (e.line ? " line" : ""));
      if (e.line) sw.style.borderTop = "3px " + (e.dash ? "dashed " : "solid ") + e.colour;
      else sw.style.background = e.colour;
      var label = el("span", e.name, "name");
      if (toggles) {
        var b = el("button");
        b.type = "button";
        b.setAttribute("aria-pressed", e.visible === false ? "false" : "true");
        b.appendChild(sw);
        b.appendChild(label);
        b.addEventListener("click", function () {
          var on = b.getAttribute("aria-pressed") !== "true";
          b.setAttribute("aria-pressed", on ? "true" : "false");
          Plotly.restyle(chartId, { visible: on ? true : "legendonly" }, [i]);
        });
        li.appendChild(b);
      } else {
        li.appendChild(sw);
        li.appendChild(label);
      }
      ul.appendChild(li);
    });
    document.getElementById(chartId).after(ul);
    return ul;
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
  function table(target, head, rows, numeric, foot, stack) {
    // With ``stack`` (a list of column indices shown full width), a narrow screen shows each
    // row as a block: those cells on lines of their own, the others as "label value".
    var t = el("table", null, stack ? "stack" : "");
    var tr = el("tr");
    head.forEach(function (h, i) { tr.appendChild(el("th", h, numeric[i] ? "num" : "")); });
    var thead = el("thead");
    thead.appendChild(tr);
    t.appendChild(thead);
    function body(tag, list) {
      var part = el(tag);
      list.forEach(function (r) {
        var row = el("tr");
        r.forEach(function (c, i) {
          var td = el("td", c, (numeric[i] ? "num" : "") + (stack && stack.indexOf(i) >= 0 ? " full" : ""));
          td.dataset.label = head[i];
          row.appendChild(td);
        });
        part.appendChild(row);
      });
      t.appendChild(part);
    }
    body("tbody", rows);
    if (foot) body("tfoot", foot);
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
      " · last " + count(S.days, "day") + " · generated " + D.generated.replace("T", " ").slice(0, 16) + " UTC";
    var r30 = S.retention.filter(function (r) { return r.days === 30; })[0] || S.retention[S.retention.length - 1];
    var tiles = [
      ["cards", S.counts.total - S.counts.retired],
      ["studied", S.distributions ? S.distributions.studied : "–"],
      ["left today", S.today.left],
      ["current streak", count(S.streak.current, "day")],
      ["longest streak", count(S.streak.longest, "day")],
      ["reviews, " + count(S.days, "day"), S.heatmap.total],
      ["retention, " + count(r30 ? r30.days : 30, "day"), r30 ? pct(r30.rate, 1) : "–"],
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
      "Current streak " + count(S.streak.current, "day") + ", longest " + count(S.streak.longest, "day") +
      (S.streak.longest_end ? " (ended " + S.streak.longest_end + ")" : "") +
      " · " + count(h.total, "review") + " on " + count(h.days_studied, "day") + ".";
    if (!h.total) {
      empty("chart-heatmap", "No reviews yet: run `mlsys-srs review` and your days will fill in here.");
      return;
    }
    var first = new Date(h.first + "T00:00:00Z");
    var offset = (first.getUTCDay() + 6) % 7; // Monday first
    var n = Math.round((new Date(h.last + "T00:00:00Z") - first) / 86400000) + 1;
    var weeks = Math.ceil((n + offset) / 7);
    var z = [], text = [], said = [], x = [];
    for (var wd = 0; wd < 7; wd++) {
      z.push(new Array(weeks).fill(null));
      text.push(new Array(weeks).fill(""));
      said.push(new Array(weeks).fill(""));
    }
    for (var w = 0; w < weeks; w++) x.push(addDays(h.first, w * 7 - offset));
    var most = 0;
    for (var i = 0; i < n; i++) {
      var day = addDays(h.first, i);
      var cell = i + offset;
      var c = h.days[day] || 0;
      most = Math.max(most, c);
      z[cell % 7][Math.floor(cell / 7)] = c;
      text[cell % 7][Math.floor(cell / 7)] = day;
      said[cell % 7][Math.floor(cell / 7)] = count(c, "review");
    }
    var node = plot(
      "chart-heatmap",
      [{
        type: "heatmap", z: z, x: x, y: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], text: text,
        customdata: said, xgap: 2, ygap: 2, hoverongaps: false, zmin: 0, zmax: Math.max(most, 1),
        colorscale: HEAT, showscale: false, hovertemplate: "%{text}: %{customdata}<extra></extra>",
      }],
      { margin: { l: 8, r: 8, t: 6, b: 8 }, yaxis: { autorange: "reversed", fixedrange: true },
        xaxis: { type: "date", tickformat: "%b", fixedrange: true } }
    );
    node.on("plotly_click", function (ev) {
      var p = ev.points[0];
      if (p && p.text) showDay(p.text);
    });
    // The colour key: none, one, and the most answers in a day.
    var box = document.getElementById("heatmap-key");
    box.replaceChildren();
    var none = el("span", null, "sw");
    none.style.background = HEAT[0][1];
    var ramp = el("span", null, "ramp");
    ramp.style.background = "linear-gradient(90deg, " + HEAT.slice(1).map(function (s) { return s[1]; }).join(", ") + ")";
    box.append(none, el("span", "none", "muted"), el("span", "1", "muted"), ramp,
      el("span", count(most, "review") + " a day", "muted"));
  }

  function showDay(day) {
    var ids = D.answered[day] || [];
    var rows = ids.map(function (id) {
      var c = CARD[id];
      if (!c) return { text: "card " + id + " (not in the vault any more)", meta: "" };
      var note = c[1] !== null && c[1] !== undefined ? NOTE_OF[c[1]].path : "";
      return { text: c[2], meta: note + " · recall now " + pct(c[4]) };
    });
    var answers = (S.heatmap.days[day] || 0);
    cardList(document.getElementById("day-cards"), day + ": " + count(answers, "answer") + ", " + count(ids.length, "card"),
      rows, ids.length ? null : "Nothing answered on this day.");
  }

  // -- forecast -----------------------------------------------------------------

  function workloadNote(w) {
    // What shapes the coming days: the plan, breaks and easy days (`stats`'s lines under its forecast).
    var parts = [];
    if (w.plan) {
      var sel = w.plan.selection;
      var what = sel.deck || sel.domains.concat(sel.tags.map(function (t) { return "#" + t; }), sel.notes).join(", ");
      parts.push("Plan: " + what + " ready by " + w.plan.by + " at " + pct(w.plan.target) + " recall (" +
        count(w.plan.cards, "card") + (w.plan.at_target_now === null ? "" : ", " + pct(w.plan.at_target_now) + " there now") + ")");
    }
    (w.breaks || []).forEach(function (b) { parts.push("Break " + b.from + " to " + b.to); });
    var names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    var easy = (w.easy_days || []).map(function (x, i) { return x === 1 ? null : names[i] + " " + pct(x); })
      .filter(function (x) { return x; });
    if (easy.length) parts.push("Easy days: " + easy.join(", "));
    return parts.length ? " " + parts.join(" · ") + "." : "";
  }

  function forecast() {
    var f = S.forecast;
    var w = S.workload || {};
    document.getElementById("backlog-line").textContent =
      "Today's backlog: " + count(f.overdue, "overdue card") + " (counted in today's bar) · " +
      S.today.left + " left to review today." + workloadNote(w);
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
    // Breaks shaded, the plan's date marked: what `break` and `plan` did to these days.
    var shapes = (w.breaks || []).map(function (b) {
      var end = new Date(b.to + "T00:00:00Z");
      end.setUTCDate(end.getUTCDate() + 1);
      return { type: "rect", xref: "x", yref: "paper", x0: b.from, x1: end.toISOString().slice(0, 10), y0: 0, y1: 1,
        fillcolor: "rgba(128,128,128,0.18)", line: { width: 0 }, layer: "below" };
    });
    var notes = [];
    if (w.plan) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: w.plan.by, x1: w.plan.by, y0: 0, y1: 1,
        line: { dash: "dash", width: 2, color: "#444" } });
      notes.push({ x: w.plan.by, y: 1, xref: "x", yref: "paper", text: "ready by", showarrow: false,
        xanchor: "left", yanchor: "top" });
    }
    plot("chart-forecast", traces, {
      // Each date starts at its tick, so today's, at the y axis, clears the axis's "0".
      barmode: "stack", xaxis: { type: "date", ticklabelposition: "outside right" },
      yaxis: { title: { text: "cards due" } }, shapes: shapes, annotations: notes,
    });
    key("chart-forecast", f.domains.map(function (d) {
      return { name: d.domain, colour: domainColour(d.domain) };
    }), true);
  }

  // -- progress by domain -------------------------------------------------------------

  function progress() {
    var rows = S.domains.filter(function (d) { return d.counts && d.counts.total > 0; });
    if (!rows.length) {
      empty("chart-progress", "No cards yet: point --vault at your notes and run `mlsys-srs sync`.");
      document.getElementById("progress-table").replaceChildren();
      return;
    }
    // The table first: the chart takes the width the table leaves it.
    var all = {};
    STATES.concat(["total"]).forEach(function (s) { all[s] = sum(rows.map(function (d) { return d.counts[s]; })); });
    function line(name, c) {
      return [name].concat(STATES.map(function (s) { return c[s]; }), [c.total]);
    }
    table(document.getElementById("progress-table"), ["domain"].concat(STATES, ["total"]),
      rows.map(function (d) { return line(d.domain, d.counts); }), [0, 1, 1, 1, 1, 1, 1],
      [line("all domains", all)], [0]);
    var names = rows.map(function (d) { return d.domain; });
    var box = document.getElementById("chart-progress");
    box.style.height = Math.max(200, 40 + 26 * rows.length) + "px";
    var traces = STATES.map(function (s) {
      return {
        type: "bar", orientation: "h", name: s, y: names.map(esc), x: rows.map(function (d) { return d.counts[s]; }),
        marker: { color: STATE_COLOURS[s] },
        customdata: rows.map(function (d) { return count(d.counts[s], "card"); }),
        hovertemplate: "%{y}: %{customdata} " + s + "<extra></extra>",
      };
    });
    plot("chart-progress", traces, {
      barmode: "stack", xaxis: { title: { text: "cards" } }, yaxis: { autorange: "reversed", type: "category" },
    });
    key("chart-progress", STATES.map(function (s) { return { name: s, colour: STATE_COLOURS[s] }; }), true);
  }

  // -- leeches ----------------------------------------------------------------------

  function leeches() {
    var ls = S.leeches || [];
    document.getElementById("leech-line").textContent = ls.length
      ? count(ls.length, "card") + " suspended as " + (ls.length === 1 ? "a leech" : "leeches") +
        " (tagged leech after too many lapses). Rewrite or split them, then `mlsys-srs unsuspend ID`."
      : "No leeches: no card has been suspended for lapsing too often.";
    function rows(list) {
      return list.map(function (c) { return ["#" + c.id, c.note + ":" + c.line, c.question, c.lapses]; });
    }
    var head = ["card", "note:line", "question", "lapses"];
    var box = document.getElementById("leeches");
    if (ls.length) table(box, head, rows(ls), [1, 0, 0, 1], null, [1, 2]);
    else box.replaceChildren();
    // The cards with the most lapses that are not leeches yet: the next ones to fix.
    var ml = (S.most_lapsed || []).filter(function (c) { return !c.suspended; });
    box = document.getElementById("most-lapsed");
    if (ml.length) table(box, head, rows(ml), [1, 0, 0, 1], null, [1, 2]);
    else box.replaceChildren(el("p", (S.most_lapsed || []).length
      ? "The cards with the most lapses are all leeches (above)." : "No card has lapsed yet.", "muted"));
  }

  // -- retention per week ----------------------------------------------------------

  function retention() {
    var r = S.retention_by_week;
    if (!r || !sum(r.weeks.map(function (w) { return w.reviews; }))) {
      empty("chart-retention", "Review for a week to see retention: it counts answers to cards you have already learned.");
      return;
    }
    var entries = [];
    function trace(weeks, name, main) {
      var pts = weeks.filter(function (w) { return w.reviews > 0; });
      var colour = main ? "#1d2330" : domainColour(name);
      entries.push({ name: name, colour: colour, line: true, visible: main });
      return {
        type: "scatter", mode: "lines+markers", name: esc(name),
        x: pts.map(function (w) { return w.end; }),
        y: pts.map(function (w) { return w.rate; }),
        customdata: pts.map(function (w) { return [w.start, count(w.reviews, "answer")]; }),
        visible: main ? true : "legendonly",
        line: { width: main ? 3 : 1.5, color: colour },
        marker: { size: main ? 6 : 4 },
        hovertemplate: "%{customdata[0]} to %{x}: %{y:.1%} of %{customdata[1]}<extra>" + esc(name) + "</extra>",
      };
    }
    var traces = [trace(r.weeks, "all domains", true)];
    r.domains.forEach(function (d) { traces.push(trace(d.weeks, d.domain, false)); });
    var x0 = r.weeks[0].start, x1 = r.weeks[r.weeks.length - 1].end;
    var desired = "desired " + pct(r.desired);
    traces.push({
      type: "scatter", mode: "lines", name: desired, x: [x0, x1], y: [r.desired, r.desired],
      line: { dash: "dash", color: "#2f6fde" }, hoverinfo: "name",
    });
    entries.push({ name: desired, colour: "#2f6fde", line: true, dash: true });
    plot("chart-retention", traces, {
      xaxis: { type: "date" }, yaxis: { tickformat: ".0%", range: [0, 1.05] },
    });
    key("chart-retention", entries, true);
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
      { type: "scatter", mode: "lines", x: [0, 1], y: [0, 1], name: "perfect calibration", line: { dash: "dot", color: "#9aa3b2" }, hoverinfo: "skip" },
      {
        type: "scatter", mode: "lines+markers", name: "actual pass rate", cliponaxis: false,
        x: bins.map(function (b) { return b.predicted; }), y: bins.map(function (b) { return b.actual; }),
        customdata: bins.map(function (b) { return [b.low, b.high, count(b.reviews, "answer")]; }),
        line: { color: "#2f6fde" },
        marker: { size: bins.map(function (b) { return 6 + 18 * Math.sqrt(b.reviews / max); }), color: "#2f6fde" },
        hovertemplate: "predicted %{customdata[0]:.0%}–%{customdata[1]:.0%} (mean %{x:.1%}): " +
          "%{y:.1%} passed of %{customdata[2]}<extra></extra>",
      },
    ], {
      // The corner's 0 % is the y axis's: the x axis labels 20 % up, so the two never collide.
      xaxis: { title: { text: "predicted recall" }, tickformat: ".0%", range: [0, 1.02], tickvals: [0.2, 0.4, 0.6, 0.8, 1] },
      yaxis: { title: { text: "pass rate" }, tickformat: ".0%", range: [0, 1.05] },
    });
    key("chart-calibration", [
      { name: "perfect calibration", colour: "#9aa3b2", line: true, dash: true },
      { name: "actual pass rate", colour: "#2f6fde", line: true },
    ], true);
    table(document.getElementById("calibration-table"), ["predicted", "mean", "pass rate", "answers"],
      bins.map(function (b) {
        return [Math.round(100 * b.low) + "–" + Math.round(100 * b.high) + " %", pct(b.predicted, 1), pct(b.actual, 1), b.reviews];
      }), [0, 1, 1, 1]);
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
      customdata: m.cards.map(function (c) { return count(Math.round(c), "card"); }),
      hovertemplate: "%{x}: %{customdata}<extra></extra>",
    }], { xaxis: { type: "date" }, yaxis: { title: { text: "cards" }, rangemode: "tozero" } });
  }

  // -- distributions ----------------------------------------------------------------

  function histogram(id, h, label, colour, title, unit) {
    var d = S.distributions;
    if (!d || !d.studied) {
      empty(id, "No studied cards yet: review some to see their " + title + ".");
      return;
    }
    var names = [];
    for (var i = 0; i < h.counts.length; i++) names.push(label(h.edges[i], h.edges[i + 1]));
    plot(id, [{
      type: "bar", x: names, y: h.counts, marker: { color: colour },
      customdata: h.counts.map(function (c) { return count(c, "card"); }),
      hovertemplate: "%{x}" + unit + ": %{customdata}<extra></extra>",
    }], {
      // Upright labels when they fit, else on end: never at a slant, so no label overhangs its neighbour.
      xaxis: { type: "category", title: { text: title + (unit ? "," + unit : "") }, autotickangles: [0, 90] },
      yaxis: { title: { text: "cards" } },
    });
  }
  function distributions() {
    var d = S.distributions || { stability_days: {}, difficulty: {}, recall: {} };
    histogram("chart-stability", d.stability_days, function (a, b) {
      return b === null ? "≥ " + a : a + "–" + b;
    }, "#2f6fde", "stability", " days");
    histogram("chart-difficulty", d.difficulty, function (a, b) { return a + "–" + b; }, "#e76f51", "difficulty", "");
    histogram("chart-recall", d.recall, function (a, b) {
      return Math.round(100 * a) + "–" + Math.round(100 * b);
    }, "#2a9d5b", "recall now", " %");
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
    var names = GRADES.map(function (g) { return g.charAt(0).toUpperCase() + g.slice(1); });
    var traces = GRADES.map(function (g, i) {
      return {
        type: "bar", name: names[i], x: states,
        y: ab.map(function (s) { return s[g]; }), marker: { color: GRADE_COLOURS[g] },
        customdata: ab.map(function (s) {
          var n = s.again + s.hard + s.good + s.easy;
          return n ? s[g] / n : 0;
        }),
        hovertemplate: "%{x}: %{y} (%{customdata:.1%})<extra>%{fullData.name}</extra>",
      };
    });
    plot("chart-buttons", traces, { barmode: "group", yaxis: { title: { text: "answers" } } });
    key("chart-buttons", GRADES.map(function (g, i) { return { name: names[i], colour: GRADE_COLOURS[g] }; }), true);
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

  // -- concept map (map.js) ----------------------------------------------------------

  var conceptMapView = window.mlsysConceptMap({
    D: D, G: G, FONT: FONT, CONFIG: CONFIG, drawing: drawing, NOTE_OF: NOTE_OF, CARDS_OF_NOTE: CARDS_OF_NOTE,
    esc: esc, el: el, count: count, pct: pct, num: num, table: table, empty: empty, cardList: cardList,
    domainColour: domainColour, darker: darker, translucent: translucent, weaknessColour: weaknessColour,
  });
  function conceptMap() {
    conceptMapView.draw();
  }

  // -- draw -------------------------------------------------------------------------

  var steps = [header, heatmap, forecast, memorised, progress, retention, calibration, distributions, buttons,
    timePerDay, weakTables, leeches, conceptMap];
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
  window.mlsysReport = {
    showDay: showDay,
    showNote: conceptMapView.showNote,
    mapLabels: conceptMapView.labels,
  };
})();
