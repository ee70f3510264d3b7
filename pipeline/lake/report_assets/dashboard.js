// anonpipe dashboard: filters and charts over the published rows embedded in the page (no network, no libraries).
// Every chart keeps the rows it draws; "Download CSV" writes exactly those rows, and a hidden <table class="data">
// holds them too (for screen readers and for the tests, which compare them with DuckDB queries).
"use strict";
const DATA = JSON.parse(document.getElementById("dashboard-data").textContent);
const L = JSON.parse(document.getElementById("dashboard-labels").textContent);
const NUM = new Intl.NumberFormat(DATA.lang === "en" ? "en-GB" : DATA.lang + "-KZ");
const COL = Object.fromEntries(DATA.cube_columns.map((c, i) => [c, i]));
const WEEKDAYS = L.weekdays.split(",");
const PALETTE = ["#2b6cb0", "#38a169", "#d69e2e", "#805ad5", "#dd6b20", "#319795", "#e53e3e", "#718096"];
const SVGNS = "http://www.w3.org/2000/svg";

function label(value) {
  if (value === "*") return L.generalized;
  if (value === "unknown" || value === null || value === undefined) return L.unknown;
  if (value === "other") return L.other;
  return String(value);
}

function el(tag, attrs, children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const child of [].concat(children || [])) node.append(child);
  return node;
}

