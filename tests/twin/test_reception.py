"""The twin's receiving side without SUMO: unit broadcasts, direct messages, the zone test, cancellation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from roadcloud.bus.topics import topic
from roadcloud.map import GeoReference
from roadcloud.messages import RSI, Position3D, PositionOffsetLL, ReferencePath, RSITimeDetails, RTEData
from roadcloud.messages.json_codec import encode
from roadcloud.messages.units import deg_to_latlon_units, epoch_ms_to_moy
from roadcloud.twin.field import bsm_id
from roadcloud.twin.reception import DownlinkReception, Outcome

NOW_MS = 1_780_000_000_000
GEO = GeoReference.anchored(116.5055, 39.7953)
ZONE = "testzone"


@dataclass(frozen=True)
class Unit:
    id: str
    x_m: float
    y_m: float
    range_m: float = 100.0
    network_delay_ms: int = 30


def rsi(*, cancelled_at_ms: int | None = None) -> bytes:
    """An eastbound path from x = -200 to x = 0 along y = 0, radius 3.2 m, event at (0, 0)."""
    lon, lat = GEO.local_to_wgs84(np.array([0.0, -200.0]), np.array([0.0, 0.0]))
    lon_units, lat_units = deg_to_latlon_units(lon), deg_to_latlon_units(lat)
    ref = Position3D(lat=int(lat_units[0]), long=int(lon_units[0]))
    path = ReferencePath(
        active_path=[
            PositionOffsetLL(lon=int(lon_units[1] - lon_units[0]), lat=int(lat_units[1] - lat_units[0])),
            PositionOffsetLL(lon=0, lat=0),
        ],
        path_radius=32,
    )
    end = epoch_ms_to_moy(cancelled_at_ms) if cancelled_at_ms is not None else None
    rte = RTEData(
        rte_id=3,
        event_type=903,
        description="stopped vehicle ahead [adv-E1]",
        time_details=RSITimeDetails(start_time=epoch_ms_to_moy(NOW_MS), end_time=end),
        reference_paths=[path],
    )
    return encode(RSI(msg_cnt=0, moy=epoch_ms_to_moy(NOW_MS), id="RC-CLOUD", ref_pos=ref, rtes=[rte]))


class Field:
    """Connected vehicles with positions the test moves."""

    def __init__(self) -> None:
        self.ids = ["in_zone", "wrong_way", "far_in_zone", "pedestrian"]
        self.xy = np.array([[-50.0, 0.0], [-40.0, 0.0], [-180.0, 1.0], [-45.0, 0.0]])
        self.heading = np.array([90.0, 270.0, 90.0, 0.0])
        self.connected = [True, True, True, False]

    def step(self, reception: DownlinkReception, epoch_ms: int) -> None:
        reception.step(epoch_ms, ids=self.ids, xy=self.xy, heading_deg=self.heading, connected=self.connected)


@pytest.fixture
def reception() -> DownlinkReception:
    return DownlinkReception(GEO, [Unit("R1", -40.0, 10.0)], zone=ZONE)


def outcomes(reception: DownlinkReception) -> set[tuple[str, Outcome, str]]:
    return {(item.vehicle_id, item.outcome, item.via) for item in reception.log}


def test_unit_broadcast_reaches_vehicles_in_range_after_its_delay(reception: DownlinkReception) -> None:
    field = Field()
    reception.receive(topic(ZONE, "rsu", "R1", "rsi", "down"), rsi())
    field.step(reception, NOW_MS)
    assert reception.log == []  # still on its way: 30 ms to the unit
    field.step(reception, NOW_MS + 100)
    assert outcomes(reception) == {
        ("in_zone", Outcome.ACCEPTED, "rsu:R1"),
        ("wrong_way", Outcome.IGNORED_OUTSIDE_ZONE, "rsu:R1"),  # beside the path, facing the other way
    }
    record = reception.log[0]
    assert record.advisory == "adv-E1" and record.event_type == 903 and record.time_ms == NOW_MS + 100
    assert record.bsm_id == bsm_id(record.vehicle_id)
    # The unit keeps broadcasting: the far vehicle hears it once it drives into range.
    field.step(reception, NOW_MS + 200)
    assert len(reception.log) == 2  # each outcome is logged once
    field.xy[2] = (-120.0, 1.0)
    field.step(reception, NOW_MS + 300)
    assert ("far_in_zone", Outcome.ACCEPTED, "rsu:R1") in outcomes(reception)


def test_direct_message_reaches_only_its_vehicle(reception: DownlinkReception) -> None:
    field = Field()
    reception.receive(topic(ZONE, "vehicle", bsm_id("far_in_zone"), "rsi", "down"), rsi())
    reception.receive(topic(ZONE, "vehicle", bsm_id("wrong_way"), "rsi", "down"), rsi())
    field.step(reception, NOW_MS)
    field.step(reception, NOW_MS + 100)  # after the 40 ms cellular downlink
    assert outcomes(reception) == {
        ("far_in_zone", Outcome.ACCEPTED, "direct"),
        ("wrong_way", Outcome.IGNORED_OUTSIDE_ZONE, "direct"),
    }


def test_cancellation_reaches_the_vehicles_that_accepted(reception: DownlinkReception) -> None:
    field = Field()
    reception.receive(topic(ZONE, "rsu", "R1", "rsi", "down"), rsi())
    field.step(reception, NOW_MS)
    field.step(reception, NOW_MS + 100)
    reception.receive(topic(ZONE, "rsu", "R1", "rsi", "down"), rsi(cancelled_at_ms=NOW_MS + 60_000))
    field.step(reception, NOW_MS + 60_000)
    field.step(reception, NOW_MS + 60_100)
    cancelled = reception.receptions(outcome=Outcome.CANCELLATION_RECEIVED)
    assert [item.vehicle_id for item in cancelled] == ["in_zone"]  # not the one that ignored it
    assert reception.stats.cancellations == 1 and reception.stats.accepted == 1
    # The unit repeats the cancellation for a while, then forgets the advisory.
    field.xy[2] = (-120.0, 1.0)
    field.step(reception, NOW_MS + 60_200)
    field.step(reception, NOW_MS + 64_000)
    heard = reception.stats.rsi_heard
    field.step(reception, NOW_MS + 64_100)
    assert reception.stats.rsi_heard == heard
    assert ("far_in_zone", Outcome.ACCEPTED, "rsu:R1") not in outcomes(reception)


def test_bad_downlink_is_counted_and_dropped(reception: DownlinkReception) -> None:
    field = Field()
    reception.receive("not/a/roadcloud/topic", b"{}")
    reception.receive(topic(ZONE, "rsu", "R404", "rsi", "down"), rsi())
    reception.receive(topic(ZONE, "rsu", "R1", "rsi", "down"), b"{not json")
    reception.receive(topic("otherzone", "rsu", "R1", "rsi", "down"), rsi())
    reception.receive(topic(ZONE, "vehicle", bsm_id("in_zone"), "glosa", "down"), b"{}")
    field.step(reception, NOW_MS)
    field.step(reception, NOW_MS + 100)
    assert reception.stats.dropped == {
        "bad_topic": 1,
        "unknown_unit": 1,
        "decode": 1,
        "not_for_this_zone": 1,
    }
    assert reception.stats.other == {"glosa": 1}
    assert reception.log == []
