// The agent desk: sign in with an agent id and his API token (an agent token opens only its
// own agent's desk; the engine checks the id against it), go ready or pause, see the screen
// pop of each answered call with the subscriber's card, keep his phones right, file records.
import { Api, ApiError } from "./api.js";
import { byId, fill, h, setText } from "./dom.js";
import { NONE, ServerClock, classLabel, duration, stateLabel } from "./format.js";
import { Records } from "./records.js";
import { EventStream } from "./sse.js";

const AGENT_KEY = "ivr.agent";
const TOKEN_KEY = "ivr.token";

const enc = encodeURIComponent;

function show(node, visible) {
  node.hidden = !visible;
}

function say(node, text, ok) {
  node.className = `status ${ok ? "ok" : "error"}`;
  setText(node, text);
  node.hidden = !text;
}

class Desk {
  constructor() {
    this.clock = new ServerClock();
    this.agentId = "";
    this.api = null;
    this.stream = null;
    this.agent = null; // the agent's view: {id, name, state, reason, since, queues}
    this.call = null; // the screen-pop card of the current (or last) call
    this.subscriber = null; // the card shown: identified by the menu, or found by the agent
    this.found = false; // the subscriber came from the agent's search
    this.records = new Records(
      () => this.api,
      (tab) => this.details(tab),
      () => this.renderSubscriber(),
    );
  }

