// The supervisors' wall screen: /api/live "snapshot" events, re-drawn on each one; waits and
// times in state tick every second in the page. A supervisor signed in with his API token
// and his phone can listen, whisper or barge on each call with an agent (his phone rings).
import { Api, ApiError } from "./api.js";
import { CallJournal } from "./calls.js";
import { byId, fill, h, setText } from "./dom.js";
import {
  NONE,
  ServerClock,
  classLabel,
  clockTime,
  count,
  duration,
  percent,
  stateLabel,
} from "./format.js";

const GOAL = 0.8; // service-level goal: 80 % answered within the target
const STALE_MS = 15000; // no snapshot for this long: the feed is re-opened
const MAX_BACKOFF_MS = 10000;
const SPY_TOKEN_KEY = "ivr.supervisor.token";
const SPY_PHONE_KEY = "ivr.supervisor.phone";
const SPY_MODES = [
  ["listen", "Listen", "hear the call; nobody hears you"],
  ["whisper", "Whisper", "only the agent hears you"],
  ["barge", "Barge", "the agent and the caller hear you"],
];

/** The level of a service-level share against the goal. */
function serviceLevel(share) {
  if (share === null || share === undefined) return "none";
  if (share >= GOAL) return "good";
  return share >= GOAL - 0.2 ? "warn" : "bad";
}

function abandonLevel(rate) {
  if (rate === null || rate === undefined) return "none";
  if (rate > 0.1) return "bad";
  return rate > 0.05 ? "warn" : "good";
}

/** A table cell whose text is a share, coloured against the goal. */
function slCell(share) {
  const level = serviceLevel(share);
  return h("td", { class: `num ${level === "none" ? "" : level}` }, percent(share));
}

/** A cell ticking the seconds since `since` (an ISO time); late past `limit` seconds. */
function tickCell(since, limit, extra = "") {
  return h(
    "td",
    { class: `num ${extra}`, dataset: { since: since || "", limit: limit ?? "" } },
    NONE,
  );
}

/** A bar's filled part, `share` percent wide (CSSOM: the page's CSP has no inline styles). */
function barFill(share) {
  const fillNode = h("span", { class: "bar-fill" });
  fillNode.style.width = `${share}%`;
  return fillNode;
}

class LiveFeed {
  /** An EventSource that comes back after any failure and flags a silent feed. */
  constructor(url, onSnapshot, onState) {
    this.url = url;
    this.onSnapshot = onSnapshot;
    this.onState = onState;
    this.source = null;
    this.backoff = 1000;
    this.lastMessage = 0;
    this.retryTimer = null;
  }

  start() {
    this.open();
    setInterval(() => {
      if (this.source && this.lastMessage && Date.now() - this.lastMessage > STALE_MS) {
        this.restart(); // connected but silent: a proxy or the server went away
      }
    }, 1000);
  }

  open() {
    this.retryTimer = null;
    const source = new EventSource(this.url);
    this.source = source;
    this.lastMessage = Date.now();
    source.addEventListener("open", () => {
      this.backoff = 1000;
    });
    source.addEventListener("snapshot", (event) => {
      this.lastMessage = Date.now();
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (error) {
        console.error("bad snapshot", error);
        return;
      }
      this.onState("live");
      this.onSnapshot(data);
    });
    source.addEventListener("error", () => {
      if (this.source === source) this.restart(); // our own back-off, not the browser's 3 s
    });
  }

  restart() {
    if (this.source) this.source.close();
    this.source = null;
    this.onState("reconnecting");
    if (this.retryTimer) return;
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    this.retryTimer = setTimeout(() => this.open(), wait);
  }
}

/** The signed-in supervisor: his token (an Api) and the phone the engine rings. */
class Supervisor {
  constructor(onChange) {
    this.api = null;
    this.phone = "";
    this.onChange = onChange;
  }

