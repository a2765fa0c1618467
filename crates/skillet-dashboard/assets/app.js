// The skillet dashboard: polls the JSON API every 2 s and draws it. Every text that comes from
// the server goes in through textContent (never as HTML), and the page's policy forbids inline
// code, so a skill's name or output cannot run as script here.
"use strict";

const POLL_MS = 2000;
const state = { token: null, seen: new Set(), first: true, detailId: null, timer: null };

function takeToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const given = hash.get("token");
  if (given) {
    sessionStorage.setItem("skillet-token", given);
    // Out of the address bar, history and anything the user copies from it.
    history.replaceState(null, "", location.pathname + location.search);
  }
  state.token = sessionStorage.getItem("skillet-token");
}

async function call(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  const response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) {
    const why = body && (body.error && (body.error.message || body.error)) || response.statusText;
    const error = new Error(String(why));
    error.status = response.status;
    throw error;
  }
  return body;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    // Through the CSSOM: the page's policy refuses style attributes.
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const badge = (word) => el("span", { class: "badge " + String(word).replace(/[^a-z_]/g, ""), text: word });
const pct = (rate) => (rate === null || rate === undefined) ? "–" : (rate * 100).toFixed(rate === 1 ? 0 : 1) + "%";
function ms(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1000) return value + " ms";
  if (value < 60000) return (value / 1000).toFixed(value < 10000 ? 2 : 1) + " s";
  return (value / 60000).toFixed(1) + " min";
}
function size(bytes) {
  if (bytes >= 1 << 30) return (bytes / (1 << 30)).toFixed(1) + " GiB";
  if (bytes >= 1 << 20) return (bytes / (1 << 20)).toFixed(1) + " MiB";
  if (bytes >= 1 << 10) return (bytes / 1024).toFixed(1) + " KiB";
  return bytes + " B";
}
function ago(at, now) {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return s + "s ago";
  if (s < 3600) return Math.round(s / 60) + "m ago";
  if (s < 86400) return Math.round(s / 3600) + "h ago";
  return Math.round(s / 86400) + "d ago";
}

function sparkline(points) {
  const NS = "http://www.w3.org/2000/svg";
  const width = 150, height = 28, pad = 3;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  const failed = points.filter((p) => p.status !== "ok").length;
  svg.setAttribute("aria-label", `${points.length} latest runs, ${failed} not ok`);
  if (points.length === 0) return svg;
  const max = Math.max(1, ...points.map((p) => p.duration_ms));
  const step = points.length > 1 ? (width - 2 * pad) / (points.length - 1) : 0;
  const xy = points.map((p, i) => [pad + i * step, height - pad - (p.duration_ms / max) * (height - 2 * pad)]);
  const line = document.createElementNS(NS, "polyline");
  line.setAttribute("points", xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "var(--accent)");
  line.setAttribute("stroke-width", "1.5");
  svg.append(line);
  points.forEach((p, i) => {
    // A lone run has no line: its dot stands for it.
    if (p.status === "ok" && points.length > 1) return;
    const dot = document.createElementNS(NS, "circle");
    dot.setAttribute("cx", xy[i][0].toFixed(1));
    dot.setAttribute("cy", xy[i][1].toFixed(1));
    dot.setAttribute("r", "2.5");
    dot.setAttribute("fill", p.status === "ok" ? "var(--accent)" : "var(--bad)");
    svg.append(dot);
  });
  return svg;
}

function fillList(id, items, render, none) {
  const list = document.getElementById(id);
  list.replaceChildren(...(items.length ? items.map(render) : [el("li", { class: "none", text: none })]));
}