  init() {
    byId("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.signIn(byId("signin-agent").value.trim(), byId("signin-token").value.trim());
    });
    byId("btn-signout").addEventListener("click", () => this.signOut(""));
    byId("btn-login").addEventListener("click", () => this.act("login"));
    byId("btn-ready").addEventListener("click", () => this.act("ready"));
    byId("btn-logout").addEventListener("click", () => this.act("logout"));
    byId("pause-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.act("pause", { reason: byId("pause-reason").value.trim() });
    });
    byId("phone-add-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const phone = byId("phone-add").value.trim();
      if (phone) this.changePhones({ add: [phone] }, `Phone ${phone} added`);
    });
    byId("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.search(byId("search-by").value, byId("search-value").value.trim());
    });
    byId("sub-forget").addEventListener("click", () => {
      this.subscriber = null;
      this.found = false;
      this.renderSubscriber();
      this.records.prefill();
    });
    this.records.init();
    setInterval(() => this.tick(), 1000);
    const agent = sessionStorage.getItem(AGENT_KEY);
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (agent && token) this.signIn(agent, token);
  }

  // --- signing in and out ------------------------------------------------------------

  async signIn(agentId, token) {
    const error = byId("signin-error");
    error.hidden = true;
    if (!agentId || !token) return say(error, "Enter your agent id and API token.", false);
    const api = new Api(token);
    let reply;
    try {
      reply = await api.get(`/api/agents/${enc(agentId)}/call`);
    } catch (failure) {
      sessionStorage.removeItem(TOKEN_KEY);
      return say(error, this.signInProblem(failure, agentId), false);
    }
    sessionStorage.setItem(AGENT_KEY, agentId);
    sessionStorage.setItem(TOKEN_KEY, token);
    this.agentId = agentId;
    this.api = api;
    setText(byId("agent-name"), agentId);
    byId("signin-token").value = "";
    show(byId("signin"), false);
    show(byId("desk"), true);
    show(byId("agent-bar"), true);
    this.setCall(reply.call ?? null);
    this.refreshSubscriber();
    this.refreshAgent();
    this.stream = new EventStream(
      `/api/agents/${enc(agentId)}/events`,
      api.headers,
      (name, data) => this.onEvent(name, data),
      (state, detail) => this.onStreamState(state, detail),
    );
    this.stream.start();
  }

  signInProblem(failure, agentId) {
    const detail = failure instanceof ApiError ? failure.message : String(failure);
    const status = failure instanceof ApiError ? failure.status : 0;
    if (status === 401) return `Sign-in failed: the API token was not accepted (${detail}).`;
    if (status === 403) return `Sign-in failed: this token may not act as agent "${agentId}" (${detail}).`;
    if (status === 404) return `Sign-in failed: no agent "${agentId}" (${detail}).`;
    return `Sign-in failed: ${detail}`;
  }

  signOut(message) {
    if (this.stream) this.stream.stop();
    this.stream = this.api = this.agent = this.call = this.subscriber = null;
    sessionStorage.removeItem(TOKEN_KEY);
    show(byId("desk"), false);
    show(byId("agent-bar"), false);
    show(byId("desk-error"), false);
    show(byId("signin"), true);
    byId("signin-agent").value = this.agentId || sessionStorage.getItem(AGENT_KEY) || "";
    const error = byId("signin-error");
    if (message) say(error, message, false);
    else error.hidden = true;
  }

  onStreamState(state, detail) {
    const badge = byId("conn-status");
    badge.dataset.state = state;
    setText(badge, state);
    if (state === "denied") this.signOut(this.signInProblem(detail, this.agentId));
  }

  onEvent(name, data) {
    if (name === "call") this.setCall(data && "call" in data ? data.call : data);
    else if (name === "agent") this.setAgent(data && data.agent ? data.agent : data);
  }

  // --- the agent's state -------------------------------------------------------------

  async refreshAgent() {
    if (!this.api) return;
    try {
      const reply = await this.api.get("/api/agents");
      const mine = (reply.agents || []).find((a) => a.id === this.agentId);
      if (mine) this.setAgent(mine);
    } catch (failure) {
      console.warn("agents", failure);
    }
  }

  async act(action, body = {}) {
    const banner = byId("desk-error");
    try {
      const reply = await this.api.post(`/api/agents/${enc(this.agentId)}/${action}`, body);
      banner.hidden = true;
      if (reply.agent) this.setAgent(reply.agent);
    } catch (failure) {
      say(banner, `${action}: ${failure.message}`, false);
    }
  }

  setAgent(view) {
    if (!view || !view.state) return;
    this.agent = view;
    const badge = byId("agent-state");
    badge.dataset.state = view.state;
    setText(badge, stateLabel(view.state));
    const named = view.name && !view.name.includes(view.id);
    setText(byId("agent-name"), named ? `${view.name} (${view.id})` : view.name || view.id);
    setText(byId("agent-reason"), view.state === "paused" ? view.reason || "" : "");
    const out = view.state === "logged_out";
    show(byId("btn-login"), out);
    show(byId("btn-logout"), !out);
    show(byId("btn-ready"), !out);
    show(byId("pause-form"), !out);
    byId("btn-ready").disabled = view.state !== "paused";
    byId("btn-pause").disabled = view.state === "paused";
    this.tick();
  }

  // --- the call and the subscriber ---------------------------------------------------

  setCall(card) {
    if (!card) {
      if (this.call) this.call = { ...this.call, ended: true };
      return this.renderCall();
    }
    const fresh = !this.call || this.call.call_id !== card.call_id;
    this.call = card;
    const popped = card.subscriber || null;
    if (fresh) {
      this.subscriber = popped;
      this.found = false;
    } else if (popped && !this.found && popped.id !== this.subscriber?.id) {
      this.subscriber = popped; // the same call's card: keep the phones this page changed
    }
    if (fresh) {
      byId("search-results").replaceChildren();
      byId("search-status").hidden = true;
      byId("phones-status").hidden = true;
      this.records.select(card.caller_class === "non_target" ? "appeal" : "unreachable");
      this.records.reset();
    } else {
      this.records.prefill();
    }
    this.renderCall();
    this.renderSubscriber();
  }

  renderCall() {
    const call = this.call;
    show(byId("call-empty"), !call);
    show(byId("call-card"), Boolean(call));
    if (!call) return;
    byId("call-card").dataset.callId = call.call_id || "";
    setText(byId("call-line"), call.line || NONE);
    setText(byId("call-city"), call.line_city || "");
    setText(byId("call-sphere"), call.line_sphere || "");
    show(byId("call-sphere"), Boolean(call.line_sphere));
    show(byId("call-ended"), Boolean(call.ended));
    setText(byId("call-caller"), call.caller || "withheld");
    setText(byId("call-queue"), call.queue || NONE);
    setText(byId("call-class"), classLabel(call.caller_class));
    const path = Array.isArray(call.menu_path) ? call.menu_path : [];
    setText(byId("call-path"), path.length ? path.join(" › ") : NONE);
    const waited = Number.isFinite(call.wait);
    setText(byId("call-wait"), waited ? duration(call.wait) : "");
    show(byId("call-wait"), waited);
    show(byId("call-wait-label"), waited);
    this.tick();
  }

  /** Appeals (non-target calls) see no subscriber data at all. */
  get appealMode() {
    return this.records.tab === "appeal" || this.call?.caller_class === "non_target";
  }

  renderSubscriber() {
    const appeal = this.appealMode;
    const card = this.subscriber;
    show(byId("appeal-notice"), appeal);
    show(byId("subscriber-card"), !appeal && Boolean(card));
    show(byId("subscriber-search"), !appeal && !card);
    show(byId("sub-forget"), this.found);
    if (appeal || !card) {
      if (appeal) fill(byId("sub-phones"));
      return;
    }
    setText(byId("sub-name"), card.full_name || NONE);
    setText(byId("sub-contract"), card.contract || NONE);
    setText(byId("sub-address"), card.address || NONE);
    setText(byId("sub-city"), card.city || NONE);
    setText(byId("sub-office"), card.region_office || NONE);
    const phones = (card.phones || []).map((phone) =>
      h(
        "li",
        { dataset: { phone }, "data-testid": "sub-phone" },
        h("span", { class: "phone" }, phone),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            "aria-label": `Remove ${phone}`,
            "data-testid": "phone-remove",
            onclick: () => this.changePhones({ remove: [phone] }, `Phone ${phone} removed`),
          },
          "Remove",
        ),
      ),
    );
    if (!phones.length) phones.push(h("li", { class: "empty" }, "No phones on the account"));
    fill(byId("sub-phones"), phones);
  }

  /** Read the shown subscriber again (a card kept since the call was answered may be older
   * than the account, e.g. after this page was reloaded). */
  async refreshSubscriber() {
    const shown = this.subscriber;
    if (!shown || !this.api) return;
    try {
      const reply = await this.api.get(`/api/subscribers/${enc(shown.id)}`);
      if (this.subscriber === shown && reply.subscriber) {
        this.subscriber = reply.subscriber;
        this.renderSubscriber();
      }
    } catch (failure) {
      console.warn("subscriber", failure);
    }
  }

  async changePhones(change, done) {
    const status = byId("phones-status");
    if (!this.subscriber) return;
    try {
      const reply = await this.api.post(`/api/subscribers/${enc(this.subscriber.id)}/phones`, {
        add: change.add || [],
        remove: change.remove || [],
      });
      this.subscriber = reply.subscriber;
      if (change.add) byId("phone-add").value = "";
      this.renderSubscriber();
      say(status, done, true);
    } catch (failure) {
      say(status, `Phones not changed: ${failure.message}`, false);
    }
  }

  async search(by, value) {
    const status = byId("search-status");
    const results = byId("search-results");
    if (!value) return;
    try {
      const reply = await this.api.get(`/api/subscribers?${by}=${enc(value)}`);
      const found = reply.subscribers || [];
      say(status, found.length ? `${found.length} found` : `No account with ${by} ${value}`, found.length > 0);
      fill(
        results,
        found.map((card) =>
          h(
            "li",
            { "data-testid": "search-result", dataset: { contract: card.contract } },
            h("span", {}, h("strong", {}, card.contract), " · ", card.full_name, " · ", card.city || ""),
            h("button", { type: "button", onclick: () => this.choose(card) }, "Use this account"),
          ),
        ),
      );
    } catch (failure) {
      say(status, `Search failed: ${failure.message}`, false);
      results.replaceChildren();
    }
  }

  choose(card) {
    this.subscriber = card;
    this.found = true;
    byId("search-results").replaceChildren();
    byId("search-status").hidden = true;
    this.renderSubscriber();
    this.records.prefill();
  }

  /** What a form is sent with, what it is filled with, and whom it is for. */
  details(tab) {
    const call = this.call || {};
    const sub = this.appealMode ? null : this.subscriber;
    const caller = call.caller || "";
    if (tab === "appeal") {
      return {
        context: { call_id: call.call_id, line: call.line, agent: this.agentId },
        prefill: { city: call.line_city || "", contact_phone: caller },
        forText: "",
      };
    }
    const person = {
      subscriber_id: sub?.id,
      contract: sub?.contract || "",
      full_name: sub?.full_name || "",
      address: sub?.address || "",
    };
    if (tab === "unreachable") {
      return {
        context: { call_id: call.call_id, via_line: call.line, caller, subscriber_id: sub?.id },
        prefill: { ...person, dialled_from: caller, contact_phone: caller },
        forText: "",
      };
    }
    return {
      context: { ...person, call_id: call.call_id, line: call.line, agent: this.agentId },
      prefill: { contact_phone: caller, address: person.address },
      forText: sub
        ? `For ${sub.full_name}, contract ${sub.contract}`
        : "No subscriber identified: the request is recorded with the contact phone.",
    };
  }

  tick() {
    const since = this.agent?.since ? this.clock.secondsSince(this.agent.since) : null;
    setText(byId("agent-since"), since === null ? "" : duration(since));
    const call = this.call;
    if (call?.answered_at) {
      const talk = this.clock.secondsSince(call.answered_at);
      setText(byId("call-talk"), call.ended ? "ended" : duration(talk));
    } else {
      setText(byId("call-talk"), NONE);
    }
  }
}

new Desk().init();
