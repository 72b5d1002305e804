// Outage alerts on the dashboard: a banner per suspected mass outage (a spike of calls from
// one city on one line and first menu choice), with its prefilled announcement, which a
// supervisor posts as an outage in one click (or edits first) or dismisses. The alerts are
// public (no personal data) and read every few seconds; posting and dismissing take the
// supervisor's API token (the one the Listen / Recordings sign-ins keep for this tab).
import { Api, ApiError } from "./api.js";
import { byId, fill, h } from "./dom.js";

const TOKEN_KEY = "ivr.supervisor.token";
const POLL_MS = 3000;

function minutes(seconds) {
  return `${Math.round(seconds / 60)} min`;
}

class OutageAlerts {
  constructor(root) {
    this.root = root;
    this.rows = h("div", { class: "outage-alert-rows" });
    this.token = h("input", {
      type: "password", autocomplete: "off", "data-testid": "outage-token",
      "aria-label": "Supervisor token",
    });
    this.tokenField = h("label", { class: "outage-token" }, "Supervisor token ", this.token);
    this.status = h("p", { class: "outage-status", role: "status", "data-testid": "outage-status" });
    fill(root, this.rows, this.tokenField, this.status);
    this.shown = new Map(); // alert id -> its row (a message being edited is kept)
  }

  api() {
    const typed = this.token.value.trim();
    if (typed) sessionStorage.setItem(TOKEN_KEY, typed);
    const token = typed || sessionStorage.getItem(TOKEN_KEY);
    return token ? new Api(token) : null;
  }

  async poll() {
    try {
      const response = await fetch("/api/outage-alerts?status=open", { cache: "no-store" });
      if (response.ok) this.render((await response.json()).alerts);
    } catch {
      // the engine is restarting: the next poll shows the alerts again
    }
  }

  render(alerts) {
    const ids = new Set(alerts.map((alert) => alert.id));
    for (const [id, row] of this.shown) {
      if (!ids.has(id)) { row.remove(); this.shown.delete(id); }
    }
    for (const alert of alerts) {
      if (!this.shown.has(alert.id)) {
        const row = this.row(alert);
        this.shown.set(alert.id, row);
        this.rows.append(row);
      }
    }
    this.root.hidden = alerts.length === 0 && !this.status.textContent;
    this.tokenField.hidden = alerts.length === 0 || Boolean(sessionStorage.getItem(TOKEN_KEY));
  }

  row(alert) {
    const message = h("input", {
      class: "outage-message", value: alert.message, "data-testid": "outage-message",
      "aria-label": "Announcement",
    });
    const choice = alert.choice || "no menu choice";
    const usual = alert.usual ? `usually ${alert.usual.toFixed(1)}` : "usually none";
    return h(
      "div",
      { class: "outage-alert", "data-testid": "outage-alert", dataset: { alertId: alert.id } },
      h("strong", {}, `Suspected outage in ${alert.city || "?"}`),
      h("span", {}, ` line ${alert.line} · ${choice} · ${alert.calls} calls in ` +
        `${minutes(alert.window)} (${usual})`),
      message,
      h("button", {
        type: "button", "data-testid": "outage-post",
        onclick: () => this.act(alert, "post", { message: message.value.trim() }),
      }, "Post outage"),
      h("button", {
        type: "button", class: "link", "data-testid": "outage-dismiss",
        onclick: () => this.act(alert, "dismiss"),
      }, "Dismiss"),
    );
  }

  async act(alert, action, body) {
    const api = this.api();
    if (!api) return this.say("Enter your supervisor token, then click again.", false);
    try {
      const reply = await api.post(`/api/outage-alerts/${alert.id}/${action}`, body);
      this.say(action === "post"
        ? `Outage posted for ${alert.city} (#${reply.alert.outage_id}): callers hear it now.`
        : `Alert for ${alert.city} dismissed.`, true);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        sessionStorage.removeItem(TOKEN_KEY);
      }
      this.say(error.message, false);
    }
    await this.poll();
  }

  say(text, ok) {
    this.status.textContent = text;
    this.status.dataset.ok = ok ? "yes" : "no";
    this.root.hidden = false;
  }
}

const root = h("section", {
  id: "outage-alerts", class: "outage-alerts", "data-testid": "outage-alerts",
  "aria-label": "Outage alerts", hidden: true,
});
byId("totals").before(root);
const alerts = new OutageAlerts(root);
alerts.poll();
setInterval(() => alerts.poll(), POLL_MS);
