"""Query parameters of the API as typed values, each with a one-line error that names the parameter, the
value and the expected form.

Every parser raises ``InputError``; the app answers it with 422 ``{"detail": "<that line>"}`` and the
stream closes the socket with the same line. Shared by the REST routes and the WebSocket stream, so one
spelling of a bounding box means the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from roadcloud.errors import InputError

BBOX_FORM = "lon_min,lat_min,lon_max,lat_max in WGS84 degrees, e.g. bbox=13.30,52.45,13.32,52.46"
AROUND_FORM = "lon,lat,radius_m, e.g. around=13.31,52.455,200"
MAX_RADIUS_M = 50_000.0

#: Streams a WebSocket client can ask for.
STREAMS = ("tracks", "events", "signals", "stats")
MAX_STREAM_HZ = 10.0


def _numbers(name: str, text: str, count: int, form: str) -> list[float]:
    parts = text.split(",")
    if len(parts) != count:
        raise InputError(f"{name}={text!r} has {len(parts)} value(s); expected {form}")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise InputError(f"{name}={text!r} is not numeric; expected {form}") from None
    if not all(math.isfinite(value) for value in values):
        raise InputError(f"{name}={text!r} has a non-finite number; expected {form}")
    return values


def _check_lon_lat(name: str, text: str, lon_deg: float, lat_deg: float, form: str) -> None:
    if not -180.0 <= lon_deg <= 180.0:
        raise InputError(f"{name}={text!r}: longitude {lon_deg:g} is outside -180..180; expected {form}")
    if not -90.0 <= lat_deg <= 90.0:
        raise InputError(f"{name}={text!r}: latitude {lat_deg:g} is outside -90..90; expected {form}")


def parse_bbox(text: str, *, name: str = "bbox") -> tuple[float, float, float, float]:
    """``"lon_min,lat_min,lon_max,lat_max"`` → a closed WGS84 box (min ≤ max on both axes)."""
    lon_min, lat_min, lon_max, lat_max = _numbers(name, text, 4, BBOX_FORM)
    _check_lon_lat(name, text, lon_min, lat_min, BBOX_FORM)
    _check_lon_lat(name, text, lon_max, lat_max, BBOX_FORM)
    if lon_min > lon_max or lat_min > lat_max:
        raise InputError(f"{name}={text!r} has a minimum above its maximum; expected {BBOX_FORM}")
    return lon_min, lat_min, lon_max, lat_max


def parse_around(text: str, *, name: str = "around") -> tuple[float, float, float]:
    """``"lon,lat,radius_m"`` → a WGS84 point and a radius in metres (0 < radius ≤ 50 km)."""
    lon_deg, lat_deg, radius_m = _numbers(name, text, 3, AROUND_FORM)
    _check_lon_lat(name, text, lon_deg, lat_deg, AROUND_FORM)
    if not 0.0 < radius_m <= MAX_RADIUS_M:
        raise InputError(
            f"{name}={text!r}: radius {radius_m:g} m is outside (0, {MAX_RADIUS_M:g}]; expected {AROUND_FORM}"
        )
    return lon_deg, lat_deg, radius_m


def parse_choices(text: str, *, name: str, choices: Iterable[str]) -> frozenset[str]:
    """``"a,b"`` → a non-empty set, each a member of ``choices``."""
    known = tuple(choices)
    wanted = frozenset(part.strip() for part in text.split(",") if part.strip())
    if not wanted:
        raise InputError(f"{name}={text!r} names nothing; use a comma-separated list of {', '.join(known)}")
    unknown = sorted(wanted - set(known))
    if unknown:
        raise InputError(f"{name}={text!r}: unknown {', '.join(unknown)}; use any of {', '.join(known)}")
    return wanted


def parse_hz(text: str, *, name: str = "hz") -> float:
    """A stream rate in Hz, 0 < hz ≤ 10 (the pipeline's own rate)."""
    try:
        hz = float(text)
    except ValueError:
        hz = math.nan
    if not 0.0 < hz <= MAX_STREAM_HZ:  # also rejects NaN
        raise InputError(f"{name}={text!r} is not a rate in (0, {MAX_STREAM_HZ:g}] Hz; e.g. {name}=5")
    return hz


def parse_format(text: str, *, name: str = "format") -> bool:
    """``columns`` (default wire form) or ``rows``; True for rows."""
    if text not in ("columns", "rows"):
        raise InputError(f"{name}={text!r} is unknown; use columns (one array per field) or rows")
    return text == "rows"
