// Vigil's status page: reads /v1/status and /v1/incidents of the server that serves it, and
// refreshes when /v1/watch reports a change. Every value from the API reaches the page through
// textContent or an attribute, never as markup.
"use strict";

const MAX_ROWS = 2000; // rows rendered at once; the filter narrows the rest
const SEVERITY = { unhealthy: 0, degraded: 1, unknown: 2, healthy: 3 };

const state = { components: [], byName: new Map(), etag: "", selected: "", incident: "", incidents: [] };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v, digits) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits === undefined ? 3 : digits); }
function badge(status) { return el("span", { class: "badge " + status }, status); }
function risk(c) { return c.predictions.reduce((m, p) => Math.max(m, p.risk), 0); }
function breakerText(c) { return c.breaker ? c.breaker.state : "closed"; }

async function getJSON(url, etag) {
  const headers = {};
  if (etag) headers["If-None-Match"] = etag;
  const r = await fetch(url, { headers, cache: "no-cache" });
  if (r.status === 304) return { notModified: true };
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return { body: await r.json(), etag: r.headers.get("ETag") || "" };
}

async function loadStatus() {
  // One request per page of the API, following its cursor.
  let after = "", first = true, comps = [], doc = null;
  while (first || after) {
    const q = "v1/status?limit=10000" + (after ? "&after=" + encodeURIComponent(after) : "");
    const r = await getJSON(q, first ? state.etag : "");
    if (r.notModified) return false;
    if (first) { doc = r.body; state.etag = r.etag; }
    comps = comps.concat(r.body.components);
    after = r.body.next || "";
    first = false;
  }
  doc.components = comps;
  state.doc = doc;
  state.components = comps;
  state.byName = new Map(comps.map(c => [c.name, c]));
  return true;
}

async function loadIncidents() {
  const r = await getJSON("v1/incidents?limit=50");
  state.incidents = r.body.incidents;
}

function renderOverall() {
  const o = state.doc.overall;
  const b = document.getElementById("overall-status");
  b.className = "badge " + o.status;
  b.textContent = o.status;
  document.getElementById("overall-score").textContent = "score " + fmt(o.score);
  const c = o.counts;
  document.getElementById("overall-counts").textContent =
    `${o.components} components: ${c.healthy} healthy, ${c.degraded} degraded, ${c.unhealthy} unhealthy, ${c.unknown} unknown · ${o.open_incidents} open incidents`;
  document.getElementById("overall-rule").textContent = "Overall: " + o.rule;
}

function sorted() {
  const f = document.getElementById("filter").value.trim().toLowerCase();
  const s = document.getElementById("status-filter").value;
  const list = state.components.filter(c => (!f || c.name.toLowerCase().includes(f)) && (!s || c.status === s));
  list.sort((a, b) => (SEVERITY[a.status] - SEVERITY[b.status]) || ((a.score ?? 2) - (b.score ?? 2)) || a.name.localeCompare(b.name));
  return list;
}

function renderTable() {
  const list = sorted();
  const tbody = document.querySelector("#components tbody");
  const rows = [];
  for (const c of list.slice(0, MAX_ROWS)) {
    const tr = el("tr", { "data-name": c.name, "data-status": c.status },
      el("td", { class: "name", title: c.name }, c.name),
      el("td", {}, badge(c.status)),
      el("td", {}, fmt(c.score)),
      el("td", { class: breakerText(c) === "closed" ? "" : "open" }, breakerText(c)),
      el("td", {}, fmt(risk(c), 2)),
      el("td", { class: c.incident ? "open" : "" }, c.incident ? "#" + c.incident : ""),
      el("td", {}, (c.root_cause || []).join(", ")));
    if (c.name === state.selected) tr.classList.add("selected");
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
  document.getElementById("shown").textContent = `(${Math.min(list.length, MAX_ROWS)} of ${state.components.length} shown)`;
  const more = document.getElementById("more");
  more.hidden = list.length <= MAX_ROWS;
  more.textContent = `${list.length - MAX_ROWS} more match: narrow the filter.`;
}

function renderDetail() {
  const c = state.byName.get(state.selected);
  const box = document.getElementById("detail");
  document.getElementById("detail-name").textContent = state.selected;
  if (!c) { box.replaceChildren(el("p", { class: "note" }, "Select a service.")); renderGraph(null); return; }
  const dl = el("dl", {});
  const add = (k, v) => dl.append(el("dt", {}, k), el("dd", {}, v));
  add("status", badge(c.status));
  add("score", fmt(c.score));
  for (const [k, v] of Object.entries(c.signals)) add("signal " + k, fmt(v));
  const br = c.breaker;
  add("breaker", br ? `${br.state} (${br.mode}) since ${br.since}: ${br.reason}` : "closed");
  for (const p of c.predictions) {
    add("prediction " + p.source, `risk ${fmt(p.risk, 2)}, anomaly ${fmt(p.anomaly_score, 2)}` +
      (p.time_to_threshold_seconds === undefined ? "" : p.time_to_threshold_seconds === 0 ? `, past ${p.threshold} now` :
        `, ${Math.round(p.time_to_threshold_seconds)} s to ${p.threshold}`));
  }
  for (const h of c.active_incidents) add("healing " + h.rule, `${h.decision}${h.action ? ", " + h.action + ": " + h.outcome : ""}`);
  if (c.root_cause && c.root_cause.length) add("root cause", c.root_cause.join(", "));
  box.replaceChildren(dl);
  renderGraph(c);
}

// renderGraph draws the selected service with its callers on the left and its callees on the
// right, each edge labelled with its error ratio and p95 latency.
function renderGraph(c) {
  const box = document.getElementById("graph");
  if (!c) { box.replaceChildren(); return; }
  const left = c.dependents.slice(0, 20), right = c.dependencies.slice(0, 20);
  const rows = Math.max(left.length, right.length, 2);
  const h = rows * 36 + 20, w = 900;
  const s = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "dependencies of " + c.name });
  const node = (x, y, name) => {
    const comp = state.byName.get(name);
    const st = comp ? comp.status : "unknown";
    const g = svg("g", { class: "node", "data-name": name });
    g.append(svg("rect", { x: x - 85, y: y - 10, width: 170, height: 20, rx: 4, fill: "#fff", stroke: colour(st) }));
    g.append(svg("text", { x, y: y + 4, "text-anchor": "middle" }, name.length > 26 ? name.slice(0, 25) + "…" : name));
    s.append(g);
  };
  const cy = h / 2;
  const edge = (x1, y1, x2, y2, e) => {
    const bad = e.error_ratio >= 0.05;
    s.append(svg("line", { x1, y1, x2, y2, stroke: bad ? "#cf222e" : "#8c959f", "stroke-width": bad ? 2 : 1 }));
    s.append(svg("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 5, "text-anchor": "middle" },
      `${(e.error_ratio * 100).toFixed(1)}% · ${(e.latency_p95_seconds * 1000).toFixed(0)} ms`));
  };
  const top = rows > 1 ? (i, n) => 20 + i * 36 + (rows - n) * 18 : () => cy;
  left.forEach((e, i) => { const y = top(i, left.length); edge(175, y, 365, cy, e); node(90, y, e.service); });
  right.forEach((e, i) => { const y = top(i, right.length); edge(535, cy, 725, y, e); node(810, y, e.service); });
  node(450, cy, c.name);
  box.replaceChildren(s);
}

