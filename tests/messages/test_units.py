"""Unit conversions: T/CSAE 53 wire units, ETSI units, and the time fields that wrap."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roadcloud.messages import units
from roadcloud.messages.common import HEADING_UNAVAILABLE, SPEED_UNAVAILABLE

EPOCH_2025_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
MINUTE_MS = 60_000
epochs = st.integers(
    min_value=EPOCH_2025_MS - 10 * 365 * 86_400_000, max_value=EPOCH_2025_MS + 10 * 365 * 86_400_000
)


def _epoch_ms(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp() * 1000)


# --- T/CSAE 53 units ---------------------------------------------------------------------------------


def test_latlon_round_trips_on_arrays_without_mutating_them() -> None:
    degrees = np.array([39.7956123, 116.5063456, -33.0000001])
    before = degrees.copy()
    assert np.allclose(units.latlon_units_to_deg(units.deg_to_latlon_units(degrees)), degrees, atol=5e-8)
    assert np.array_equal(degrees, before)


@given(st.floats(min_value=0.0, max_value=163.8))
def test_speed_round_trips_within_half_a_unit(speed_mps: float) -> None:
    back = units.speed_units_to_mps(units.mps_to_speed_units(np.array([speed_mps])))
    assert abs(back[0] - speed_mps) <= units.MPS_PER_SPEED_UNIT / 2 + 1e-9


def test_unavailable_speed_and_heading_become_nan() -> None:
    assert np.isnan(units.speed_units_to_mps(np.array([SPEED_UNAVAILABLE]))[0])
    assert np.isnan(units.heading_units_to_deg(np.array([HEADING_UNAVAILABLE]))[0])


@given(st.floats(min_value=-720.0, max_value=720.0))
def test_heading_wraps_into_a_circle(heading_deg: float) -> None:
    heading_units = units.deg_to_heading_units(np.array([heading_deg]))[0]
    assert 0 <= heading_units < HEADING_UNAVAILABLE
    back = units.heading_units_to_deg(np.array([heading_units]))[0]
    difference = (back - heading_deg + 180.0) % 360.0 - 180.0
    assert abs(difference) <= units.DEG_PER_HEADING_UNIT / 2 + 1e-9


# --- secMark and minute of the year ------------------------------------------------------------------


@given(measured_ms=epochs, offset_ms=st.integers(min_value=-29_999, max_value=29_999))
def test_resolve_sec_mark_recovers_the_measurement_within_30_s(measured_ms: int, offset_ms: int) -> None:
    sec_mark = units.epoch_ms_to_sec_mark(measured_ms)
    assert units.resolve_sec_mark(sec_mark, reference_epoch_ms=measured_ms + offset_ms) == measured_ms


def test_resolve_sec_mark_across_a_minute_boundary() -> None:
    minute_ms = _epoch_ms(2025, 6, 15, 12, 0)
    # measured at 11:59:59.900, received at 12:00:00.150: the previous minute
    assert units.resolve_sec_mark(59_900, reference_epoch_ms=minute_ms + 150) == minute_ms - 100
    # measured at 12:00:00.050 by a clock running ahead of the receiver's (11:59:59.800)
    assert units.resolve_sec_mark(50, reference_epoch_ms=minute_ms - 200) == minute_ms + 50


def test_resolve_sec_mark_across_new_year() -> None:
    new_year_ms = _epoch_ms(2026, 1, 1)
    assert units.resolve_sec_mark(59_999, reference_epoch_ms=new_year_ms + 10) == new_year_ms - 1


def test_minute_of_year() -> None:
    assert units.epoch_ms_to_moy(_epoch_ms(2025, 1, 1)) == 0
    assert units.epoch_ms_to_moy(_epoch_ms(2025, 1, 2, 0, 1)) == 1441
    assert units.epoch_ms_to_moy(_epoch_ms(2024, 12, 31, 23, 59)) == 527_039  # leap year


@given(moment_ms=epochs)
def test_moy_round_trips_to_the_minute(moment_ms: int) -> None:
    moy = units.epoch_ms_to_moy(moment_ms)
    minute_start_ms = moment_ms - moment_ms % MINUTE_MS
    assert units.moy_to_epoch_ms(moy, reference_epoch_ms=moment_ms + 5_000) == minute_start_ms


def test_moy_near_new_year_picks_the_nearest_year() -> None:
    last_minute_2025 = units.epoch_ms_to_moy(_epoch_ms(2025, 12, 31, 23, 59))
    assert units.moy_to_epoch_ms(
        last_minute_2025, reference_epoch_ms=_epoch_ms(2026, 1, 1, 0, 0, 30)
    ) == _epoch_ms(2025, 12, 31, 23, 59)


# --- ETSI units ---------------------------------------------------------------------------------------


def test_its_timestamp_counts_tai_since_2004() -> None:
    assert units.epoch_ms_to_its_timestamp_ms(units.ITS_EPOCH_UTC_MS) == 0
    # five leap seconds were inserted between 2004 and 2017
    later_ms = _epoch_ms(2020, 1, 1)
    assert units.epoch_ms_to_its_timestamp_ms(later_ms) == later_ms - units.ITS_EPOCH_UTC_MS + 5_000


@given(
    moment_ms=st.integers(min_value=units.ITS_EPOCH_UTC_MS, max_value=EPOCH_2025_MS + 50 * 365 * 86_400_000)
)
def test_its_timestamp_round_trips(moment_ms: int) -> None:
    its_ms = units.epoch_ms_to_its_timestamp_ms(moment_ms)
    assert units.its_timestamp_ms_to_epoch_ms(its_ms) == moment_ms


@pytest.mark.parametrize("since_ms", [since for since, _count in units.ITS_LEAP_SECONDS_SINCE_2004])
def test_its_timestamp_round_trips_around_each_leap_second(since_ms: int) -> None:
    for moment_ms in range(since_ms - 1_500, since_ms + 1_500, 250):
        assert units.its_timestamp_ms_to_epoch_ms(units.epoch_ms_to_its_timestamp_ms(moment_ms)) == moment_ms


@given(measured_ms=epochs, offset_ms=st.integers(min_value=-32_000, max_value=32_000))
def test_generation_delta_time_resolves_within_32_s(measured_ms: int, offset_ms: int) -> None:
    delta_time = units.epoch_ms_to_generation_delta_time(measured_ms)
    assert 0 <= delta_time < units.GENERATION_DELTA_TIME_MODULO
    resolved_ms = units.resolve_generation_delta_time(delta_time, reference_epoch_ms=measured_ms + offset_ms)
    assert resolved_ms == measured_ms


@given(st.integers(min_value=0, max_value=SPEED_UNAVAILABLE))
def test_speed_to_etsi_and_back_is_exact(speed_units: int) -> None:
    etsi_speed = units.speed_units_to_etsi_speed(speed_units)
    assert units.etsi_speed_to_speed_units(etsi_speed) == speed_units
    assert (etsi_speed == units.ETSI_SPEED_UNAVAILABLE) == (speed_units == SPEED_UNAVAILABLE)


def test_etsi_speed_rounds_half_up_and_never_reaches_unavailable() -> None:
    assert units.etsi_speed_to_speed_units(3) == 2
    assert units.etsi_speed_to_speed_units(16_382) == SPEED_UNAVAILABLE - 1


@given(st.integers(min_value=0, max_value=HEADING_UNAVAILABLE))
def test_heading_to_etsi_loses_at_most_half_a_tenth_of_a_degree(heading_units: int) -> None:
    etsi_heading = units.heading_units_to_etsi_heading(heading_units)
    back = units.etsi_heading_to_heading_units(etsi_heading)
    if heading_units == HEADING_UNAVAILABLE:
        assert (etsi_heading, back) == (units.ETSI_HEADING_UNAVAILABLE, HEADING_UNAVAILABLE)
        return
    assert 0 <= etsi_heading < units.ETSI_HEADING_FULL_CIRCLE
    difference = (back - heading_units + 14_400) % 28_800 - 14_400
    assert abs(difference) <= 4
    assert units.heading_units_to_etsi_heading(back) == etsi_heading  # a second pass changes nothing


@given(st.integers(min_value=-4_096, max_value=61_439) | st.none())
def test_elevation_to_etsi_altitude_and_back(elevation_units: int | None) -> None:
    back = units.etsi_altitude_to_elevation_units(units.elevation_units_to_etsi_altitude(elevation_units))
    assert back == (None if elevation_units in (None, units.CSAE_ELEVATION_UNKNOWN) else elevation_units)


# --- SPAT timing --------------------------------------------------------------------------------------


@given(now_ms=epochs, countdown=st.integers(min_value=0, max_value=units.TIMEMARK_UNKNOWN))
@settings(max_examples=300)
def test_countdown_and_time_mark_round_trip(now_ms: int, countdown: int) -> None:
    time_mark = units.countdown_to_time_mark(countdown, now_epoch_ms=now_ms)
    back = units.time_mark_to_countdown(time_mark, now_epoch_ms=now_ms)
    if countdown == units.TIMEMARK_UNKNOWN:
        assert (time_mark, back) == (units.TIMEMARK_UNKNOWN, units.TIMEMARK_UNKNOWN)
    else:
        assert 0 <= time_mark < units.TIMEMARK_PER_HOUR
        assert back == min(countdown, units.TIMEMARK_PER_HOUR - 1)


def test_time_mark_wraps_at_the_hour() -> None:
    now_ms = _epoch_ms(2025, 6, 15, 12, 59, 50)  # 35 900 tenths into the hour
    assert units.countdown_to_time_mark(250, now_epoch_ms=now_ms) == 150  # 13:00:15
    assert units.time_mark_to_countdown(150, now_epoch_ms=now_ms) == 250


@pytest.mark.parametrize("code", range(len(units.TIME_INTERVAL_CONFIDENCE_PERCENT)))
def test_time_interval_confidence_codes_round_trip(code: int) -> None:
    confidence = units.time_interval_confidence_to_confidence(code)
    assert 0 <= confidence <= 200
    assert units.confidence_to_time_interval_confidence(confidence) == code


def test_xy_offsets_match_a_degree_of_latitude_near_beijing() -> None:
    lat_units, lon_units = units.xy_offset_cm_to_latlon_units(0, 11_100_000, ref_lat_units=399_000_000)
    assert abs(lat_units * units.DEG_PER_LATLON_UNIT - 0.99945) < 1e-3  # 111 km north is about 1 degree
    assert lon_units == 0
    lat_units, lon_units = units.xy_offset_cm_to_latlon_units(10_000, 0, ref_lat_units=399_000_000)
    # 100 m east at 39.9 N: 100 / (6 387 km · cos 39.9°) rad
    assert abs(lon_units - 11_696) <= 20
    assert lat_units == 0


def test_resolve_sec_marks_matches_the_scalar_version_around_minute_edges() -> None:
    import numpy as np

    from roadcloud.messages.units import resolve_sec_mark, resolve_sec_marks

    references = np.array(
        [1_780_000_000_000 + shift for shift in range(-31_000, 31_000, 250)], dtype=np.int64
    )
    for sec_mark in (0, 1, 29_999, 30_000, 30_001, 59_999):
        marks = np.full(len(references), sec_mark, dtype=np.int64)
        vector = resolve_sec_marks(marks, reference_epoch_ms=references)
        scalar = [resolve_sec_mark(sec_mark, reference_epoch_ms=int(r)) for r in references]
        assert vector.tolist() == scalar
