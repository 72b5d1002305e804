// The dashboard's "Predicted wait" panel: how good the wait predicted when callers joined
// was today, per queue (GET /api/prediction, public, re-read every 30 s). Data is only text.
import { byId, fill, h, setText } from "./dom.js";
import { NONE, count, duration, percent } from "./format.js";

const EVERY_MS = 30000;

/** Signed seconds: "+0:25" waited longer than predicted, "-0:10" shorter. */
function bias(seconds) {
  if (seconds === null || seconds === undefined) return NONE;
  return `${seconds < 0 ? "-" : "+"}${duration(Math.abs(seconds))}`;
}

function row(q, total = false) {
  return h(
    "tr",
    { "data-testid": "prediction-row", dataset: { queue: q.queue }, class: total ? "total" : "" },
    h("td", { class: "strong", "data-field": "queue" }, total ? "All queues" : q.queue),
    h("td", { class: "num", "data-field": "calls" }, count(q.calls)),
    h("td", { class: "num", "data-field": "error" }, duration(q.mean_absolute_error)),
    h("td", { class: "num", "data-field": "bias" }, bias(q.mean_error)),
    h("td", { class: "num", "data-field": "share" }, percent(q.share_within)),
  );
}

export class PredictionPanel {
  start() {
    this.load();
    setInterval(() => this.load(), EVERY_MS);
  }

  async load() {
    try {
      const response = await fetch("/api/prediction", { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.render(await response.json());
    } catch (failure) {
      setText(byId("prediction-status"), `not updated: ${failure.message}`);
    }
  }

  render(body) {
    const queues = body.queues || [];
    setText(byId("prediction-within"), `±${body.within} s`);
    setText(byId("prediction-status"), "");
    byId("prediction-empty").hidden = queues.length > 0;
    const rows = queues.map((q) => row(q));
    if (queues.length > 1) rows.push(row(body.overall, true));
    fill(byId("prediction-rows"), rows);
  }
}

new PredictionPanel().start();
