// Formatting for people in a control room: short, fixed-width where numbers change, units always shown.

const EVENT_LABELS = Object.freeze({
  stopped_vehicle: "Stopped vehicle",
  wrong_way: "Wrong-way driver",
  congestion: "Congestion",
  speeding: "Speeding",
  slow_vehicle: "Slow vehicle",
  vulnerable_user_on_carriageway: "Person on carriageway",
  red_light_violation: "Red-light violation",
  collision_risk: "Collision risk",
});

/** "stopped_vehicle" → "Stopped vehicle"; unknown types are made readable rather than hidden. */
export function eventLabel(type) {
  if (EVENT_LABELS[type]) return EVENT_LABELS[type];
  const words = String(type ?? "event").replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function formatCount(value) {
  if (!Number.isFinite(value)) return "—";
  return Math.round(value).toLocaleString("en-US");
}

/** Rates: one decimal below 100 (a 10 Hz device reads 9.8, not 10), whole numbers above, k past 100 000. */
export function formatRate(value) {
  if (!Number.isFinite(value)) return "—";
  if (value >= 100_000) return `${(value / 1000).toFixed(0)}k`;
  if (value >= 100) return formatCount(value);
  return value.toFixed(1);
}

export function formatMs(value) {
  if (!Number.isFinite(value)) return "—";
  if (value >= 10_000) return `${(value / 1000).toFixed(0)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)} s`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

/** Age of something that started `ageMs` ago: "8 s", "4 min", "2 h 05". */
export function formatAge(ageMs) {
  if (!Number.isFinite(ageMs)) return "";
  const seconds = Math.max(0, Math.floor(ageMs / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, "0")}`;
}

export function formatSpeed(speedMps) {
  if (!Number.isFinite(speedMps)) return "—";
  return `${(speedMps * 3.6).toFixed(0)} km/h`;
}

export function formatMetres(value) {
  if (!Number.isFinite(value)) return "—";
  return value >= 1000 ? `${(value / 1000).toFixed(value >= 10_000 ? 0 : 1)} km` : `${Math.round(value)} m`;
}

/** Clock of the live map in the browser's time zone (the zone's own, in its control room). */
export function formatClock(timeMs) {
  const date = new Date(timeMs);
  const time = date.toLocaleTimeString("en-GB", { hour12: false });
  const tenths = Math.floor(date.getMilliseconds() / 100);
  return { date: date.toLocaleDateString("en-CA"), time: `${time}.${tenths}` };
}

/** Groups the many SPAT light names into the four colours a signal head shows. */
export function lightColour(light) {
  const name = String(light ?? "").toLowerCase();
  if (name.includes("green")) return "green";
  if (name.includes("yellow") || name.includes("amber")) return "yellow";
  if (name.includes("red")) return "red";
  return "dark";
}

/** Track `sources`: a count or a list of sender ids, depending on what the API could say. */
export function formatSources(sources) {
  if (Array.isArray(sources)) return sources.length ? sources.join(", ") : "—";
  if (Number.isFinite(sources)) return `${sources} sender${sources === 1 ? "" : "s"}`;
  return sources ? String(sources) : "—";
}

/** `events_active` of the stats: a number, or a count per event type. */
export function totalOf(value) {
  if (Number.isFinite(value)) return value;
  if (value && typeof value === "object")
    return Object.values(value).reduce((sum, n) => sum + (Number(n) || 0), 0);
  return NaN;
}
