// The concept map of the report page: each domain an island of its notes, bands for the
// links across domains, and names for the domains and the most linked notes, placed so
// that no two overlap at any size (placed again after a resize). page.js calls this
// factory with its helpers; note text is HTML-escaped in labels and shown with
// textContent in the note panel.
window.mlsysConceptMap = function (kit) {
  "use strict";

  var D = kit.D, G = kit.G, FONT = kit.FONT, CONFIG = kit.CONFIG;
  var esc = kit.esc, el = kit.el, count = kit.count, pct = kit.pct, num = kit.num, table = kit.table;
  var empty = kit.empty, cardList = kit.cardList, domainColour = kit.domainColour, darker = kit.darker;
  var translucent = kit.translucent, weaknessColour = kit.weaknessColour;

  var MAP = { labels: [] };

  function conceptMap() {
    var nodes = G.nodes;
    document.getElementById("map-line").textContent =
      count(nodes.length, "note") + ", " + count(G.links, "link") + ", " +
      count(G.dangling.length, "dangling concept") + ". Each domain is an island of its notes, joined by its " +
      "[[links]]; a band between two islands stands for the links across them, thicker for more.";
    var dbox = document.getElementById("dangling");
    if (!G.dangling.length) {
      dbox.replaceChildren(el("p", "None: every link points to a note.", "muted"));
    } else {
      table(dbox, ["concept", "notes", "linked from"], G.dangling.slice(0, 50).map(function (d) {
        var src = d.sources.slice(0, 4).map(function (s) { return s.note + ":" + s.line; }).join(", ");
        return [d.target, d.notes, src + (d.sources.length > 4 ? ", …" : "")];
      }), [0, 1, 0]);
    }
    var mapKey = document.getElementById("map-key");
    D.centres.forEach(function (c) {
      var li = el("li");
      var sw = el("span", null, "sw disc");
      sw.style.background = translucent(domainColour(c.domain), 0.18);
      sw.style.borderColor = domainColour(c.domain);
      li.append(sw, el("span", c.domain, "name"));
      mapKey.appendChild(li);
    });
    if (!nodes.length) {
      empty("concept-map", "No notes yet: point --vault at your notes and run `mlsys-srs sync`.");
      return;
    }
    var disc = {};
    D.centres.forEach(function (c) { disc[c.domain] = c; });
    var linked = nodes.map(function () { return 0; });
    var ex = [], ey = [], across = {};
    G.edges.forEach(function (e) {
      if (e[0] === e[1]) return;
      linked[e[0]] += e[2];
      linked[e[1]] += e[2];
      var a = nodes[e[0]].domain, b = nodes[e[1]].domain;
      if (a === b) {
        var p = D.layout[e[0]], q = D.layout[e[1]];
        ex.push(p[0], q[0], null);
        ey.push(p[1], q[1], null);
      } else {
        var pair = a < b ? a + "\u0000" + b : b + "\u0000" + a;
        across[pair] = (across[pair] || 0) + e[2];
      }
    });
    MAP.linked = linked;
    // Links across domains: one band per pair of domains, from rim to rim, width by links.
    var most = Math.max.apply(null, Object.keys(across).map(function (k) { return across[k]; }).concat([1]));
    var bands = {};
    Object.keys(across).forEach(function (pair) {
      var names = pair.split("\u0000"), A = disc[names[0]], B = disc[names[1]];
      var dx = B.x - A.x, dy = B.y - A.y, len = Math.sqrt(dx * dx + dy * dy) || 1;
      var w = Math.round(2 * (0.5 + 4 * Math.sqrt(across[pair] / most))) / 2;
      var band = bands[w] || (bands[w] = { x: [], y: [] });
      band.x.push(A.x + dx / len * A.r, B.x - dx / len * B.r, null);
      band.y.push(A.y + dy / len * A.r, B.y - dy / len * B.r, null);
    });
    var traces = Object.keys(bands).sort().map(function (w) {
      return { type: "scatter", mode: "lines", x: bands[w].x, y: bands[w].y, hoverinfo: "skip", name: "across domains",
        line: { width: Number(w), color: "rgba(110,120,140,0.22)" } };
    });
    traces.push({ type: "scatter", mode: "lines", x: ex, y: ey, hoverinfo: "skip", name: "links",
      line: { width: 0.7, color: "rgba(90,100,120,0.35)" } });
    MAP.nodeTrace = traces.length;
    traces.push({
      type: "scatter", mode: "markers", name: "notes",
      x: D.layout.map(function (p) { return p[0]; }), y: D.layout.map(function (p) { return p[1]; }),
      customdata: nodes.map(function (n, i) { return i; }),
      text: nodes.map(function (n, i) {
        return "<b>" + esc(n.title) + "</b><br>" + esc(n.path) + "<br>" + esc(n.domain) + " · " + count(n.cards, "card") +
          " · " + count(linked[i], "link") + " · recall " + pct(n.recall) +
          " · weakness " + num(n.score !== null ? n.score : n.own_score, 2);
      }),
      hovertemplate: "%{text}<extra></extra>",
      marker: {
        size: markerSizes(1),
        color: nodes.map(function (n) { return weaknessColour(n.score !== null ? n.score : n.own_score); }),
        line: { width: 1, color: nodes.map(function (n) { return darker(domainColour(n.domain), 0.2); }) },
      },
    });
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    D.centres.forEach(function (c) {
      x0 = Math.min(x0, c.x - c.r); x1 = Math.max(x1, c.x + c.r);
      y0 = Math.min(y0, c.y - c.r); y1 = Math.max(y1, c.y + c.r);
    });
    var pad = 0.08 * Math.max(x1 - x0, y1 - y0, 1);
    var shapes = D.centres.map(function (c) {
      var colour = domainColour(c.domain);
      return { type: "circle", xref: "x", yref: "y", x0: c.x - c.r, x1: c.x + c.r, y0: c.y - c.r, y1: c.y + c.r,
        fillcolor: translucent(colour, 0.08), line: { color: translucent(colour, 0.45), width: 1 }, layer: "below" };
    });
    var gd = document.getElementById("concept-map");
    var done = Plotly.newPlot(gd, traces, {
      font: FONT, showlegend: false, hovermode: "closest", dragmode: false,
      margin: { l: 2, r: 2, t: 2, b: 2 }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      xaxis: { visible: false, range: [x0 - pad, x1 + pad], scaleanchor: "y", fixedrange: true },
      yaxis: { visible: false, range: [y0 - pad, y1 + pad], fixedrange: true },
      shapes: shapes, annotations: [],
    }, CONFIG).then(function () { return placeLabels(gd); });
    kit.drawing.push(done);
    gd.on("plotly_click", function (ev) {
      var p = ev.points.filter(function (q) { return q.curveNumber === MAP.nodeTrace; })[0];
      if (p) showNote(p.customdata);
    });
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        Plotly.Plots.resize(gd).then(function () { return placeLabels(gd); });
      }, 120);
    });
  }

  function markerSizes(scale) {
    return G.nodes.map(function (n) { return scale * (5 + 2.2 * Math.sqrt(n.cards)); });
  }

  var measurer = null;
  function textWidth(text, size, bold) {
    measurer = measurer || document.createElement("canvas").getContext("2d");
    measurer.font = (bold ? "bold " : "") + size + "px " + FONT.family;
    return measurer.measureText(text).width;
  }

  function placeLabels(gd) {
    // Labels for the domains and for the most linked notes, placed greedily (domains
    // first, then notes from the most linked down): each takes the first spot beside
    // its node (right, left, above, below) that stays inside the plot and clear of
    // every label already placed, preferring spots that hide fewer notes; a note with
    // no free spot goes unlabelled (hover shows every note's name).
    var fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis;
    var nodes = G.nodes;
    var area = { x0: xa._offset, y0: ya._offset, x1: xa._offset + xa._length, y1: ya._offset + ya._length };
    var scale = Math.max(0.5, Math.min(1, xa._length / 820));
    var sizes = markerSizes(scale);
    function px(x) { return xa._offset + xa.l2p(x); }
    function py(y) { return ya._offset + ya.l2p(y); }
    var pts = D.layout.map(function (p, i) { return { x: px(p[0]), y: py(p[1]), r: sizes[i] / 2 }; });
    var taken = [];
    var GAP = 3, PAD = 3;
    function apart(b, t) {
      return b.x1 + GAP <= t.x0 || t.x1 + GAP <= b.x0 || b.y1 + GAP <= t.y0 || t.y1 + GAP <= b.y0;
    }
    function clear(b, obstacles) {
      if (b.x0 < area.x0 || b.y0 < area.y0 || b.x1 > area.x1 || b.y1 > area.y1) return false;
      return taken.every(function (t) { return apart(b, t); }) &&
        obstacles.every(function (t) { return apart(b, t); });
    }
    function hides(b) {
      var n = 0;
      pts.forEach(function (p) { if (p.x + p.r > b.x0 && p.x - p.r < b.x1 && p.y + p.r > b.y0 && p.y - p.r < b.y1) n++; });
      return n;
    }
    function dot(i) {
      var p = pts[i];
      return { x0: p.x - p.r, x1: p.x + p.r, y0: p.y - p.r, y1: p.y + p.r };
    }
    var SIDES = [[1, 0], [-1, 0], [0, 1], [0, -1]];
    var CORNERS = [[1, 1], [-1, 1], [1, -1], [-1, -1]];
    function spots(cx, cy, r, w, h, directions) {
      // One spot per direction (x right, y up): the label's near edge or corner touches the
      // circle of radius r round (cx, cy). [box, xanchor, yanchor, xshift, yshift]; Plotly's
      // shifts are in pixels, y upwards.
      return directions.map(function (d) {
        var k = d[0] && d[1] ? Math.SQRT1_2 : 1;
        var ax = cx + d[0] * (r + 2) * k, ay = cy - d[1] * (r + 2) * k;
        var x0 = d[0] > 0 ? ax : d[0] < 0 ? ax - w : ax - w / 2;
        var y0 = d[1] > 0 ? ay - h : d[1] < 0 ? ay : ay - h / 2;
        return [{ x0: x0, x1: x0 + w, y0: y0, y1: y0 + h },
          d[0] > 0 ? "left" : d[0] < 0 ? "right" : "center", d[1] > 0 ? "bottom" : d[1] < 0 ? "top" : "middle",
          d[0] * (r + 2) * k, d[1] * (r + 2) * k];
      });
    }
    function place(spotList, obstacles, near) {
      // The free spot that hides the fewest notes (the first of equals).
      var best = null, bestHidden = Infinity;
      spotList.forEach(function (s) {
        if (!clear(s[0], obstacles) || (near && !near(s[0]))) return;
        var hidden = hides(s[0]);
        if (hidden < bestHidden) { best = s; bestHidden = hidden; }
      });
      if (best) taken.push(best[0]);
      return best;
    }
    var annotations = [];
    var labels = [];
    // Domain names sit just outside their island (above, below, right, left) and hide no note.
    var allDots = nodes.map(function (n, i) { return dot(i); });
    var rims = D.centres.map(function (c) {
      var cx = px(c.x), cy = py(c.y);
      return { domain: c.domain, x: cx, y: cy, r: Math.abs(px(c.x + c.r) - cx) };
    });
    function nearest(b) {
      // The island whose rim comes closest to box b (an island the box overlaps, first).
      var best = null, gap = Infinity;
      rims.forEach(function (d) {
        var qx = Math.max(b.x0, Math.min(d.x, b.x1)), qy = Math.max(b.y0, Math.min(d.y, b.y1));
        var g = Math.sqrt((qx - d.x) * (qx - d.x) + (qy - d.y) * (qy - d.y)) - d.r;
        if (g < gap) { gap = g; best = d.domain; }
      });
      return best;
    }
    var small = xa._length < 560;
    var all = [[0, 1], [0, -1], [1, 0], [-1, 0]].concat(CORNERS);
    function domainPass(list, passes) {
      // Each domain of ``list`` in the first pass that has a spot for it; the rest are returned.
      return list.filter(function (c) {
        var size = small ? 11 : 12, text = c.domain;
        var w = textWidth(text, size, true) + 2 * PAD, h = 1.3 * size + 2 * PAD;
        var cx = px(c.x), cy = py(c.y), r = Math.abs(px(c.x + c.r) - cx);
        function outer(d) { return D.centres.length < 2 || d[0] * c.x + d[1] * c.y >= 0; }
        var spot = null;
        passes.some(function (t) {
          var directions = all.filter(function (d) { return outer(d) === t[1]; });
          // A domain's name must sit nearer its own island than any other.
          spot = place(spots(cx, cy, r + t[0], w, h, directions), allDots, function (b) { return nearest(b) === c.domain; });
          return spot !== null;
        });
        if (!spot) return true;
        annotations.push({
          x: c.x, y: c.y, xref: "x", yref: "y", text: "<b>" + esc(text) + "</b>", showarrow: false,
          xanchor: spot[1], yanchor: spot[2], xshift: spot[3], yshift: spot[4], borderpad: PAD, borderwidth: 0,
          font: { size: size, color: darker(domainColour(c.domain), 0.35) }, bgcolor: "rgba(255,255,255,0.85)",
        });
        labels.push({ kind: "domain", text: text });
        return false;
      });
    }
    // Domain names first, touching their island on its outer side (away from the middle of
    // the ring, where the bands run) or a little further out; then the notes; then, where
    // there is room left, the remaining domain names on their island's inner side.
    var unplaced = domainPass(D.centres, [[0, true], [12, true]]);
    // Note names, from the most linked note down; a label never covers the dot of
    // another note that might be labelled, nor (being "taken") a placed label.
    var order = nodes.map(function (n, i) { return i; }).filter(function (i) { return MAP.linked[i] > 0; })
      .sort(function (a, b) { return MAP.linked[b] - MAP.linked[a] || (nodes[a].title < nodes[b].title ? -1 : 1); });
    // As many names as the map has room for (one per ~11,000 px²), at most a quarter of the notes.
    var want = Math.max(4, Math.min(30, Math.round(xa._length * ya._length / 11000), Math.ceil(nodes.length / 4)));
    var tried = order.slice(0, 3 * want);
    var noteLabels = 0;
    tried.forEach(function (i) {
      if (noteLabels >= want) return;
      var n = nodes[i], p = pts[i];
      var text = n.title.length > 28 ? n.title.slice(0, 27) + "…" : n.title;
      var size = small ? 10 : 11;
      var w = textWidth(text, size, false) + 2 * PAD, h = 1.3 * size + 2 * PAD;
      var others = tried.filter(function (j) { return j !== i; }).map(dot);
      var spot = place(spots(p.x, p.y, p.r, w, h, SIDES.concat(CORNERS)), others);
      if (!spot) return;
      noteLabels++;
      annotations.push({
        x: D.layout[i][0], y: D.layout[i][1], xref: "x", yref: "y", text: esc(text), showarrow: false,
        xanchor: spot[1], yanchor: spot[2], xshift: spot[3], yshift: spot[4], borderpad: PAD, borderwidth: 0,
        font: { size: size, color: "#1d2330" }, bgcolor: "rgba(255,255,255,0.85)",
      });
      labels.push({ kind: "note", node: i, text: text });
    });
    domainPass(unplaced, [[0, false]]);
    MAP.labels = labels;
    var update = {};
    update["marker.size"] = [sizes];
    return Plotly.update(gd, update, { annotations: annotations }, [MAP.nodeTrace]).then(function () {
      gd.dataset.labelled = fl.width + "x" + fl.height;
    });
  }

  function showNote(i) {
    var n = kit.NOTE_OF[i];
    var cards = kit.CARDS_OF_NOTE[i].slice().sort(function (a, b) {
      return (a[4] === null ? 2 : a[4]) - (b[4] === null ? 2 : b[4]);
    });
    cardList(document.getElementById("note-cards"), n.title, cards.map(function (c) {
      return { text: c[2], meta: c[3] + " · recall now " + pct(c[4]) };
    }), n.path + " · " + n.domain + " · " + count(n.cards, "card") + " · weakness " +
      num(n.score !== null ? n.score : n.own_score, 3) + (cards.length ? "" : " · no cards"));
  }

  return {
    draw: conceptMap,
    showNote: showNote,
    labels: function () { return MAP.labels.slice(); },
  };
};
