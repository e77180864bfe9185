// The live layer, redrawn every animation frame on its own transparent canvas above the static map:
// tracks (10 Hz from the stream), signal heads (SPAT states) and event markers. Tracks are kept as
// columns (typed arrays) and drawn one path per object class, so 2,000 tracks cost six fills.

import { OTHER_KIND, TRACK_KINDS, severityColour } from "./theme.js";
import { lightColour } from "./format.js";

const DEG = Math.PI / 180;
// Between two 10 Hz frames each track moves on along its velocity; past this it stops rather than guess.
const MAX_EXTRAPOLATION_S = 0.15;
const MIN_LENGTH_PX = 5;
const MIN_WIDTH_PX = 2.6;
const HIT_RADIUS_PX = 8;
const OUTLINE_FROM_PX_PER_M = 1.5;
const STOP_BAR_ZOOM_PX_PER_M = 1.5; // closer than this: bars across lanes; further: dots per lane end
const EVENT_MARKER_PX = 9;
export const PIN_LIFT_PX = 16; // the marker's centre sits this far above the event's position
const PEDESTRIAN = TRACK_KINDS.indexOf("pedestrian");

function kindIndex(kind) {
  if (typeof kind === "number") return kind >= 1 && kind <= TRACK_KINDS.length ? kind - 1 : OTHER_KIND;
  const index = TRACK_KINDS.indexOf(String(kind).toLowerCase());
  return index >= 0 ? index : OTHER_KIND;
}

/** The wire form is columns (`{id: […], x_m: […], …}`, the API's default); rows (`[{id, x_m, …}]`) also work. */
function asColumns(tracks) {
  if (!Array.isArray(tracks)) return tracks && typeof tracks === "object" ? tracks : {};
  const columns = {};
  for (const field of Object.keys(tracks[0] ?? {})) columns[field] = tracks.map((track) => track[field]);
  return columns;
}

export class TrackLayer {
  count = 0;
  timeMs = 0;
  #fields = {}; // the frame's columns as received, for tooltips
  #columns = null;
  #byKind = [];
  #receivedAt = 0;

  /** Takes a `tracks` frame of the stream. */
  update(frame) {
    const fields = asColumns(frame.tracks);
    const n = Array.isArray(fields.id) ? fields.id.length : 0;
    const column = (name) => (Array.isArray(fields[name]) && fields[name].length === n ? fields[name] : []);
    const [x, y, speed, heading, length, width, kind] = [
      "x_m",
      "y_m",
      "speed_mps",
      "heading_deg",
      "length_m",
      "width_m",
      "kind",
    ].map(column);
    const columns = {
      x: new Float64Array(n),
      y: new Float64Array(n),
      vx: new Float64Array(n),
      vy: new Float64Array(n),
      sin: new Float64Array(n),
      cos: new Float64Array(n),
      length: new Float64Array(n),
      width: new Float64Array(n),
      drawX: new Float64Array(n), // where the track was last drawn, for hovering what the eye sees
      drawY: new Float64Array(n),
    };
    const byKind = Array.from({ length: OTHER_KIND + 1 }, () => []);
    for (let i = 0; i < n; i += 1) {
      const headingRad = (Number(heading[i]) || 0) * DEG;
      const speedMps = Number(speed[i]) || 0;
      columns.x[i] = columns.drawX[i] = Number(x[i]);
      columns.y[i] = columns.drawY[i] = Number(y[i]);
      columns.sin[i] = Math.sin(headingRad);
      columns.cos[i] = Math.cos(headingRad);
      // heading is clockwise from north: the velocity is (speed·sin, speed·cos) in (east, north)
      columns.vx[i] = speedMps * columns.sin[i];
      columns.vy[i] = speedMps * columns.cos[i];
      columns.length[i] = Number(length[i]) || 4.5;
      columns.width[i] = Number(width[i]) || 1.8;
      byKind[kindIndex(kind[i])].push(i);
    }
    this.#fields = fields;
    this.#columns = columns;
    this.#byKind = byKind;
    this.#receivedAt = performance.now();
    this.count = n;
    this.timeMs = Number(frame.time_ms) || this.timeMs;
  }

  /** Tracks per class in legend order, the last entry being the unknown classes. */
  countsByKind() {
    return this.#byKind.map((rows) => rows.length);
  }

