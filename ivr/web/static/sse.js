// Server-sent events over fetch(), for streams that need an Authorization header
// (EventSource cannot send one). Parses the text/event-stream format and reconnects.

const MAX_BACKOFF_MS = 10000;

/** Split a text/event-stream body into {event, data, id} messages. */
export async function* parseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "";
  let data = [];
  let id = null;
  let afterCR = false; // the last chunk ended in "\r": a "\n" first in this one ends no line
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    if (afterCR && buffer.startsWith("\n")) buffer = buffer.slice(1);
    afterCR = buffer.endsWith("\r");
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (data.length) yield { event: event || "message", data: data.join("\n"), id };
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // a comment (heartbeat)
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let text = colon < 0 ? "" : line.slice(colon + 1);
      if (text.startsWith(" ")) text = text.slice(1);
      if (field === "event") event = text;
      else if (field === "data") data.push(text);
      else if (field === "id") id = text;
    }
  }
}

/** An error reply that retrying will not fix (bad token, unknown agent). */
export class DeniedError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The `error` text of a JSON error reply, else the status line. */
export async function errorText(response) {
  try {
    const body = await response.clone().json();
    if (body && typeof body.error === "string") return body.error;
  } catch {
    // not JSON
  }
  return `${response.status} ${response.statusText}`.trim();
}

/**
 * A server-sent event stream read with fetch(): calls onEvent(name, data) per message and
 * onState("connecting" | "live" | "reconnecting" | "denied", detail) as the link changes;
 * reconnects with back-off after a drop; stops for good on 401/403/404.
 */
export class EventStream {
  constructor(url, headers, onEvent, onState) {
    this.url = url;
    this.headers = headers;
    this.onEvent = onEvent;
    this.onState = onState;
    this.controller = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.run();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  async run() {
    let backoff = 1000;
    this.onState("connecting");
    while (!this.stopped) {
      this.controller = new AbortController();
      try {
        const response = await fetch(this.url, {
          headers: { Accept: "text/event-stream", ...this.headers },
          signal: this.controller.signal,
          cache: "no-store",
        });
        if ([401, 403, 404].includes(response.status)) {
          throw new DeniedError(response.status, await errorText(response));
        }
        if (!response.ok || !response.body) throw new Error(await errorText(response));
        this.onState("live");
        backoff = 1000;
        for await (const message of parseEvents(response.body)) {
          let data = message.data;
          try {
            data = JSON.parse(message.data);
          } catch {
            // plain text data stays text
          }
          this.onEvent(message.event, data);
        }
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof DeniedError) {
          this.onState("denied", error);
          return;
        }
        console.warn("event stream dropped", error);
      }
      if (this.stopped) return;
      this.onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}
