// The dialer's dashboard: every campaign of the service, live.
//
// Every request carries the API token (Authorization: Bearer). The token comes from the
// login form or from the URL's #token= fragment (never sent to the server; removed from
// the address bar at once) and is kept in this tab's sessionStorage only.
// Figures: the API's status JSON (GET /campaigns, GET /campaigns/{name}), polled, plus
// GET /dashboard/funnels; the event stream (GET /events) is read with fetch() so that it
// sends the token like every other request, and each event refreshes the figures.
"use strict";

(() => {
  const TOKEN_KEY = "dialer.dashboard.token";
  const POLL_MS = 3000;
  const REFRESH_GAP_MS = 1000; // events refresh the figures at most this often
  const RATE_WINDOW_MS = 60000; // calls per minute: over the last minute
  const RECONNECT_MS = 2000;
  const EVENTS_SHOWN = 40;
  const ACTIONS = ["start", "pause", "resume", "stop"];
  const TEMPERATURE_CLASSES = { hot: "hot", warm: "warm", cold: "cold" };
  const OPERATOR_STATES = ["available", "on_call", "wrap_up", "paused"];

  const state = {
    token: null,
    session: null,
    cards: new Map(), // campaign -> its card's parts
    samples: new Map(), // campaign -> [[time, originated], ...] for calls per minute
    lastEventId: null,
    streamAbort: null,
    pollTimer: null,
    refreshTimer: null,
    lastRefresh: 0,
    polling: false,
    pollAgain: false,
  };

  class ApiError extends Error {
    constructor(status, detail) {
      super(`${status}: ${detail}`);
      this.status = status;
      this.detail = detail;
    }
  }

  // --- small DOM helpers --------------------------------------------------------------
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "class") node.className = value;
      else if (key === "width") node.style.width = value; // CSSOM: allowed by the CSP
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fill(container, ...children) {
    container.replaceChildren(...children.filter(Boolean));
  }

  const pct = (x, digits = 1) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(digits)}%`);
  const num = (x) => (x === null || x === undefined ? "–" : String(x));

  function when(iso) {
    if (!iso) return "none";
    const at = new Date(iso);
    const seconds = Math.round((at.getTime() - Date.now()) / 1000);
    if (seconds <= 0) return "due now";
    if (seconds < 120) return `in ${seconds} s`;
    if (seconds < 7200) return `in ${Math.round(seconds / 60)} min`;
    return at.toLocaleString();
  }

  // --- the API ------------------------------------------------------------------------
  async function api(method, path) {
    const response = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${state.token}`, Accept: "application/json" },
      cache: "no-store",
    });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const detail = body && body.detail ? String(body.detail) : response.statusText;
      if (response.status === 401) signOut(`The service refused this token (401): ${detail}`);
      throw new ApiError(response.status, detail);
    }
    return body;
  }

  // --- signing in and out -------------------------------------------------------------
  function tokenFromFragment() {
    const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (!match) return;
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  function showLogin(message) {
    $("board").hidden = true;
    $("logout").hidden = true;
    $("role").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("token-input").focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.session = null;
    if (state.streamAbort) state.streamAbort.abort();
    clearInterval(state.pollTimer);
    state.cards.clear();
    state.samples.clear();
    $("campaigns").replaceChildren();
    $("event-log").replaceChildren();
    setStream(false, "signed out");
    showLogin(message);
  }

  async function open() {
    state.token = sessionStorage.getItem(TOKEN_KEY);
    if (!state.token) {
      showLogin("");
      return;
    }
    try {
      state.session = await api("GET", "/dashboard/session");
    } catch (error) {
      if (error.status !== 401) showLogin(`The service did not answer: ${error.message}`);
      return;
    }
    $("login").hidden = true;
    $("board").hidden = false;
    $("logout").hidden = false;
    const role = $("role");
    role.hidden = false;
    role.textContent = `${state.session.role} token`;
    role.title = state.session.actor;
    const notice = $("notice");
    notice.hidden = state.session.may_steer;
    notice.textContent = state.session.may_steer
      ? ""
      : `Read only: a ${state.session.role} token reads figures; steering campaigns ` +
        "needs a supervisor token.";
    await poll();
    state.pollTimer = setInterval(poll, POLL_MS);
    readStream();
  }

  // --- figures ------------------------------------------------------------------------
  async function poll() {
    if (!state.token) return;
    if (state.polling) {
      state.pollAgain = true;
      return;
    }
    state.polling = true;
    try {
      const [rows, funnels] = await Promise.all([
        api("GET", "/campaigns"),
        api("GET", "/dashboard/funnels"),
      ]);
      const statuses = await Promise.all(
        rows.map((row) =>
          api("GET", `/campaigns/${encodeURIComponent(row.campaign)}`).catch(() => null),
        ),
      );
      render(rows, statuses, funnels.campaigns || {});
      $("problem").hidden = true;
      $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      if (state.token) {
        $("problem").hidden = false;
        $("problem").textContent = `Could not read the figures: ${error.message}`;
      }
    } finally {
      state.polling = false;
      state.lastRefresh = Date.now();
    }
    if (state.pollAgain) {
      state.pollAgain = false;
      refreshSoon();
    }
  }

  function refreshSoon() {
    if (state.refreshTimer) return;
    const wait = Math.max(0, REFRESH_GAP_MS - (Date.now() - state.lastRefresh));
    state.refreshTimer = setTimeout(() => {
      state.refreshTimer = null;
      poll();
    }, wait);
  }

  function callsPerMinute(name, originated) {
    const now = Date.now();
    let samples = state.samples.get(name) || [];
    if (samples.length && originated < samples[samples.length - 1][1]) samples = []; // a new run
    samples.push([now, originated]);
    while (samples.length > 2 && now - samples[1][0] >= RATE_WINDOW_MS) samples.shift();
    state.samples.set(name, samples);
    const [firstAt, firstCount] = samples[0];
    const span = now - firstAt;
    if (span < 1500) return null;
    return ((originated - firstCount) * 60000) / span;
  }

  function render(rows, statuses, funnels) {
    const seen = new Set();
    rows.forEach((row, index) => {
      const status = statuses[index] || {};
      seen.add(row.campaign);
      let card = state.cards.get(row.campaign);
      if (!card) {
        card = makeCard(row.campaign);
        state.cards.set(row.campaign, card);
        $("campaigns").append(card.root);
      }
      updateCard(card, row, status, funnels[row.campaign]);
    });
    for (const [name, card] of state.cards) {
      if (!seen.has(name)) {
        card.root.remove();
        state.cards.delete(name);
      }
    }
    $("no-campaigns").hidden = rows.length > 0;
  }

  function makeCard(name) {
    const part = (cls) => el("div", { class: cls });
    const card = {
      root: el("section", { class: "campaign", "data-campaign": name }),
      state: el("span", { class: "state", "data-figure": "state" }),
      wanted: el("span", { class: "muted", "data-figure": "wanted" }),
      message: el("p", { class: "message", role: "alert" }), // what steering answered
      failure: el("p", { class: "error", hidden: true }), // why the last run failed
      figures: part("figures"),
      progress: part("progress"),
      funnel: part("funnel"),
      outcomes: part("outcomes"),
      pacing: part("pacing"),
      abandon: part("abandon"),
      held: part("held"),
      buttons: {},
    };
    const controls = el("div", { class: "controls" });
    for (const action of ACTIONS) {
      const button = el("button", { type: "button", "data-action": action, text: action });
      button.addEventListener("click", () => steer(name, action, card));
      card.buttons[action] = button;
      controls.append(button);
    }
    const head = el(
      "div",
      { class: "head" },
      el("span", { class: "name", text: name }),
      card.state,
      card.wanted,
      controls,
    );
    card.root.append(
      head,
      card.message,
      card.failure,
      card.figures,
      card.progress,
      el(
        "div",
        { class: "columns" },
        el("div", {}, el("h3", { text: "Leads" }), card.funnel),
        el("div", {}, el("h3", { text: "Outcomes (calls)" }), card.outcomes),
      ),
      el(
        "div",
        { class: "columns" },
        el("div", {}, el("h3", { text: "Operators and dial level" }), card.pacing),
        el("div", {}, el("h3", { text: "Abandon rate (cap drawn)" }), card.abandon),
      ),
      el("h3", { text: "Held back by the compliance rules" }),
      card.held,
    );
    return card;
  }

  function stateOf(row, status) {
    const live = status.state;
    if (live && status.driven_here) return String(live);
    return String(row.state || "new").replace(", paused", "");
  }

  function updateCard(card, row, status, funnel) {
    const shown = stateOf(row, status);
    card.state.textContent = shown;
    card.state.dataset.state = shown.split(" ")[0];
    card.wanted.textContent = row.wanted ? `wanted ${row.wanted}` : "";
    const failure = status.error || row.error;
    card.failure.hidden = !failure;
    card.failure.textContent = failure ? `last run: ${failure}` : "";
    updateButtons(card, shown, status);

    const originated = Number(status.originated || 0);
    const rate = status.driven_here ? callsPerMinute(row.campaign, originated) : null;
    fill(
      card.figures,
      figure("contacts", row.contacts),
      figure("final", row.final),
      figure("pending", row.pending),
      figure("in flight", status.in_flight, "in_flight"),
      figure("calls placed", status.originated, "originated"),
      figure("calls / min", rate === null ? "–" : rate.toFixed(1), "calls_per_minute"),
      figure("attempts closed", status.attempts_closed, "attempts_closed"),
      figure("next due retry", when(row.next_due_at || status.next_due_at), "next_due_at"),
    );
    const share = row.contacts ? row.final / row.contacts : 0;
    fill(
      card.progress,
      el("div", { class: "bar", title: `${row.final} of ${row.contacts} contacts final` },
        el("span", { width: `${(100 * share).toFixed(1)}%` })),
      el("span", { class: "muted", text: `${pct(share)} of the list is final` }),
    );
    renderFunnel(card.funnel, funnel);
    renderOutcomes(card.outcomes, status.outcomes || {});
    renderPacing(card.pacing, status.pacing);
    renderAbandon(card.abandon, status.pacing, status.abandon_cap);
    renderHeld(card.held, status.held || {});
  }

  function figure(label, value, key) {
    return el(
      "div",
      { class: "figure" },
      el("span", { class: "label", text: label }),
      el("span", { class: "value", "data-figure": key || label, text: num(value) }),
    );
  }

  function updateButtons(card, shown, status) {
    const driven = Boolean(status.driven_here);
    const stopping = Boolean(status.stopping);
    const allowed = {
      start: !driven,
      pause: driven && !stopping && shown === "dialing",
      resume: driven && !stopping && shown === "paused",
      stop: driven && !stopping,
    };
    const mayNot = state.session && !state.session.may_steer;
    for (const action of ACTIONS) {
      const button = card.buttons[action];
      button.disabled = mayNot || !allowed[action] || button.dataset.busy === "1";
      button.title = mayNot
        ? `a ${state.session.role} token may not steer campaigns`
        : allowed[action]
          ? `${action} ${card.root.dataset.campaign}`
          : `not possible while ${shown}`;
    }
  }

  async function steer(name, action, card) {
    const button = card.buttons[action];
    button.dataset.busy = "1";
    button.disabled = true;
    card.message.className = "message muted";
    card.message.textContent = `${action}…`;
    try {
      const status = await api("POST", `/campaigns/${encodeURIComponent(name)}/${action}`);
      card.message.className = "message muted";
      card.message.textContent = `${action}: done (wanted ${status.wanted || "?"})`;
    } catch (error) {
      card.message.className = "message error";
      card.message.textContent =
        error.status === 403
          ? `403 Forbidden: ${error.detail}`
          : `${action} refused (${error.status || "no answer"}): ${error.detail || error.message}`;
    } finally {
      delete button.dataset.busy;
      poll();
    }
  }

  function rowsOf(entries, total, barClass) {
    const grid = el("div", { class: "rows" });
    for (const [label, count, cls] of entries) {
      const share = total ? count / total : 0;
      grid.append(
        el("span", { text: label }),
        el("div", { class: "bar" },
          el("span", { class: cls || barClass, width: `${(100 * share).toFixed(1)}%` })),
        el("span", { class: "count", "data-count": label, text: String(count) }),
      );
    }
    return grid;
  }

  function renderFunnel(box, funnel) {
    if (!funnel) {
      fill(box, el("span", { class: "muted", text: "not run yet" }));
      return;
    }
    const leads = Object.entries(funnel.leads || {});
    if (!leads.some(([, count]) => count > 0)) {
      fill(box, el("span", { class: "muted", text: `no lead sorted yet (${funnel.reached} reached)` }));
      return;
    }
    const entries = leads.map(([t, count]) => [t, count, TEMPERATURE_CLASSES[t] || "outcome"]);
    fill(
      box,
      rowsOf(entries, Math.max(1, funnel.reached)),
      el("span", { class: "muted", text: `of ${funnel.reached} contacts reached` }),
    );
  }

  function renderOutcomes(box, outcomes) {
    const entries = Object.entries(outcomes).sort((a, b) => b[1] - a[1]);
    if (!entries.length) {
      fill(box, el("span", { class: "muted", text: "no call ended yet" }));
      return;
    }
    const total = entries.reduce((sum, [, n]) => sum + n, 0);
    fill(box, rowsOf(entries.map(([k, n]) => [k, n, "outcome"]), total));
  }

  function renderPacing(box, pacing) {
    if (!pacing) {
      fill(box, el("span", { class: "muted", text: "not running" }));
      return;
    }
    const mode = el("div", {},
      el("span", { text: `mode ${pacing.mode}${pacing.state && pacing.state !== pacing.mode ? ` (${pacing.state})` : ""}` }),
      pacing.paused ? el("span", { class: "notice", text: " · paused" }) : null);
    if (!pacing.operators) {
      fill(box, mode, el("span", { class: "muted",
        text: `fixed pace: up to ${pacing.max_channels} calls, ${pacing.calls_per_second}/s; ` +
          "no operators paced, no dial level" }));
      return;
    }
    const operators = pacing.operators;
    const total = Object.values(operators).reduce((sum, n) => sum + n, 0);
    const stack = el("div", { class: "stack", "data-figure": "operators" });
    const legend = el("div", { class: "legend" });
    const names = [...OPERATOR_STATES, ...Object.keys(operators).filter((s) => !OPERATOR_STATES.includes(s))];
    for (const name of names) {
      const count = operators[name] || 0;
      const cls = OPERATOR_STATES.includes(name) ? `op-${name}` : "op-other";
      if (count) stack.append(el("span", { class: cls, width: `${(100 * count) / total}%` }));
      legend.append(el("span", { "data-operators": name }, el("i", { class: cls }), `${name} ${count}`));
    }
    const level = el("div", { class: "figure" },
      el("span", { class: "label", text: "dial level" }),
      el("span", { class: "value", "data-figure": "dial_level", text: num(pacing.dial_level) }));
    const waiting = pacing.callers_waiting ? el("div", { class: "muted", text: `${pacing.callers_waiting} caller(s) waiting for an operator` }) : null;
    const empty = (pacing.queues_without_operators || []).length
      ? el("div", { class: "error", text: `no operator logged in: ${pacing.queues_without_operators.join(", ")}` })
      : null;
    fill(box, mode, total ? stack : el("span", { class: "muted", text: "no operator seen" }), legend, level, waiting, empty);
  }

  function renderAbandon(box, pacing, capValue) {
    const windows = pacing && pacing.abandon ? Object.entries(pacing.abandon) : [];
    const cap = capValue || (state.session && state.session.abandon_cap) || 0.03;
    if (!windows.length) {
      fill(box, el("span", { class: "muted", text: `no abandon figures (fixed pace); cap ${pct(cap, 0)}` }));
      return;
    }
    const target = pacing.abandon_target;
    const top = Math.max(cap * 2, ...windows.map(([, w]) => (w.rate || 0) * 1.15), (target || 0) * 1.2);
    const width = 320, left = 42, right = 12, rowH = 26, height = windows.length * rowH + 22;
    const span = width - left - right;
    const x = (rate) => left + (span * Math.min(rate, top)) / top;
    const chart = svg("svg", { class: "abandon", viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `abandon rate per window, cap ${pct(cap, 0)}` });
    windows.forEach(([name, w], i) => {
      const y = 16 + i * rowH;
      const rate = w.rate || 0;
      const level = rate >= cap ? "over" : target && rate >= target ? "near" : "ok";
      chart.append(
        svg("text", { x: 0, y: y + 12 }, name),
        svg("rect", { class: "track", x: left, y, width: span, height: 16, rx: 3 }),
        svg("rect", { class: `rate ${level}`, x: left, y, width: Math.max(0, x(rate) - left), height: 16, rx: 3,
          "data-window": name, "data-rate": rate }),
        svg("text", { x: left + 4, y: y + 12 }, `${pct(w.rate, 2)} (${w.abandoned}/${w.live})`),
      );
    });
    const capX = x(cap);
    chart.append(
      svg("line", { class: "cap", x1: capX, x2: capX, y1: 10, y2: height - 2, "data-cap": cap }),
      svg("text", { class: "cap-label", x: capX + 3, y: 10 }, `cap ${pct(cap, 0)}`),
    );
    if (target && target < cap) {
      const tx = x(target);
      chart.append(
        svg("line", { class: "target", x1: tx, x2: tx, y1: 12, y2: height - 2 }),
        svg("text", { class: "target-label", x: tx - 46, y: 10 }, `target ${pct(target, 1)}`),
      );
    }
    fill(box, chart);
  }

  function renderHeld(box, held) {
    const words = (state.session && state.session.held_reasons) || {};
    const entries = Object.entries(held).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    if (!entries.length) {
      fill(box, el("span", { class: "muted", text: "none held back" }));
      return;
    }
    const total = entries.reduce((sum, [, n]) => sum + n, 0);
    fill(box, rowsOf(entries.map(([k, n]) => [words[k] || k, n, "outcome"]), total));
  }

  // --- the event stream ---------------------------------------------------------------
  function setStream(on, text) {
    const pill = $("stream-state");
    pill.className = `pill ${on ? "on" : "off"}`;
    pill.textContent = text;
  }

  async function readStream() {
    while (state.token) {
      const abort = new AbortController();
      state.streamAbort = abort;
      try {
        const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
        if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
        const response = await fetch("/events", { headers, signal: abort.signal, cache: "no-store" });
        if (response.status === 401) {
          signOut("The service refused this token (401).");
          return;
        }
        if (!response.ok || !response.body) throw new Error(`event stream: ${response.status}`);
        setStream(true, "live");
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            onFrame(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch (error) {
        if (abort.signal.aborted) return;
      }
      if (!state.token) return;
      setStream(false, "reconnecting");
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  function onFrame(frame) {
    let id = null, kind = "message";
    const data = [];
    for (const line of frame.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") kind = value;
      else if (field === "data") data.push(value);
    }
    if (id) state.lastEventId = id;
    if (!data.length) return;
    let event;
    try {
      event = JSON.parse(data.join("\n"));
    } catch (_) {
      return;
    }
    logEvent(kind, event);
    refreshSoon();
  }

  function logEvent(kind, event) {
    const at = event.at ? new Date(event.at).toLocaleTimeString() : "";
    const extra = [event.outcome, event.by, event.error, event.dropped !== undefined ? `${event.dropped} dropped` : null]
      .filter(Boolean).join(" ");
    const item = el("li", { "data-kind": kind },
      `${at} `, el("b", { text: kind }), ` ${event.campaign || ""} ${extra}`);
    const log = $("event-log");
    log.prepend(item);
    while (log.children.length > EVENTS_SHOWN) log.lastChild.remove();
  }

  // --- start --------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("token-input").value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token-input").value = "";
      open();
    });
    $("logout").addEventListener("click", () => signOut(""));
    tokenFromFragment();
    open();
  });
})();