  init() {
    byId("spy-signin").addEventListener("submit", (event) => {
      event.preventDefault();
      this.signIn(byId("spy-token").value.trim(), byId("spy-phone").value.trim());
    });
    byId("spy-signout").addEventListener("click", () => this.signOut());
    const token = sessionStorage.getItem(SPY_TOKEN_KEY);
    const phone = sessionStorage.getItem(SPY_PHONE_KEY) || "";
    byId("spy-phone").value = phone;
    if (token && phone) this.signIn(token, phone);
  }

  async signIn(token, phone) {
    if (!token || !phone) return this.say("Enter your API token and your phone.", false);
    const api = new Api(token);
    try {
      await api.get("/api/monitoring?limit=1"); // supervisors and admins only
    } catch (failure) {
      sessionStorage.removeItem(SPY_TOKEN_KEY);
      const status = failure instanceof ApiError ? failure.status : 0;
      const why = status === 401 ? "the API token was not accepted"
        : status === 403 ? "this token is not a supervisor's" : failure.message;
      return this.say(`Sign-in failed: ${why}`, false);
    }
    sessionStorage.setItem(SPY_TOKEN_KEY, token);
    sessionStorage.setItem(SPY_PHONE_KEY, phone);
    this.api = api;
    this.phone = phone;
    byId("spy-token").value = "";
    setText(byId("spy-phone-shown"), phone);
    byId("spy-signin").hidden = true;
    byId("spy-signed").hidden = false;
    this.say("", true);
    this.onChange();
  }

  signOut() {
    sessionStorage.removeItem(SPY_TOKEN_KEY);
    this.api = null;
    byId("spy-signin").hidden = false;
    byId("spy-signed").hidden = true;
    this.say("", true);
    this.onChange();
  }

  say(text, ok) {
    const node = byId("spy-status");
    node.className = `spy-status ${ok ? "ok" : "error"}`;
    setText(node, text);
    node.hidden = !text;
  }

  async monitor(call, mode) {
    if (!this.api) return;
    try {
      await this.api.post(`/api/calls/${encodeURIComponent(call.call_id)}/monitor`, {
        mode,
        phone: this.phone,
      });
      this.say(`${mode} · agent ${call.agent}: your phone ${this.phone} rings`, true);
    } catch (failure) {
      this.say(`${mode} · agent ${call.agent}: ${failure.message}`, false);
    }
  }
}

class Dashboard {
  constructor() {
    this.clock = new ServerClock();
    this.snapshot = null;
    this.talkSince = new Map(); // call id -> ISO time its talk began (fixed once)
    this.talkingKey = null; // the rows drawn (redrawn only when they change)
    this.supervisor = new Supervisor(() => this.renderTalking(this.snapshot?.talking || [], true));
  }

  start() {
    this.supervisor.init();
    new LiveFeed("/api/live", (s) => this.render(s), (state) => this.showState(state)).start();
    setInterval(() => this.tick(), 1000);
    this.tick();
  }

  showState(state) {
    const badge = byId("live-status");
    if (badge.dataset.state === state) return;
    badge.dataset.state = state;
    setText(badge.querySelector(".label"), state);
  }

  render(snapshot) {
    this.clock.sync(snapshot.at);
    for (const row of [...(snapshot.waiting || []), ...(snapshot.agents || [])]) {
      row.since ||= this.sinceFromSeconds(row.wait ?? row.in_state); // fixed once, then ticks
    }
    this.snapshot = snapshot;
    const queues = new Map((snapshot.queues || []).map((q) => [q.key, q]));
    setText(byId("timezone"), snapshot.timezone || "");
    setText(byId("updated"), `updated ${clockTime(snapshot.at, snapshot.timezone)}`);
    this.renderTotals(snapshot);
    this.renderWaiting(snapshot.waiting || [], queues);
    this.renderTalking(snapshot.talking || []);
    this.renderAgents(snapshot.agents || []);
    this.renderQueues(snapshot.queues || [], snapshot.waiting || []);
    this.renderLines(snapshot.lines || []);
    this.renderUnreachable(snapshot.unreachable || [], snapshot.lines || []);
    this.renderSource(snapshot.live || []);
    this.tick();
  }

