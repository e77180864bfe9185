"""What each road event type is called on the wire: the RSI event type (GB/T 29100-2012 codes, as T/CSAE 53
``RTEData.eventType`` uses them), the ETSI DENM cause code (TS 102 894-2 v1.3.1 ``CauseCodeType``), and the
words an on-board unit can show.

| event type                      | RSI eventType                      | DENM cause                  |
|---------------------------------|------------------------------------|-----------------------------|
| stopped_vehicle                 | 903 abnormal stop on the road      | 94 stationaryVehicle        |
| wrong_way                       | 904 driving against traffic        | 14 wrongWayDriving          |
| congestion                      | 707 traffic congestion             | 27 dangerousEndOfQueue      |
| speeding                        | 901 speeding                       | none                        |
| slow_vehicle                    | 902 driving too slowly             | 26 slowVehicle              |
| vulnerable_user_on_carriageway  | 405 pedestrian on the carriageway  | 12 humanPresenceOnTheRoad   |
| red_light_violation             | 60001 (roadcloud local)            | 98 signalViolation          |
| collision_risk                  | 60002 (roadcloud local)            | 97 collisionRisk            |

The GB/T 29100 codes are those deployed RSU event software sends for the same detections (405, 707,
901-904); the standard's own text is not reproduced here. Red-light violation and collision risk have no
GB/T 29100 code in use that we could confirm, so they get codes from a local range (60001 and up) that the
standard does not assign; an on-board unit that does not know them still shows ``description``.
Speeding has no ETSI cause code (99 dangerousSituation says too little), so it goes out as RSI only.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from roadcloud.events.model import EventType

LOCAL_CODE_BASE = 60_000  # RSI event types above this are roadcloud's own, not GB/T 29100

RSI_EVENT_TYPE: Mapping[EventType, int] = MappingProxyType(
    {
        EventType.STOPPED_VEHICLE: 903,
        EventType.WRONG_WAY: 904,
        EventType.CONGESTION: 707,
        EventType.SPEEDING: 901,
        EventType.SLOW_VEHICLE: 902,
        EventType.VULNERABLE_USER_ON_CARRIAGEWAY: 405,
        EventType.RED_LIGHT_VIOLATION: LOCAL_CODE_BASE + 1,
        EventType.COLLISION_RISK: LOCAL_CODE_BASE + 2,
    }
)

DENM_CAUSE_CODE: Mapping[EventType, int] = MappingProxyType(
    {
        EventType.STOPPED_VEHICLE: 94,
        EventType.WRONG_WAY: 14,
        EventType.CONGESTION: 27,
        EventType.SLOW_VEHICLE: 26,
        EventType.VULNERABLE_USER_ON_CARRIAGEWAY: 12,
        EventType.RED_LIGHT_VIOLATION: 98,
        EventType.COLLISION_RISK: 97,
    }
)

DESCRIPTION: Mapping[EventType, str] = MappingProxyType(
    {
        EventType.STOPPED_VEHICLE: "stopped vehicle ahead",
        EventType.WRONG_WAY: "wrong-way driver ahead",
        EventType.CONGESTION: "queue ahead",
        EventType.SPEEDING: "speeding vehicle ahead",
        EventType.SLOW_VEHICLE: "slow vehicle ahead",
        EventType.VULNERABLE_USER_ON_CARRIAGEWAY: "person on the carriageway ahead",
        EventType.RED_LIGHT_VIOLATION: "red-light violation ahead",
        EventType.COLLISION_RISK: "collision risk ahead",
    }
)


def rsi_event_type(event_type: EventType) -> int:
    return RSI_EVENT_TYPE[event_type]


def denm_cause_code(event_type: EventType) -> int | None:
    """The DENM cause code, or None where ETSI has none (no DENM is sent then)."""
    return DENM_CAUSE_CODE.get(event_type)


def event_type_of_rsi(code: int) -> EventType | None:
    """The event type an RSI event type stands for, for receivers (None for codes roadcloud does not send)."""
    for event_type, known in RSI_EVENT_TYPE.items():
        if known == code:
            return event_type
    return None
