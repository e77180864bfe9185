// The DOM around the map: headline numbers, legend, roadside-unit panel, connection indicator, clock and
// the hover tooltip. Text from the service goes in through textContent only, never as HTML.

import { TRACK_KINDS } from "./theme.js";
import { formatClock, formatCount, formatMs, formatRate, totalOf } from "./format.js";

const FUSION_BUDGET_MS = 100; // the sensor-to-vehicle budget of the safety services

function element(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/** Ok / warn / bad by thresholds on a value where lower is better. */
function lowerIsBetter(value, warnAt, badAt) {
  if (!Number.isFinite(value)) return "";
  if (value >= badAt) return "bad";
  return value >= warnAt ? "warn" : "ok";
}

export class Kpis {
  #tiles = new Map();

  constructor(root) {
    for (const tile of root.querySelectorAll("[data-kpi]")) {
      this.#tiles.set(tile.dataset.kpi, {
        tile,
        value: tile.querySelector(".kpi-value"),
        sub: tile.querySelector(".kpi-sub"),
      });
    }
  }

  /** `stats` frame of the stream; `maxSeverity` of the active events, which the stats do not carry. */
  update(stats, { maxSeverity }) {
    const byKind = stats.tracks_by_kind ?? {};
    const vehicles = ["car", "bus", "truck", "motorcycle"].reduce(
      (sum, kind) => sum + (byKind[kind] ?? 0),
      0,
    );
    this.#set("tracks", formatCount(stats.tracks), "", {
      sub: `${formatCount(vehicles)} veh · ${formatCount(byKind.bicycle ?? 0)} bike · ${formatCount(byKind.pedestrian ?? 0)} ped`,
    });

    const dropped = totalOf(stats.dropped ?? {});
    const accepted = totalOf(stats.messages_in ?? {});
    const droppedShare = accepted + dropped > 0 ? dropped / (accepted + dropped) : 0;
    this.#set("messages", formatRate(stats.messages_per_s), "/s", {
      sub: `${formatCount(accepted)} accepted · ${formatCount(dropped)} dropped`,
      status: stats.messages_per_s > 0 ? lowerIsBetter(droppedShare, 0.01, 0.1) : "bad",
    });

    const downlink = totalOf(stats.downlink_out ?? {});
    this.#set("downlink", formatRate(stats.downlink_per_s), "/s", {
      sub:
        Number.isFinite(downlink) && downlink > 0
          ? `${formatCount(downlink)} sent to the field`
          : "advisories, speed advice",
    });

    const latency = stats.fusion_latency_ms ?? {};
    this.#set("latency", `${formatMs(latency.p50)}`, "", {
      sub: `p99 ${formatMs(latency.p99)} · budget ${FUSION_BUDGET_MS} ms`,
      status: lowerIsBetter(latency.p99, FUSION_BUDGET_MS / 2, FUSION_BUDGET_MS),
    });

    this.#set("ldm-age", formatMs(stats.ldm_age_ms), "", {
      sub: "live map behind now",
      status: lowerIsBetter(stats.ldm_age_ms, 300, 1000),
    });

    const online = stats.devices_online;
    const total = stats.devices_total;
    const share = total > 0 ? online / total : NaN;
    this.#set("devices", `${formatCount(online)}`, ` / ${formatCount(total)}`, {
      sub: total > online ? `${formatCount(total - online)} offline` : "all reporting",
      status: Number.isFinite(share) ? (share >= 0.999 ? "ok" : share >= 0.9 ? "warn" : "bad") : "",
    });

    const active = totalOf(stats.events_active);
    const perType =
      stats.events_active_by_type ?? (typeof stats.events_active === "object" ? stats.events_active : {});
    const busiest = Object.entries(perType).sort((a, b) => b[1] - a[1])[0];
    this.#set("events", formatCount(active), "", {
      sub:
        maxSeverity > 0
          ? `highest severity ${maxSeverity}`
          : busiest
            ? `${busiest[1]} ${busiest[0]}`
            : "none",
      status: !(active > 0) ? "ok" : maxSeverity >= 4 ? "bad" : "warn",
    });
  }

  #set(name, value, unit, { sub = "", status = "" } = {}) {
    const tile = this.#tiles.get(name);
    if (!tile) return;
    tile.value.replaceChildren(value, ...(unit ? [element("span", "unit", unit)] : []));
    tile.sub.textContent = sub;
    if (status) tile.tile.dataset.status = status;
    else delete tile.tile.dataset.status;
  }
}

export class Legend {
  #counts = [];

