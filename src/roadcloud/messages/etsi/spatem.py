"""SPATEM (TS 103 301, SPAT of ISO TS 19091) ↔ SPAT: signal phase and timing to and from ETSI equipment.

Signal controllers that speak ETSI send SPATEMs; ingest turns them into the ``SPAT`` the speed-advice
service reads, and the platform can relay a ``SPAT`` as SPATEM. The structures match closely; the
differences are in timing and in a few codes.

Timing. T/CSAE 53 counts down (0.1 s from now); ISO TS 19091 gives TimeMarks (0.1 s within the UTC hour).
"Now" is the intersection's own ``moy`` + ``time_stamp`` when it has both, else ``reference_epoch_ms``
(the caller's clock). Encoder and decoder use the same rule, so timings survive exactly when intersections
carry their time stamps; otherwise they are off by the clock difference between sender and receiver.

What the mapping loses (round-trip tests compare only what survives):

- ``SPAT.msg_cnt`` becomes every intersection's ``revision`` and comes back from the first one.
  ``SPAT.time_stamp`` has no SPATEM field and is dropped. An empty ``name`` comes back as None.
- countdowns of an hour or more are clipped to 3599.9 s; ``next_duration`` has no field and is dropped;
  ``min_end_time`` None travels as 'unknown' (36001), so an explicit 36001 comes back as None; a missing
  startTime or likelyTime decodes as 36001.
- ``time_confidence`` (0.005 steps) becomes the nearest TimeIntervalConfidence code (16 levels).
- light states: YELLOW is sent as permissive-clearance; both clearance states decode as YELLOW, and
  caution-conflicting-traffic ↔ FLASHING_YELLOW. FLASHING_RED ↔ stop-then-proceed, FLASHING_GREEN ↔
  pre-movement.
- SPATEM-only data (enabled lanes, advisory speeds, maneuver assist, regional extensions) is dropped.
- intersection ids with ``region`` None and names must be ASCII; non-ASCII names cannot be encoded.
"""

from __future__ import annotations

from typing import Any, Final

from roadcloud.messages.etsi._convert import ia5_name, mapping_guard, to_model
from roadcloud.messages.etsi._pdu import (
    EtsiMessage,
    bits_to_flags,
    decode_pdu,
    encode_pdu,
    flags_to_bits,
    header,
)
from roadcloud.messages.signal import SPAT, IntersectionState, LightState, TimeCountingDown
from roadcloud.messages.units import (
    TIMEMARK_UNKNOWN,
    confidence_to_time_interval_confidence,
    countdown_to_time_mark,
    moy_to_epoch_ms,
    time_interval_confidence_to_confidence,
    time_mark_to_countdown,
)

_STATUS_BITS: Final = 16
_EVENT_STATE_BY_LIGHT: Final = {
    LightState.UNAVAILABLE: "unavailable",
    LightState.DARK: "dark",
    LightState.FLASHING_RED: "stop-Then-Proceed",
    LightState.RED: "stop-And-Remain",
    LightState.FLASHING_GREEN: "pre-Movement",
    LightState.PERMISSIVE_GREEN: "permissive-Movement-Allowed",
    LightState.PROTECTED_GREEN: "protected-Movement-Allowed",
    LightState.YELLOW: "permissive-clearance",
    LightState.FLASHING_YELLOW: "caution-Conflicting-Traffic",
}
_LIGHT_BY_EVENT_STATE: Final = {name: light for light, name in _EVENT_STATE_BY_LIGHT.items()} | {
    "protected-clearance": LightState.YELLOW
}


def encode_spatem(spat: SPAT, *, station_id: int, reference_epoch_ms: int) -> bytes:
    """UPER-encode ``spat`` as a SPATEM from ``station_id``; ``reference_epoch_ms`` is now (UTC ms)."""
    body: dict[str, Any] = {
        "intersections": [
            _intersection_value(state, revision=spat.msg_cnt, reference_epoch_ms=reference_epoch_ms)
            for state in spat.intersections
        ]
    }
    if spat.moy is not None:
        body["timeStamp"] = spat.moy
    name = ia5_name(spat.name, field="SPAT name")
    if name is not None:
        body["name"] = name
    return encode_pdu(
        EtsiMessage.SPATEM, {"header": header(EtsiMessage.SPATEM, station_id=station_id), "spat": body}
    )


def decode_spatem(data: bytes, *, reference_epoch_ms: int) -> SPAT:
    """Decode a UPER SPATEM into a ``SPAT``; ``reference_epoch_ms`` is now (UTC ms)."""
    body = decode_pdu(EtsiMessage.SPATEM, data)["spat"]
    with mapping_guard("SPATEM"):
        wire = _spat_wire(body, reference_epoch_ms=reference_epoch_ms)
    return to_model(wire, SPAT, source="SPATEM")


