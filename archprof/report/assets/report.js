// archprof HTML report: table sorting, filtering and CSV download (no plotly needed), the per-layer
// selector, and the charts, drawn once the page has painted (plotly.js is parsed only then).
// Every number shown here was formatted by archprof in Python; this script only places strings.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("report-data").textContent);
  const PLOT_CONFIG = DATA.plotly_config;

  // plotly reads labels as pseudo-HTML: text from specs must reach it escaped
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  // -- numbers: the twin of archprof.units (si, size, duration), for the axis ticks of the per-layer chart,
  // whose range depends on what is selected; every other number on the page comes formatted from Python
  function sig3(x) {
    if (x === 0) return "0";
    const r = Number(x.toPrecision(3));
    const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(r))));
    return r.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  const SI = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  const BINARY = [[2 ** 40, "TiB"], [2 ** 30, "GiB"], [2 ** 20, "MiB"], [2 ** 10, "KiB"]];
  const FORMAT = {
    si(x) {
      if (x === null || Number.isNaN(x)) return "—";
      for (const [size, prefix] of SI) if (Math.abs(x) >= size * 0.9995) return `${sig3(x / size)} ${prefix}`;
      return Number.isInteger(x) ? x.toLocaleString("en-US") : sig3(x);
    },
    size(n) {
      if (n === null || Number.isNaN(n)) return "—";
      for (const [size, unit] of BINARY) if (Math.abs(n) >= size * 0.9995) return `${sig3(n / size)} ${unit}`;
      return `${Math.trunc(n).toLocaleString("en-US")} B`;
    },
    duration(ms) {
      if (ms === null || Number.isNaN(ms)) return "—";
      const a = Math.abs(ms);
      if (a >= 999.5) return `${sig3(ms / 1e3)} s`;
      if (a >= 0.9995) return `${sig3(ms)} ms`;
      if (a >= 0.0009995) return `${sig3(ms * 1e3)} µs`;
      return `${sig3(ms * 1e6)} ns`;
    },
  };
  window.archprofFormat = FORMAT; // the browser test checks the twin against Python's units

  function linearTicks(max, kind) {
    if (!(max > 0)) return { tickvals: [0], ticktext: ["0"] };
    let unit = 1;
    if (kind === "size") for (const [size] of BINARY) if (max >= size) { unit = size; break; }
    const raw = max / unit / 5;
    const p = 10 ** Math.floor(Math.log10(raw));
    const step = ([1, 2, 5, 10].find((m) => m * p >= raw) || 10) * p * unit;
    const tickvals = [];
    for (let v = 0; v <= max * 1.0001; v += step) tickvals.push(v);
    return { tickvals, ticktext: tickvals.map((v) => (v === 0 ? "0" : FORMAT[kind](v))) };
  }

  // -- tables ----------------------------------------------------------------------------------
  function cellValue(td) {
    return td.hasAttribute("data-v") ? td.getAttribute("data-v") : td.textContent;
  }

  function sortTable(table, col, th) {
    const numeric = th.dataset.type === "num";
    const dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", dir);
    const body = table.tBodies[0];
    const rows = [...body.rows];
    const key = (r) => {
      const v = cellValue(r.cells[col]);
      if (!numeric) return v.toLowerCase();
      const x = parseFloat(v);
      return Number.isNaN(x) ? null : x;
    };
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === y) return 0;
      if (x === null) return 1; // missing values last, either way
      if (y === null) return -1;
      return (x < y ? -1 : 1) * (dir === "ascending" ? 1 : -1);
    });
    rows.forEach((r) => body.appendChild(r));
  }

  function filterTable(table) {
    const box = table.closest(".tablebox");
    const text = box.querySelector("input[type=search]");
    const only = box.querySelector("input[data-only]");
    const words = text ? text.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
    let shown = 0;
    for (const r of table.tBodies[0].rows) {
      const t = r.textContent.toLowerCase();
      const ok = words.every((w) => t.includes(w)) && (!only || !only.checked || r.dataset[only.dataset.only] === "1");
      r.hidden = !ok;
      shown += ok ? 1 : 0;
    }
    const count = box.querySelector(".count");
    if (count) count.textContent = `${shown} of ${table.tBodies[0].rows.length} rows`;
  }

  function csvOf(table) {
    const quote = (s) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const lines = [[...table.tHead.rows[0].cells].map((c) => quote(c.textContent.trim()))];
    for (const r of table.tBodies[0].rows) {
      if (!r.hidden) lines.push([...r.cells].map((c) => quote(cellValue(c).trim())));
    }
    return lines.map((l) => l.join(",")).join("\r\n") + "\r\n";
  }

  function download(table, name) {
    const url = URL.createObjectURL(new Blob([csvOf(table)], { type: "text/csv;charset=utf-8" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function initTable(box) {
    const table = box.querySelector("table");
    table.querySelectorAll("th button.sort").forEach((b) =>
      b.addEventListener("click", () => sortTable(table, b.parentElement.cellIndex, b.parentElement)));
    box.querySelectorAll("input[type=search], input[data-only]").forEach((i) =>
      i.addEventListener("input", () => filterTable(table)));
    const csv = box.querySelector("button.csv");
    if (csv) csv.addEventListener("click", () => download(table, csv.dataset.file));
  }

  // -- per layer -------------------------------------------------------------------------------
  const PL = DATA.per_layer;
  const collapsed = new Set();
  const el = (id) => document.getElementById(id);

  function currentConfig() {
    return PL.configs[el("pl-config").value];
  }

  function fillConfigs() {
    const model = PL.models[el("pl-model").value];
    const sel = el("pl-config");
    sel.replaceChildren(...model.configs.map((id) => new Option(PL.configs[id].label, id)));
  }

  function hiddenByFold(row) {
    for (let p = row.u || ""; p; p = PL_PARENT.get(p)) if (collapsed.has(p)) return true;
    return false;
  }
  let PL_PARENT = new Map();

  function visibleRows(cfg) {
    PL_PARENT = new Map(cfg.rows.map((r) => [r.p, r.u || ""]));
    return cfg.rows.filter((r) => !hiddenByFold(r));
  }

  function renderLayerTable() {
    const cfg = currentConfig();
    const body = el("pl-table").tBodies[0];
    const rows = visibleRows(cfg);
    const trs = rows.map((r) => {
      const tr = document.createElement("tr");
      if (r.b) tr.className = "block";
      tr.dataset.path = r.p;
      cellsOf(r).forEach((text, i) => {
        const td = document.createElement("td");
        if (i === 0) {
          td.className = "path";
          td.style.paddingLeft = `${10 + 14 * r.d}px`;
          if (r.b) {
            const b = document.createElement("button");
            b.className = "fold";
            b.textContent = collapsed.has(r.p) ? "▸" : "▾";
            b.setAttribute("aria-label", (collapsed.has(r.p) ? "expand " : "collapse ") + r.p);
            b.addEventListener("click", () => {
              collapsed.has(r.p) ? collapsed.delete(r.p) : collapsed.add(r.p);
              drawLayers();
            });
            td.appendChild(b);
          }
          td.appendChild(document.createTextNode(text));
        } else {
          td.textContent = text;
          if (PL.left.includes(i)) td.className = "l";
        }
        const raw = PL.raw[i] < 0 ? null : r.v[PL.raw[i]];
        if (raw !== null && raw !== undefined) td.dataset.v = raw;
        tr.appendChild(td);
      });
      return tr;
    });
    body.replaceChildren(...trs);
    const folds = cfg.rows.some((r) => r.b);
    el("pl-fold").hidden = !folds;
  }

  // a row's cells: its path and kind, then the rest as formatted in Python
  const cellsOf = (r) => [r.p, r.k, ...r.c];

  function tooltip(r) {
    const cells = cellsOf(r);
    const lines = [`<b>${esc(r.p)}</b>`];
    PL.columns.forEach((name, i) => {
      if (i > 0 && cells[i] !== "—" && cells[i] !== "") lines.push(`${esc(name)}: ${esc(cells[i])}`);
    });
    return lines.join("<br>");
  }

  function drawLayerChart() {
    const div = el("fig-layers");
    if (!window.Plotly || !div) return;
    const cfg = currentConfig();
    const m = Number(el("pl-metric").value);
    const metric = PL.metrics[m];
    // a bar per leaf row, or per folded block; blocks that are open are drawn as their rows
    const bars = visibleRows(cfg).filter((r) => !r.b || collapsed.has(r.p));
    const kinds = [...new Set(bars.map((r) => r.k))];
    const traces = kinds.map((k) => {
      const mine = bars.filter((r) => r.k === k);
      return {
        type: "bar",
        name: esc(k),
        x: mine.map((r) => esc(r.p)), // category labels are pseudo-HTML too
        y: mine.map((r) => r.v[m]),
        marker: { color: PL.kinds[k] || "#9aa1ad" },
        customdata: mine.map(tooltip),
        hovertemplate: "%{customdata}<extra></extra>",
      };
    });
    const layout = JSON.parse(JSON.stringify(PL.layout));
    el("pl-caption").textContent = `${cfg.label}: ${metric.label} per row`;
    layout.yaxis.title = { text: esc(metric.axis) };
    const top = Math.max(0, ...bars.map((r) => r.v[m] || 0));
    Object.assign(layout.yaxis, linearTicks(top, metric.format));
    layout.xaxis.categoryarray = bars.map((r) => esc(r.p));
    Plotly.react(div, traces, layout, PLOT_CONFIG);
    div.classList.remove("pending");
  }

  function drawLayers() {
    renderLayerTable();
    drawLayerChart();
  }

  function initLayers() {
    if (!el("pl-model")) return;
    el("pl-model").addEventListener("change", () => { fillConfigs(); collapsed.clear(); drawLayers(); });
    el("pl-config").addEventListener("change", () => { collapsed.clear(); drawLayers(); });
    el("pl-metric").addEventListener("change", drawLayerChart);
    el("pl-collapse").addEventListener("click", () => {
      currentConfig().rows.forEach((r) => r.b && collapsed.add(r.p));
      drawLayers();
    });
    el("pl-expand").addEventListener("click", () => { collapsed.clear(); drawLayers(); });
    renderLayerTable();
  }

  // -- charts ----------------------------------------------------------------------------------
  function drawCharts() {
    // one chart at a time, nearest to the reader first, yielding between charts so that the page
    // keeps scrolling and answering clicks while the rest are drawn
    const charts = [...document.querySelectorAll(".chart")];
    const away = (d) => Math.abs(d.getBoundingClientRect().top);
    const queue = charts.sort((a, b) => away(a) - away(b));
    const next = () => {
      const div = queue.shift();
      if (!div) {
        document.documentElement.dataset.charts = "drawn";
        return;
      }
      if (div.id === "fig-layers") drawLayerChart();
      else {
        const fig = DATA.figures[div.dataset.fig];
        Plotly.newPlot(div, fig.data, fig.layout, PLOT_CONFIG);
        div.classList.remove("pending");
      }
      setTimeout(next, 0);
    };
    next();
  }

  function afterFirstPaint(fn) {
    // plotly.js only once the text is on screen: the browser reports the first contentful paint
    // after it is presented; where paint timing is missing, a second after the first frame
    let done = false;
    const go = () => {
      if (!done) {
        done = true;
        setTimeout(fn, 0);
      }
    };
    if (performance.getEntriesByName("first-contentful-paint").length) return go();
    try {
      new PerformanceObserver((list, observer) => {
        if (list.getEntriesByName("first-contentful-paint").length) {
          observer.disconnect();
          go();
        }
      }).observe({ type: "paint", buffered: true });
    } catch (e) {
      // no PerformanceObserver for paint: the fallback below
    }
    requestAnimationFrame(() => setTimeout(go, 1000));
  }

  async function loadPlotly() {
    // plotly.js sits in the page gzipped, in base64, as inert text: neither parsed nor run before the
    // tables have painted; here it is unpacked by the browser and becomes a script
    document.documentElement.dataset.plotlyStart = String(performance.now()); // the browser test reads it
    const packed = document.getElementById("plotly-js").textContent;
    if (typeof DecompressionStream === "undefined") {
      document.querySelectorAll(".chart").forEach((div) => {
        div.classList.remove("pending");
        div.textContent = "This browser cannot unpack the charts (they need DecompressionStream: Chrome or " +
          "Edge 80+, Firefox 113+, Safari 16.4+). Every number is in the tables.";
      });
      document.documentElement.dataset.charts = "unavailable";
      return;
    }
    const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const s = document.createElement("script");
    s.text = await new Response(stream).text();
    document.head.appendChild(s); // runs at once: Plotly exists from here on
    drawCharts();
  }

  document.querySelectorAll(".tablebox").forEach(initTable);
  initLayers();
  afterFirstPaint(loadPlotly);
})();
