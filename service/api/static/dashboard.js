// crisiswatch dashboard: polls the JSON API and draws hand-written SVG charts (no external assets).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const W = 600, H = 130, PAD = { l: 34, r: 6, t: 6, b: 16 };
let range = "24h";

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

async function getJSON(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);
const hhmm = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "–");

function scales(series, yMax) {
  const t0 = Date.parse(series.start), t1 = Date.parse(series.end);
  const x = (iso) => PAD.l + ((Date.parse(iso) - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v) => H - PAD.b - (v / (yMax || 1)) * (H - PAD.t - PAD.b);
  return { x, y };
}

function axes(svg, series, yMax, label) {
  const { y } = scales(series, yMax);
  svg.appendChild(svgEl("line", { x1: PAD.l, x2: W - PAD.r, y1: y(0), y2: y(0), stroke: "#d1d5db" }));
  const top = svgEl("text", { x: 2, y: PAD.t + 8 });
  top.textContent = label(yMax);
  svg.appendChild(top);
  const first = svgEl("text", { x: PAD.l, y: H - 3 });
  first.textContent = hhmm(series.start);
  svg.appendChild(first);
  const last = svgEl("text", { x: W - PAD.r, y: H - 3, "text-anchor": "end" });
  last.textContent = hhmm(series.end);
  svg.appendChild(last);
}

function markers(svg, series, x) {
  const colours = { info: "var(--info)", warning: "var(--warning)", critical: "var(--critical)" };
  for (const m of series.markers) {
    const line = svgEl("line", { x1: x(m.at), x2: x(m.at), y1: PAD.t, y2: H - PAD.b, "stroke-width": 2,
      stroke: colours[m.severity] || "var(--critical)", class: "marker", "data-incident-id": m.incident_id });
    const title = svgEl("title");
    title.textContent = `${hhmm(m.at)} ${m.state} ${m.severity} ${m.incident_id}`;
    line.appendChild(title);
    svg.appendChild(line);
  }
}

function volumeChart(series) {
  const pts = series.points;
  const yMax = Math.max(1, ...pts.map((p) => Math.max(p.count, p.high || 0)));
  const { x, y } = scales(series, yMax);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart volume", role: "img",
    "aria-label": `${series.brand} mentions` });
  const step = series.step_seconds * 1000;
  const width = (W - PAD.l - PAD.r) / Math.max(1, pts.length);
  const banded = pts.filter((p) => p.high !== undefined);
  if (banded.length) {
    const mid = (p) => new Date(Date.parse(p.t) + step / 2).toISOString();
    const upper = banded.map((p) => `${x(mid(p))},${y(p.high)}`);
    const lower = banded.slice().reverse().map((p) => `${x(mid(p))},${y(p.low)}`);
    svg.appendChild(svgEl("polygon", { points: upper.concat(lower).join(" "), fill: "var(--band)", class: "band" }));
    svg.appendChild(svgEl("polyline", { points: banded.map((p) => `${x(mid(p))},${y(p.expected)}`).join(" "),
      fill: "none", stroke: "var(--vol)", "stroke-opacity": 0.5, "stroke-dasharray": "3 2" }));
  }
  for (const p of pts) {
    if (!p.count) continue;
    svg.appendChild(svgEl("rect", { x: x(p.t), y: y(p.count), width: Math.max(1, width - 0.5),
      height: Math.max(0.5, y(0) - y(p.count)), fill: "var(--vol)" }));
  }
  axes(svg, series, yMax, (v) => String(Math.round(v)));
  markers(svg, series, x);
  return svg;
}

