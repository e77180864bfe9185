// The palette for the canvas layers, read from style.css custom properties so the map, the legend and the
// panels can never disagree about what a colour means.

/** Object classes of the live map, in legend order (the `kind` of a track in the API). */
export const TRACK_KINDS = Object.freeze(["car", "bus", "truck", "motorcycle", "bicycle", "pedestrian"]);

/** Index used for a kind the dashboard does not know (drawn grey, counted as "other"). */
export const OTHER_KIND = TRACK_KINDS.length;

export function readTheme(root = document.documentElement) {
  const style = getComputedStyle(root);
  const get = (name) => style.getPropertyValue(name).trim();
  return Object.freeze({
    kinds: Object.freeze([...TRACK_KINDS.map((kind) => get(`--kind-${kind}`)), get("--kind-other")]),
    lights: Object.freeze({
      red: get("--light-red"),
      yellow: get("--light-yellow"),
      green: get("--light-green"),
      dark: get("--light-dark"),
    }),
    severity: Object.freeze([1, 2, 3, 4, 5].map((level) => get(`--sev-${level}`))),
    map: Object.freeze({
      background: get("--map-bg"),
      grid: get("--map-grid"),
      road: get("--map-road"),
      divider: get("--map-divider"),
      junction: get("--map-junction"),
      internal: get("--map-internal"),
      sidewalk: get("--map-sidewalk"),
      crossing: get("--map-crossing"),
      rsuOnline: get("--map-rsu-online"),
      rsuOffline: get("--map-rsu-offline"),
    }),
    accent: get("--accent"),
    text: get("--text"),
    textDim: get("--text-dim"),
    background: get("--bg"),
    fontMono: get("--font-mono"),
  });
}

/** The severity colour of an event (severity 1 … 5, clamped). */
export function severityColour(theme, severity) {
  const level = Math.min(5, Math.max(1, Math.round(Number(severity) || 1)));
  return theme.severity[level - 1];
}