function drawOverview(o) {
  const now = o.now_ms;
  const runs = o.skills.reduce((n, s) => n + s.runs, 0);
  const ok = o.skills.reduce((n, s) => n + (s.success_rate === null ? 0 : s.success_rate * s.runs), 0);
  const open = o.breakers.filter((b) => b.state !== "closed").length;
  const firing = o.alerts.filter((a) => a.state === "firing").length;
  const card = (label, value, testid) => el("div", { class: "card", "data-testid": testid },
    el("div", { class: "label", text: label }), el("div", { class: "value", text: value }));
  document.getElementById("cards").replaceChildren(
    card("runs", String(runs), "card-runs"),
    card("success", runs ? pct(ok / runs) : "–", "card-success"),
    card("skills", String(o.skills.length), "card-skills"),
    card("open breakers", String(open), "card-breakers"),
    card("live sessions", String(o.sessions.length), "card-sessions"),
    card("queued jobs", String(o.queue.waiting + o.queue.running), "card-queue"),
    card("firing alerts", String(firing), "card-alerts"),
  );

  const rows = o.skills.map((s) => el("tr", { "data-skill": s.skill },
    el("td", {}, el("strong", { text: s.skill })),
    el("td", {}, badge(s.state)),
    el("td", { class: "num", text: s.runs }),
    el("td", { class: "num", text: pct(s.success_rate) }),
    el("td", { class: "num hide-narrow", text: ms(s.duration_ms && s.duration_ms.p50) }),
    el("td", { class: "num", text: ms(s.duration_ms && s.duration_ms.p95) }),
    el("td", {}, sparkline(s.recent || [])),
  ));
  document.querySelector("#skills tbody").replaceChildren(...rows);
  document.getElementById("skills-empty").hidden = rows.length > 0;

  const pick = document.getElementById("filter-skill");
  const chosen = pick.value;
  const names = o.skills.map((s) => s.skill);
  if (chosen && !names.includes(chosen)) names.push(chosen);
  pick.replaceChildren(el("option", { value: "", text: "every skill" }),
    ...names.sort().map((n) => el("option", { value: n, text: n, selected: n === chosen })));

  fillList("breakers", o.breakers, (b) => el("li", { "data-skill": b.skill },
    el("span", {}, el("strong", { text: b.skill }), " ", badge(b.state),
      el("span", { class: "meta", text: ` ${b.consecutive_failures} failed in a row` })),
    b.state === "closed" ? null : el("button", {
      class: "primary", "data-testid": "breaker-close", "data-skill": b.skill, text: "Close",
      onclick: () => closeBreaker(b.skill),
    })), "No breaker has state.");
  fillList("sessions", o.sessions, (s) => el("li", {},
    el("span", {}, el("strong", { text: s.skill }), " ", el("span", { class: "meta mono", text: s.id.slice(0, 8) })),
    el("span", {}, badge(s.status), el("span", { class: "meta", text: ` ${s.turns} turns, used ${ago(s.last_used_at_ms, now)}` }))),
    "No open sessions.");
  fillList("queue", o.queue.jobs, (j) => el("li", {},
    el("span", {}, el("strong", { text: j.skill }), el("span", { class: "meta", text: ` ${j.priority}` })),
    el("span", {}, badge(j.status), el("span", { class: "meta", text: ` ${ago(j.submitted_at_ms, now)}` }))),
    "The queue is empty.");
  fillList("cache", o.cache, (c) => el("li", {},
    el("strong", { text: c.skill }),
    el("span", { class: "meta", text: `${c.hits} hits, ${c.misses} misses, ${c.entries} entries` })),
    "Nothing cached.");
  fillList("alerts", o.alerts, (a) => el("li", {},
    el("span", {}, el("strong", { text: a.name }), el("span", { class: "meta", text: ` ${a.skill}` })),
    el("span", {}, badge(a.state), el("span", { class: "meta", text: ` ${ago(a.at_ms, now)}` }))),
    "No alert has fired.");
}

function drawExecutions(list, now) {
  const rows = list.map((e) => {
    const row = el("tr", {
      tabindex: 0, "data-id": e.id, "data-skill": e.skill, "data-status": e.status,
      class: state.first || state.seen.has(e.id) ? null : "fresh",
      onclick: () => openDetail(e.id),
      onkeydown: (event) => { if (event.key === "Enter") openDetail(e.id); },
    },
      el("td", { text: ago(e.started_at_ms, now), title: new Date(e.started_at_ms).toISOString() }),
      el("td", {}, el("strong", { text: e.skill })),
      el("td", {}, badge(e.cached ? "cached" : e.status)),
      el("td", { class: "num hide-narrow", text: e.exit_code === null ? "–" : e.exit_code }),
      el("td", { class: "num", text: ms(e.duration_ms) }),
      el("td", { class: "mono hide-narrow", text: e.id }),
    );
    return row;
  });
  list.forEach((e) => state.seen.add(e.id));
  state.first = false;
  document.querySelector("#executions tbody").replaceChildren(...rows);
  document.getElementById("executions-empty").hidden = rows.length > 0;
}

