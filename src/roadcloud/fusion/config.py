"""Fusion settings, injected into the engine as one frozen dataclass (no globals, no hidden defaults)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from roadcloud.errors import SettingError
from roadcloud.fusion.association import CHI2_2DOF_999


@dataclass(frozen=True, slots=True, kw_only=True)
class FusionConfig:
    """Every tunable of the tracker. Defaults suit the twin's "default" sensor preset.

    ``latency_budget_ms``: how long fusion waits for late data. The snapshot for time T is produced at the
    tick T + budget. The default zone's worst uplink is 60 ms delay + 10 ms jitter (RSU) and 40 + 20 ms
    (vehicle), so 100 ms keeps 30 ms of margin for residual clock error while the live dynamic map stays
    one 100 ms frame behind the sensors. It must be a multiple of ``step_ms`` so snapshot times fall on
    the 100 ms grid.
    """

    step_ms: int = 100
    latency_budget_ms: int = 100
    tile_size_m: float = 500.0
    # motion and measurement models
    accel_density_m2ps3: float = 4.0
    rsu_position_std_m: float = 0.3
    rsu_velocity_std_mps: float = 0.4
    bsm_position_std_m: float = 1.0
    bsm_velocity_std_mps: float = 0.3
    # association
    gate_chi2: float = CHI2_2DOF_999
    identity_bonus: float = 6.0
    tentative_penalty: float = 1.0
    # life cycle: confirm with ``confirm_hits`` of the last ``confirm_window`` frames
    confirm_hits: int = 3
    confirm_window: int = 4
    tentative_max_misses: int = 2
    coast_timeout_ms: int = 1500
    report_coast_ms: int = 300
    max_position_var_m2: float = 25.0
    merge_distance_m: float = 1.0
    merge_speed_mps: float = 1.5
    size_gain: float = 0.2
    # clock offsets: offset += gain · mean(-(r·v)/|v|²) over fast, confirmed matches
    clock_offset_gain: float = 0.05
    clock_offset_min_speed_mps: float = 3.0
    clock_offset_max_step_ms: float = 200.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (math.isfinite(value) and value >= 0):
                raise SettingError(f"FusionConfig.{f.name} = {value!r}; give a finite number >= 0")
        if self.step_ms <= 0 or self.latency_budget_ms % self.step_ms:
            raise SettingError(
                f"FusionConfig.latency_budget_ms = {self.latency_budget_ms} is not a multiple of step_ms = "
                f"{self.step_ms}; use e.g. {self.step_ms} or {2 * self.step_ms}"
            )
        if not 1 <= self.confirm_hits <= self.confirm_window <= 62:
            raise SettingError(
                f"FusionConfig.confirm_hits = {self.confirm_hits}, confirm_window = {self.confirm_window}; "
                "need 1 <= confirm_hits <= confirm_window <= 62"
            )
        if self.tile_size_m <= 0:
            raise SettingError(f"FusionConfig.tile_size_m = {self.tile_size_m}; give a positive size")
