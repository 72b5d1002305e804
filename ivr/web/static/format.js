// Formatting shared by the pages: times as m:ss, shares as %, labels for codes.

export const NONE = "—";

const pad = (n) => String(n).padStart(2, "0");

/** Seconds as m:ss (h:mm:ss from an hour on); "—" when unknown. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return NONE;
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  return hours ? `${hours}:${pad(minutes)}:${pad(rest)}` : `${minutes}:${pad(rest)}`;
}

/** A share 0..1 as a whole percent; "—" when unknown. */
export function percent(share) {
  if (share === null || share === undefined || !Number.isFinite(share)) return NONE;
  return `${Math.round(share * 100)}%`;
}

/** A count, 0 when missing. */
export function count(value) {
  return Number.isFinite(value) ? String(value) : "0";
}

/** ISO 8601 to epoch ms (Python writes microseconds; keep milliseconds). */
export function parseTime(iso) {
  if (!iso) return NaN;
  return Date.parse(String(iso).replace(/(\.\d{3})\d+/, "$1"));
}

/** Local wall-clock time hh:mm:ss of an ISO time (or of now). */
export function clockTime(iso, timeZone) {
  const at = iso ? new Date(parseTime(iso)) : new Date();
  try {
    return at.toLocaleTimeString("en-GB", { timeZone: timeZone || undefined, hour12: false });
  } catch {
    return at.toLocaleTimeString("en-GB", { hour12: false });
  }
}

const CLASSES = {
  new_connection: "new connection",
  existing_service: "existing service",
  non_target: "non-target",
  unknown: "unknown",
};

export function classLabel(code) {
  return CLASSES[code] || String(code || NONE).replaceAll("_", " ");
}

const STATES = {
  ready: "ready",
  paused: "paused",
  in_call: "in call",
  ringing: "ringing",
  logged_out: "logged out",
  unavailable: "unavailable",
};

export function stateLabel(code) {
  return STATES[code] || String(code || NONE).replaceAll("_", " ");
}

/**
 * The server's clock as the page sees it: each message carries the server time, so ticking
 * waits stay right even when the wall screen's clock is off.
 */
export class ServerClock {
  constructor() {
    this.offset = 0;
  }

  sync(iso) {
    const at = parseTime(iso);
    if (Number.isFinite(at)) this.offset = at - Date.now();
  }

  now() {
    return Date.now() + this.offset;
  }

  secondsSince(iso) {
    const at = parseTime(iso);
    return Number.isFinite(at) ? Math.max(0, (this.now() - at) / 1000) : null;
  }
}