def _spat_wire(body: dict[str, Any], *, reference_epoch_ms: int) -> dict[str, Any]:
    intersections = body["intersections"]
    wire: dict[str, Any] = {
        "msgCnt": intersections[0]["revision"],
        "intersections": [
            _intersection_wire(value, reference_epoch_ms=reference_epoch_ms) for value in intersections
        ],
    }
    if "timeStamp" in body:
        wire["moy"] = body["timeStamp"]
    if "name" in body:
        wire["name"] = body["name"]
    return wire


def _now_epoch_ms(moy: int | None, time_stamp_ms: int | None, *, reference_epoch_ms: int) -> int:
    if moy is None or time_stamp_ms is None:
        return reference_epoch_ms
    return moy_to_epoch_ms(moy, reference_epoch_ms=reference_epoch_ms) + time_stamp_ms


def _intersection_value(
    state: IntersectionState, *, revision: int, reference_epoch_ms: int
) -> dict[str, Any]:
    now_epoch_ms = _now_epoch_ms(state.moy, state.time_stamp, reference_epoch_ms=reference_epoch_ms)
    reference_id: dict[str, int] = {"id": state.intersection_id.id}
    if state.intersection_id.region is not None:
        reference_id["region"] = state.intersection_id.region
    value: dict[str, Any] = {
        "id": reference_id,
        "revision": revision,
        "status": flags_to_bits(state.status, _STATUS_BITS),
        "states": [
            {
                "signalGroup": phase.id,
                "state-time-speed": [
                    _movement_event(phase_state.light, phase_state.timing, now_epoch_ms=now_epoch_ms)
                    for phase_state in phase.phase_states
                ],
            }
            for phase in state.phases
        ],
    }
    if state.moy is not None:
        value["moy"] = state.moy
    if state.time_stamp is not None:
        value["timeStamp"] = state.time_stamp
    return value


def _movement_event(
    light: LightState, timing: TimeCountingDown | None, *, now_epoch_ms: int
) -> dict[str, Any]:
    event: dict[str, Any] = {"eventState": _EVENT_STATE_BY_LIGHT[light]}
    if timing is None:
        return event

    def mark(countdown: int) -> int:
        return countdown_to_time_mark(countdown, now_epoch_ms=now_epoch_ms)

    change: dict[str, Any] = {
        "startTime": mark(timing.start_time),
        "minEndTime": TIMEMARK_UNKNOWN if timing.min_end_time is None else mark(timing.min_end_time),
        "likelyTime": mark(timing.likely_end_time),
    }
    if timing.max_end_time is not None:
        change["maxEndTime"] = mark(timing.max_end_time)
    if timing.time_confidence is not None:
        change["confidence"] = confidence_to_time_interval_confidence(timing.time_confidence)
    if timing.next_start_time is not None:
        change["nextTime"] = mark(timing.next_start_time)
    event["timing"] = change
    return event


def _intersection_wire(value: dict[str, Any], *, reference_epoch_ms: int) -> dict[str, Any]:
    now_epoch_ms = _now_epoch_ms(
        value.get("moy"), value.get("timeStamp"), reference_epoch_ms=reference_epoch_ms
    )
    wire: dict[str, Any] = {
        "intersectionId": dict(value["id"]),
        "status": bits_to_flags(value["status"]),
        "phases": [
            {
                "id": movement["signalGroup"],
                "phaseStates": [
                    _phase_state_wire(event, now_epoch_ms=now_epoch_ms)
                    for event in movement["state-time-speed"]
                ],
            }
            for movement in value["states"]
        ],
    }
    if "moy" in value:
        wire["moy"] = value["moy"]
    if "timeStamp" in value:
        wire["timeStamp"] = value["timeStamp"]
    return wire


def _phase_state_wire(event: dict[str, Any], *, now_epoch_ms: int) -> dict[str, Any]:
    wire: dict[str, Any] = {"light": int(_LIGHT_BY_EVENT_STATE[event["eventState"]])}
    change = event.get("timing")
    if change is None:
        return wire

    def countdown(field: str) -> int:
        return time_mark_to_countdown(change.get(field, TIMEMARK_UNKNOWN), now_epoch_ms=now_epoch_ms)

    timing: dict[str, Any] = {"startTime": countdown("startTime"), "likelyEndTime": countdown("likelyTime")}
    if change["minEndTime"] != TIMEMARK_UNKNOWN:
        timing["minEndTime"] = countdown("minEndTime")
    if "maxEndTime" in change:
        timing["maxEndTime"] = countdown("maxEndTime")
    if "confidence" in change:
        timing["timeConfidence"] = time_interval_confidence_to_confidence(change["confidence"])
    if "nextTime" in change:
        timing["nextStartTime"] = countdown("nextTime")
    wire["timing"] = timing
    return wire


__all__ = ["decode_spatem", "encode_spatem"]
