"""Local metres ⇄ WGS84: round trips, known places, anchored frames, and inputs left untouched."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from roadcloud.errors import MapError, SettingError
from roadcloud.map import GeoReference, RoadMap

WGS84 = Geod(ellps="WGS84")


def test_round_trip_within_a_millimetre(doerpfeld: RoadMap) -> None:
    xmin, ymin, xmax, ymax = doerpfeld.bounds_m
    x_m, y_m = np.meshgrid(np.linspace(xmin, xmax, 25), np.linspace(ymin, ymax, 20))
    lon, lat = doerpfeld.geo.local_to_wgs84(x_m, y_m)
    assert lon.shape == x_m.shape
    back_x, back_y = doerpfeld.geo.wgs84_to_local(lon, lat)
    assert np.max(np.hypot(back_x - x_m, back_y - y_m)) < 1e-3


def test_doerpfeld_lies_in_adlershof(doerpfeld: RoadMap) -> None:
    xmin, ymin, xmax, ymax = doerpfeld.bounds_m
    lon, lat = doerpfeld.geo.local_to_wgs84((xmin + xmax) / 2, (ymin + ymax) / 2)
    assert float(lat) == pytest.approx(52.44, abs=0.02)
    assert float(lon) == pytest.approx(13.55, abs=0.03)


def test_junctions_fall_inside_the_original_boundary(doerpfeld: RoadMap) -> None:
    # origBoundary of the file, in degrees: netconvert's own record of where the input was.
    lon_min, lat_min, lon_max, lat_max = 13.510966, 52.428677, 13.569823, 52.453865
    x_m = np.array([junction.x_m for junction in doerpfeld.junctions.values()])
    y_m = np.array([junction.y_m for junction in doerpfeld.junctions.values()])
    lon, lat = doerpfeld.geo.local_to_wgs84(x_m, y_m)
    slack = 0.001
    assert np.all((lon > lon_min - slack) & (lon < lon_max + slack))
    assert np.all((lat > lat_min - slack) & (lat < lat_max + slack))


def test_utm_offset_is_applied_as_sumo_defines_it() -> None:
    # local = projected + netOffset: a projected point of 15°E on the equator (UTM 33N easting 500 km).
    geo = GeoReference.from_sumo(
        "-500000.00,-1000.00", "+proj=utm +zone=33 +ellps=WGS84 +datum=WGS84 +units=m"
    )
    x_m, y_m = geo.wgs84_to_local(15.0, 0.0)
    assert float(x_m) == pytest.approx(0.0, abs=1e-6)
    assert float(y_m) == pytest.approx(-1000.0, abs=1e-6)


def test_anchor_is_the_origin_and_metres_are_metres() -> None:
    geo = GeoReference.anchored(116.5, 39.8)
    lon, lat = geo.local_to_wgs84([0.0, 1000.0, 0.0], [0.0, 0.0, 1000.0])
    assert (float(lon[0]), float(lat[0])) == pytest.approx((116.5, 39.8), abs=1e-12)
    _azimuth, _back, east_m = WGS84.inv(lon[0], lat[0], lon[1], lat[1])
    azimuth, _back, north_m = WGS84.inv(lon[0], lat[0], lon[2], lat[2])
    assert east_m == pytest.approx(1000.0, abs=0.01)
    assert north_m == pytest.approx(1000.0, abs=0.01)
    assert azimuth == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    lon_deg=st.floats(-179.0, 179.0),
    lat_deg=st.floats(-80.0, 80.0),
    x_m=st.floats(-20_000.0, 20_000.0),
    y_m=st.floats(-20_000.0, 20_000.0),
)
def test_anchored_round_trip(lon_deg: float, lat_deg: float, x_m: float, y_m: float) -> None:
    geo = GeoReference.anchored(lon_deg, lat_deg)
    back_x, back_y = geo.wgs84_to_local(*geo.local_to_wgs84(x_m, y_m))
    assert float(np.hypot(back_x - x_m, back_y - y_m)) < 1e-3


def test_inputs_are_not_modified(doerpfeld: RoadMap) -> None:
    x_m = np.array([2000.0, 2500.0, 3000.0])
    y_m = np.array([500.0, 1000.0, 1500.0])
    lon, lat = doerpfeld.geo.local_to_wgs84(x_m, y_m)
    lon_copy, lat_copy = lon.copy(), lat.copy()
    doerpfeld.geo.wgs84_to_local(lon, lat)
    assert np.array_equal(x_m, [2000.0, 2500.0, 3000.0]) and np.array_equal(y_m, [500.0, 1000.0, 1500.0])
    assert np.array_equal(lon, lon_copy) and np.array_equal(lat, lat_copy)


def test_scalars_give_zero_dimensional_arrays(doerpfeld: RoadMap) -> None:
    lon, lat = doerpfeld.geo.local_to_wgs84(2800.0, 1000.0)
    assert lon.shape == () and lat.shape == () and lon.dtype == np.float64


def test_unreferenced_network_says_how_to_fix() -> None:
    geo = GeoReference.from_sumo("95.11,101.83", "!")
    assert not geo.is_georeferenced
    with pytest.raises(MapError, match=r"not geo-referenced .*anchor_lonlat"):
        geo.local_to_wgs84(0.0, 0.0)


def test_bad_projection_and_anchor() -> None:
    with pytest.raises(MapError, match="not a valid PROJ definition"):
        GeoReference.from_sumo("0,0", "+proj=nonsense")
    with pytest.raises(MapError, match="netOffset"):
        GeoReference.from_sumo("0;0", "!")
    with pytest.raises(SettingError, match="latitude"):
        GeoReference.anchored(13.5, 95.0)
    with pytest.raises(SettingError, match="longitude"):
        GeoReference.anchored(float("nan"), 52.0)