function negativityChart(series) {
  const { x, y } = scales(series, 1);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H * 0.7}`, class: "chart negativity", role: "img",
    "aria-label": `${series.brand} negative share` });
  const yy = (v) => y(v) * 0.7;
  const step = series.step_seconds * 1000;
  let path = "";
  for (const p of series.points) {
    if (p.negative_share === null) { path += " "; continue; }
    const cx = x(new Date(Date.parse(p.t) + step / 2).toISOString());
    path += `${path.endsWith(" ") || !path ? "M" : "L"}${cx},${yy(p.negative_share)}`;
  }
  if (series.baseline_negative_share !== null) {
    const b = yy(series.baseline_negative_share);
    svg.appendChild(svgEl("line", { x1: PAD.l, x2: W - PAD.r, y1: b, y2: b, stroke: "var(--base)",
      "stroke-dasharray": "4 3" }));
  }
  svg.appendChild(svgEl("path", { d: path.trim() || "M0,0", fill: "none", stroke: "var(--neg)", "stroke-width": 1.5 }));
  svg.appendChild(svgEl("line", { x1: PAD.l, x2: W - PAD.r, y1: yy(0), y2: yy(0), stroke: "#d1d5db" }));
  const top = svgEl("text", { x: 2, y: PAD.t + 8 });
  top.textContent = "100%";
  svg.appendChild(top);
  markers(svg, { ...series, markers: series.markers }, x);
  for (const m of svg.querySelectorAll("line.marker")) m.setAttribute("y2", yy(0));
  return svg;
}

function badge(severity) {
  return el("span", { class: `badge ${severity}` }, severity);
}

function timeline(events) {
  const list = el("ol", { class: "timeline" });
  for (const e of events) {
    const item = el("li");
    item.appendChild(el("time", { datetime: e.at }, hhmm(e.at)));
    const what = e.kind === "action" ? `${e.action} by ${e.by}${e.until ? ` until ${hhmm(e.until)}` : ""}`
      : `${e.state} (${e.severity}) — ${e.summary}`;
    item.appendChild(document.createTextNode(what));
    list.appendChild(item);
  }
  return list;
}

function renderOpen(incidents) {
  const box = document.getElementById("open-incidents");
  box.replaceChildren();
  const open = incidents.filter((i) => i.open);
  if (!open.length) { box.appendChild(el("p", { class: "muted" }, "No open incident.")); return; }
  for (const i of open) {
    const card = el("article", { class: `card incident ${i.severity}`, "data-incident-id": i.id });
    const h = el("h3");
    h.append(badge(i.severity), el("span", {}, i.brand), el("span", { class: "muted" }, i.crisis_type.replace(/_/g, " ")));
    card.appendChild(h);
    card.appendChild(el("div", { class: "figures" },
      `${i.id} · opened ${hhmm(i.opened_at)} UTC · ${i.volume} mentions in the window (usual ${Math.round(i.expected_volume)}) · `
      + `${pct(i.negative_share)} negative · resemblance ${pct(i.resemblance)}`
      + (i.acknowledged_by ? ` · handled by ${i.acknowledged_by}` : "")
      + (i.snoozed_until ? ` · snoozed until ${hhmm(i.snoozed_until)}` : "")));
    if (i.explanation.length) card.appendChild(el("p", {}, i.explanation.join(" · ")));
    card.appendChild(timeline(i.timeline));
    box.appendChild(card);
  }
}

function renderRecent(incidents) {
  const body = document.querySelector("#recent-incidents tbody");
  body.replaceChildren();
  for (const i of incidents) {
    const row = el("tr", { "data-incident-id": i.id });
    const sev = el("td");
    sev.appendChild(badge(i.peak_severity));
    row.append(el("td", {}, i.id), el("td", {}, i.brand), sev, el("td", {}, i.crisis_type),
      el("td", {}, hhmm(i.opened_at)), el("td", {}, i.resolved_at ? hhmm(i.resolved_at) : "open"),
      el("td", {}, String(i.peak_volume)), el("td", {}, i.acknowledged_by || ""));
    body.appendChild(row);
  }
}

async function renderBrands(brands) {
  const box = document.getElementById("brands");
  const all = await Promise.all(brands.map((b) => getJSON(`api/brands/${encodeURIComponent(b.brand)}/series?range=${range}`)));
  box.replaceChildren();
  brands.forEach((b, n) => {
    const card = el("article", { class: "card brand", "data-brand": b.brand });
    const h = el("h3", {}, b.brand);
    if (b.open_incident) h.appendChild(badge(b.severity));
    card.appendChild(h);
    card.appendChild(el("div", { class: "figures" },
      `${b.volume_24h} mentions in 24 h · ${pct(b.negative_share_24h)} negative${b.team ? ` · ${b.team}` : ""}`));
    card.append(volumeChart(all[n]), negativityChart(all[n]));
    box.appendChild(card);
  });
}

function renderSources(sources) {
  const body = document.querySelector("#sources tbody");
  body.replaceChildren();
  if (!sources.length) {
    const row = el("tr");
    row.appendChild(el("td", { colspan: 7, class: "muted" }, "No source configured (mentions arrive through the API)."));
    body.appendChild(row);
  }
  for (const s of sources) {
    const row = el("tr", { "data-source": s.source });
    row.append(el("td", {}, s.source), el("td", {}, s.type || ""), el("td", { class: s.status.replace(" ", "-") }, s.status),
      el("td", {}, s.last_success ? `${hhmm(s.last_success)} (${Math.round(s.age_seconds / 60)} min ago)` : "never"),
      el("td", {}, String(s.mentions_per_hour)), el("td", {}, String(s.consecutive_failures)),
      el("td", {}, s.last_error || ""));
    body.appendChild(row);
  }
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [brands, incidents, sources] = await Promise.all(
      [getJSON("api/brands"), getJSON("api/incidents?state=all&limit=50"), getJSON("api/sources")]);
    renderOpen(incidents);
    renderRecent(incidents);
    renderSources(sources);
    await renderBrands(brands);
    status.textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC`;
    status.dataset.state = "ok";
  } catch (err) {
    status.textContent = `update failed: ${err.message}`;
    status.dataset.state = "error";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll(".range button")) {
    button.addEventListener("click", () => {
      range = button.dataset.range;
      for (const b of document.querySelectorAll(".range button")) b.classList.toggle("active", b === button);
      refresh();
    });
  }
  refresh();
  const asked = Number(new URLSearchParams(window.location.search).get("refresh"));  // seconds
  setInterval(refresh, asked >= 1 ? asked * 1000 : Number(document.body.dataset.refreshMs) || 10000);
});
