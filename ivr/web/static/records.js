// The record forms of the agent desk: unreachable-number report, appeal, complaint and
// technician request. Each POST shows the new record's id or the API's error inline.
import { ApiError } from "./api.js";
import { setText } from "./dom.js";

const LABELS = {
  unreachable: "Report",
  appeal: "Appeal",
  complaint: "Complaint",
  technician: "Technician request",
};

/** The id of the record in a reply like {"report": {"id": 7, ...}}. */
function recordId(reply) {
  const record = Object.values(reply || {}).find((v) => v && typeof v === "object" && "id" in v);
  return record ? record.id : null;
}

/** Non-empty values only: optional fields the agent left blank are not sent. */
function compact(values) {
  return Object.fromEntries(
    Object.entries(values).filter(([, v]) => v !== "" && v !== null && v !== undefined),
  );
}

export class Records {
  /**
   * @param {() => import("./api.js").Api} api the signed-in API client
   * @param {(tab: string) => {context: object, prefill: object, forText: string}} details
   *   what the desk knows for a form: sent along, typed in for the agent, shown as "for"
   * @param {(tab: string) => void} onTab told when the agent switches forms
   */
  constructor(api, details, onTab) {
    this.api = api;
    this.details = details;
    this.onTab = onTab;
    this.tab = "unreachable";
    this.forms = [...document.querySelectorAll("form[data-tab-panel]")];
  }

  init() {
    for (const button of document.querySelectorAll("[data-tab]")) {
      button.addEventListener("click", () => this.select(button.dataset.tab));
    }
    for (const form of this.forms) {
      form.addEventListener("input", (event) => {
        if (event.target.name) event.target.dataset.dirty = "1";
      });
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit(form);
      });
    }
    this.select(this.tab);
  }

  select(tab) {
    this.tab = tab;
    for (const button of document.querySelectorAll("[data-tab]")) {
      button.setAttribute("aria-selected", String(button.dataset.tab === tab));
    }
    for (const form of this.forms) form.hidden = form.dataset.tabPanel !== tab;
    this.onTab(tab);
  }

  /** A new call (or none): every form empty again, then filled from what is known. */
  reset() {
    for (const form of this.forms) {
      form.reset();
      for (const field of form.elements) delete field.dataset.dirty;
      const status = form.querySelector(".status");
      status.hidden = true;
      setText(status, "");
    }
    this.prefill();
  }

  /** Type in what the desk knows, leaving alone whatever the agent typed. */
  prefill() {
    for (const form of this.forms) {
      const { prefill, forText } = this.details(form.dataset.tabPanel);
      for (const [name, value] of Object.entries(prefill)) {
        const field = form.elements.namedItem(name);
        if (field && !field.dataset.dirty) field.value = value ?? "";
      }
      const forNode = form.querySelector("[data-for]");
      if (forNode) setText(forNode, forText);
    }
  }

  async submit(form) {
    const tab = form.dataset.tabPanel;
    const status = form.querySelector(".status");
    const button = form.querySelector("button[type=submit]");
    const fields = Object.fromEntries(new FormData(form).entries());
    const body = compact({ ...this.details(tab).context, ...fields });
    if (form.dataset.kind) body.kind = form.dataset.kind;
    button.disabled = true;
    try {
      const reply = await this.api().post(form.dataset.endpoint, body);
      const id = recordId(reply);
      status.className = "status ok";
      setText(status, `${LABELS[tab]} #${id ?? "?"} saved`);
      status.dataset.recordId = id ?? "";
      form.reset();
      for (const field of form.elements) delete field.dataset.dirty;
      this.prefill();
    } catch (error) {
      status.className = "status error";
      const message = error instanceof ApiError ? error.message : String(error);
      setText(status, `Not saved: ${message}`);
      status.dataset.recordId = "";
    } finally {
      status.hidden = false;
      button.disabled = false;
    }
  }
}
