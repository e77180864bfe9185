// Road events: the store that merges history (GET /api/v1/events) with the live `events` stream frames,
// and the side-panel list. Every event publication carries the full state, so the latest one wins.

import { eventLabel, formatAge, formatMetres, formatSpeed } from "./format.js";
import { severityColour } from "./theme.js";

const MAX_EVENTS = 400; // ended events beyond this are dropped, oldest first

function isEnded(event) {
  return event.phase === "ended" || (event.end_ms !== null && event.end_ms !== undefined);
}

export class EventStore {
  #events = new Map();

  get(id) {
    return this.#events.get(id);
  }

  /** Past and current events from the REST API, used once at start (the stream has only the new ones). */
  addHistory(events) {
    for (const event of events) {
      const known = this.#events.get(event.event_id);
      if (!known || (event.update_ms ?? 0) >= (known.update_ms ?? 0)) this.#put(event);
    }
    this.#trim();
  }

  /** Applies an `events` frame: its changes, then its full list of active events. */
  applyFrame(frame) {
    for (const event of frame.changes ?? []) this.#put(event);
    if (Array.isArray(frame.active)) {
      const active = new Set();
      for (const event of frame.active) {
        active.add(event.event_id);
        this.#put(event);
      }
      // an event that left the active list without an "ended" publication reaching us has ended all the same
      for (const event of this.#events.values()) {
        if (!event.ended && !active.has(event.event_id)) {
          event.ended = true;
          event.end_ms ??= frame.time_ms;
        }
      }
    }
    this.#trim();
  }

  /** Active events first (most severe, then newest), then ended ones (most recently ended first). */
  list({ includeEnded }) {
    const events = [...this.#events.values()].filter((event) => includeEnded || !event.ended);
    return events.sort((a, b) => {
      if (a.ended !== b.ended) return a.ended ? 1 : -1;
      if (a.ended) return (b.end_ms ?? 0) - (a.end_ms ?? 0);
      return (b.severity ?? 0) - (a.severity ?? 0) || (b.start_ms ?? 0) - (a.start_ms ?? 0);
    });
  }

  activeCount() {
    let count = 0;
    for (const event of this.#events.values()) if (!event.ended) count += 1;
    return count;
  }

  maxActiveSeverity() {
    let max = 0;
    for (const event of this.#events.values()) if (!event.ended) max = Math.max(max, event.severity ?? 0);
    return max;
  }

  #put(event) {
    if (!event || event.event_id === undefined) return;
    this.#events.set(event.event_id, { ...event, ended: isEnded(event) });
  }

  #trim() {
    if (this.#events.size <= MAX_EVENTS) return;
    const ended = [...this.#events.values()]
      .filter((e) => e.ended)
      .sort((a, b) => (a.end_ms ?? 0) - (b.end_ms ?? 0));
    for (const event of ended.slice(0, this.#events.size - MAX_EVENTS)) this.#events.delete(event.event_id);
  }
}

/** The one number that says most about an event, by what its type reports in `details`. */
function keyFigure(event) {
  const details = event.details ?? {};
  if (event.extent_m > 0) return `queue ${formatMetres(event.extent_m)}`;
  if (Number.isFinite(details.ttc_s)) return `TTC ${details.ttc_s.toFixed(1)} s`;
  if (Number.isFinite(details.speed_mps)) return formatSpeed(details.speed_mps);
  if (Number.isFinite(details.dwell_s)) return `for ${formatAge(details.dwell_s * 1000)}`;
  return "";
}

export class EventList {
  #list;
  #empty;
  #count;
  #items = new Map(); // event id → { root, parts }
  #onSelect;

  constructor({ list, empty, count, onSelect }) {
    this.#list = list;
    this.#empty = empty;
    this.#count = count;
    this.#onSelect = onSelect;
  }

  render(events, { nowMs, selectedId, theme, emptyText }) {
    const seen = new Set();
    events.forEach((event, position) => {
      seen.add(event.event_id);
      const item = this.#items.get(event.event_id) ?? this.#create(event.event_id);
      this.#fill(item, event, nowMs, selectedId, theme);
      if (this.#list.children[position] !== item.root)
        this.#list.insertBefore(item.root, this.#list.children[position] ?? null);
    });
    for (const [id, item] of this.#items) {
      if (!seen.has(id)) {
        item.root.remove();
        this.#items.delete(id);
      }
    }
    this.#empty.hidden = events.length > 0;
    this.#empty.textContent = emptyText;
  }

  setCount(text) {
    this.#count.textContent = text;
  }

  reveal(id) {
    this.#items.get(id)?.root.scrollIntoView({ block: "nearest" });
  }

  #create(id) {
    const root = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "event";
    button.dataset.eventId = id;
    const parts = {};
    for (const name of ["sev", "type", "age", "where"]) {
      parts[name] = document.createElement("span");
      parts[name].className = name;
      button.append(parts[name]);
    }
    button.addEventListener("click", () => this.#onSelect(id));
    root.append(button);
    const item = { root, button, parts };
    this.#items.set(id, item);
    return item;
  }

  #fill(item, event, nowMs, selectedId, theme) {
    const { button, parts } = item;
    button.classList.toggle("ended", event.ended);
    button.setAttribute("aria-current", String(event.event_id === selectedId));
    parts.sev.textContent = String(event.severity ?? "?");
    parts.sev.style.background = severityColour(theme, event.severity);
    parts.sev.title = `severity ${event.severity} of 5`;
    parts.type.textContent = eventLabel(event.event_type);
    parts.age.textContent = event.ended
      ? `ended ${formatAge(nowMs - (event.end_ms ?? nowMs))} ago`
      : formatAge(nowMs - (event.start_ms ?? nowMs));
    const figure = keyFigure(event);
    const confidence = Number.isFinite(event.confidence) ? `${Math.round(event.confidence * 100)} %` : "";
    parts.where.replaceChildren(
      ...[
        event.lane_id ? span(`lane ${event.lane_id}`, "mono") : span("off lane"),
        figure && span(` · ${figure}`),
        confidence && span(` · ${confidence}`),
      ].filter(Boolean),
    );
  }
}

function span(text, className = "") {
  const element = document.createElement("span");
  element.textContent = text;
  if (className) element.className = className;
  return element;
}