  // Where the waiting, talking and agents come from: this engine (it owns the Asterisk's
  // live actions), the owner's row in the database (with its age), or nowhere (stale/none).
  renderSource(live) {
    const many = live.length > 1;
    const text = live.map((a) => {
      const name = many ? `${a.asterisk}: ` : "";
      const age = a.age == null ? "" : `${a.age.toFixed(1)} s old`;
      if (a.source === "local") return `${name}live here`;
      if (a.source === "shared") return `${name}live from ${a.owner}, ${age}`;
      if (a.source === "stale") return `${name}no live data: ${a.owner} silent, ${age}`;
      return `${name}no live data: no owner yet`;
    });
    const badge = byId("live-source");
    badge.dataset.state = live.every((a) => a.source === "local" || a.source === "shared")
      ? "live"
      : "stale";
    setText(badge, text.join(" · "));
    badge.title = live.map((a) => `${a.asterisk}: ${a.source}, owner ${a.owner ?? "none"}`).join("\n");
  }

  renderTotals(snapshot) {
    const t = snapshot.totals || {};
    const tile = (id, value, level) => {
      setText(byId(`kpi-${id}`), value);
      byId(`tile-${id}`).dataset.level = level || "none";
    };
    tile("service-level", percent(t.service_level), serviceLevel(t.service_level));
    byId("kpi-service-level-bar").style.width = `${Math.round((t.service_level || 0) * 100)}%`;
    setText(
      byId("kpi-service-level-note"),
      `goal 80% · ${count(t.within_target)}/${count(t.answered)} in time`,
    );
    tile("answered", count(t.answered));
    setText(byId("kpi-answered-note"), `of ${count(t.offered)} offered`);
    tile("asa", duration(t.asa));
    tile("average-talk", duration(t.average_talk));
    tile("abandon-rate", percent(t.abandon_rate), abandonLevel(t.abandon_rate));
    setText(byId("kpi-abandon-note"), t.abandoned === 1 ? "1 call" : `${count(t.abandoned)} calls`);
    const queues = new Map((snapshot.queues || []).map((q) => [q.key, q]));
    const late = (snapshot.waiting || []).some(
      (w) => (w.wait || 0) > (queues.get(w.queue)?.answer_target ?? Infinity),
    );
    tile("waiting", count(t.waiting), t.waiting ? (late ? "bad" : "warn") : "good");
    tile("over-guideline", count(t.over_guideline), t.over_guideline ? "warn" : "none");
    tile("open-callbacks", count(t.open_callbacks), t.open_callbacks ? "warn" : "none");
    const dialling = snapshot.callbacks?.dialling || 0;
    setText(byId("kpi-callbacks-note"), dialling ? `open · ${dialling} dialling` : "open");
    tile("unreachable", count(t.unreachable_reports), t.unreachable_reports ? "warn" : "none");
  }

  renderWaiting(waiting, queues) {
    setText(byId("waiting-count"), waiting.length);
    byId("waiting-empty").hidden = waiting.length > 0;
    const rows = waiting.map((w) => {
      const queue = queues.get(w.queue);
      const since = w.since;
      return h(
        "tr",
        {
          "data-testid": "waiting-row",
          dataset: { callId: w.call_id, queue: w.queue, class: w.caller_class },
        },
        h("td", { class: "strong", "data-field": "queue" }, queue?.title || w.queue),
        h("td", { "data-field": "line" }, w.line || NONE),
        h(
          "td",
          { "data-field": "class" },
          h("span", { class: "class-tag", dataset: { class: w.caller_class } }, classLabel(w.caller_class)),
        ),
        tickCell(since, queue?.answer_target, "wait"),
      );
    });
    fill(byId("waiting-rows"), rows);
  }

