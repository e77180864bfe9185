"""Fusion settings, injected into the engine as one frozen dataclass (no globals, no hidden defaults)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from roadcloud.errors import SettingError


@dataclass(frozen=True, slots=True, kw_only=True)
class FusionConfig:
    """Every tunable of the tracker. Defaults suit the twin's "default" sensor preset.

    Time alignment (``engine``). ``latency_budget_ms`` is how long fusion waits for late data at the start
    and at least; the snapshot for time T is produced at the tick T + budget. The budget then adapts per
    zone: the smallest multiple of ``step_ms`` that would have let ``latency_quantile`` of the detections
    of the last ``latency_window_ticks`` ticks arrive in time, at most ``max_latency_budget_ms``. It grows
    at once and shrinks one step after a whole window in which less would have done. Budgets are
    multiples of ``step_ms`` so snapshot times fall on the 100 ms grid. The default zone's worst uplink is
    60 ms delay + 10 ms jitter (RSU) and 40 + 20 ms (vehicle), so it stays at 100 ms there (the map one
    frame behind the sensors); with 300 ms of RSU delay it settles at 400 ms. 500 ms caps it: a map
    older than that is of little use to a 100 ms safety loop, so later data is fused out of sequence
    instead. ``max_age_ms``: data measured longer than this before the tick it arrives in are dropped
    and counted; data between that and the last fused frame are fused out of sequence (``oosm``:
    retrodiction, Bar-Shalom's algorithm Bl1). ``alignment_tolerance_ms``: data measured up to this
    much after the horizon is fused in the current tick (residual clock error must not push a frame into
    the next one); the snapshot predicts back to the horizon.

    Tiles (``tileset``): ``workers`` = 0 fuses every tile in this process; N > 0 starts N worker
    processes, each owning every N-th column of ``tile_size_m`` tiles, tracks handed over at the borders
    with their global id and detections within ``halo_m`` of a border track routed to its owner. Use
    ``FusionEngine.close()`` (or ``with``) to stop them.

    ``gate_chi2`` is 25 rather than the textbook 13.8 (99.9 %): a unit whose clock offset cannot be
    estimated (no connected vehicle in view) places objects v·Δt along the road, about 1 m at 15 m/s and
    60 ms, which a tight gate turns into a new track at a hand-over between units; 25 still keeps the gate
    under 2 m for a roadside-fed track, less than the spacing of cars and of lanes.
    ``identity_gate_m``: a detection whose sender id (RSU object id, BSM id) last went to a track may
    update it up to this far outside the gate (the twin changes lanes in one 100 ms step).
    ``max_gate_reach_m`` caps the metric radius of any gate, however uncertain a coasting track is.

    ``coast_timeout_ms`` 6 s: a confirmed track that loses its detections stays, hidden from the map after
    ``report_coast_ms``, until then (or until its position variance passes ``max_position_var_m2``), so a
    vehicle crossing the gap between two units' coverage (100 m at 15 m/s) keeps its id. On the
    default-noise recording (first 90 s) this took ID switches from 0.96 to 0.21 per 1,000 track-frames.
    """

    step_ms: int = 100
    latency_budget_ms: int = 100
    max_latency_budget_ms: int = 500
    latency_quantile: float = 0.99
    latency_window_ticks: int = 100
    max_age_ms: int = 1000
    alignment_tolerance_ms: float = 20.0
    max_future_ms: int = 10_000
    tile_size_m: float = 1000.0
    halo_m: float = 5.0
    workers: int = 0
    # motion and measurement models
    accel_density_m2ps3: float = 4.0
    rsu_position_std_m: float = 0.3
    rsu_velocity_std_mps: float = 0.4
    bsm_position_std_m: float = 1.0
    bsm_velocity_std_mps: float = 0.3
    # association
    gate_chi2: float = 25.0
    identity_gate_m: float = 5.0
    max_gate_reach_m: float = 25.0
    velocity_cost_cap: float = 25.0
    identity_bonus: float = 6.0
    tentative_penalty: float = 1.0
    # life cycle: confirm with ``confirm_hits`` of the last ``confirm_window`` frames
    confirm_hits: int = 3
    confirm_window: int = 4
    tentative_max_misses: int = 2
    coast_timeout_ms: int = 6000
    report_coast_ms: int = 300
    max_position_var_m2: float = 200.0
    merge_distance_m: float = 3.0
    merge_chi2: float = 16.0
    merge_speed_mps: float = 1.5
    size_gain: float = 0.2
    # clock offsets: offset += gain · mean(-(r·v)/|v|²) over a frame's fast matches with a GNSS anchor or,
    # for a unit that has none, with units anchored so (``clock_anchor_frames`` frames with GNSS residuals)
    clock_offset_gain: float = 0.05
    clock_anchor_frames: int = 60
    clock_offset_min_speed_mps: float = 3.0
    clock_offset_max_step_ms: float = 100.0
    clock_offset_limit_ms: float = 1000.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (math.isfinite(value) and value >= 0):
                raise SettingError(f"FusionConfig.{f.name} = {value!r}; give a finite number >= 0")
        if self.step_ms <= 0:
            raise SettingError(f"FusionConfig.step_ms = {self.step_ms}; give a positive step, e.g. 100")
        for name in ("latency_budget_ms", "max_latency_budget_ms"):
            value = getattr(self, name)
            if value % self.step_ms or value < self.step_ms:
                raise SettingError(
                    f"FusionConfig.{name} = {value} is not a positive multiple of step_ms = "
                    f"{self.step_ms}; use e.g. {self.step_ms} or {2 * self.step_ms}"
                )
        if self.max_latency_budget_ms < self.latency_budget_ms:
            raise SettingError(
                f"FusionConfig.max_latency_budget_ms = {self.max_latency_budget_ms} is below "
                f"latency_budget_ms = {self.latency_budget_ms}; give at least that (equal: a fixed budget)"
            )
        if not 0.0 < self.latency_quantile <= 1.0:
            raise SettingError(
                f"FusionConfig.latency_quantile = {self.latency_quantile}; give a share in (0, 1], e.g. 0.99"
            )
        if self.latency_window_ticks < 1:
            raise SettingError(
                f"FusionConfig.latency_window_ticks = {self.latency_window_ticks}; give at least 1, e.g. 100"
            )
        if not 1 <= self.confirm_hits <= self.confirm_window <= 62:
            raise SettingError(
                f"FusionConfig.confirm_hits = {self.confirm_hits}, confirm_window = {self.confirm_window}; "
                "need 1 <= confirm_hits <= confirm_window <= 62"
            )
        if self.tile_size_m <= 0:
            raise SettingError(f"FusionConfig.tile_size_m = {self.tile_size_m}; give a positive size")
