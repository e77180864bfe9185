"""V2X services from the live dynamic map and road events (#5): advisories, speed advice, sensor sharing.

RoadEvent ─▶ relevance (zone upstream, covering units) ─▶ advisories (RSI/DENM, cancellation) ─┐
LdmSnapshot + ConnectedVehicles + SignalStates ─▶ advisories.on_frame ──────────────────────────┼─▶ Downlink
     ├─ speed_advice (GLOSA)                                                                     │
     └─ sensor_sharing (RSM of the fused objects around each vehicle) ───────────────────────────┘
"""

from roadcloud.services.advisories import (
    AdvisoryService,
    Downlink,
    ServiceCounts,
    advisory_tag,
    rte_is_cancelled,
)
from roadcloud.services.codes import DENM_CAUSE_CODE, RSI_EVENT_TYPE, denm_cause_code, rsi_event_type
from roadcloud.services.config import ServiceConfig
from roadcloud.services.model import Advisory, AdvisoryKind, AdvisoryState
from roadcloud.services.relevance import (
    CoverageTable,
    LaneSpan,
    RelevanceZone,
    RoadsideUnitCoverage,
    ZoneBuilder,
    ZonePath,
    paths_to_local,
    within_paths,
)
from roadcloud.services.sensor_sharing import SensorSharing
from roadcloud.services.speed_advice import SpeedAdvisor, green_window_speeds
from roadcloud.services.vehicles import ConnectedVehicles, VehicleStates

__all__ = [
    "DENM_CAUSE_CODE",
    "RSI_EVENT_TYPE",
    "Advisory",
    "AdvisoryKind",
    "AdvisoryService",
    "AdvisoryState",
    "ConnectedVehicles",
    "CoverageTable",
    "Downlink",
    "LaneSpan",
    "RelevanceZone",
    "RoadsideUnitCoverage",
    "SensorSharing",
    "ServiceConfig",
    "ServiceCounts",
    "SpeedAdvisor",
    "VehicleStates",
    "ZoneBuilder",
    "ZonePath",
    "advisory_tag",
    "denm_cause_code",
    "green_window_speeds",
    "paths_to_local",
    "rsi_event_type",
    "rte_is_cancelled",
    "within_paths",
]