  /** Calls with agents; a signed-in supervisor's buttons ring his phone into one. Redrawn
   * only when the calls change, so a button is never replaced under the pointer. */
  renderTalking(talking, force = false) {
    const key = talking.map((t) => `${t.call_id}/${t.agent}`).join(" ");
    if (!force && key === this.talkingKey) return;
    this.talkingKey = key;
    setText(byId("talking-count"), talking.length);
    byId("talking-empty").hidden = talking.length > 0;
    const live = new Set(talking.map((t) => t.call_id));
    for (const id of this.talkSince.keys()) if (!live.has(id)) this.talkSince.delete(id);
    const queues = new Map((this.snapshot?.queues || []).map((q) => [q.key, q]));
    const signedIn = Boolean(this.supervisor.api);
    const rows = talking.map((t) => {
      if (!this.talkSince.has(t.call_id)) this.talkSince.set(t.call_id, this.sinceFromSeconds(t.talk));
      const buttons = SPY_MODES.map(([mode, label, hint]) =>
        h(
          "button",
          {
            type: "button",
            title: signedIn ? hint : "sign in as a supervisor first",
            disabled: !signedIn,
            "data-testid": `spy-${mode}`,
            onclick: () => this.supervisor.monitor(t, mode),
          },
          label,
        ),
      );
      return h(
        "tr",
        { "data-testid": "talking-row", dataset: { callId: t.call_id, agent: t.agent } },
        h("td", { class: "strong", "data-field": "queue" }, queues.get(t.queue)?.title || t.queue),
        h("td", { "data-field": "agent" }, t.agent),
        tickCell(this.talkSince.get(t.call_id), null),
        h("td", {}, h("span", { class: "spy-buttons" }, buttons)),
      );
    });
    fill(byId("talking-rows"), rows);
    this.tick();
  }

  renderAgents(agents) {
    setText(byId("agents-count"), agents.filter((a) => a.state !== "logged_out").length);
    byId("agents-empty").hidden = agents.length > 0;
    const rows = agents.map((a) =>
      h(
        "tr",
        { "data-testid": "agent-row", dataset: { agent: a.id, state: a.state } },
        h(
          "td",
          { class: "strong nowrap", "data-field": "agent" },
          a.name || a.id,
          a.name && !a.name.includes(a.id) ? h("span", { class: "sub" }, a.id) : null,
        ),
        h(
          "td",
          { class: "nowrap", "data-field": "state" },
          h("span", { class: "state", dataset: { state: a.state } }, stateLabel(a.state)),
          h("span", { class: "in-state", dataset: { since: a.since || "", limit: "" } }, NONE),
        ),
        h("td", { "data-field": "reason" }, a.reason || ""),
        h("td", { class: "num", "data-field": "answered" }, count(a.answered)),
        h("td", { class: "num" }, duration(a.average_talk)),
        h("td", { class: "num" }, percent(a.occupancy)),
        h("td", { class: "num" }, duration(a.not_ready_seconds)),
        h("td", { class: "num" }, duration(a.ringing_seconds)),
      ),
    );
    fill(byId("agent-rows"), rows);
  }