function colour(status) {
  return { healthy: "#1a7f37", degraded: "#9a6700", unhealthy: "#cf222e" }[status] || "#6e7781";
}

function renderIncidents() {
  const ul = document.getElementById("incidents");
  const items = state.incidents.map(inc => {
    const li = el("li", { "data-id": inc.id, "data-state": inc.state },
      `#${inc.id} ${inc.service} — ${inc.state}, since ${inc.opened_at} (${inc.cause})` +
      (inc.last_action ? `, last action ${inc.last_action.action}: ${inc.last_action.decision}` : ""));
    if (inc.id === state.incident) li.classList.add("selected");
    return li;
  });
  if (items.length === 0) items.push(el("li", { class: "note" }, "No incidents."));
  ul.replaceChildren(...items);
  if (!state.incident && state.incidents.length) state.incident = state.incidents[0].id;
  renderTimeline();
}

function describe(ev) {
  switch (ev.kind) {
    case "probe": return `probe ${ev.status}`;
    case "score": return `status ${ev.from} → ${ev.status}` + (ev.score !== undefined ? ` (score ${fmt(ev.score)}, cut-off ${fmt(ev.threshold, 2)})` : "");
    case "breaker": return `breaker ${ev.from} → ${ev.to} (${ev.reason})`;
    case "healing": return `healing ${ev.rule}: ${ev.decision}` + (ev.action ? ` ${ev.action}` : "") + (ev.dry_run ? " (dry run)" : "") + (ev.reason ? ` — ${ev.reason}` : "");
    case "resolved": return "resolved";
  }
  return ev.kind;
}

function renderTimeline() {
  const inc = state.incidents.find(i => i.id === state.incident);
  const ol = document.getElementById("timeline");
  document.getElementById("timeline-title").textContent = inc ? `#${inc.id} ${inc.service}` : "";
  if (!inc) { ol.replaceChildren(); return; }
  ol.replaceChildren(...inc.events.map(ev => el("li", { "data-kind": ev.kind },
    el("span", { class: "kind" }, ev.kind), " ", ev.at, " ", describe(ev))));
}

async function refresh() {
  try {
    const changed = await loadStatus();
    await loadIncidents();
    if (changed) {
      renderOverall();
      if (!state.selected && state.components.length) state.selected = sorted()[0].name;
      renderTable();
    }
    renderDetail();
    renderIncidents();
    document.getElementById("error").hidden = true;
    document.body.dataset.loaded = "true";
  } catch (err) {
    const e = document.getElementById("error");
    e.hidden = false;
    e.textContent = String(err);
  }
}

let pending = null;
function scheduleRefresh() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; refresh(); }, 500);
}

function watch() {
  const live = document.getElementById("live");
  const es = new EventSource("v1/watch");
  es.onopen = () => { live.className = "live on"; live.textContent = "live"; };
  es.onerror = () => { live.className = "live off"; live.textContent = "reconnecting"; };
  for (const kind of ["transition", "component", "incident"]) es.addEventListener(kind, scheduleRefresh);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("filter").addEventListener("input", renderTable);
  document.getElementById("status-filter").addEventListener("change", renderTable);
  document.querySelector("#components tbody").addEventListener("click", ev => {
    const tr = ev.target.closest("tr");
    if (!tr) return;
    state.selected = tr.dataset.name;
    renderTable();
    renderDetail();
  });
  document.getElementById("incidents").addEventListener("click", ev => {
    const li = ev.target.closest("li[data-id]");
    if (!li) return;
    state.incident = li.dataset.id;
    renderIncidents();
  });
  refresh();
  watch();
  setInterval(scheduleRefresh, 30000); // a safety net if events were missed
});
