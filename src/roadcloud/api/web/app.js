// roadcloud control room: wires the map, the live stream and the panels together.
//
//   GET /api/v1/zone, /api/v1/map?crs=local ──▶ BaseMap ──▶ #basemap canvas (redrawn on pan/zoom only)
//   WS  /api/v1/stream (tracks, signals, events, stats) ──▶ TrackLayer, SignalLayer, EventStore, Kpis
//                                                         ──▶ #live canvas (every animation frame)
//   GET /api/v1/devices (every 5 s), /api/v1/events (once) ──▶ unit states, event history

import { LiveStream, every, getJson } from "./api.js";
import { BaseMap } from "./basemap.js";
import { EventList, EventStore } from "./events.js";
import { eventLabel, formatAge, formatMetres, formatRate, formatSources, formatSpeed } from "./format.js";
import { PIN_LIFT_PX, SignalLayer, TrackLayer, drawEvents, groupColour } from "./live.js";
import { ConnectionIndicator, DevicePanel, Kpis, Legend, Tooltip, renderClock } from "./panels.js";
import { OTHER_KIND, TRACK_KINDS, readTheme, severityColour } from "./theme.js";
import { Viewport, ZOOM_STEP, bindGestures } from "./view.js";

const STREAMS = "tracks,events,signals,stats";
const DEVICE_REFRESH_MS = 5000;
const MAP_RETRY_MS = 3000;
const PANEL_REFRESH_MS = 500;
const LIVE_FRAME_MS = 30; // ~30 fps is smooth for 10 Hz data and leaves the CPU to the rest of the desk
const FOCUS_SCALE_PX_PER_M = 2.5; // zoom when jumping to an event or a unit: lanes and vehicles readable
const EVENT_HIT_PX = 13;

const $ = (selector) => document.querySelector(selector);

class Dashboard {
  theme = readTheme();
  view = new Viewport();
  tracks = new TrackLayer();
  signals = new SignalLayer();
  events = new EventStore();
  layers = { tracks: true, rsu: true, signals: true, events: true };
  baseMap = null;
  stats = null;
  nowMs = 0; // time of the live map (twin time in a replay): ages are measured against it, not the wall clock
  selectedEventId = null;
  showEndedEvents = false;
  pointer = null; // [sx, sy] while the mouse is over the map
  hover = null; // { kind: "track" | "event" | "rsu" | "signal", key }
  #baseVersion = -1;
  #baseDirty = true;
  #fitted = false;
  #lastLiveDraw = 0;
  #liveVersion = -1;
  #devices = new Map();

  constructor() {
    this.mapElement = $("#map");
    this.baseContext = $("#basemap").getContext("2d", { alpha: false });
    this.liveContext = $("#live").getContext("2d");
    this.kpis = new Kpis($("#kpis"));
    this.legend = new Legend($("#legend"), this.theme);
    this.tooltip = new Tooltip($("#tooltip"));
    this.connection = new ConnectionIndicator($("#connection"));
    this.eventList = new EventList({
      list: $("#event-list"),
      empty: $("#event-empty"),
      count: $("#event-count"),
      onSelect: (id) => this.selectEvent(id),
    });
    this.devicePanel = new DevicePanel({
      count: $("#rsu-count"),
      uptime: $("#rsu-uptime"),
      summary: $("#device-summary"),
      chips: $("#rsu-chips"),
      onSelect: (rsu) => this.view.flyTo(rsu.x, rsu.y, FOCUS_SCALE_PX_PER_M),
    });
  }

  start() {
    this.#bindControls();
    this.#trackSize();
    requestAnimationFrame((now) => this.#frame(now));
    this.#loadMap();
    this.#loadEventHistory();
    this.stream = new LiveStream(LiveStream.url("/api/v1/stream", { streams: STREAMS, hz: "10" }), {
      onFrame: (frame) => this.#receive(frame),
      onStatus: (status) => this.connection.set(status),
    });
    this.stream.start();
    every(DEVICE_REFRESH_MS, () => this.#refreshDevices());
    setInterval(() => this.#renderPanels(), PANEL_REFRESH_MS);
  }

  // ── data in ────────────────────────────────────────────────────────────────────────────────────────

  async #loadMap() {
    const banner = $("#banner");
    for (;;) {
      try {
        const [zone, collection] = await Promise.all([
          getJson("/api/v1/zone"),
          getJson("/api/v1/map?crs=local"),
        ]);
        this.baseMap = new BaseMap(collection);
        this.zoneBounds = zone.bounds_m;
        $("#zone-name").textContent = zone.zone ?? "zone";
        document.title = `${zone.zone ?? "zone"} · roadcloud control room`;
        this.#advanceClock(zone.time_ms);
        banner.hidden = true;
        this.fit();
        this.#baseDirty = true;
        this.mapElement.dataset.ready = "true";
        this.#renderPanels();
        return;
      } catch (error) {
        banner.textContent = `Map unavailable (${error.message}); retrying…`;
        banner.hidden = false;
        await new Promise((resolve) => setTimeout(resolve, MAP_RETRY_MS));
      }
    }
  }

  async #loadEventHistory() {
    try {
      this.events.addHistory(await getJson("/api/v1/events?limit=100"));
      this.#renderEvents();
    } catch (error) {
      // the live stream still brings every new event; history is a nicety
      console.warn("roadcloud: event history unavailable", error);
    }
  }

  async #refreshDevices() {
    let devices;
    try {
      devices = await getJson("/api/v1/devices?kind=rsu");
    } catch (error) {
      console.warn("roadcloud: device list unavailable", error);
      return;
    }
    this.#devices = new Map(devices.map((device) => [String(device.id), device]));
    const online = new Map(devices.map((device) => [String(device.id), !!device.online]));
    if (this.baseMap?.updateOnline(online)) this.#baseDirty = true;
    this.#renderPanels();
  }

