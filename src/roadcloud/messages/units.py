"""Conversions between T/CSAE 53 message units and the platform's internal units — the one place they live.

Inside roadcloud: metres, m/s, degrees clockwise from north, UTC epoch milliseconds. On the wire: the units
listed in ``roadcloud.messages.common``. Every function takes scalars or numpy arrays and never mutates its
input. Positions in the local metric frame are converted to WGS84 by ``roadcloud.map.geo`` first.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from numpy.typing import NDArray

from roadcloud.messages.common import HEADING_UNAVAILABLE, SPEED_UNAVAILABLE

DEG_PER_LATLON_UNIT = 1e-7
MPS_PER_SPEED_UNIT = 0.02
DEG_PER_HEADING_UNIT = 0.0125
M_PER_ELEVATION_UNIT = 0.1
MS_PER_MINUTE = 60_000
S_PER_TIMEMARK_UNIT = 0.1


def deg_to_latlon_units(deg: NDArray[np.float64]) -> NDArray[np.int64]:
    """Latitude or longitude in 1e-7 degree."""
    return np.rint(np.asarray(deg) / DEG_PER_LATLON_UNIT).astype(np.int64)


def latlon_units_to_deg(units: NDArray[np.int64]) -> NDArray[np.float64]:
    return np.asarray(units, dtype=np.float64) * DEG_PER_LATLON_UNIT


def mps_to_speed_units(speed_mps: NDArray[np.float64]) -> NDArray[np.int64]:
    """Speed in 0.02 m/s, clipped to the field's range; negative speeds (reversing) give their magnitude."""
    units = np.rint(np.abs(speed_mps) / MPS_PER_SPEED_UNIT)
    return np.clip(units, 0, SPEED_UNAVAILABLE - 1).astype(np.int64)


def speed_units_to_mps(units: NDArray[np.int64]) -> NDArray[np.float64]:
    """Speed in m/s; the 'unavailable' code becomes NaN."""
    speed = np.asarray(units, dtype=np.float64) * MPS_PER_SPEED_UNIT
    return np.where(np.asarray(units) == SPEED_UNAVAILABLE, np.nan, speed)


def deg_to_heading_units(heading_deg: NDArray[np.float64]) -> NDArray[np.int64]:
    """Heading in 0.0125 degree, wrapped into [0, 360)."""
    units = np.rint(np.mod(heading_deg, 360.0) / DEG_PER_HEADING_UNIT).astype(np.int64)
    return np.where(units >= HEADING_UNAVAILABLE, 0, units)


def heading_units_to_deg(units: NDArray[np.int64]) -> NDArray[np.float64]:
    """Heading in degrees clockwise from north; the 'unavailable' code becomes NaN."""
    heading = np.asarray(units, dtype=np.float64) * DEG_PER_HEADING_UNIT
    return np.where(np.asarray(units) == HEADING_UNAVAILABLE, np.nan, heading)


def m_to_cm(length_m: NDArray[np.float64], *, upper: int) -> NDArray[np.int64]:
    return np.clip(np.rint(np.asarray(length_m) * 100.0), 0, upper).astype(np.int64)


def epoch_ms_to_sec_mark(epoch_ms: int) -> int:
    """Milliseconds within the UTC minute (DSecond)."""
    return epoch_ms % MS_PER_MINUTE


