// The static layer: the zone drawn from the precise map (GET /api/v1/map?crs=local) plus the roadside units.
// Lanes are grouped by surface and width into a few Path2D objects built once, so a redraw after a pan or
// zoom is a dozen stroke calls however large the zone is. This layer is redrawn only when the view or a
// unit's online state changes, never per live frame.

const DIVIDER_M = 0.18; // painted gap between adjacent lanes
const MIN_DIVIDER_PX = 0.7; // below this the dividers only blur the road: leave them out
const MIN_ROAD_PX = 1.6; // a lane never thinner than this, or the zoomed-out zone disappears
const GRID_STEPS_M = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
const RSU_ICON_PX = 5;

// SUMO vehicle classes that make a lane a carriageway; a lane with none of them is a path or a track
const MOTOR = new Set([
  "passenger",
  "taxi",
  "bus",
  "coach",
  "truck",
  "trailer",
  "motorcycle",
  "moped",
  "emergency",
  "evehicle",
  "private",
]);
const RAIL = new Set(["rail", "rail_urban", "rail_electric", "rail_fast", "tram", "subway", "cable_car"]);

/** What a lane looks like on the map: its surface, from its function and the classes it allows. */
function surfaceOf(properties) {
  const fn = properties.function ?? "normal";
  if (fn === "crossing" || fn === "walkingarea" || fn === "internal") return fn;
  const allow = Array.isArray(properties.allow) ? properties.allow : [];
  if (!allow.length || allow.some((c) => MOTOR.has(c))) return "road";
  if (allow.some((c) => RAIL.has(c))) return "rail";
  return "sidewalk"; // footways, cycle paths, pedestrian zones
}

function tracePolyline(path, coordinates) {
  coordinates.forEach(([x, y], i) => (i === 0 ? path.moveTo(x, y) : path.lineTo(x, y)));
}

function growBounds(bounds, coordinates) {
  for (const [x, y] of coordinates) {
    bounds[0] = Math.min(bounds[0], x);
    bounds[1] = Math.min(bounds[1], y);
    bounds[2] = Math.max(bounds[2], x);
    bounds[3] = Math.max(bounds[3], y);
  }
}

export class BaseMap {
  /** lane id → { coordinates: [[x, y], …], widthM } for layers that place things on lanes */
  lanes = new Map();
  /** roadside units: { id, x, y, rangeM, online } */
  rsus = [];
  bounds = [Infinity, Infinity, -Infinity, -Infinity];
  #strokes = new Map(); // `${surface}|${width}` → { surface, widthM, path }
  #junctions = new Path2D();
  #walkingAreas = new Path2D();
  #hasGeometry = false;