  renderQueues(queues, waiting) {
    const oldest = new Map();
    for (const w of waiting) {
      if (!oldest.has(w.queue)) oldest.set(w.queue, w.since);
    }
    const rows = queues.map((q) =>
      h(
        "tr",
        {
          "data-testid": "queue-row",
          class: q.offered || q.waiting || q.talking || q.ready_agents ? "" : "idle",
          dataset: { queue: q.key },
        },
        h("td", { class: "strong", "data-field": "queue", title: q.key }, q.title || q.key),
        h("td", { class: `num ${q.waiting ? "strong" : ""}`, "data-field": "waiting" }, count(q.waiting)),
        oldest.has(q.key) ? tickCell(oldest.get(q.key), q.answer_target) : h("td", { class: "num" }, NONE),
        h("td", { class: "num" }, count(q.ready_agents)),
        h("td", { class: "num" }, count(q.talking)),
        h("td", { class: "num", "data-field": "answered" }, count(q.answered)),
        slCell(q.service_level),
        h("td", { class: "num" }, duration(q.asa)),
        h("td", { class: "num" }, duration(q.average_talk)),
        h("td", { class: `num ${abandonLevel(q.abandon_rate) === "bad" ? "bad" : ""}` }, percent(q.abandon_rate)),
        h("td", { class: `num ${q.over_guideline ? "warn" : ""}` }, count(q.over_guideline)),
      ),
    );
    fill(byId("queue-rows"), rows);
  }

  renderLines(lines) {
    const used = lines.filter((l) => l.offered || l.unreachable_reports);
    byId("lines-empty").hidden = used.length > 0;
    const rows = used.map((l) =>
      h(
        "tr",
        { "data-testid": "line-row", dataset: { line: l.key } },
        h("td", { class: "strong" }, l.key),
        h("td", {}, l.city || NONE),
        h("td", { class: "num" }, count(l.offered)),
        h("td", { class: "num", "data-field": "answered" }, count(l.answered)),
        slCell(l.service_level),
        h("td", { class: "num" }, duration(l.asa)),
        h("td", { class: "num" }, duration(l.average_talk)),
        h("td", { class: "num" }, percent(l.abandon_rate)),
        h("td", { class: `num ${l.over_guideline ? "warn" : ""}` }, count(l.over_guideline)),
        h("td", { class: `num ${l.unreachable_reports ? "warn" : ""}` }, count(l.unreachable_reports)),
      ),
    );
    fill(byId("line-rows"), rows);
  }

  renderUnreachable(reports, lines) {
    const cities = new Map(lines.map((l) => [l.key, l.city]));
    const shown = reports.filter((r) => r.reports > 0);
    byId("unreachable-empty").hidden = shown.length > 0;
    const most = Math.max(1, ...shown.map((r) => r.reports));
    const rows = shown.map((r) =>
      h(
        "div",
        { class: "bar-row", "data-testid": "unreachable-bar", dataset: { line: r.line } },
        h(
          "span",
          { class: "bar-label" },
          r.line,
          cities.get(r.line) ? h("span", { class: "sub" }, cities.get(r.line)) : null,
        ),
        h("span", { class: "bar-track" }, barFill((100 * r.reports) / most)),
        h("span", { class: "bar-value" }, count(r.reports)),
      ),
    );
    fill(byId("unreachable-bars"), rows);
  }

  /** An ISO time `seconds` before the server's now (when a row lacks `since`). */
  sinceFromSeconds(seconds) {
    if (!Number.isFinite(seconds)) return "";
    return new Date(this.clock.now() - seconds * 1000).toISOString();
  }

  /** Every second: the clock, the waits and the times in state. */
  tick() {
    setText(byId("clock"), clockTime(new Date(this.clock.now()).toISOString(), this.snapshot?.timezone));
    for (const cell of document.querySelectorAll("[data-since]")) {
      const seconds = this.clock.secondsSince(cell.dataset.since);
      setText(cell, duration(seconds));
      const limit = cell.dataset.limit === "" ? Infinity : Number(cell.dataset.limit);
      const late = seconds !== null && seconds > limit;
      cell.classList.toggle("late", late);
      cell.closest("tr[data-testid=waiting-row]")?.classList.toggle("late-row", late);
    }
    const waits = (this.snapshot?.waiting || []).map((w) => this.clock.secondsSince(w.since));
    setText(byId("kpi-waiting-note"), `longest ${waits.length ? duration(Math.max(...waits)) : NONE}`);
  }
}

new Dashboard().start();
new CallJournal().start();
