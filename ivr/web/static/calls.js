// The dashboard's recent calls, for a supervisor: the journal (/api/calls) read with his API
// token, and each recorded call's WAV fetched with the token into a blob URL for the player
// and the download link (the page's CSP allows media from blob: only). Data is only text.
import { Api, ApiError } from "./api.js";
import { byId, fill, h, setText } from "./dom.js";
import { NONE, clockTime, duration } from "./format.js";

const TOKEN_KEY = "ivr.supervisor.token"; // shared with the Listen / Whisper / Barge sign-in
const ROWS = 20;

export class CallJournal {
  constructor() {
    this.api = null;
    this.blobUrl = null;
  }

  start() {
    byId("calls-signin").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = byId("calls-token").value.trim();
      byId("calls-token").value = "";
      if (token) this.open(token);
    });
    byId("calls-refresh").addEventListener("click", () => this.load());
    const kept = sessionStorage.getItem(TOKEN_KEY);
    if (kept) this.open(kept);
  }

  open(token) {
    this.api = new Api(token);
    sessionStorage.setItem(TOKEN_KEY, token);
    this.load();
  }

  async load() {
    if (!this.api) return;
    const status = byId("calls-status");
    try {
      const reply = await this.api.get(`/api/calls?limit=${ROWS}`);
      byId("calls-signin").hidden = true;
      byId("calls-refresh").hidden = false;
      setText(status, "");
      this.render(reply.calls || []);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        this.api = null;
        byId("calls-signin").hidden = false;
      }
      setText(status, `Calls: ${error.message}`);
    }
  }

  render(calls) {
    byId("calls-empty").hidden = calls.length > 0;
    const rows = calls.map((call) =>
      h(
        "tr",
        { "data-testid": "call-row", dataset: { callId: call.call_id } },
        h("td", {}, call.started_at ? clockTime(call.started_at) : NONE),
        h("td", {}, call.line || NONE),
        h("td", {}, call.queue || NONE),
        h("td", {}, call.agent || NONE),
        h("td", { class: "num" }, duration(call.talk_seconds)),
        h(
          "td",
          {},
          call.recording
            ? h("button", { type: "button", "data-testid": "play", onclick: () => this.play(call.call_id) }, "Play")
            : NONE,
        ),
      ),
    );
    fill(byId("call-rows"), rows);
  }

  async play(callId) {
    const status = byId("calls-status");
    setText(status, `Loading the recording of ${callId}…`);
    try {
      const response = await fetch(`/api/calls/${encodeURIComponent(callId)}/recording`, {
        headers: this.api.headers,
        cache: "no-store",
      });
      if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`);
      const blob = await response.blob();
      if (this.blobUrl) URL.revokeObjectURL(this.blobUrl);
      this.blobUrl = URL.createObjectURL(blob);
      const player = byId("calls-player");
      player.src = this.blobUrl;
      player.hidden = false;
      const link = byId("calls-download");
      link.href = this.blobUrl;
      link.download = `${callId}.wav`;
      link.hidden = false;
      setText(status, `Recording of ${callId}`);
      await player.play().catch(() => {}); // autoplay may be refused: the controls remain
    } catch (error) {
      setText(status, `Recording of ${callId}: ${error.message}`);
    }
  }
}