function addDays(day, n) {
  const d = new Date(day + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function daysBetween(a, b) { return Math.round((new Date(b) - new Date(a)) / 86400000) + 1; }

// ---- filters -------------------------------------------------------------------------------------------------
const state = { from: DATA.first_day, to: DATA.last_day, event_type: "", service: "" };
for (const part of location.hash.slice(1).split("&")) {  // #from=…&to=…&event_type=…&service=… (links, tests)
  const [k, v] = part.split("=");
  if (k in state && v !== undefined) state[k] = decodeURIComponent(v);
}

function cubeRows(range) {
  const [from, to] = range || [state.from, state.to];
  return DATA.cube.filter(r => r[COL.local_date] >= from && r[COL.local_date] <= to
    && (!state.event_type || r[COL.event_type] === state.event_type)
    && (!state.service || r[COL.service] === state.service));
}

function sumBy(rows, keys) {
  const out = new Map();
  for (const r of rows) {
    const key = JSON.stringify(keys.map(k => r[COL[k]]));
    out.set(key, (out.get(key) || 0) + r[COL.events]);
  }
  return [...out].map(([k, v]) => [...JSON.parse(k), v]);
}

// ---- charts: each returns {columns, rows, body} --------------------------------------------------------------
function bars(items, opts) {  // items: [{key, label, parts: [{name, value}]}]; vertical stacked bars
  const width = 980, height = 240, left = 56, bottom = 34, top = 12;
  const totals = items.map(i => i.parts.reduce((s, p) => s + (p.value || 0), 0));
  const max = Math.max(1, ...totals);
  const step = (width - left) / Math.max(1, items.length), bar = Math.min(48, step * 0.7);
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  for (const f of [0, 0.5, 1]) {
    const y = top + (height - top - bottom) * (1 - f);
    svg.append(el("svg:line", { x1: left, x2: width, y1: y, y2: y, class: "grid" }),
      el("svg:text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, NUM.format(Math.round(max * f))));
  }
  items.forEach((item, i) => {
    let y = height - bottom;
    const x = left + i * step + (step - bar) / 2;
    item.parts.forEach((p, j) => {
      if (p.value === null || p.value === undefined) return;
      const h = (height - top - bottom) * p.value / max;
      y -= h;
      svg.append(el("svg:rect", { x, y, width: bar, height: Math.max(h, 0.5), fill: PALETTE[j % PALETTE.length],
        class: "mark", "data-key": item.key, "data-series": p.name, "data-value": p.value },
      el("svg:title", {}, `${item.label} · ${label(p.name)}: ${NUM.format(p.value)}`)));
    });
    if (opts && opts.valueLabels && totals[i]) {
      svg.append(el("svg:text", { x: x + bar / 2, y: y - 3, class: "value", "text-anchor": "middle" }, NUM.format(totals[i])));
    }
    if (items.length <= 16 || i % Math.ceil(items.length / 16) === 0) {
      svg.append(el("svg:text", { x: x + bar / 2, y: height - bottom + 16, class: "axis", "text-anchor": "middle" }, item.label));
    }
  });
  return svg;
}

function hbars(pairs) {  // pairs: [[key, value]] sorted; horizontal bars with values
  const row = 22, width = 470, left = 190;
  const max = Math.max(1, ...pairs.map(p => p[1]));
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${Math.max(row, pairs.length * row) + 4}`, role: "img" });
  pairs.forEach(([key, value], i) => {
    const w = (width - left - 70) * value / max;
    svg.append(el("svg:text", { x: left - 6, y: i * row + 15, class: "axis", "text-anchor": "end" }, label(key).slice(0, 34)),
      el("svg:rect", { x: left, y: i * row + 4, width: Math.max(w, 0.5), height: row - 8, fill: PALETTE[0], class: "mark",
        "data-key": key, "data-value": value }, el("svg:title", {}, `${label(key)}: ${NUM.format(value)}`)),
      el("svg:text", { x: left + w + 4, y: i * row + 15, class: "value" }, NUM.format(value)));
  });
  return svg;
}

function topValues(column, limit) {
  const pairs = sumBy(cubeRows(), [column]).sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])));
  const shown = pairs.slice(0, limit || 12);
  return { columns: [column, "events"], rows: shown, body: shown.length ? hbars(shown) : null };
}

const CHARTS = {
  per_day() {
    const byDay = new Map(sumBy(cubeRows(), ["local_date"]));
    const rows = [];
    for (let d = state.from; d <= state.to; d = addDays(d, 1)) {
      const v = byDay.get(d) || 0, prev = rows.length ? rows[rows.length - 1][1] : null;
      rows.push([d, v, prev ? Math.round(1000 * (v - prev) / prev) / 10 : null]);
    }
    const body = bars(rows.map(r => ({ key: r[0], label: r[0].slice(5), parts: [{ name: "events", value: r[1] }] })),
      { valueLabels: true });
    return { columns: ["local_date", "events", "change_vs_previous_day_pct"], rows, body };
  },
  people_per_day() {
    const wanted = { event_type: state.event_type || "*", service: state.service || "*", district: "*" };
    const rows = [];
    const byDay = new Map(DATA.people.filter(p => Object.entries(wanted).every(([k, v]) => !(k in p) || p[k] === v))
      .map(p => [p.period_start, p.people]));
    for (let d = state.from; d <= state.to; d = addDays(d, 1)) rows.push([d, byDay.has(d) ? byDay.get(d) : null]);
    const body = bars(rows.map(r => ({ key: r[0], label: r[0].slice(5), parts: [{ name: "people", value: r[1] }] })),
      { valueLabels: true });
    return { columns: ["local_date", "people"], rows, body, note: L.people_note };
  },
  service_per_day() {
    const rows = sumBy(cubeRows(), ["local_date", "service"]).sort((a, b) => a[0].localeCompare(b[0]) || String(a[1]).localeCompare(String(b[1])));
    const services = [...new Set(rows.map(r => r[1]))].sort();
    const items = [];
    for (let d = state.from; d <= state.to; d = addDays(d, 1)) {
      items.push({ key: d, label: d.slice(5), parts: services.map(s => ({ name: s, value: (rows.find(r => r[0] === d && r[1] === s) || [0, 0, 0])[2] })) });
    }
    const legend = el("div", { class: "legend" }, services.map((s, j) => el("span", {}, [el("i", { style: `background:${PALETTE[j % PALETTE.length]}` }), label(s)])));
    const body = el("div", {}, [bars(items), legend]);
    return { columns: ["local_date", "service", "events"], rows, body };
  },
  event_types: () => topValues("event_type"),
  services: () => topValues("service"),
  screens: () => topValues("screen"),
  districts() { return "district" in COL ? topValues("district", 20) : { columns: ["district", "events"], rows: [], body: null, note: L.no_districts }; },
  district_service() {
    if (!("district" in COL)) return { columns: ["district", "service", "events"], rows: [], body: null, note: L.no_districts };
    const rows = sumBy(cubeRows(), ["district", "service"]).sort((a, b) => String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1])));
    const districts = [...new Set(rows.map(r => r[0]))], services = [...new Set(rows.map(r => r[1]))];
    const max = Math.max(1, ...rows.map(r => r[2]));
    const table = el("table", { class: "matrix" }, [el("tr", {}, [el("th", {}, L.district), ...services.map(s => el("th", {}, label(s)))]),
      ...districts.map(d => el("tr", {}, [el("th", {}, label(d)), ...services.map(s => {
        const v = (rows.find(r => r[0] === d && r[1] === s) || [0, 0, 0])[2];
        return el("td", { class: "mark", "data-key": `${d}|${s}`, "data-value": v, style: `background:rgba(43,108,176,${(0.08 + 0.8 * v / max).toFixed(2)})` }, v ? NUM.format(v) : "");
      })]))]);
    return { columns: ["district", "service", "events"], rows, body: rows.length ? table : null };
  },
  people_district_service() {
    // People do not add up across days: one day only, the last of the range that has published rows.
    const days = DATA.people.filter(p => p.period_start >= state.from && p.period_start <= state.to && "district" in p
      && p.district !== "*" && p.service !== "*" && p.service !== "unknown" && (p.event_type || "*") === "*"
      && (!state.service || p.service === state.service)).map(p => p.period_start);
    const day = days.length ? days.sort()[days.length - 1] : null;
    const rows = DATA.people.filter(p => p.period_start === day && p.district !== "*" && p.service !== "*"
      && p.service !== "unknown" && (p.event_type || "*") === "*" && (!state.service || p.service === state.service))
      .map(p => [p.period_start, p.district, p.service, p.people])
      .sort((a, b) => String(a[1]).localeCompare(String(b[1])) || String(a[2]).localeCompare(String(b[2])));
    const districts = [...new Set(rows.map(r => r[1]))], services = [...new Set(rows.map(r => r[2]))];
    const max = Math.max(1, ...rows.map(r => r[3]));
    const table = el("table", { class: "matrix" }, [el("tr", {}, [el("th", {}, `${L.district} · ${day}`), ...services.map(s => el("th", {}, label(s)))]),
      ...districts.map(d => el("tr", {}, [el("th", {}, label(d)), ...services.map(s => {
        const r = rows.find(r => r[1] === d && r[2] === s);
        return el("td", r ? { class: "mark", "data-key": `${d}|${s}`, "data-value": r[3], style: `background:rgba(56,161,105,${(0.08 + 0.8 * r[3] / max).toFixed(2)})` } : {}, r ? NUM.format(r[3]) : "–");
      })]))]);
    return { columns: ["local_date", "district", "service", "people"], rows, body: rows.length ? table : null,
      note: L.people_district_note };
  },
  os: () => topValues("os_family"),
  devices: () => topValues("device_class"),
  heatmap() {
    const rows = sumBy(cubeRows(), ["local_weekday", "local_hour"]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const max = Math.max(1, ...rows.map(r => r[2]));
    const cell = 36, left = 40, topPad = 18;
    const svg = el("svg:svg", { viewBox: `0 0 ${left + 24 * cell} ${topPad + 7 * 22 + 4}`, role: "img" });
    for (let h = 0; h < 24; h += 3) svg.append(el("svg:text", { x: left + h * cell + cell / 2, y: 12, class: "axis", "text-anchor": "middle" }, String(h).padStart(2, "0")));
    WEEKDAYS.forEach((w, i) => svg.append(el("svg:text", { x: left - 6, y: topPad + i * 22 + 15, class: "axis", "text-anchor": "end" }, w)));
    for (const [weekday, hour, value] of rows) {
      svg.append(el("svg:rect", { x: left + hour * cell + 1, y: topPad + (weekday - 1) * 22 + 1, width: cell - 2, height: 20,
        fill: `rgba(43,108,176,${(0.06 + 0.94 * value / max).toFixed(3)})`, class: "mark", "data-key": `${weekday}|${hour}`, "data-value": value },
      el("svg:title", {}, `${WEEKDAYS[weekday - 1]} ${String(hour).padStart(2, "0")}:00 · ${NUM.format(value)}`)));
    }
    return { columns: ["local_weekday", "local_hour", "events"], rows, body: rows.length ? svg : null };
  },
};

// ---- page ----------------------------------------------------------------------------------------------------
function csv(columns, rows) {
  const quote = v => (v === null || v === undefined) ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v);
  return [columns, ...rows].map(r => r.map(quote).join(",")).join("\n") + "\n";
}

function render() {
  for (const figure of document.querySelectorAll("figure[data-chart]")) {
    const id = figure.dataset.chart, chart = CHARTS[id]();
    const holder = figure.querySelector(".body"), table = figure.querySelector("table.data");
    holder.replaceChildren(chart.body || el("p", { class: "empty" }, chart.note && !chart.rows.length ? chart.note : L.no_data));
    if (chart.note && chart.body) holder.append(el("p", { class: "note" }, chart.note));
    table.replaceChildren(el("tr", {}, chart.columns.map(c => el("th", {}, c))),
      ...chart.rows.map(r => el("tr", {}, r.map(v => el("td", {}, v === null ? "" : String(v))))));
    figure.querySelector("button.csv").onclick = () => {
      const link = el("a", { href: URL.createObjectURL(new Blob([csv(chart.columns, chart.rows)], { type: "text/csv" })),
        download: `${id}_${state.from}_${state.to}.csv` });
      link.click();
    };
  }
  renderKpis();
}

function renderKpis() {
  const n = daysBetween(state.from, state.to);
  const total = cubeRows().reduce((s, r) => s + r[COL.events], 0);
  const prevFrom = addDays(state.from, -n), prevTo = addDays(state.from, -1);
  const havePrev = DATA.cube.some(r => r[COL.local_date] >= prevFrom && r[COL.local_date] <= prevTo) && prevFrom >= DATA.first_day;
  const prev = cubeRows([prevFrom, prevTo]).reduce((s, r) => s + r[COL.events], 0);
  const change = havePrev && prev ? `${total >= prev ? "+" : ""}${(100 * (total - prev) / prev).toFixed(1)}% ${L.kpi_change.replace("{n}", n)}` : L.kpi_no_previous;
  const people = CHARTS.people_per_day().rows.filter(r => r[1] !== null);
  const last = people.length ? people[people.length - 1][1] : null;
  const avg = people.length ? Math.round(people.reduce((s, r) => s + r[1], 0) / people.length) : null;
  const days = DATA.days.filter(d => d.day >= state.from && d.day <= state.to);
  const events = days.reduce((s, d) => s + (d.events || 0), 0), hidden = days.reduce((s, d) => s + (d.suppressed || 0), 0);
  const late = days.reduce((s, d) => s + (d.late || 0), 0);
  document.getElementById("kpis").replaceChildren(
    el("div", { class: "kpi", "data-kpi": "events", "data-value": total }, [el("b", {}, NUM.format(total)), el("span", {}, L.kpi_events), el("small", {}, change)]),
    el("div", { class: "kpi", "data-kpi": "people_last_day", "data-value": last ?? "" }, [el("b", {}, last === null ? "–" : NUM.format(last)), el("span", {}, L.kpi_people), el("small", {}, `${L.kpi_people_avg}: ${avg === null ? "–" : NUM.format(avg)}`)]));
  const pct = events ? `${(100 * hidden / events).toFixed(2)}%` : "0%";
  document.getElementById("suppression").textContent = L.suppressed.replace("{pct}", pct).replace("{late}", NUM.format(late));
}

function setupFilters() {
  const types = [...new Set(DATA.cube.map(r => r[COL.event_type]))].sort();
  const services = "service" in COL ? [...new Set(DATA.cube.map(r => r[COL.service]))].sort() : [];
  const select = (name, values) => el("select", { name }, [el("option", { value: "" }, L.all), ...values.map(v => el("option", { value: v }, label(v)))]);
  const form = document.getElementById("filters");
  form.append(el("label", {}, [L.from, el("input", { type: "date", name: "from", min: DATA.first_day, max: DATA.last_day })]),
    el("label", {}, [L.to, el("input", { type: "date", name: "to", min: DATA.first_day, max: DATA.last_day })]),
    el("label", {}, [L.event_type, select("event_type", types)]),
    el("label", {}, [L.service, select("service", services)]),
    el("button", { type: "reset" }, L.reset));
  for (const name of Object.keys(state)) form.elements[name].value = state[name];
  form.addEventListener("change", () => {
    for (const name of Object.keys(state)) state[name] = form.elements[name].value || (name === "from" ? DATA.first_day : name === "to" ? DATA.last_day : "");
    history.replaceState(null, "", "#" + Object.entries(state).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&"));
    render();
  });
  form.addEventListener("reset", () => setTimeout(() => { form.dispatchEvent(new Event("change")); }, 0));
}

setupFilters();
render();
document.body.dataset.ready = "1";
