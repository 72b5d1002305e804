// The flow history panel of the dashboard, for a supervisor: the accepted flows/ versions
// (GET /api/flows/history) read with his API token, one version's diff, and a rollback to
// it (POST /api/flows/rollback) after a confirmation. The panel builds itself below the
// dashboard; data only ever becomes text.
import { Api, ApiError } from "./api.js";
import { byId, fill, h, setText } from "./dom.js";

const TOKEN_KEY = "ivr.supervisor.token"; // the dashboard's supervisor sign-in
const ROWS = 20;

function localTime(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
}

/** A unified diff as lines, each marked added / removed / file header / hunk. */
function diffLines(diff) {
  return diff.split("\n").map((line) => {
    let kind = "same";
    if (line.startsWith("+++") || line.startsWith("---")) kind = "file";
    else if (line.startsWith("@@")) kind = "hunk";
    else if (line.startsWith("+")) kind = "added";
    else if (line.startsWith("-")) kind = "removed";
    return h("span", { class: `diff-${kind}` }, line + "\n");
  });
}

function panel() {
  return h(
    "details",
    { class: "panel flow-history", id: "flows-panel", "data-testid": "flows-panel" },
    h("summary", {}, "Flow history ", h("span", { class: "muted" }, "· supervisors")),
    h(
      "form",
      { id: "flows-signin", class: "flows-signin" },
      h("label", { for: "flows-token" }, "Supervisor API token"),
      h("input", { id: "flows-token", type: "password", autocomplete: "off", required: true }),
      h("button", { type: "submit" }, "Show versions"),
    ),
    h(
      "table",
      { class: "grid-table", "data-testid": "flow-versions" },
      h("thead", {}, h("tr", {}, h("th", {}, "Version"), h("th", {}, "When"), h("th", {}, "Who"), h("th", {}, "Changed"))),
      h("tbody", { id: "flow-version-rows" }),
    ),
    h("p", { id: "flows-status", class: "muted", role: "status", "aria-live": "polite" }),
    h(
      "div",
      { id: "flow-version", hidden: true, "data-testid": "flow-version" },
      h("h3", { id: "flow-version-title" }),
      h("button", { type: "button", id: "flow-rollback", "data-testid": "flow-rollback" }, "Roll back to this version"),
      h("pre", { id: "flow-diff", class: "flow-diff", "data-testid": "flow-diff" }),
    ),
  );
}

export class FlowHistoryPanel {
  constructor() {
    this.api = null;
    this.shown = null; // the version whose diff is open
  }

  start() {
    document.body.append(panel());
    byId("flows-signin").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = byId("flows-token").value.trim();
      byId("flows-token").value = "";
      if (token) this.open(token);
    });
    byId("flow-rollback").addEventListener("click", () => this.rollback());
    byId("flows-panel").addEventListener("toggle", () => this.load());
    const kept = sessionStorage.getItem(TOKEN_KEY);
    if (kept) this.api = new Api(kept);
  }

  open(token) {
    this.api = new Api(token);
    sessionStorage.setItem(TOKEN_KEY, token);
    this.load();
  }

  async load() {
    if (!this.api || !byId("flows-panel").open) return;
    try {
      const reply = await this.api.get(`/api/flows/history?limit=${ROWS}`);
      byId("flows-signin").hidden = true;
      this.render(reply.versions || []);
    } catch (error) {
      this.failed(error, "Flow history");
    }
  }

  failed(error, what) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      sessionStorage.removeItem(TOKEN_KEY);
      this.api = null;
      byId("flows-signin").hidden = false;
    }
    setText(byId("flows-status"), `${what}: ${error.message}`);
  }

  render(versions) {
    setText(byId("flows-status"), versions.length ? "" : "No versions recorded yet");
    const rows = versions.map((v) =>
      h(
        "tr",
        { "data-testid": "flow-version-row", dataset: { version: v.id }, onclick: () => this.show(v.id) },
        h("td", { class: "num" }, h("button", { type: "button", class: "link" }, `#${v.id}`)),
        h("td", {}, localTime(v.at)),
        h("td", { "data-field": "who" }, v.who),
        h("td", { "data-field": "changed" }, v.changed.join(", ") || "—"),
      ),
    );
    fill(byId("flow-version-rows"), rows);
  }

  async show(id) {
    try {
      const { version } = await this.api.get(`/api/flows/history/${id}`);
      this.shown = version.id;
      setText(byId("flow-version-title"), `Version ${version.id} · ${version.who} · ${localTime(version.at)}`);
      fill(byId("flow-diff"), version.diff ? diffLines(version.diff) : "The first version recorded: nothing before it to compare.");
      byId("flow-version").hidden = false;
    } catch (error) {
      this.failed(error, `Version ${id}`);
    }
  }

  async rollback() {
    const id = this.shown;
    if (id === null) return;
    if (!window.confirm(`Put flow version ${id} back into service? New calls take it at once.`)) return;
    try {
      const reply = await this.api.post("/api/flows/rollback", { version: id });
      setText(byId("flows-status"), `Version ${id} serves again (recorded as version ${reply.version ? reply.version.id : "?"})`);
      byId("flow-version").hidden = true;
      this.shown = null;
      const status = byId("flows-status").textContent;
      await this.load();
      setText(byId("flows-status"), status);
    } catch (error) {
      const problems = error instanceof ApiError && error.status === 422 ? " (it does not load now; nothing changed)" : "";
      this.failed(error, `Rollback to ${id}${problems}`);
    }
  }
}

new FlowHistoryPanel().start();