  /** One track as an object (the contract's Track), built only for the one being hovered. */
  track(index) {
    if (index < 0 || index >= this.count) return undefined;
    return Object.fromEntries(Object.entries(this.#fields).map(([name, values]) => [name, values[index]]));
  }

  indexOfId(id) {
    return this.count ? this.#fields.id.indexOf(id) : -1;
  }

  draw(ctx, view, theme, now, hoveredIndex) {
    const columns = this.#columns;
    if (!columns) return;
    const dtS = Math.min(Math.max((now - this.#receivedAt) / 1000, 0), MAX_EXTRAPOLATION_S);
    const px = 1 / view.scale;
    const [xmin, ymin, xmax, ymax] = view.visibleBounds(30);
    // zoomed in, a dark rim keeps neighbours apart; zoomed out, it would eat the few pixels an object has
    const outline = view.scale >= OUTLINE_FROM_PX_PER_M;
    view.applyWorld(ctx);
    ctx.lineJoin = "round";
    ctx.lineWidth = 0.9 * px;
    ctx.strokeStyle = theme.map.background;
    for (let kind = 0; kind < this.#byKind.length; kind += 1) {
      const rows = this.#byKind[kind];
      if (!rows.length) continue;
      ctx.beginPath();
      for (const i of rows) {
        const x = columns.x[i] + columns.vx[i] * dtS;
        const y = columns.y[i] + columns.vy[i] * dtS;
        columns.drawX[i] = x;
        columns.drawY[i] = y;
        if (x < xmin || x > xmax || y < ymin || y > ymax) continue;
        if (kind === PEDESTRIAN) {
          const radius = Math.max(0.35, 2.2 * px);
          ctx.moveTo(x + radius, y);
          ctx.arc(x, y, radius, 0, 2 * Math.PI);
        } else {
          traceVehicle(ctx, columns, i, x, y, px);
        }
      }
      ctx.fillStyle = theme.kinds[kind];
      ctx.fill();
      if (outline) ctx.stroke();
    }
    if (hoveredIndex >= 0 && hoveredIndex < this.count) this.#drawHovered(ctx, theme, hoveredIndex, px);
  }

  #drawHovered(ctx, theme, i, px) {
    const columns = this.#columns;
    const x = columns.drawX[i];
    const y = columns.drawY[i];
    ctx.beginPath();
    ctx.arc(x, y, Math.max(columns.length[i] * 0.75, 9 * px), 0, 2 * Math.PI);
    ctx.strokeStyle = theme.text;
    ctx.lineWidth = 1.5 * px;
    ctx.stroke();
    // where it will be in two seconds at its current velocity
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + columns.vx[i] * 2, y + columns.vy[i] * 2);
    ctx.setLineDash([3 * px, 3 * px]);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  /** Index of the track drawn nearest to a screen point (within its own size or a few pixels), or -1. */
  nearest(view, sx, sy) {
    const columns = this.#columns;
    if (!columns) return -1;
    const [wx, wy] = view.toWorld(sx, sy);
    const reach = HIT_RADIUS_PX / view.scale;
    let best = -1;
    let bestDistance = Infinity;
    for (let i = 0; i < this.count; i += 1) {
      const distance = Math.hypot(columns.drawX[i] - wx, columns.drawY[i] - wy);
      if (distance < bestDistance && distance <= Math.max(reach, columns.length[i] / 2)) {
        best = i;
        bestDistance = distance;
      }
    }
    return best;
  }
}

/** An oriented box with a pointed front, at least a few pixels in size so that every object stays visible. */
function traceVehicle(ctx, columns, i, x, y, px) {
  const halfLength = Math.max(columns.length[i], MIN_LENGTH_PX * px) / 2;
  const halfWidth = Math.max(columns.width[i], MIN_WIDTH_PX * px) / 2;
  const fx = columns.sin[i];
  const fy = columns.cos[i];
  // right-hand side of the direction of travel
  const rx = fy;
  const ry = -fx;
  const shoulder = halfLength - Math.min(halfWidth * 0.7, halfLength * 0.4);
  ctx.moveTo(x - fx * halfLength - rx * halfWidth, y - fy * halfLength - ry * halfWidth);
  ctx.lineTo(x + fx * shoulder - rx * halfWidth, y + fy * shoulder - ry * halfWidth);
  ctx.lineTo(x + fx * halfLength, y + fy * halfLength);
  ctx.lineTo(x + fx * shoulder + rx * halfWidth, y + fy * shoulder + ry * halfWidth);
  ctx.lineTo(x - fx * halfLength + rx * halfWidth, y - fy * halfLength + ry * halfWidth);
  ctx.closePath();
}

export class SignalLayer {
  controllers = [];
  #laneLights = new Map(); // lane id → light colours of the groups that control it

  /** Takes a `signals` frame of the stream. */
  update(frame) {
    this.controllers = Array.isArray(frame.signals) ? frame.signals : [];
    const laneLights = new Map();
    for (const controller of this.controllers) {
      for (const group of controller.groups ?? []) {
        const colour = groupColour(group);
        for (const laneId of group.lane_ids ?? []) {
          const lights = laneLights.get(laneId);
          if (lights) lights.push(colour);
          else laneLights.set(laneId, [colour]);
        }
      }
    }
    this.#laneLights = laneLights;
  }

  /** The controller whose junction is within `radiusPx` of a screen point, or null. */
  controllerAt(view, sx, sy, radiusPx = 14) {
    let best = null;
    let bestDistance = radiusPx;
    for (const controller of this.controllers) {
      const [x, y] = view.toScreen(controller.x_m, controller.y_m);
      const distance = Math.hypot(x - sx, y - sy);
      if (distance <= bestDistance) {
        best = controller;
        bestDistance = distance;
      }
    }
    return best;
  }

  draw(ctx, view, theme, baseMap) {
    const paths = { red: new Path2D(), yellow: new Path2D(), green: new Path2D(), dark: new Path2D() };
    const px = 1 / view.scale;
    const asBars = view.scale >= STOP_BAR_ZOOM_PX_PER_M;
    for (const [laneId, lights] of this.#laneLights) {
      const lane = baseMap.lanes.get(laneId);
      if (lane) traceStopLine(paths, lane, lights, asBars, px);
    }
    for (const controller of this.controllers) {
      if (hasLaneGeometry(controller, baseMap)) continue;
      // no lane geometry for its groups: one dot at the junction, its most permissive light
      const lights = (controller.groups ?? []).map(groupColour);
      const colour = ["green", "yellow", "red"].find((c) => lights.includes(c)) ?? "dark";
      paths[colour].moveTo(controller.x_m + 4 * px, controller.y_m);
      paths[colour].arc(controller.x_m, controller.y_m, 4 * px, 0, 2 * Math.PI);
    }
    view.applyWorld(ctx);
    for (const [colour, path] of Object.entries(paths)) {
      ctx.fillStyle = theme.lights[colour];
      ctx.fill(path);
    }
  }
}

/** The colour a signal group shows: the API's own `color` when it sends one, else from the light's name. */
export function groupColour(group) {
  return ["red", "yellow", "green", "dark"].includes(group.color) ? group.color : lightColour(group.light);
}

function hasLaneGeometry(controller, baseMap) {
  return (controller.groups ?? []).some((group) =>
    (group.lane_ids ?? []).some((id) => baseMap.lanes.has(id)),
  );
}

/** A stop line across the end of an incoming lane, split into one piece per signal group on that lane. */
function traceStopLine(paths, lane, lights, asBars, px) {
  const points = lane.coordinates;
  const [x1, y1] = points.at(-1);
  const [x0, y0] = points.at(-2);
  const segment = Math.hypot(x1 - x0, y1 - y0) || 1;
  const dx = (x1 - x0) / segment;
  const dy = (y1 - y0) / segment;
  if (!asBars) {
    const radius = Math.max(lane.widthM / 2, 2.2 * px);
    const colour = ["green", "yellow", "red"].find((c) => lights.includes(c)) ?? "dark";
    paths[colour].moveTo(x1 - dx * radius + radius, y1 - dy * radius);
    paths[colour].arc(x1 - dx * radius, y1 - dy * radius, radius, 0, 2 * Math.PI);
    return;
  }
  const depth = Math.max(0.9, 3 * px);
  const nx = -dy; // left of travel
  const ny = dx;
  const half = lane.widthM / 2;
  const piece = lane.widthM / lights.length;
  lights.forEach((colour, k) => {
    const from = -half + k * piece;
    const to = from + piece * 0.92;
    const path = paths[colour];
    path.moveTo(x1 + nx * from, y1 + ny * from);
    path.lineTo(x1 + nx * to, y1 + ny * to);
    path.lineTo(x1 + nx * to - dx * depth, y1 + ny * to - dy * depth);
    path.lineTo(x1 + nx * from - dx * depth, y1 + ny * from - dy * depth);
    path.closePath();
  });
}

/** Event markers: a warning triangle per active event, the selected one ringed (greyed once ended). */
export function drawEvents(ctx, view, theme, events, selectedId, baseMap, now) {
  view.applyWorld(ctx);
  for (const event of events) {
    if (event.ended || !(event.extent_m > 0)) continue;
    traceQueue(ctx, theme, event, baseMap);
  }
  view.applyScreen(ctx);
  for (const event of events) {
    const selected = event.event_id === selectedId;
    if (event.ended && !selected) continue;
    const [sx, sy] = view.toScreen(event.x_m, event.y_m);
    if (sx < -20 || sy < -20 || sx > view.width + 20 || sy > view.height + 20) continue;
    if (selected) drawSelectionRing(ctx, theme, sx, sy, now);
    drawTriangle(
      ctx,
      theme,
      sx,
      sy,
      event.ended ? theme.kinds[OTHER_KIND] : severityColour(theme, event.severity),
    );
  }
}

/** A pin: the warning triangle stands above the spot on a short stem, so the object there stays visible. */
function drawTriangle(ctx, theme, sx, sy, colour) {
  const r = EVENT_MARKER_PX;
  const cy = sy - PIN_LIFT_PX;
  ctx.lineJoin = "round";
  ctx.strokeStyle = theme.map.background;
  ctx.lineWidth = 4;
  ctx.beginPath();
  ctx.moveTo(sx, sy);
  ctx.lineTo(sx, cy);
  ctx.stroke();
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.beginPath();
  ctx.arc(sx, sy, 2.5, 0, 2 * Math.PI);
  ctx.fillStyle = colour;
  ctx.fill();
  ctx.beginPath();
  ctx.moveTo(sx, cy - r * 1.15);
  ctx.lineTo(sx + r, cy + r * 0.7);
  ctx.lineTo(sx - r, cy + r * 0.7);
  ctx.closePath();
  ctx.lineWidth = 2.5;
  ctx.strokeStyle = theme.map.background;
  ctx.stroke();
  ctx.fill();
  ctx.fillStyle = theme.map.background;
  ctx.fillRect(sx - 1, cy - r * 0.45, 2, r * 0.62);
  ctx.fillRect(sx - 1, cy + r * 0.3, 2, 2);
}

function drawSelectionRing(ctx, theme, sx, sy, now) {
  // a slow pulse draws the eye without flashing
  const phase = (now % 1400) / 1400;
  ctx.strokeStyle = theme.accent;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(sx, sy, 17, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.globalAlpha = 1 - phase;
  ctx.beginPath();
  ctx.arc(sx, sy, 17 + phase * 22, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.globalAlpha = 1;
}

/** The queue of a congestion event along its lane, from its tail `s_m` over `extent_m`. */
function traceQueue(ctx, theme, event, baseMap) {
  const lane = baseMap.lanes.get(event.lane_id);
  if (!lane) return;
  const points = lanePortion(lane.coordinates, event.s_m, event.s_m + event.extent_m);
  if (points.length < 2) return;
  ctx.beginPath();
  points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
  ctx.strokeStyle = severityColour(theme, event.severity);
  ctx.globalAlpha = 0.45;
  ctx.lineWidth = lane.widthM;
  ctx.lineCap = "butt";
  ctx.stroke();
  ctx.globalAlpha = 1;
}

/** The part of a polyline between distances `fromM` and `toM` along it. */
export function lanePortion(coordinates, fromM, toM) {
  const out = [];
  let travelled = 0;
  for (let k = 1; k < coordinates.length; k += 1) {
    const [x0, y0] = coordinates[k - 1];
    const [x1, y1] = coordinates[k];
    const length = Math.hypot(x1 - x0, y1 - y0);
    const start = Math.max(fromM, travelled);
    const end = Math.min(toM, travelled + length);
    if (end > start && length > 0) {
      const a = (start - travelled) / length;
      const b = (end - travelled) / length;
      if (!out.length) out.push([x0 + (x1 - x0) * a, y0 + (y1 - y0) * a]);
      out.push([x0 + (x1 - x0) * b, y0 + (y1 - y0) * b]);
    }
    travelled += length;
    if (travelled >= toM) break;
  }
  return out;
}
