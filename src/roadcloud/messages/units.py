"""Conversions between T/CSAE 53 message units and the platform's internal units — the one place they live.

Inside roadcloud: metres, m/s, degrees clockwise from north, UTC epoch milliseconds. On the wire: the units
listed in ``roadcloud.messages.common``. Every function takes scalars or numpy arrays and never mutates its
input. Positions in the local metric frame are converted to WGS84 by ``roadcloud.map.geo`` first.
"""

from __future__ import annotations

import datetime as dt

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


def seconds_to_timemark(seconds: NDArray[np.float64]) -> NDArray[np.int64]:
    """Durations in 0.1 s, clipped to TimeMark's range (36001 = unknown)."""
    return np.clip(np.rint(np.asarray(seconds) / S_PER_TIMEMARK_UNIT), 0, 36000).astype(np.int64)
