"""RSM and BSM participants come back in the local frame, in platform units, from message units."""

from __future__ import annotations

import numpy as np

from roadcloud.fusion import Detections, actor_kind, concatenate
from roadcloud.map import GeoReference
from roadcloud.messages import ActorKind, BasicVehicleClass, ParticipantType, Position3D
from roadcloud.twin.field import ParticipantColumns, VehicleIdentity, build_bsms, build_rsms

GEO = GeoReference.anchored(116.5055, 39.7953)
NOW_MS = 1_780_000_000_000


def test_rsm_participants_round_trip_through_message_units() -> None:
    x_m, y_m = np.array([10.0, -250.5, 80.25]), np.array([5.0, 120.0, -33.3])
    lon_deg, lat_deg = GEO.local_to_wgs84(x_m, y_m)
    ref_lon, ref_lat = GEO.local_to_wgs84(np.array([0.0]), np.array([0.0]))
    ref_units = np.rint(np.array([ref_lon[0], ref_lat[0]]) * 1e7).astype(np.int64)
    kinds = np.array([ActorKind.CAR, ActorKind.PEDESTRIAN, ActorKind.BUS], dtype=np.int64)
    columns = ParticipantColumns.convert(
        lon_deg=lon_deg,
        lat_deg=lat_deg,
        ref_lon_units=np.full(3, ref_units[0]),
        ref_lat_units=np.full(3, ref_units[1]),
        speed_mps=np.array([12.0, 1.2, 8.0]),
        heading_deg=np.array([90.0, 359.9, 180.0]),
        length_m=np.array([4.6, 0.5, 12.0]),
        width_m=np.array([1.8, 0.6, 2.5]),
        kind=kinds,
    )

    (rsm,) = build_rsms(
        unit_id="R1",
        ref_pos=Position3D(lat=int(ref_units[1]), long=int(ref_units[0])),
        sec_mark=NOW_MS % 60_000,
        first_msg_cnt=0,
        object_ids=[7, 8, 9],
        columns=columns,
        start=0,
        stop=3,
    )
    detections = Detections.from_rsm(rsm, geo=GEO, reference_ms=NOW_MS + 40, source_index=3)
    assert np.allclose(detections.x_m, x_m, atol=0.02) and np.allclose(detections.y_m, y_m, atol=0.02)
    assert np.allclose(detections.speed_mps, [12.0, 1.2, 8.0], atol=0.01)
    assert np.allclose(detections.heading_deg, [90.0, 359.9, 180.0], atol=0.01)
    assert detections.kind.tolist() == [ActorKind.CAR, ActorKind.PEDESTRIAN, ActorKind.BUS]
    assert detections.time_ms.tolist() == [NOW_MS] * 3  # secMark resolved against the arrival time
    assert detections.object_id.tolist() == [7, 8, 9] and set(detections.source_index.tolist()) == {3}
    assert not detections.self_report.any()
    east = detections.velocity_mps[0]
    assert np.allclose(east, [12.0, 0.0], atol=0.01)


def test_bsms_are_self_reports_with_integer_ids() -> None:
    lon_deg, lat_deg = GEO.local_to_wgs84(np.array([100.0]), np.array([200.0]))
    identity = VehicleIdentity.of("veh12", length_m=4.6, width_m=1.8, kind=ActorKind.TRUCK)
    bsms = build_bsms(
        identities=[identity],
        msg_counts=[1],
        sec_mark=NOW_MS % 60_000,
        lon_deg=lon_deg,
        lat_deg=lat_deg,
        speed_mps=np.array([10.0]),
        heading_deg=np.array([45.0]),
    )
    detections = Detections.from_bsms(bsms, geo=GEO, reference_ms=NOW_MS, source_index=0)
    assert detections.self_report.all() and detections.kind.tolist() == [ActorKind.TRUCK]
    assert np.allclose([detections.x_m[0], detections.y_m[0]], [100.0, 200.0], atol=0.02)
    assert detections.object_id[0] == int.from_bytes(bytes.fromhex(identity.bsm_id), "big", signed=True)


def test_concatenate_and_take() -> None:
    assert len(Detections.empty()) == 0
    lon_deg, lat_deg = GEO.local_to_wgs84(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    identities = [
        VehicleIdentity.of(f"v{i}", length_m=4.0, width_m=2.0, kind=ActorKind.CAR) for i in range(2)
    ]
    bsms = build_bsms(
        identities=identities,
        msg_counts=[0, 0],
        sec_mark=0,
        lon_deg=lon_deg,
        lat_deg=lat_deg,
        speed_mps=np.zeros(2),
        heading_deg=np.zeros(2),
    )
    one = Detections.from_bsms(bsms, geo=GEO, reference_ms=NOW_MS, source_index=1)
    both = concatenate([one, one])
    assert len(both) == 4 and len(both.take(both.x_m > 0.5)) == 2


def test_actor_kind_from_participant_type_and_class() -> None:
    assert actor_kind(ParticipantType.NON_MOTOR, None) == ActorKind.BICYCLE
    assert actor_kind(ParticipantType.MOTOR, BasicVehicleClass.MOTORCYCLE) == ActorKind.MOTORCYCLE
    assert actor_kind(ParticipantType.MOTOR, 199) == ActorKind.CAR  # unknown local classes: a car
