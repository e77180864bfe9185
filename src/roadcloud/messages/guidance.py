"""Speed guidance (green light optimal speed advisory, GLOSA): cloud → one connected vehicle.

A roadcloud extension in T/CSAE 53 style. The day-one message set leaves GLOSA to the vehicle (it has
SPAT and MAP); a cloud that already tracks every light and every connected vehicle can do the sum for
vehicles without that function and send the answer in one small message on
``vehicle/{bsm id}/glosa/down``. Units are those of the standard: speed 0.02 m/s, distance 0.1 m, time
TimeMark (0.1 s from now), time stamps as minute of the year plus DSecond.
"""

from __future__ import annotations

import enum
from typing import Annotated

from msgspec import Meta

from roadcloud.messages.common import (
    DSecond,
    MinuteOfTheYear,
    MsgCount,
    NodeReferenceId,
    Speed,
    Struct,
    TimeMark,
)
from roadcloud.messages.signal import LightState


class GuidanceAdvice(enum.IntEnum):
    """What the vehicle should do about the signal ahead."""

    KEEP_SPEED = 0  # the current speed reaches the stop line on green
    ADJUST_SPEED = 1  # a speed within [speed_min, speed_max] reaches it on green
    PREPARE_TO_STOP = 2  # no speed within the limits reaches it on green


class SpeedGuidance(Struct, frozen=True, kw_only=True):
    """Speed advice for one vehicle approaching one signalised stop line.

    ``id`` is the vehicle's BSM id; ``intersection_id`` and ``phase_id`` name the signal group (as in SPAT
    and MAP) that controls the vehicle's movement; ``distance`` is from the vehicle to the stop line
    (0.1 m) when the advice was computed. ``light`` is the light now and ``time_to_change`` when it is
    likely to change (TimeMark, 0.1 s from ``sec_mark``). ``speed_min``/``speed_max`` bound the speeds
    that arrive on green, capped by the lane's limit; they are left out with PREPARE_TO_STOP.
    """

    msg_cnt: MsgCount
    id: Annotated[str, Meta(min_length=1, max_length=16)]
    moy: MinuteOfTheYear
    sec_mark: DSecond
    intersection_id: NodeReferenceId
    phase_id: Annotated[int, Meta(ge=0, le=255)]
    distance: Annotated[int, Meta(ge=0, le=65535)]  # 0.1 m
    light: LightState
    time_to_change: TimeMark
    advice: GuidanceAdvice
    speed_min: Speed | None = None
    speed_max: Speed | None = None