  #receive(frame) {
    this.#advanceClock(frame.time_ms);
    switch (frame.type) {
      case "tracks":
        this.tracks.update(frame);
        this.mapElement.dataset.tracks = String(this.tracks.count);
        this.mapElement.dataset.frameMs = String(frame.time_ms);
        this.#refreshHover();
        break;
      case "signals":
        this.signals.update(frame);
        break;
      case "events":
        this.events.applyFrame(frame);
        this.#renderEvents();
        break;
      case "stats":
        this.stats = frame;
        this.kpis.update(frame, { maxSeverity: this.events.maxActiveSeverity() });
        break;
      default:
        break; // a stream this page does not draw yet
    }
  }

  #advanceClock(timeMs) {
    if (Number.isFinite(timeMs) && timeMs > this.nowMs) this.nowMs = timeMs;
  }

  // ── drawing ────────────────────────────────────────────────────────────────────────────────────────

  #frame(now) {
    this.view.step(now);
    if (this.baseMap && (this.view.version !== this.#baseVersion || this.#baseDirty)) {
      this.baseMap.render(this.baseContext, this.view, this.theme, { showRsu: this.layers.rsu });
      this.#baseVersion = this.view.version;
      this.#baseDirty = false;
      this.#renderScale();
      const { centreX, centreY, scale } = this.view;
      this.mapElement.dataset.view = `${centreX.toFixed(2)},${centreY.toFixed(2)},${scale.toFixed(4)}`;
    }
    // the live layer follows the view at once, and otherwise moves on at its own pace
    if (this.view.version !== this.#liveVersion || now - this.#lastLiveDraw >= LIVE_FRAME_MS) {
      this.#drawLive(now);
      this.#liveVersion = this.view.version;
      this.#lastLiveDraw = now;
    }
    requestAnimationFrame((next) => this.#frame(next));
  }

  #drawLive(now) {
    const ctx = this.liveContext;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    if (this.baseMap && this.layers.signals) this.signals.draw(ctx, this.view, this.theme, this.baseMap);
    const hovered = this.hover?.kind === "track" ? this.tracks.indexOfId(this.hover.key) : -1;
    if (this.layers.tracks) this.tracks.draw(ctx, this.view, this.theme, now, hovered);
    if (this.layers.events && this.baseMap) {
      const shown = this.events.list({ includeEnded: true });
      drawEvents(ctx, this.view, this.theme, shown, this.selectedEventId, this.baseMap, now);
    }
  }

  #renderScale() {
    // the longest round length that fits in 120 px
    const maxM = 120 / this.view.scale;
    const magnitude = 10 ** Math.floor(Math.log10(maxM));
    const lengthM = [5, 2, 1].map((f) => f * magnitude).find((m) => m <= maxM) ?? magnitude;
    const scale = $("#scale");
    scale.querySelector(".scale-bar").style.width = `${Math.round(lengthM * this.view.scale)}px`;
    scale.querySelector(".scale-label").textContent = formatMetres(lengthM);
  }

  #renderEvents() {
    const list = this.events.list({ includeEnded: this.showEndedEvents });
    this.eventList.render(list, {
      nowMs: this.nowMs,
      selectedId: this.selectedEventId,
      theme: this.theme,
      emptyText: this.showEndedEvents ? "No events yet" : "No active events",
    });
    const active = this.events.activeCount();
    this.eventList.setCount(this.showEndedEvents ? `${active} active · ${list.length}` : String(active));
  }

  #renderPanels() {
    renderClock($("#clock"), this.nowMs);
    this.#renderEvents();
    this.legend.update(this.tracks.countsByKind());
    if (this.baseMap) {
      this.devicePanel.update(this.baseMap.rsus, {
        controllers: this.signals.controllers.length,
        devicesTotal: this.stats?.devices_total ?? this.#devices.size,
        devicesOnline:
          this.stats?.devices_online ?? [...this.#devices.values()].filter((d) => d.online).length,
      });
    }
  }

  // ── interaction ────────────────────────────────────────────────────────────────────────────────────

  fit() {
    const bounds = this.baseMap && !this.baseMap.isEmpty ? this.baseMap.bounds : this.zoneBounds;
    if (bounds) {
      this.view.fit(bounds);
      this.#fitted = true;
    }
  }

  selectEvent(id) {
    const event = this.events.get(id);
    if (!event) return;
    this.selectedEventId = id;
    this.view.flyTo(event.x_m, event.y_m, FOCUS_SCALE_PX_PER_M);
    this.#renderEvents();
    this.eventList.reveal(id);
  }

  #bindControls() {
    bindGestures($("#live"), this.view, {
      onPointer: (sx, sy) => this.#pointerAt(sx, sy),
      onClick: (sx, sy) => this.#clickAt(sx, sy),
      onFit: () => this.fit(),
    });
    for (const button of document.querySelectorAll(".map-tools [data-action]")) {
      button.addEventListener("click", () => {
        const centre = [this.view.width / 2, this.view.height / 2];
        if (button.dataset.action === "zoom-in") this.view.zoomAt(...centre, ZOOM_STEP);
        else if (button.dataset.action === "zoom-out") this.view.zoomAt(...centre, 1 / ZOOM_STEP);
        else this.fit();
      });
    }
    for (const button of document.querySelectorAll(".map-tools [data-layer]")) {
      button.addEventListener("click", () => {
        const layer = button.dataset.layer;
        this.layers[layer] = !this.layers[layer];
        button.setAttribute("aria-pressed", String(this.layers[layer]));
        this.#baseDirty = true; // the unit coverage is drawn with the static map
      });
    }
    for (const button of document.querySelectorAll("[data-filter]")) {
      button.addEventListener("click", () => {
        this.showEndedEvents = button.dataset.filter === "all";
        for (const other of document.querySelectorAll("[data-filter]")) {
          other.setAttribute("aria-pressed", String(other === button));
        }
        this.#renderEvents();
      });
    }
  }

  #trackSize() {
    const resize = () => {
      const rect = this.mapElement.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      for (const canvas of [$("#basemap"), $("#live")]) {
        canvas.width = Math.max(1, Math.round(rect.width * dpr));
        canvas.height = Math.max(1, Math.round(rect.height * dpr));
      }
      this.view.resize(rect.width, rect.height, dpr);
      if (!this.#fitted) this.fit();
      this.#baseDirty = true;
    };
    new ResizeObserver(resize).observe(this.mapElement);
    resize();
  }

  #pointerAt(sx, sy) {
    this.pointer = sx === null ? null : [sx, sy];
    const [x, y] = this.pointer ? this.view.toWorld(sx, sy) : [NaN, NaN];
    const readout = $("#cursor-readout");
    readout.hidden = !this.pointer;
    readout.textContent = this.pointer ? `x ${x.toFixed(1)} m · y ${y.toFixed(1)} m` : "";
    this.#refreshHover();
  }

  #clickAt(sx, sy) {
    const event = this.#eventAt(sx, sy);
    if (event) this.selectEvent(event.event_id);
    else if (this.selectedEventId !== null) {
      this.selectedEventId = null;
      this.#renderEvents();
    }
  }

  /** What is under the pointer, most specific first: event marker, track, roadside unit, signal. */
  #refreshHover() {
    if (!this.pointer) {
      this.hover = null;
      this.tooltip.hide();
      return;
    }
    const [sx, sy] = this.pointer;
    const event = this.layers.events ? this.#eventAt(sx, sy) : null;
    const trackIndex = !event && this.layers.tracks ? this.tracks.nearest(this.view, sx, sy) : -1;
    const rsu =
      !event && trackIndex < 0 && this.baseMap && this.layers.rsu
        ? this.baseMap.rsuAt(this.view, sx, sy)
        : null;
    const signal =
      !event && trackIndex < 0 && !rsu && this.layers.signals
        ? this.signals.controllerAt(this.view, sx, sy)
        : null;
    let card = null;
    if (event) {
      this.hover = { kind: "event", key: event.event_id };
      card = this.#eventCard(event);
    } else if (trackIndex >= 0) {
      const track = this.tracks.track(trackIndex);
      this.hover = { kind: "track", key: track.id };
      card = this.#trackCard(track);
    } else if (rsu) {
      this.hover = { kind: "rsu", key: rsu.id };
      card = this.#rsuCard(rsu);
    } else if (signal) {
      this.hover = { kind: "signal", key: signal.controller_id };
      card = this.#signalCard(signal);
    } else {
      this.hover = null;
    }
    if (card) this.tooltip.show(sx, sy, card, this.view);
    else this.tooltip.hide();
  }

  #eventAt(sx, sy) {
    let best = null;
    let bestDistance = EVENT_HIT_PX;
    for (const event of this.events.list({ includeEnded: true })) {
      if (event.ended && event.event_id !== this.selectedEventId) continue;
      const [x, y] = this.view.toScreen(event.x_m, event.y_m);
      // the pin's head, not its foot: the object at the foot keeps its own tooltip
      const distance = Math.hypot(x - sx, y - PIN_LIFT_PX - sy);
      if (distance <= bestDistance) {
        best = event;
        bestDistance = distance;
      }
    }
    return best;
  }

  #trackCard(track) {
    const index = TRACK_KINDS.indexOf(track.kind);
    const lane = track.lane_id
      ? `${track.lane_id}${Number.isFinite(track.s_m) ? ` @ ${track.s_m.toFixed(0)} m` : ""}`
      : "—";
    return {
      title: track.kind ? track.kind.charAt(0).toUpperCase() + track.kind.slice(1) : "Object",
      id: `#${track.id}`,
      colour: this.theme.kinds[index >= 0 ? index : OTHER_KIND],
      rows: [
        ["speed", `${formatSpeed(track.speed_mps)} (${(track.speed_mps ?? 0).toFixed(1)} m/s)`],
        ["heading", `${Math.round(track.heading_deg ?? 0)}°`],
        ["lane", lane],
        ["size", `${(track.length_m ?? 0).toFixed(1)} × ${(track.width_m ?? 0).toFixed(1)} m`],
        ["sources", formatSources(track.sources)],
        ["position σ", Number.isFinite(track.pos_std_m) ? `${track.pos_std_m.toFixed(2)} m` : "—"],
      ],
    };
  }

  #eventCard(event) {
    const rows = [
      [
        "state",
        event.ended ? `ended ${formatAge(this.nowMs - (event.end_ms ?? this.nowMs))} ago` : event.phase,
      ],
      ["severity", `${event.severity} of 5`],
      ["confidence", Number.isFinite(event.confidence) ? `${Math.round(event.confidence * 100)} %` : "—"],
      ["lane", event.lane_id ?? "—"],
      ["since", formatAge(this.nowMs - event.start_ms)],
    ];
    if (event.extent_m > 0) rows.push(["extent", formatMetres(event.extent_m)]);
    if (event.track_ids?.length) rows.push(["tracks", event.track_ids.map((id) => `#${id}`).join(" ")]);
    for (const [name, value] of Object.entries(event.details ?? {})) {
      rows.push([name.replaceAll("_", " "), Number.isFinite(value) ? value.toFixed(1) : String(value)]);
    }
    return {
      title: eventLabel(event.event_type),
      id: event.event_id,
      colour: severityColour(this.theme, event.severity),
      rows,
    };
  }

  #rsuCard(rsu) {
    const device = this.#devices.get(rsu.id);
    const rates = device?.rates_hz ?? {};
    const rateText = Object.entries(rates)
      .map(([message, hz]) => `${message} ${formatRate(hz)} Hz`)
      .join(", ");
    return {
      title: "Roadside unit",
      id: rsu.id,
      colour: rsu.online ? this.theme.map.rsuOnline : this.theme.map.rsuOffline,
      rows: [
        ["state", rsu.online ? "online" : "OFFLINE"],
        ["range", formatMetres(rsu.rangeM)],
        ["last seen", device?.last_seen_ms ? `${formatAge(this.nowMs - device.last_seen_ms)} ago` : "—"],
        ["rates", rateText || "—"],
      ],
    };
  }

  #signalCard(signal) {
    const rows = [["junction", signal.junction_id ?? "—"]];
    for (const group of signal.groups ?? []) {
      const left = Number.isFinite(group.likely_end_ms)
        ? ` · ${formatAge(group.likely_end_ms - this.nowMs)} left`
        : "";
      rows.push([`group ${group.id}`, `${String(group.light).replaceAll("_", " ")}${left}`]);
    }
    const lights = (signal.groups ?? []).map(groupColour);
    const colour = this.theme.lights[["green", "yellow", "red"].find((c) => lights.includes(c)) ?? "dark"];
    return { title: "Signal controller", id: signal.controller_id, colour, rows };
  }
}

new Dashboard().start();