  constructor(root, theme) {
    TRACK_KINDS.forEach((kind, index) => {
      const swatch = element("span", kind === "pedestrian" ? "swatch round" : "swatch");
      swatch.style.background = theme.kinds[index];
      const count = element("span", "count", "0");
      root.append(legendItem([swatch, element("span", "", kind), count], `${kind}s tracked`));
      this.#counts.push(count);
    });
    root.append(element("span", "divider"));
    const bars = ["green", "yellow", "red"].map((colour) => {
      const bar = element("span", "bar");
      bar.style.background = theme.lights[colour];
      return bar;
    });
    root.append(
      legendItem([...bars, element("span", "", "signal")], "stop lines coloured by the current light"),
    );
    const online = element("span", "ring");
    online.style.borderColor = theme.map.rsuOnline;
    const offline = element("span", "ring");
    offline.style.borderColor = theme.map.rsuOffline;
    offline.style.borderStyle = "dashed";
    root.append(legendItem([online, offline, element("span", "", "unit on / off")], "roadside unit range"));
    root.append(legendItem([element("span", "pin"), element("span", "", "event")], "active road event"));
  }

  update(countsByKind) {
    this.#counts.forEach((node, index) => {
      node.textContent = formatCount(countsByKind[index] ?? 0);
    });
  }
}

function legendItem(children, title) {
  const item = element("span", "legend-item");
  item.title = title;
  item.append(...children);
  return item;
}

export class DevicePanel {
  #root;
  #chips = new Map();

  constructor({ count, uptime, summary, chips, onSelect }) {
    this.#root = { count, uptime, summary, chips };
    this.onSelect = onSelect;
  }

  update(rsus, { controllers, devicesTotal, devicesOnline }) {
    const online = rsus.filter((rsu) => rsu.online).length;
    this.#root.count.textContent = rsus.length ? `${online} / ${rsus.length} online` : "none";
    this.#root.uptime.firstElementChild.style.width = `${rsus.length ? (100 * online) / rsus.length : 100}%`;
    const rows = [
      ["Signal controllers", `${controllers} reporting`],
      [
        "All devices",
        Number.isFinite(devicesTotal)
          ? `${formatCount(devicesOnline)} / ${formatCount(devicesTotal)} online`
          : "—",
      ],
    ];
    this.#root.summary.replaceChildren(
      ...rows.flatMap(([term, value]) => [element("dt", "", term), element("dd", "", value)]),
    );
    const ordered = [...rsus].sort((a, b) => Number(a.online) - Number(b.online) || a.id.localeCompare(b.id));
    ordered.forEach((rsu, position) => {
      let chip = this.#chips.get(rsu.id);
      if (!chip) {
        chip = element("button", "chip", rsu.id);
        chip.type = "button";
        chip.addEventListener("click", () => this.onSelect(rsu));
        this.#chips.set(rsu.id, chip);
      }
      chip.classList.toggle("offline", !rsu.online);
      chip.title = `${rsu.id}: ${rsu.online ? "online" : "OFFLINE"} · range ${Math.round(rsu.rangeM)} m`;
      if (this.#root.chips.children[position] !== chip)
        this.#root.chips.insertBefore(chip, this.#root.chips.children[position] ?? null);
    });
  }
}

export class ConnectionIndicator {
  #root;
  #label;
  #status = { state: "connecting", retryAtMs: 0 };
  #silentSince = 0;

  constructor(root) {
    this.#root = root;
    this.#label = root.querySelector(".label");
    setInterval(() => this.#render(), 500); // keeps the retry countdown honest
  }

  set(status) {
    if (status.state === "stale" && this.#status.state !== "stale") this.#silentSince = Date.now();
    this.#status = status;
    this.#render();
  }

  #render() {
    const { state, retryAtMs } = this.#status;
    this.#root.dataset.state = state;
    const text = {
      connecting: "Connecting…",
      live: "Live",
      stale: `No data for ${Math.round((Date.now() - this.#silentSince) / 1000) + 3} s`,
      reconnecting: `Link lost · retry in ${Math.max(0, Math.ceil((retryAtMs - Date.now()) / 1000))} s`,
    }[state];
    this.#label.textContent = text ?? state;
  }
}

export function renderClock(root, timeMs) {
  if (!Number.isFinite(timeMs) || timeMs <= 0) return;
  const { date, time } = formatClock(timeMs);
  root.querySelector(".date").textContent = date;
  root.querySelector(".time").textContent = time;
}

/** The floating card next to the pointer; `rows` are [term, value] pairs. */
export class Tooltip {
  #root;

  constructor(root) {
    this.#root = root;
  }

  show(sx, sy, { title, id, colour, rows }, bounds) {
    const heading = element("div", "title");
    if (colour) {
      const swatch = element("span", "swatch");
      swatch.style.background = colour;
      heading.append(swatch);
    }
    heading.append(element("span", "", title));
    if (id !== undefined) heading.append(element("span", "id", String(id)));
    const list = element("dl");
    for (const [term, value] of rows) list.append(element("dt", "", term), element("dd", "", String(value)));
    this.#root.replaceChildren(heading, list);
    this.#root.hidden = false;
    // keep the card inside the map, on the side of the pointer that has room
    const { offsetWidth: w, offsetHeight: h } = this.#root;
    const x = sx + 16 + w > bounds.width ? sx - 16 - w : sx + 16;
    const y = Math.min(Math.max(sy - h / 2, 6), bounds.height - h - 6);
    this.#root.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
  }

  hide() {
    this.#root.hidden = true;
  }
}