  constructor(collection) {
    for (const feature of collection.features ?? []) this.#add(feature);
    if (!this.#hasGeometry) this.bounds = [-500, -500, 500, 500];
  }

  get isEmpty() {
    return !this.#hasGeometry;
  }

  #add(feature) {
    const { geometry, properties = {} } = feature;
    if (!geometry) return;
    switch (properties.layer) {
      case "lane":
        if (geometry.type === "LineString") this.#addLane(properties, geometry.coordinates);
        break;
      case "junction":
        if (geometry.type === "Polygon" && geometry.coordinates[0]?.length > 2) {
          tracePolyline(this.#junctions, geometry.coordinates[0]);
          this.#junctions.closePath();
          growBounds(this.bounds, geometry.coordinates[0]);
          this.#hasGeometry = true;
        }
        break;
      case "rsu":
        if (geometry.type === "Point") {
          const [x, y] = geometry.coordinates;
          this.rsus.push({
            id: String(properties.id),
            x,
            y,
            rangeM: Number(properties.range_m) || 0,
            online: !!properties.online,
          });
        }
        break;
      default:
        break; // signals come with the live stream; unknown layers are someone else's
    }
  }

  #addLane(properties, coordinates) {
    if (coordinates.length < 2) return;
    const widthM = Number(properties.width_m) > 0 ? Number(properties.width_m) : 3.2;
    this.lanes.set(String(properties.id), { coordinates, widthM });
    growBounds(this.bounds, coordinates);
    this.#hasGeometry = true;
    const surface = surfaceOf(properties);
    if (surface === "walkingarea") {
      // SUMO gives a walking area as its outline: fill it rather than stroke the outline
      tracePolyline(this.#walkingAreas, coordinates);
      this.#walkingAreas.closePath();
      return;
    }
    const roundedWidth = Math.round(widthM * 10) / 10;
    const key = `${surface}|${roundedWidth}`;
    let group = this.#strokes.get(key);
    if (!group) {
      group = { surface, widthM: roundedWidth, path: new Path2D() };
      this.#strokes.set(key, group);
    }
    tracePolyline(group.path, coordinates);
  }

  /** Applies online states from /api/v1/devices; true when something the map shows changed. */
  updateOnline(onlineById) {
    let changed = false;
    for (const rsu of this.rsus) {
      const online = onlineById.get(rsu.id);
      if (online !== undefined && online !== rsu.online) {
        rsu.online = online;
        changed = true;
      }
    }
    return changed;
  }

  /** The roadside unit whose icon is within `radiusPx` of a screen point, or null. */
  rsuAt(view, sx, sy, radiusPx = 8) {
    let best = null;
    let bestDistance = radiusPx;
    for (const rsu of this.rsus) {
      const [x, y] = view.toScreen(rsu.x, rsu.y);
      const distance = Math.hypot(x - sx, y - sy);
      if (distance <= bestDistance) {
        best = rsu;
        bestDistance = distance;
      }
    }
    return best;
  }

  render(ctx, view, theme, { showRsu }) {
    const colours = theme.map;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = colours.background;
    ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    this.#renderGrid(ctx, view, colours.grid);

    view.applyWorld(ctx);
    const minWidthM = MIN_ROAD_PX / view.scale;
    ctx.lineJoin = "round";
    ctx.lineCap = "butt";

    ctx.fillStyle = colours.sidewalk;
    ctx.fill(this.#walkingAreas);
    this.#strokeSurface(ctx, "sidewalk", colours.sidewalk, minWidthM);
    ctx.fillStyle = colours.junction;
    ctx.fill(this.#junctions);
    this.#strokeSurface(ctx, "internal", colours.junction, minWidthM);

    const dividers = DIVIDER_M * view.scale >= MIN_DIVIDER_PX;
    if (dividers) this.#strokeSurface(ctx, "road", colours.divider, minWidthM);
    this.#strokeSurface(ctx, "road", colours.road, minWidthM, dividers ? DIVIDER_M : 0);
    this.#renderRails(ctx, view, colours.divider);
    this.#renderCrossings(ctx, view, colours.crossing);

    if (showRsu) this.#renderRsus(ctx, view, colours);
  }

  #strokeSurface(ctx, surface, colour, minWidthM, shrinkM = 0) {
    ctx.strokeStyle = colour;
    for (const group of this.#strokes.values()) {
      if (group.surface !== surface) continue;
      ctx.lineWidth = Math.max(group.widthM - shrinkM, minWidthM);
      ctx.stroke(group.path);
    }
  }

  #renderRails(ctx, view, colour) {
    // a railway is a line, not a carriageway: its gauge is not what the control room needs to see
    ctx.strokeStyle = colour;
    ctx.lineWidth = Math.max(1 / view.scale, 0.6);
    ctx.setLineDash([6 / view.scale, 3 / view.scale]);
    for (const group of this.#strokes.values()) if (group.surface === "rail") ctx.stroke(group.path);
    ctx.setLineDash([]);
  }

  #renderCrossings(ctx, view, colour) {
    // zebra: dashes along the crossing's centre line read as stripes parallel to the road
    const stripes = 0.5 * view.scale >= 1.5;
    ctx.strokeStyle = colour;
    ctx.globalAlpha = stripes ? 0.9 : 0.45;
    ctx.setLineDash(stripes ? [0.5, 0.5] : []);
    for (const group of this.#strokes.values()) {
      if (group.surface !== "crossing") continue;
      ctx.lineWidth = group.widthM;
      ctx.stroke(group.path);
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
  }

  #renderRsus(ctx, view, colours) {
    const px = 1 / view.scale;
    for (const rsu of this.rsus) {
      const colour = rsu.online ? colours.rsuOnline : colours.rsuOffline;
      ctx.beginPath();
      ctx.arc(rsu.x, rsu.y, rsu.rangeM, 0, 2 * Math.PI);
      ctx.globalAlpha = rsu.online ? 0.045 : 0.08;
      ctx.fillStyle = colour;
      ctx.fill();
      ctx.globalAlpha = rsu.online ? 0.32 : 0.85;
      ctx.strokeStyle = colour;
      ctx.lineWidth = (rsu.online ? 1 : 1.5) * px;
      ctx.setLineDash(rsu.online ? [] : [6 * px, 4 * px]);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;

    // the unit itself: a diamond of fixed screen size, so it can be found at any zoom
    view.applyScreen(ctx);
    for (const rsu of this.rsus) {
      const [sx, sy] = view.toScreen(rsu.x, rsu.y);
      ctx.beginPath();
      ctx.moveTo(sx, sy - RSU_ICON_PX);
      ctx.lineTo(sx + RSU_ICON_PX, sy);
      ctx.lineTo(sx, sy + RSU_ICON_PX);
      ctx.lineTo(sx - RSU_ICON_PX, sy);
      ctx.closePath();
      ctx.fillStyle = rsu.online ? colours.rsuOnline : colours.rsuOffline;
      ctx.strokeStyle = colours.background;
      ctx.lineWidth = 1.5;
      ctx.fill();
      ctx.stroke();
    }
  }

  #renderGrid(ctx, view, colour) {
    const stepM = GRID_STEPS_M.find((step) => step * view.scale >= 90) ?? GRID_STEPS_M.at(-1);
    const [xmin, ymin, xmax, ymax] = view.visibleBounds();
    view.applyScreen(ctx);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let x = Math.ceil(xmin / stepM) * stepM; x <= xmax; x += stepM) {
      const sx = Math.round(view.toScreen(x, 0)[0]) + 0.5;
      ctx.moveTo(sx, 0);
      ctx.lineTo(sx, view.height);
    }
    for (let y = Math.ceil(ymin / stepM) * stepM; y <= ymax; y += stepM) {
      const sy = Math.round(view.toScreen(0, y)[1]) + 0.5;
      ctx.moveTo(0, sy);
      ctx.lineTo(view.width, sy);
    }
    ctx.stroke();
  }
}
