"""When a message's content was measured, relative to the receiver's clock.

Ingest uses it to refuse stale and future messages. Field messages carry only a millisecond-of-minute
(secMark, DSecond), sometimes with the minute of the year (moy); the receiver's clock says which minute
(``roadcloud.messages.units.resolve_sec_mark``), and a moy, where present, corrects that choice when a
message is more than half a minute off. Twin ground truth carries epoch milliseconds.
"""

from __future__ import annotations

from roadcloud.errors import ValidationError
from roadcloud.messages import (
    BSM,
    MAP,
    RSI,
    RSM,
    SPAT,
    GroundTruth,
    Heartbeat,
    Message,
    RoadConditionReading,
)
from roadcloud.messages.units import MS_PER_MINUTE, epoch_ms_to_moy, resolve_sec_mark

# DSecond 60000-65535 is reserved (65535: unavailable); such a message has no usable measurement time.
FIRST_RESERVED_SEC_MARK = MS_PER_MINUTE
HALF_MINUTE_MS = MS_PER_MINUTE // 2
MINUTES_PER_YEAR = 525_600  # only the sign of a year-boundary difference matters, so leap years can wait


def measured_span_ms(message: Message, now_ms: int) -> tuple[int, int] | None:  # noqa: PLR0911
    """(oldest, newest) measurement time minus ``now_ms``, in ms; negative is the past.

    None for messages without a measurement instant: MAP is retained state, RSI carries its own validity
    in time details. Raises ``ValidationError`` for a reserved secMark.
    """
    if isinstance(message, RSM):
        # 16 participants per message at 10 Hz from every RSU, so the nearest-minute rule of
        # resolve_sec_mark is used in closed form: offset(mark) = (mark - phase + ½ min) mod 1 min - ½ min.
        # It rises with mark except at one cut, half a minute away from now; when no mark lies past the
        # cut (the usual case: a unit's marks span milliseconds), the smallest and largest marks are the
        # oldest and newest measurements.
        marks = [participant.sec_mark for participant in message.participants]
        lowest, highest = min(marks), max(marks)
        _check_sec_mark(highest, "RSM participant")
        phase_ms = now_ms % MS_PER_MINUTE
        cut = (phase_ms + HALF_MINUTE_MS) % MS_PER_MINUTE
        if not lowest < cut <= highest:
            return _offset_ms(lowest, phase_ms), _offset_ms(highest, phase_ms)
        offsets = [_offset_ms(mark, phase_ms) for mark in marks]
        return min(offsets), max(offsets)
    if isinstance(message, BSM):
        return _span(message.sec_mark, None, now_ms, "BSM")
    if isinstance(message, SPAT):
        if message.time_stamp is None:
            return None
        return _span(message.time_stamp, message.moy, now_ms, "SPAT")
    if isinstance(message, Heartbeat | RoadConditionReading):
        return _span(message.sec_mark, message.moy, now_ms, type(message).__name__)
    if isinstance(message, GroundTruth):
        offset_ms = message.time_ms - now_ms
        return offset_ms, offset_ms
    assert isinstance(message, MAP | RSI)
    return None


def _offset_ms(sec_mark: int, phase_ms: int) -> int:
    return (sec_mark - phase_ms + HALF_MINUTE_MS) % MS_PER_MINUTE - HALF_MINUTE_MS


def _span(sec_mark: int, moy: int | None, now_ms: int, what: str) -> tuple[int, int]:
    _check_sec_mark(sec_mark, what)
    measured_ms = resolve_sec_mark(sec_mark, reference_epoch_ms=now_ms)
    if moy is not None:
        minutes = moy - epoch_ms_to_moy(measured_ms)
        if minutes > MINUTES_PER_YEAR // 2:
            minutes -= MINUTES_PER_YEAR
        elif minutes < -MINUTES_PER_YEAR // 2:
            minutes += MINUTES_PER_YEAR
        measured_ms += minutes * MS_PER_MINUTE
    offset_ms = measured_ms - now_ms
    return offset_ms, offset_ms


def _check_sec_mark(sec_mark: int, what: str) -> None:
    if sec_mark >= FIRST_RESERVED_SEC_MARK:
        raise ValidationError(f"{what} secMark {sec_mark} is reserved or 'unavailable'; send 0-59999 ms")
