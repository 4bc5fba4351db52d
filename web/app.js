// SPDX-License-Identifier: MPL-2.0
// zsat dashboard: polls the tracker's HTTP API every second and draws the topology (SVG,
// laid out in ranks from sources to sinks like `zsat dot`), the stage table with the last
// 10 minutes of rates, alerts, and one task's timeline. No library, no network build step.
// URL fragment: #token=T (bearer token, when the endpoint needs one), #select=NODE,
// #task=ID (what a click and a search do, so a headless browser can do them too).
"use strict";

const POLL_MS = 1000;
const SPARK_POINTS = 600;  // 10 minutes of 1 s polls
const SVG = "http://www.w3.org/2000/svg";
const params = new URLSearchParams(location.hash.slice(1));
const state = { selected: params.get("select"), history: {}, layout: null, task: null };

function el(tag, attrs, parent, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

async function api(path) {
  const headers = {};
  if (params.get("token")) headers.Authorization = "Bearer " + params.get("token");
  const response = await fetch(path, { headers, cache: "no-store" });
  const body = await response.json();
  return { ok: response.ok, status: response.status, body };
}

// Ranks: the longest path from a node without inputs; nodes on no edge go last.
function layout(topology) {
  const names = topology.nodes.map(n => n.name);
  const rank = {};
  const edges = topology.edges.filter(e => names.includes(e.from) && names.includes(e.to));
  const hasIn = new Set(edges.map(e => e.to));
  const onEdge = new Set(edges.flatMap(e => [e.from, e.to]));
  names.forEach(n => { if (onEdge.has(n) && !hasIn.has(n)) rank[n] = 0; });
  for (let pass = 0; pass < names.length; pass++)  // bounded: a cycle cannot loop forever
    for (const e of edges)
      if (rank[e.from] !== undefined && (rank[e.to] === undefined || rank[e.to] < rank[e.from] + 1)
          && rank[e.from] + 1 < names.length)
        rank[e.to] = rank[e.from] + 1;
  const maxRank = Math.max(0, ...Object.values(rank));
  names.forEach(n => { if (rank[n] === undefined) rank[n] = maxRank + 1; });
  const columns = {};
  names.slice().sort().forEach(n => (columns[rank[n]] = columns[rank[n]] || []).push(n));
  const pos = {};
  const width = 170, height = 70;
  let tallest = 0;
  // rank by rank, each node in the free row nearest the (weighted) mean row of its inputs:
  // a long edge then runs through empty rows instead of across the boxes between
  const row = {};
  let rows = 0;
  for (const r of Object.keys(columns).map(Number).sort((a, b) => a - b)) {
    // a long edge weighs by the ranks it spans: it would cross more boxes
    const mean = n => {
      const ins = edges.filter(e => e.to === n && row[e.from] !== undefined)
                       .map(e => [row[e.from], Math.max(1, rank[n] - rank[e.from])]);
      const weight = ins.reduce((a, p) => a + p[1], 0);
      return ins.length ? ins.reduce((a, p) => a + p[0] * p[1], 0) / weight : null;
    };
    const taken = new Set();
    const wanted = columns[r].map(n => [mean(n), n]);
    wanted.sort((a, b) => (a[0] === null) - (b[0] === null) || a[0] - b[0]);
    for (const [m, n] of wanted) {
      let best = 0;
      if (m === null) while (taken.has(best)) best++;
      else for (let d = 0; d <= names.length; d++) {  // bounded search outward
        const lo = Math.round(m) - d, hi = Math.round(m) + d;
        if (lo >= 0 && !taken.has(lo)) { best = lo; break; }
        if (!taken.has(hi)) { best = hi; break; }
      }
      taken.add(best);
      row[n] = best;
      pos[n] = { x: 20 + r * width, y: 20 + best * height };
      rows = Math.max(rows, best + 1);
    }
  }
  tallest = rows;
  return { pos, w: 20 + (Object.keys(columns).length) * width, h: 20 + tallest * height };
}

function drawGraph(topology) {
  const svg = document.getElementById("graph");
  const key = topology.nodes.map(n => n.name).join(",") + "|" +
              topology.edges.map(e => e.from + ">" + e.to).join(",");
  if (!state.layout || state.layout.key !== key) state.layout = { key, ...layout(topology) };
  const { pos, w, h } = state.layout;
  svg.setAttribute("viewBox", `0 0 ${Math.max(w, 400)} ${Math.max(h, 200)}`);
  svg.replaceChildren();
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
                                markerWidth: 7, markerHeight: 7, orient: "auto" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#90a4ae" }, marker);
  const bw = 120, bh = 40;
  for (const e of topology.edges) {
    const a = pos[e.from], b = pos[e.to];
    if (!a || !b) continue;
    const x1 = a.x + bw, y1 = a.y + bh / 2, x2 = b.x, y2 = b.y + bh / 2;
    const g = el("g", { class: "edge " + (e.rate > 0 ? "flowing" : "idle"), "data-from": e.from,
                        "data-to": e.to, "data-rate": e.rate, "data-kind": e.kind }, svg);
    const mx = (x1 + x2) / 2;
    el("path", { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
                 "marker-end": "url(#arrow)" }, g);
    el("text", { x: mx, y: (y1 + y2) / 2 - 4 }, g,
       e.rate.toFixed(e.rate < 10 ? 1 : 0) + "/s" + (e.filtered ? "*" : ""));
  }
  for (const n of topology.nodes) {
    const p = pos[n.name];
    const g = el("g", { class: `node state-${n.state}` + (n.name === state.selected ? " selected" : ""),
                        "data-name": n.name, "data-state": n.state,
                        transform: `translate(${p.x},${p.y})` }, svg);
    el("rect", { width: bw, height: bh }, g);
    el("text", { x: bw / 2, y: 14 }, g, n.name);
    el("text", { x: bw / 2, y: 30, class: "kind" }, g,
       `${n.kind} ${n.instances}/${n.declared_instances}`);
    el("title", {}, g, `${n.name} (${n.kind}) on ${n.hosts.join(", ")}: ${n.state}, ` +
       `${n.rate.toFixed(1)} vectors/s, breaker ${n.breaker}`);
    g.addEventListener("click", () => select(n.name));
  }
}

function fmtUs(us) {
  if (us < 0) return "-";
  if (us < 1000) return us + "us";
  if (us < 1e6) return (us / 1000).toFixed(1) + "ms";
  return (us / 1e6).toFixed(1) + "s";
}

function spark(values) {
  const svg = el("svg", { class: "spark", width: 120, height: 18, viewBox: "0 0 120 18" });
  const max = Math.max(1, ...values);
  const points = values.map((v, i) =>
    `${(i * 120 / SPARK_POINTS).toFixed(1)},${(17 - 16 * v / max).toFixed(1)}`).join(" ");
  el("polyline", { points }, svg);
  return svg;
}

function drawStages(status, topology) {
  const down = new Set(topology.nodes.filter(n => n.state === "down").map(n => n.name));
  const body = document.querySelector("#stages tbody");
  body.replaceChildren();
  for (const s of status.stages) {
    const key = s.host + "/" + s.node;
    const h = state.history[key] = state.history[key] || [];
    h.push(s.rate_1s);
    if (h.length > SPARK_POINTS) h.shift();
    const tr = document.createElement("tr");
    tr.dataset.node = s.node;
    tr.dataset.host = s.host;
    if (s.node === state.selected) tr.className = "selected";
    if (down.has(s.node)) tr.classList.add("down");
    const cells = [s.host, s.node, s.instances, s.busy, s.queued, s.rate_1s.toFixed(1), null,
                   s.errors, s.retries, s.timeouts, s.failures, s.dead_letters,
                   fmtUs(s.p50_us), fmtUs(s.p99_us)];
    for (const c of cells) {
      const td = document.createElement("td");
      if (c === null) td.appendChild(spark(h)); else td.textContent = c;
      tr.appendChild(td);
    }
    tr.addEventListener("click", () => select(s.node));
    body.appendChild(tr);
  }
}

// Dead letters rising: any in the last minute (the tracker counts them per second).
function drawAlerts(status, topology, nodes) {
  const list = [];
  for (const [stage, st] of Object.entries(status.breakers || {}))
    if (st !== "closed") list.push(["breaker", `breaker of ${stage} is ${st}`]);
  for (const n of topology.nodes)
    if (n.state === "down") list.push(["down", `${n.name} is down (${n.instances} of ` +
                                       `${n.declared_instances} instances live)`]);
  for (const i of nodes.nodes || [])
    if (i.restarted_ms_ago >= 0 && i.restarted_ms_ago < 60000)
      list.push(["down", `${i.node}@${i.host}#${i.wid} restarted ${(i.restarted_ms_ago / 1000).toFixed(0)} s ago ` +
                         `(${i.restarts} restarts)`]);
  for (const s of status.stages)
    if (s.dead_letters_1m > 0)
      list.push(["dead", `dead letters rising at ${s.node}@${s.host}: ${s.dead_letters_1m} in the ` +
                         `last minute (${Object.entries(s.dead_by || {}).map(([r, c]) => r + " " + c).join(", ")})`]);
  for (const u of topology.undeclared || [])
    list.push(["drift", `${u.node}@${u.host} reports but is not declared there`]);
  const ul = document.getElementById("alerts");
  ul.replaceChildren();
  for (const [kind, text] of list) {
    const li = document.createElement("li");
    li.className = "alert-" + kind;
    li.textContent = text;
    ul.appendChild(li);
  }
  if (!list.length) ul.innerHTML = '<li class="none">none</li>';
}

function select(name) {
  state.selected = name;
  document.querySelectorAll("#graph .node").forEach(g =>
    g.classList.toggle("selected", g.dataset.name === name));
  let first = null;
  document.querySelectorAll("#stages tbody tr").forEach(tr => {
    tr.classList.toggle("selected", tr.dataset.node === name);
    if (!first && tr.dataset.node === name) first = tr;
  });
  if (first) first.scrollIntoView({ block: "nearest" });
}

// One lane per host, events placed by their time on the tracker's clock.
function drawTimeline(trace, id) {
  const svg = document.getElementById("timeline");
  svg.replaceChildren();
  const info = document.getElementById("trace-info");
  info.className = "";
  if (trace.error) {
    info.className = "error";
    info.textContent = `task ${id}: ${trace.error}`;
    return;
  }
  info.textContent = `task ${id} · type ${trace.type} · ${trace.state} · ` +
                     `runs ${trace.runs} · ${trace.events} events (${trace.retained} retained)`;
  const h = trace.history || [];
  const hosts = [...new Set(h.map(e => e.host))];
  const t0 = h.length ? h[0].time_us : 0, t1 = h.length ? h[h.length - 1].time_us : 1;
  const span = Math.max(1, t1 - t0);
  svg.setAttribute("viewBox", `0 0 360 ${40 + h.length * 22}`);
  svg.style.height = (40 + h.length * 22) + "px";
  hosts.forEach((host, i) => {
    const x = 60 + i * 50;
    el("line", { class: "lane", x1: x, y1: 14, x2: x, y2: 30 + h.length * 22 }, svg);
    el("text", { x, y: 10, "text-anchor": "middle" }, svg, host);
  });
  h.forEach((e, i) => {
    const y = 30 + i * 22, x = 60 + hosts.indexOf(e.host) * 50;
    const bad = ["ERROR", "TIMEOUT", "FAILURE", "DEAD_LETTER", "DEADLINE"].includes(e.event);
    const g = el("g", { class: "mark", "data-event": e.event }, svg);
    el("circle", { cx: x, cy: y, r: 5, class: bad ? "bad" : "" }, g);
    el("text", { x: 4, y: y + 4 }, g, "+" + ((e.time_us - t0) / 1000).toFixed(1) + "ms");
    el("text", { x: x + 12 + (hosts.length - 1 - hosts.indexOf(e.host)) * 50, y: y + 4 }, g,
       `${e.event} ${e.stage}@${e.host} retry ${e.retry}`);
  });
  el("text", { x: 4, y: 24 + h.length * 22 + 12 }, svg, `span ${(span / 1000).toFixed(1)} ms`);
}

async function trace(id) {
  state.task = id;
  document.getElementById("trace-id").value = id;
  try {
    const r = await api("api/v1/trace/" + encodeURIComponent(id));
    drawTimeline(r.body, id);  // the id as typed: a JSON number above 2^53 loses digits
  } catch (err) {
    drawTimeline({ error: "no answer: " + err }, id);
  }
}

async function poll() {
  const conn = document.getElementById("conn");
  try {
    const [topology, status, nodes] = await Promise.all(
      ["api/v1/topology", "api/v1/status", "api/v1/nodes"].map(api));
    if (!topology.ok || !status.ok) throw new Error("HTTP " + topology.status + "/" + status.status);
    document.getElementById("topology-name").textContent = topology.body.name;
    document.getElementById("rate-window").textContent = topology.body.rate_window_s;
    const t = status.body.tracker;
    document.getElementById("tracker-line").textContent =
      `tracker ${t.node}@${t.host} · zsat ${t.version} · up ${t.uptime_s} s · ${t.live} tasks live`;
    drawGraph(topology.body);
    drawStages(status.body, topology.body);
    drawAlerts(status.body, topology.body, nodes.body);
    conn.textContent = "live " + new Date().toLocaleTimeString();
    conn.className = "conn";
    document.body.dataset.polls = (+(document.body.dataset.polls || 0) + 1).toString();
  } catch (err) {
    conn.textContent = "tracker not answering (" + err.message + ")";
    conn.className = "conn bad";
  }
  setTimeout(poll, POLL_MS);
}

document.getElementById("trace-form").addEventListener("submit", ev => {
  ev.preventDefault();
  const id = document.getElementById("trace-id").value.trim();
  if (/^[0-9]+$/.test(id)) trace(id);
});
if (params.get("task")) trace(params.get("task"));
poll();