async function openDetail(id) {
  state.detailId = id;
  const panel = document.getElementById("detail");
  panel.hidden = false;
  try {
    const d = await call("/api/executions/" + encodeURIComponent(id));
    if (state.detailId !== id) return;
    const e = d.execution;
    document.getElementById("detail-title").textContent = e.skill;
    const fields = [
      ["id", e.id], ["status", e.status], ["exit code", e.exit_code ?? "–"],
      ["started", new Date(e.started_at_ms).toISOString()], ["duration", ms(e.duration_ms)],
      ["attempt", e.attempt], ["cached", e.cached ? "yes" : "no"],
      ["peak memory", e.peak_memory_kb === null ? "–" : Math.round(e.peak_memory_kb / 1024) + " MiB"],
      ["CPU time", ms(e.cpu_time_ms)],
      ["processes", e.peak_processes === null ? "–" : e.peak_processes + " at most at once"],
      ["written", e.bytes_written === null ? "–" : size(e.bytes_written) + " to storage"],
      ["limit hit", e.limit_hit || "–"],
      ["error", e.error || "–"], ["asked by", e.origin || "command line"],
      ["parameters", e.params || (e.params_hash ? "not kept (" + e.params_hash.slice(0, 19) + "…)" : "–")],
    ];
    document.getElementById("detail-fields").replaceChildren(
      ...fields.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
    const total = Math.max(1, ...d.spans.map((s) => s.start_us + s.duration_us));
    document.getElementById("detail-spans").replaceChildren(...(d.spans.length ? d.spans.map((s) =>
      el("div", { class: "span-row" },
        el("span", { text: s.phase }),
        el("div", { class: "span-track" }, el("div", {
          class: "span-bar",
          style: {
            left: (100 * s.start_us / total).toFixed(2) + "%",
            width: (100 * s.duration_us / total).toFixed(2) + "%",
          },
        })),
        el("span", { class: "num", text: ms(Math.round(s.duration_us / 100) / 10) }))) :
      [el("p", { class: "empty", text: "No spans were kept for this execution." })]));
    const out = document.getElementById("detail-output");
    out.replaceChildren(...(d.output.length ? d.output.map((l) =>
      el("div", { class: l.source === "stderr" ? "stderr" : null, text: l.message })) :
      [el("span", { class: "empty", text: "No output was kept." })]));
  } catch (error) {
    showProblem(error);
  }
}

async function closeBreaker(skill) {
  try {
    await call("/api/breakers/" + encodeURIComponent(skill) + "/close", { method: "POST" });
    await refresh();
  } catch (error) {
    showProblem(error);
  }
}

function showProblem(error) {
  const box = document.getElementById("problem");
  if (!error) { box.hidden = true; return; }
  box.hidden = false;
  box.textContent = error.status === 401
    ? "This dashboard needs the token `skillet serve` printed: open the address it printed (ending in #token=…)."
    : "Cannot read skillet: " + error.message;
}

async function refresh() {
  const live = document.getElementById("live");
  const windowChoice = document.getElementById("window").value;
  const skill = document.getElementById("filter-skill").value;
  const status = document.getElementById("filter-status").value;
  const params = new URLSearchParams({ limit: "50" });
  if (skill) params.set("skill", skill);
  if (status) params.set("status", status);
  try {
    const [overview, executions] = await Promise.all([
      call("/api/overview?window=" + encodeURIComponent(windowChoice)),
      call("/api/executions?" + params),
    ]);
    drawOverview(overview);
    drawExecutions(executions, overview.now_ms);
    showProblem(null);
    live.className = "live on";
    live.textContent = "live · updated " + new Date().toLocaleTimeString();
  } catch (error) {
    live.className = "live off";
    live.textContent = "not connected";
    showProblem(error);
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => { await refresh(); schedule(); }, POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  takeToken();
  for (const id of ["window", "filter-skill", "filter-status"]) {
    document.getElementById(id).addEventListener("change", () => { state.first = true; refresh(); });
  }
  document.getElementById("detail-close").addEventListener("click", () => {
    state.detailId = null;
    document.getElementById("detail").hidden = true;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") document.getElementById("detail").hidden = true;
  });
  // A token pasted into the address bar of an open page arrives as a new fragment.
  window.addEventListener("hashchange", () => { takeToken(); refresh(); });
  refresh().then(schedule);
});
