"""``Store``: what goes in comes back, on SQLite and on a real PostgreSQL, and the queries filter right."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from roadcloud.errors import SettingError, StoreError
from roadcloud.events.model import EventPhase, EventType, RoadEvent
from roadcloud.ingest.registry import StatusChange
from roadcloud.services.model import AdvisoryKind, AdvisoryState
from roadcloud.store import Store, StoreConfig

from .factories import T0_MS, advisory, device, event, snapshot

# -- devices ----------------------------------------------------------------------------------------------


def test_devices_round_trip_and_update_keeps_liveness(store: Store) -> None:
    rsu = device("R0001")
    car = device("V9", kind="vehicle", name=None, lon_deg=None, lat_deg=None, auto_enrolled=True)
    assert store.upsert_devices([rsu, car]) == 2
    store.record_device_status([StatusChange("R0001", True, T0_MS)])
    store.record_last_seen({"R0001": T0_MS + 500})

    renamed = device("R0001", name="renamed", zone="other")
    store.upsert_devices([renamed])

    stored = {item.device.id: item for item in store.devices()}
    assert stored["R0001"].device == renamed
    assert stored["R0001"].online is True  # provisioning data changed, liveness kept
    assert stored["R0001"].status_changed_ms == T0_MS
    assert stored["R0001"].last_seen_ms == T0_MS + 500
    assert stored["V9"].device == car
    assert stored["V9"].online is None and stored["V9"].last_seen_ms is None
    assert [item.device.id for item in store.devices(zone="other")] == ["R0001"]
    assert store.device("nope") is None


def test_device_status_history_and_liveness_only_move_forward(store: Store) -> None:
    store.upsert_devices([device("R0001")])
    changes = [
        StatusChange("R0001", True, T0_MS),
        StatusChange("R0001", False, T0_MS + 15_000),
        StatusChange("R0001", True, T0_MS + 20_000),
    ]
    store.record_device_status(changes[:2] + changes[2:])
    store.record_device_status([StatusChange("R0001", False, T0_MS + 1_000)])  # arrives late
    store.record_last_seen({"R0001": T0_MS + 30_000})
    store.record_last_seen({"R0001": T0_MS + 10_000, "unknown": T0_MS})  # older; unknown id ignored

    current = store.device("R0001")
    assert current is not None
    assert (current.online, current.status_changed_ms, current.last_seen_ms) == (
        True,
        T0_MS + 20_000,
        T0_MS + 30_000,
    )
    history = store.device_status_history("R0001")
    assert [change.at_ms - T0_MS for change in history] == [0, 1_000, 15_000, 20_000]
    assert store.device_status_history("R0001", since_ms=T0_MS + 10_000, until_ms=T0_MS + 16_000) == [
        changes[1]
    ]


def test_removed_device_keeps_its_status_history(store: Store) -> None:
    store.upsert_devices([device("R0001"), device("R0002")])
    store.record_device_status([StatusChange("R0001", True, T0_MS)])
    assert store.remove_devices(["R0001", "never-there"]) == 1
    assert [item.device.id for item in store.devices()] == ["R0002"]
    assert store.device_status_history("R0001") == [StatusChange("R0001", True, T0_MS)]


# -- events -----------------------------------------------------------------------------------------------


def test_event_current_state_and_full_history(store: Store) -> None:
    started = event("E1")
    updated = event("E1", phase=EventPhase.UPDATED, update_ms=T0_MS + 1_000, severity=4, track_ids=[7, 8])
    ended = event("E1", phase=EventPhase.ENDED, update_ms=T0_MS + 5_000, end_ms=T0_MS + 5_000)
    store.record_events([started])
    store.record_events([updated, ended])

    record = store.event("E1")
    assert record is not None
    assert record.current == ended
    assert record.history == (started, updated, ended)
    assert store.event("E2") is None


def test_late_publication_is_history_but_never_overwrites_or_reopens(store: Store) -> None:
    ended = event("E1", phase=EventPhase.ENDED, update_ms=T0_MS + 5_000, end_ms=T0_MS + 5_000)
    late_update = event("E1", phase=EventPhase.UPDATED, update_ms=T0_MS + 1_000)
    same_time_update = event("E1", phase=EventPhase.UPDATED, update_ms=T0_MS + 5_000)
    store.record_events([ended])
    store.record_events([late_update])
    store.record_events([same_time_update])  # same time as the end: the end still wins

    record = store.event("E1")
    assert record is not None
    assert record.current == ended
    assert [item.phase for item in record.history] == [
        EventPhase.ENDED,
        EventPhase.UPDATED,
        EventPhase.UPDATED,
    ]


def test_one_batch_with_many_publications_of_one_event_keeps_the_newest(store: Store) -> None:
    publications = [
        event("E1", phase=EventPhase.UPDATED, update_ms=T0_MS + step * 100, confidence=step / 10)
        for step in range(10)
    ]
    store.record_events(reversed(publications))
    record = store.event("E1")
    assert record is not None
    assert record.current == publications[-1]
    assert len(record.history) == 10


def test_event_without_lane_and_with_non_finite_details_round_trips(store: Store) -> None:
    odd = event("E1", lane_id=None, s_m=math.nan, details={"ttc_s": math.inf, "speed_mps": 3.5}, track_ids=[])
    store.record_events([odd])
    record = store.event("E1")
    assert record is not None
    current = record.current
    assert current.lane_id is None and math.isnan(current.s_m)
    # JSON has no infinity: it comes back as NaN (unknown), the finite value exactly.
    assert math.isnan(current.details["ttc_s"]) and current.details["speed_mps"] == 3.5
    assert current.track_ids == []


@pytest.fixture
def event_scene(store: Store) -> Store:
    """Four events: two active, two ended, of two types, at four places and times."""
    store.record_events(
        [
            event("A", event_type=EventType.WRONG_WAY, start_ms=T0_MS, update_ms=T0_MS, x_m=10.0, y_m=10.0),
            event(
                "B",
                phase=EventPhase.ENDED,
                start_ms=T0_MS + 1_000,
                update_ms=T0_MS + 3_000,
                end_ms=T0_MS + 3_000,
                x_m=500.0,
                y_m=500.0,
            ),
            event("C", start_ms=T0_MS + 10_000, update_ms=T0_MS + 10_000, x_m=20.0, y_m=-5.0),
            event(
                "D",
                event_type=EventType.WRONG_WAY,
                phase=EventPhase.ENDED,
                start_ms=T0_MS + 20_000,
                update_ms=T0_MS + 25_000,
                end_ms=T0_MS + 25_000,
                x_m=1_000.0,
                y_m=0.0,
            ),
        ]
    )
    return store


def _ids(events: Sequence[RoadEvent]) -> list[str]:
    return [item.event_id for item in events]


def test_event_filters(event_scene: Store) -> None:
    store = event_scene
    assert _ids(store.events()) == ["D", "C", "B", "A"]  # newest start first
    assert _ids(store.events(active=True)) == ["C", "A"]
    assert _ids(store.events(active=False)) == ["D", "B"]
    assert _ids(store.events(event_type="wrong_way")) == ["D", "A"]
    assert _ids(store.events(event_type=EventType.STOPPED_VEHICLE, active=False)) == ["B"]
    # Overlap: B lived 1..3 s, A and C are still active, D started at 20 s.
    assert _ids(store.events(since_ms=T0_MS + 2_000, until_ms=T0_MS + 12_000)) == ["C", "B", "A"]
    assert _ids(store.events(since_ms=T0_MS + 4_000)) == ["D", "C", "A"]
    assert _ids(store.events(until_ms=T0_MS + 500)) == ["A"]
    assert _ids(store.events(bbox_m=(0.0, -10.0, 100.0, 10.0))) == ["C", "A"]  # edges included
    assert _ids(store.events(limit=2)) == ["D", "C"]
    assert _ids(store.events(limit=2, offset=2)) == ["B", "A"]
    assert store.count_events() == 4
    assert store.count_events(active=True, bbox_m=(0.0, 0.0, 600.0, 600.0)) == 1


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        ({"limit": 0}, "limit 0"),
        ({"limit": 10_001}, "limit 10001"),
        ({"offset": -1}, "offset -1"),
        ({"since_ms": 2, "until_ms": 1}, "2..1"),
        ({"bbox_m": (1.0, 0.0, 0.0, 1.0)}, "minimum above its maximum"),
        ({"bbox_m": (0.0, 0.0, math.nan, 1.0)}, "non-finite"),
        ({"event_type": "meteor"}, "'meteor' is unknown"),
    ],
)
def test_impossible_event_query_is_one_clear_error(
    sqlite_url: str, arguments: dict[str, object], names: str
) -> None:
    with Store(sqlite_url) as store, pytest.raises(StoreError, match=names):
        store.events(**arguments)  # type: ignore[arg-type]


# -- advisories -------------------------------------------------------------------------------------------


def test_advisory_life_with_first_sent_time_and_history(store: Store) -> None:
    active = advisory("A1", sent_ms=T0_MS)
    updated = advisory("A1", state=AdvisoryState.UPDATED, sent_ms=T0_MS + 2_000, vehicle_ids=["V3"])
    cancelled = advisory(
        "A1", state=AdvisoryState.CANCELLED, sent_ms=T0_MS + 9_000, cancelled_ms=T0_MS + 9_000, vehicle_ids=[]
    )
    store.record_advisories([active, updated])
    store.record_advisories([cancelled])
    store.record_advisories([updated])  # a late duplicate: history only

    record = store.advisory("A1")
    assert record is not None
    assert record.current == cancelled
    assert record.first_sent_ms == T0_MS
    assert record.history == (active, updated, cancelled, updated)
    assert store.advisory("nope") is None


def test_advisory_filters(store: Store) -> None:
    store.record_advisories(
        [
            advisory("A1", event_id="E1", sent_ms=T0_MS),
            advisory(
                "A2",
                event_id="E2",
                state=AdvisoryState.CANCELLED,
                sent_ms=T0_MS + 5_000,
                cancelled_ms=T0_MS + 5_000,
            ),
            advisory("S1", kind=AdvisoryKind.SPEED_ADVICE, event_id=None, sent_ms=T0_MS + 10_000),
        ]
    )
    store.record_advisories(
        [advisory("A2", event_id="E2", sent_ms=T0_MS + 1_000)]
    )  # A2's first sending, late

    def ids(**filters: object) -> list[str]:
        return [item.advisory_id for item in store.advisories(**filters)]  # type: ignore[arg-type]

    assert ids() == ["S1", "A2", "A1"]
    assert ids(active=True) == ["S1", "A1"]
    assert ids(active=False) == ["A2"]
    assert ids(kind="speed_advice") == ["S1"]
    assert ids(event_id="E2") == ["A2"]
    assert ids(since_ms=T0_MS + 6_000) == ["S1", "A1"]  # A2 was cancelled at 5 s
    assert ids(until_ms=T0_MS + 2_000) == ["A2", "A1"]  # A2 first sent at 1 s
    assert ids(limit=1, offset=1) == ["A2"]
    assert store.count_advisories(active=True) == 2
    with pytest.raises(StoreError, match="advisory kind 'x' is unknown"):
        store.advisories(kind="x")


# -- tracks -----------------------------------------------------------------------------------------------


def test_track_points_round_trip_with_and_without_lanes(store: Store) -> None:
    first = snapshot(T0_MS, [1, 2], lane_ids=["e1_0", None], s_m=[12.5, math.nan])
    second = snapshot(T0_MS + 1_000, [1, 2])  # no lane matching at all
    assert store.record_tracks([first, second]) == 4

    one = store.track_history(1)
    assert one.time_ms.tolist() == [T0_MS, T0_MS + 1_000]
    assert one.track_id.tolist() == [1, 1]
    assert one.x_m.tolist() == [10.0, 10.0]
    assert one.speed_mps.tolist() == [10.0, 10.0] and one.heading_deg.tolist() == [90.0, 90.0]
    assert one.kind.tolist() == [1, 1]
    assert one.lane_id.tolist() == ["e1_0", None]
    assert one.s_m[0] == 12.5 and math.isnan(one.s_m[1])
    assert len(store.track_history(1, since_ms=T0_MS + 1, until_ms=T0_MS + 1_000)) == 1
    assert len(store.track_history(99)) == 0


def test_tracks_in_area_over_a_time_range(store: Store) -> None:
    store.record_tracks(
        [
            snapshot(T0_MS + step * 1_000, [1, 2, 3], x_m=[0.0, 50.0, 500.0], y_m=[0.0, 50.0, 0.0])
            for step in range(5)
        ]
    )
    area = store.tracks_in_area((-1.0, -1.0, 100.0, 100.0), since_ms=T0_MS + 1_000, until_ms=T0_MS + 2_000)
    assert area.track_id.tolist() == [1, 2, 1, 2]  # by time, then track
    assert area.time_ms.tolist() == [T0_MS + 1_000] * 2 + [T0_MS + 2_000] * 2
    limited = store.tracks_in_area((-1.0, -1.0, 1e4, 1e4), since_ms=T0_MS, until_ms=T0_MS + 10_000, limit=4)
    assert len(limited) == 4 and limited.time_ms.max() == T0_MS + 1_000
    with pytest.raises(StoreError, match="ends before it starts"):
        store.tracks_in_area((0.0, 0.0, 1.0, 1.0), since_ms=2, until_ms=1)


def test_track_rows_that_cannot_be_positions_are_skipped(store: Store) -> None:
    bad = snapshot(T0_MS, [1, 2, 3], x_m=[1.0, math.nan, 3.0], y_m=[1.0, 2.0, math.inf])
    assert store.record_tracks([bad]) == 1
    assert store.track_history(1).x_m.tolist() == [1.0]


def test_retention_deletes_only_tracks_older_than_the_setting(store_url: str) -> None:
    with Store(store_url, config=StoreConfig(track_retention_h=1.0)) as store:
        store.record_tracks([snapshot(T0_MS + minute * 60_000, [1]) for minute in range(0, 121, 30)])
        store.record_events([event("E1", start_ms=T0_MS, update_ms=T0_MS)])
        deleted = store.apply_retention(T0_MS + 120 * 60_000)
        assert deleted == 2  # at 0 and 30 min; 60 min is exactly one hour old and stays
        assert ((store.track_history(1).time_ms - T0_MS) // 60_000).tolist() == [60, 90, 120]
        assert store.event("E1") is not None  # events are never subject to retention


def test_store_config_refuses_impossible_retention() -> None:
    for hours in (0.0, -1.0, math.nan):
        with pytest.raises(SettingError, match="retention"):
            StoreConfig(track_retention_h=hours)


def test_row_counts_and_transaction_all_or_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.record_events([event("E1")])
        tx.record_tracks([snapshot(T0_MS, [1, 2])])
        raise RuntimeError("the caller failed half-way")
    assert set(store.row_counts().values()) == {0}
    with store.transaction() as tx:
        tx.record_events([event("E1")])
        tx.record_tracks([snapshot(T0_MS, np.arange(5).tolist())])
    counts = store.row_counts()
    assert (counts["events"], counts["event_history"], counts["track_points"]) == (1, 1, 5)
