// The map's viewport: which zone metres are on screen, and the mouse and keyboard gestures that move it.
// World coordinates are the zone's local frame (x east, y north, metres); screen coordinates are CSS pixels
// from the top-left of the map element, so y flips between the two.

const MAX_SCALE_PX_PER_M = 40;
const ZOOM_STEP = 1.6;
const CLICK_SLOP_PX = 4;

export class Viewport {
  width = 1;
  height = 1;
  dpr = 1;
  centreX = 0;
  centreY = 0;
  scale = 1; // CSS pixels per metre
  minScale = 0.01;
  /** Increases on every change, so layers can tell whether they must redraw. */
  version = 0;
  #animation = null;

  resize(width, height, dpr) {
    if (width === this.width && height === this.height && dpr === this.dpr) return;
    Object.assign(this, { width: Math.max(1, width), height: Math.max(1, height), dpr });
    this.version += 1;
  }

  /**
   * Shows the whole rectangle inside the margins (CSS px; the right one keeps the map tools clear).
   * Zooming out further than a quarter of this is pointless, so that is the limit.
   */
  fit([xmin, ymin, xmax, ymax], { top = 24, right = 56, bottom = 24, left = 24 } = {}) {
    const spanX = Math.max(xmax - xmin, 1);
    const spanY = Math.max(ymax - ymin, 1);
    const scale = Math.max(
      Math.min((this.width - left - right) / spanX, (this.height - top - bottom) / spanY),
      1e-4,
    );
    this.minScale = scale / 4;
    // centre the rectangle in the area between the margins, not in the whole canvas
    const centreX = (xmin + xmax) / 2 + (right - left) / 2 / scale;
    const centreY = (ymin + ymax) / 2 + (top - bottom) / 2 / scale;
    this.#set(centreX, centreY, scale);
  }

  toScreen(x, y) {
    return [
      this.width / 2 + (x - this.centreX) * this.scale,
      this.height / 2 - (y - this.centreY) * this.scale,
    ];
  }

  toWorld(sx, sy) {
    return [
      this.centreX + (sx - this.width / 2) / this.scale,
      this.centreY - (sy - this.height / 2) / this.scale,
    ];
  }

  /** Sets the canvas transform so that drawing in metres lands on the right device pixels. */
  applyWorld(ctx) {
    const s = this.scale * this.dpr;
    ctx.setTransform(
      s,
      0,
      0,
      -s,
      this.dpr * (this.width / 2 - this.centreX * this.scale),
      this.dpr * (this.height / 2 + this.centreY * this.scale),
    );
  }

  /** Sets the canvas transform for drawing in CSS pixels (icons, labels that keep their size). */
  applyScreen(ctx) {
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
  }

  /** [xmin, ymin, xmax, ymax] in metres, grown by `marginPx` on every side. */
  visibleBounds(marginPx = 0) {
    const [x0, y0] = this.toWorld(-marginPx, this.height + marginPx);
    const [x1, y1] = this.toWorld(this.width + marginPx, -marginPx);
    return [x0, y0, x1, y1];
  }

  zoomAt(sx, sy, factor) {
    this.#animation = null;
    const scale = this.#clampScale(this.scale * factor);
    const [wx, wy] = this.toWorld(sx, sy);
    // keep the point under the cursor where it is
    this.#set(wx - (sx - this.width / 2) / scale, wy + (sy - this.height / 2) / scale, scale);
  }

  panBy(dxPx, dyPx) {
    this.#animation = null;
    this.#set(this.centreX - dxPx / this.scale, this.centreY + dyPx / this.scale, this.scale);
  }

  /** Glides to a point (and at least `minScale` px/m) so the eye can follow where the map went. */
  flyTo(x, y, minScale, durationMs = 450) {
    const to = { x, y, scale: this.#clampScale(Math.max(this.scale, minScale)) };
    const from = { x: this.centreX, y: this.centreY, scale: this.scale };
    this.#animation = { from, to, start: performance.now(), durationMs };
  }

  /** Advances a running flyTo; called once per animation frame. */
  step(now) {
    const animation = this.#animation;
    if (!animation) return;
    const t = Math.min(1, (now - animation.start) / animation.durationMs);
    const ease = t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2;
    const { from, to } = animation;
    // interpolate the zoom in log space: a constant rate of zooming looks even to the eye
    const scale = from.scale * (to.scale / from.scale) ** ease;
    this.#set(from.x + (to.x - from.x) * ease, from.y + (to.y - from.y) * ease, scale);
    if (t >= 1) this.#animation = null;
  }

  get animating() {
    return this.#animation !== null;
  }

  #clampScale(scale) {
    return Math.min(MAX_SCALE_PX_PER_M, Math.max(this.minScale, scale));
  }

  #set(x, y, scale) {
    this.centreX = x;
    this.centreY = y;
    this.scale = scale;
    this.version += 1;
  }
}

/**
 * Drag to pan, wheel to zoom around the cursor, double-click to zoom in, keys + − F.
 * `onPointer(sx, sy | null)` follows the hover position; `onClick(sx, sy)` fires for a press that did not drag.
 */
export function bindGestures(element, viewport, { onPointer, onClick, onFit }) {
  let drag = null;

  const local = (event) => {
    const rect = element.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  };

  element.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    const [sx, sy] = local(event);
    drag = { sx, sy, lastX: sx, lastY: sy, moved: false };
    element.setPointerCapture(event.pointerId);
  });

  element.addEventListener("pointermove", (event) => {
    const [sx, sy] = local(event);
    if (drag) {
      if (!drag.moved && Math.hypot(sx - drag.sx, sy - drag.sy) > CLICK_SLOP_PX) {
        drag.moved = true;
        element.classList.add("dragging");
      }
      if (drag.moved) viewport.panBy(sx - drag.lastX, sy - drag.lastY);
      drag.lastX = sx;
      drag.lastY = sy;
    }
    onPointer(sx, sy);
  });

  const endDrag = (event) => {
    if (!drag) return;
    const wasClick = !drag.moved;
    drag = null;
    element.classList.remove("dragging");
    if (wasClick && event.type === "pointerup") onClick(...local(event));
  };
  element.addEventListener("pointerup", endDrag);
  element.addEventListener("pointercancel", endDrag);
  element.addEventListener("pointerleave", () => onPointer(null, null));

  element.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      // trackpads send many small deltas, mouse wheels few large ones; the exponent treats both evenly
      const delta = event.deltaMode === 1 ? event.deltaY * 32 : event.deltaY;
      viewport.zoomAt(...local(event), Math.exp(-delta * 0.0015));
    },
    { passive: false },
  );

  element.addEventListener("dblclick", (event) => viewport.zoomAt(...local(event), ZOOM_STEP * ZOOM_STEP));

  window.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement || event.ctrlKey || event.metaKey || event.altKey) return;
    const centre = [viewport.width / 2, viewport.height / 2];
    if (event.key === "+" || event.key === "=") viewport.zoomAt(...centre, ZOOM_STEP);
    else if (event.key === "-" || event.key === "_") viewport.zoomAt(...centre, 1 / ZOOM_STEP);
    else if (event.key === "f" || event.key === "F") onFit();
  });
}

export { ZOOM_STEP };
