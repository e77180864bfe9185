// The dashboard's only door to the service: JSON over HTTP and the live WebSocket stream
// (see the API contract: GET /api/v1/…, WS /api/v1/stream). Everything is same-origin; nothing else is
// fetched, so the page works in a control room without internet.

export class HttpError extends Error {
  constructor(path, status, detail) {
    super(`${path}: HTTP ${status}${detail ? ` – ${detail}` : ""}`);
    this.status = status;
  }
}

export async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  if (!response.ok) {
    let detail = "";
    try {
      detail = (await response.json()).detail ?? "";
    } catch {
      // a body that is not JSON has no detail to show
    }
    throw new HttpError(path, response.status, detail);
  }
  return response.json();
}

/** Calls `task` now and then every `periodMs`, never overlapping itself; returns a stop function. */
export function every(periodMs, task) {
  let timer = 0;
  let stopped = false;
  const run = async () => {
    try {
      await task();
    } finally {
      if (!stopped) timer = setTimeout(run, periodMs);
    }
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

const STALE_AFTER_MS = 3000; // no frame for this long while connected: the pipeline or the link is stuck
const DEAD_AFTER_MS = 15000; // …and for this long: drop the socket and dial again

/**
 * The live stream, kept open: reconnects after any close with exponential back-off and jitter
 * (0.5 s, 1 s, 2 s … capped at 10 s), so a restarted service is not stampeded by every control-room screen.
 *
 * `onFrame(frame)` gets every parsed frame; `onStatus({state, retryAtMs})` gets
 * "connecting" | "live" | "stale" | "reconnecting".
 */
export class LiveStream {
  #url;
  #onFrame;
  #onStatus;
  #socket = null;
  #attempt = 0;
  #retryTimer = 0;
  #watchdog = 0;
  #lastFrameAt = 0;
  #state = "";

  constructor(url, { onFrame, onStatus, minDelayMs = 500, maxDelayMs = 10_000 }) {
    this.#url = url;
    this.#onFrame = onFrame;
    this.#onStatus = onStatus;
    this.minDelayMs = minDelayMs;
    this.maxDelayMs = maxDelayMs;
  }

  static url(path, params) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams(params).toString();
    return `${scheme}//${location.host}${path}${query ? `?${query}` : ""}`;
  }

  start() {
    this.#connect();
    this.#watchdog = setInterval(() => this.#checkAlive(), 1000);
  }

  stop() {
    clearInterval(this.#watchdog);
    clearTimeout(this.#retryTimer);
    this.#socket?.close();
    this.#socket = null;
  }

  #connect() {
    this.#status("connecting");
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    socket.addEventListener("open", () => {
      this.#attempt = 0;
      this.#lastFrameAt = performance.now();
      this.#status("live");
    });
    socket.addEventListener("message", (event) => this.#receive(event.data));
    socket.addEventListener("close", () => {
      if (this.#socket === socket) this.#scheduleReconnect();
    });
  }

  #receive(data) {
    this.#lastFrameAt = performance.now();
    if (this.#state !== "live") this.#status("live");
    let frame;
    try {
      frame = JSON.parse(data);
    } catch (error) {
      console.warn("roadcloud: ignored a stream frame that is not JSON", error);
      return;
    }
    this.#onFrame(frame);
  }

  #scheduleReconnect() {
    this.#socket = null;
    const backoff = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** this.#attempt);
    const delayMs = backoff * (0.75 + Math.random() * 0.5);
    this.#attempt += 1;
    this.#status("reconnecting", Date.now() + delayMs);
    this.#retryTimer = setTimeout(() => this.#connect(), delayMs);
  }

  #checkAlive() {
    if (!this.#socket || this.#socket.readyState !== WebSocket.OPEN) return;
    const silentMs = performance.now() - this.#lastFrameAt;
    if (silentMs > DEAD_AFTER_MS) this.#socket.close();
    else if (silentMs > STALE_AFTER_MS && this.#state === "live") this.#status("stale");
  }

  #status(state, retryAtMs = 0) {
    this.#state = state;
    this.#onStatus({ state, retryAtMs });
  }
}