def epoch_ms_to_moy(epoch_ms: int) -> int:
    """Minute of the UTC year."""
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000.0, tz=dt.UTC)
    year_start = dt.datetime(moment.year, 1, 1, tzinfo=dt.UTC)
    return int((moment - year_start).total_seconds() // 60)


def resolve_sec_mark(sec_mark: int, *, reference_epoch_ms: int) -> int:
    """The epoch time nearest to ``reference_epoch_ms`` whose millisecond-of-minute is ``sec_mark``.

    A secMark says only where in a minute a measurement was taken; the receiver's clock says which minute.
    Choosing the nearest candidate is right while clock offset plus delay stay under 30 s.
    """
    minute_start = reference_epoch_ms - reference_epoch_ms % MS_PER_MINUTE
    candidates = [minute_start + shift_ms + sec_mark for shift_ms in (-MS_PER_MINUTE, 0, MS_PER_MINUTE)]
    return min(candidates, key=lambda candidate_ms: abs(candidate_ms - reference_epoch_ms))


def resolve_sec_marks(
    sec_marks: NDArray[np.int64], *, reference_epoch_ms: NDArray[np.int64]
) -> NDArray[np.int64]:
    """``resolve_sec_mark`` for arrays, element by element, with the same choice on a 30 s tie."""
    reference = np.asarray(reference_epoch_ms, dtype=np.int64)
    same_minute_ms = reference - reference % MS_PER_MINUTE + np.asarray(sec_marks, dtype=np.int64)
    ahead_ms = same_minute_ms - reference
    half_minute_ms = MS_PER_MINUTE // 2
    earlier = MS_PER_MINUTE * (ahead_ms >= half_minute_ms).astype(np.int64)
    later = MS_PER_MINUTE * (ahead_ms < -half_minute_ms).astype(np.int64)
    resolved: NDArray[np.int64] = same_minute_ms - earlier + later
    return resolved


def seconds_to_timemark(seconds: NDArray[np.float64]) -> NDArray[np.int64]:
    """Durations in 0.1 s, clipped to TimeMark's range (36001 = unknown)."""
    return np.clip(np.rint(np.asarray(seconds) / S_PER_TIMEMARK_UNIT), 0, 36000).astype(np.int64)


# ETSI C-ITS units (EN 302 637-2/-3, TS 102 894-2 v1.3.1) and ISO TS 19091 (SPATEM/MAPEM) timing.
# These convert one message field at a time, so they take and return Python ints; each keeps the
# standard's "unavailable" code intact in both directions rather than turning it into a number.

ITS_EPOCH_UTC_MS = 1_072_915_200_000  # 2004-01-01T00:00:00Z, the epoch of TimestampIts
# TimestampIts counts TAI milliseconds, so it runs ahead of UTC by the leap seconds inserted since 2004.
# (UTC epoch ms from which the offset applies, leap seconds so far); extend when IERS announces one.
ITS_LEAP_SECONDS_SINCE_2004 = (
    (1_136_073_600_000, 1),  # 2006-01-01
    (1_230_768_000_000, 2),  # 2009-01-01
    (1_341_100_800_000, 3),  # 2012-07-01
    (1_435_708_800_000, 4),  # 2015-07-01
    (1_483_228_800_000, 5),  # 2017-01-01
)
GENERATION_DELTA_TIME_MODULO = 65_536
ETSI_SPEED_UNAVAILABLE = 16_383  # SpeedValue, 0.01 m/s
ETSI_HEADING_UNAVAILABLE = 3_601  # HeadingValue, 0.1 degree
ETSI_HEADING_FULL_CIRCLE = 3_600
ETSI_ALTITUDE_UNAVAILABLE = 800_001  # AltitudeValue, 0.01 m
CSAE_ELEVATION_UNKNOWN = -4_096  # Elevation, 0.1 m
HEADING_UNITS_PER_ETSI_HEADING_UNIT = 8  # 0.1 degree / 0.0125 degree
MS_PER_HOUR = 3_600_000
MS_PER_TIMEMARK_UNIT = 100
TIMEMARK_PER_HOUR = 36_000
TIMEMARK_UNKNOWN = 36_001
WGS84_A_M = 6_378_137.0
WGS84_E2 = 6.694_379_990_14e-3  # first eccentricity squared
# TimeIntervalConfidence (ISO TS 19091): code -> probability in percent that the time is right.
TIME_INTERVAL_CONFIDENCE_PERCENT = (21, 36, 47, 56, 62, 68, 73, 77, 81, 85, 88, 91, 94, 96, 98, 100)
PERCENT_PER_CONFIDENCE_UNIT = 0.5  # T/CSAE 53 Confidence is in steps of 0.005


def _leap_seconds_at(epoch_ms: int) -> int:
    leap_s = 0
    for since_ms, count in ITS_LEAP_SECONDS_SINCE_2004:
        if epoch_ms >= since_ms:
            leap_s = count
    return leap_s


def epoch_ms_to_its_timestamp_ms(epoch_ms: int) -> int:
    """TimestampIts: TAI milliseconds since 2004-01-01, from UTC epoch milliseconds."""
    return epoch_ms - ITS_EPOCH_UTC_MS + 1000 * _leap_seconds_at(epoch_ms)


def its_timestamp_ms_to_epoch_ms(its_timestamp_ms: int) -> int:
    """UTC epoch milliseconds from a TimestampIts (inverse of ``epoch_ms_to_its_timestamp_ms``)."""
    approx_ms = its_timestamp_ms + ITS_EPOCH_UTC_MS
    # The leap-second count depends on the UTC time we are computing; one correction step settles it
    # except inside an inserted leap second itself, which UTC epoch ms cannot name anyway.
    return approx_ms - 1000 * _leap_seconds_at(approx_ms - 1000 * _leap_seconds_at(approx_ms))


def epoch_ms_to_generation_delta_time(epoch_ms: int) -> int:
    """GenerationDeltaTime of a CAM: TimestampIts modulo 65 536."""
    return epoch_ms_to_its_timestamp_ms(epoch_ms) % GENERATION_DELTA_TIME_MODULO


def resolve_generation_delta_time(generation_delta_time: int, *, reference_epoch_ms: int) -> int:
    """The UTC epoch time nearest to ``reference_epoch_ms`` whose GenerationDeltaTime is the given one.

    Like ``resolve_sec_mark``: the field wraps every 65.536 s, so the receiver's clock picks the cycle;
    right while clock offset plus delay stay under 32 s.
    """
    reference_its_ms = epoch_ms_to_its_timestamp_ms(reference_epoch_ms)
    cycle_start_ms = reference_its_ms - reference_its_ms % GENERATION_DELTA_TIME_MODULO
    candidates = [
        cycle_start_ms + shift_ms + generation_delta_time
        for shift_ms in (-GENERATION_DELTA_TIME_MODULO, 0, GENERATION_DELTA_TIME_MODULO)
    ]
    nearest_its_ms = min(candidates, key=lambda candidate_ms: abs(candidate_ms - reference_its_ms))
    return its_timestamp_ms_to_epoch_ms(nearest_its_ms)


def speed_units_to_etsi_speed(speed_units: int) -> int:
    """T/CSAE 53 Speed (0.02 m/s) to ETSI SpeedValue (0.01 m/s); exact, 'unavailable' kept."""
    return ETSI_SPEED_UNAVAILABLE if speed_units == SPEED_UNAVAILABLE else speed_units * 2


def etsi_speed_to_speed_units(etsi_speed: int) -> int:
    """ETSI SpeedValue (0.01 m/s) to T/CSAE 53 Speed (0.02 m/s), rounded half up; 'unavailable' kept."""
    if etsi_speed == ETSI_SPEED_UNAVAILABLE:
        return SPEED_UNAVAILABLE
    return min((etsi_speed + 1) // 2, SPEED_UNAVAILABLE - 1)


def heading_units_to_etsi_heading(heading_units: int) -> int:
    """T/CSAE 53 Heading (0.0125 degree) to ETSI HeadingValue (0.1 degree), rounded; 'unavailable' kept."""
    if heading_units == HEADING_UNAVAILABLE:
        return ETSI_HEADING_UNAVAILABLE
    step = HEADING_UNITS_PER_ETSI_HEADING_UNIT
    return ((heading_units + step // 2) // step) % ETSI_HEADING_FULL_CIRCLE


def etsi_heading_to_heading_units(etsi_heading: int) -> int:
    """ETSI HeadingValue (0.1 degree) to T/CSAE 53 Heading (0.0125 degree); 3600 is north again."""
    if etsi_heading == ETSI_HEADING_UNAVAILABLE:
        return HEADING_UNAVAILABLE
    return (etsi_heading % ETSI_HEADING_FULL_CIRCLE) * HEADING_UNITS_PER_ETSI_HEADING_UNIT


def elevation_units_to_etsi_altitude(elevation_units: int | None) -> int:
    """T/CSAE 53 Elevation (0.1 m; None or -4096 unknown) to ETSI AltitudeValue (0.01 m)."""
    if elevation_units is None or elevation_units == CSAE_ELEVATION_UNKNOWN:
        return ETSI_ALTITUDE_UNAVAILABLE
    return elevation_units * 10


def etsi_altitude_to_elevation_units(etsi_altitude: int) -> int | None:
    """ETSI AltitudeValue (0.01 m) to T/CSAE 53 Elevation (0.1 m), rounded half up and clipped."""
    if etsi_altitude == ETSI_ALTITUDE_UNAVAILABLE:
        return None
    return max(CSAE_ELEVATION_UNKNOWN + 1, min((etsi_altitude + 5) // 10, 61_439))


def cm_to_dm(length_cm: int) -> int:
    """Centimetres to decimetres (the 0.1 m of ETSI vehicle length and width), rounded half up."""
    return (length_cm + 5) // 10


def moy_to_epoch_ms(moy: int, *, reference_epoch_ms: int) -> int:
    """The start of minute-of-the-year ``moy`` in the UTC year (last, this or next) nearest the reference.

    Picking the nearest year keeps messages sent just before New Year right when received just after.
    """
    reference = dt.datetime.fromtimestamp(reference_epoch_ms / 1000.0, tz=dt.UTC)
    candidates_ms = [
        int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp() * 1000) + moy * MS_PER_MINUTE
        for year in (reference.year - 1, reference.year, reference.year + 1)
    ]
    return min(candidates_ms, key=lambda candidate_ms: abs(candidate_ms - reference_epoch_ms))


def countdown_to_time_mark(countdown_tenths: int, *, now_epoch_ms: int) -> int:
    """A T/CSAE 53 countdown (0.1 s from now) to an ISO TS 19091 TimeMark (0.1 s within the UTC hour).

    The unknown code 36001 is kept. Countdowns of an hour or more cannot be told apart from shorter ones in
    a TimeMark, so they are clipped to 3599.9 s.
    """
    if countdown_tenths == TIMEMARK_UNKNOWN:
        return TIMEMARK_UNKNOWN
    now_tenths = (now_epoch_ms % MS_PER_HOUR) // MS_PER_TIMEMARK_UNIT
    return (now_tenths + min(countdown_tenths, TIMEMARK_PER_HOUR - 1)) % TIMEMARK_PER_HOUR


def time_mark_to_countdown(time_mark: int, *, now_epoch_ms: int) -> int:
    """An ISO TS 19091 TimeMark (0.1 s within the hour) to a countdown in 0.1 s from now.

    The unknown code 36001 is kept; the leap-second code 36000 counts as the end of the hour.
    """
    if time_mark == TIMEMARK_UNKNOWN:
        return TIMEMARK_UNKNOWN
    now_tenths = (now_epoch_ms % MS_PER_HOUR) // MS_PER_TIMEMARK_UNIT
    return (min(time_mark, TIMEMARK_PER_HOUR) - now_tenths) % TIMEMARK_PER_HOUR


def confidence_to_time_interval_confidence(confidence_units: int) -> int:
    """T/CSAE 53 Confidence (0.005 steps) to the nearest ISO TS 19091 TimeIntervalConfidence code."""
    percent = confidence_units * PERCENT_PER_CONFIDENCE_UNIT
    return min(
        range(len(TIME_INTERVAL_CONFIDENCE_PERCENT)),
        key=lambda code: abs(TIME_INTERVAL_CONFIDENCE_PERCENT[code] - percent),
    )


def time_interval_confidence_to_confidence(code: int) -> int:
    """ISO TS 19091 TimeIntervalConfidence code to T/CSAE 53 Confidence (0.005 steps)."""
    return round(TIME_INTERVAL_CONFIDENCE_PERCENT[code] / PERCENT_PER_CONFIDENCE_UNIT)


def xy_offset_cm_to_latlon_units(x_cm: int, y_cm: int, *, ref_lat_units: int) -> tuple[int, int]:
    """An east/north offset in cm (ISO TS 19091 node-XY) to (lat, lon) offsets in 1e-7 degree.

    Uses the WGS84 radii of curvature at the reference latitude: within an intersection (a few hundred
    metres) the error is far below the 1 cm resolution of the offsets.
    """
    lat_rad = math.radians(ref_lat_units * DEG_PER_LATLON_UNIT)
    sin2 = math.sin(lat_rad) ** 2
    denominator = 1.0 - WGS84_E2 * sin2
    meridian_radius_m = WGS84_A_M * (1.0 - WGS84_E2) / denominator**1.5
    normal_radius_m = WGS84_A_M / math.sqrt(denominator)
    dlat_deg = math.degrees(y_cm / 100.0 / meridian_radius_m)
    dlon_deg = math.degrees(x_cm / 100.0 / (normal_radius_m * math.cos(lat_rad)))
    return round(dlat_deg / DEG_PER_LATLON_UNIT), round(dlon_deg / DEG_PER_LATLON_UNIT)
