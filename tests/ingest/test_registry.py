"""The device registry: provisioning rules, online/offline with an injected clock, rates, the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from roadcloud.errors import InputError, SettingError
from roadcloud.ingest import (
    Device,
    DeviceRegistry,
    RegistryConfig,
    StatusChange,
    load_registry,
    save_registry,
)
from roadcloud.ingest.rates import RateWindow
from roadcloud.messages import DeviceKind, DeviceStatus

from .factories import NOW_MS, ZONE, registry

T0 = NOW_MS


def test_provision_get_list_remove() -> None:
    devices = registry()
    assert len(devices) == 4 and "R1" in devices
    assert [device.id for device in devices.devices()] == ["C1", "R1", "S1", "V1"]
    rsu = devices.get("R1")
    assert rsu == Device(
        id="R1",
        kind=DeviceKind.RSU,
        zone=ZONE,
        provisioned_at_ms=0,
        name="Kechuang 6th St",
        lon_deg=116.5,
        lat_deg=39.79,
    )
    assert devices.remove("R1") == rsu
    assert "R1" not in devices and devices.get("R1") is None and devices.state("R1", T0) is None


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda d: d.provision("R1", kind="rsu", zone=ZONE), "already provisioned"),
        (lambda d: d.provision("R9", kind="drone", zone=ZONE), "kind 'drone' is unknown"),
        (lambda d: d.provision("R 9", kind="rsu", zone=ZONE), "device id 'R 9' cannot be used in topics"),
        (lambda d: d.provision("R9", kind="rsu", zone="a/b"), "zone 'a/b' cannot be used in topics"),
        (lambda d: d.provision("R9", kind="rsu", zone=ZONE, lon_deg=116.0), "give both or neither"),
        (lambda d: d.provision("R9", kind="rsu", zone=ZONE, lon_deg=116.0, lat_deg=91.0), "latitude 91.0"),
        (lambda d: d.provision("R9", kind="rsu", zone=ZONE, lon_deg=181.0, lat_deg=9.0), "longitude 181.0"),
        (lambda d: d.remove("R404"), "'R404' is not provisioned"),
    ],
)
def test_provisioning_mistakes_name_the_value_and_the_fix(
    call: Callable[[DeviceRegistry], object], fragment: str
) -> None:
    devices = registry()
    with pytest.raises(InputError, match=fragment):
        call(devices)
    assert len(devices) == 4


def test_online_after_any_message_offline_after_three_heartbeat_periods() -> None:
    devices = registry(RegistryConfig(heartbeat_period_ms=1_000, offline_after_periods=3))
    assert not devices.is_online("R1", T0)  # never heard from
    devices.record("R1", "rsm", T0)  # any message proves life, not only heartbeats
    assert devices.is_online("R1", T0)
    assert devices.is_online("R1", T0 + 3_000)
    assert not devices.is_online("R1", T0 + 3_001)
    devices.record("R1", "heartbeat", T0 + 4_000, status=DeviceStatus.FAULT)
    assert devices.is_online("R1", T0 + 4_000)
    state = devices.state("R1", T0 + 4_000)
    assert state is not None and state.status == DeviceStatus.FAULT and state.last_heartbeat_ms == T0 + 4_000
    assert devices.online_count(T0 + 4_000) == 1
    assert not devices.record("R404", "rsm", T0)  # unknown devices are not recorded


def test_counts_by_kind_leave_vehicles_out_of_the_roadside_headline() -> None:
    devices = registry(RegistryConfig(heartbeat_period_ms=1_000, offline_after_periods=3))
    devices.record("R1", "rsm", T0)
    devices.record("V1", "bsm", T0)
    roadside = (DeviceKind.RSU, DeviceKind.SIGNAL, DeviceKind.SENSOR)
    assert devices.count(kinds=roadside) == len(devices) - 1
    assert devices.online_count(T0, kinds=roadside) == 1
    assert devices.online_count(T0, kinds=(DeviceKind.VEHICLE,)) == 1
    assert devices.online_count(T0 + 10_000, kinds=(DeviceKind.VEHICLE,)) == 0


def test_sweep_reports_each_transition_once() -> None:
    devices = registry(RegistryConfig(heartbeat_period_ms=1_000, offline_after_periods=3))
    assert devices.sweep(T0) == []
    devices.record("R1", "heartbeat", T0, status=DeviceStatus.OK)
    devices.record("S1", "spat", T0 + 500)
    assert devices.sweep(T0 + 500) == [StatusChange("R1", True, T0), StatusChange("S1", True, T0 + 500)]
    assert devices.sweep(T0 + 1_000) == []
    assert devices.sweep(T0 + 3_001) == [StatusChange("R1", False, T0 + 3_000)]
    assert devices.sweep(T0 + 3_600) == [StatusChange("S1", False, T0 + 3_500)]
    assert devices.sweep(T0 + 10_000) == []
    devices.record("R1", "heartbeat", T0 + 10_000, status=DeviceStatus.OK)
    assert devices.sweep(T0 + 10_000) == [StatusChange("R1", True, T0 + 10_000)]


def test_rates_per_device_and_message_type_over_a_sliding_window() -> None:
    devices = registry(RegistryConfig(rate_window_ms=10_000, rate_bucket_ms=1_000))
    # 20 s of RSM at 10 Hz and heartbeats at 1 Hz.
    for n in range(200):
        devices.record("R1", "rsm", T0 + 100 * n)
        if n % 10 == 0:
            devices.record("R1", "heartbeat", T0 + 100 * n, status=DeviceStatus.OK)
    state = devices.state("R1", T0 + 19_950)
    assert state is not None
    assert state.rates_hz["rsm"] == pytest.approx(10.0, rel=0.05)
    assert state.rates_hz["heartbeat"] == pytest.approx(1.0, rel=0.15)
    assert state.message_counts == {"rsm": 200, "heartbeat": 20}
    # The window slides: half a window of silence halves the rate, a whole window zeroes it.
    half = devices.state("R1", T0 + 24_950)
    assert half is not None and half.rates_hz["rsm"] == pytest.approx(5.0, rel=0.1)
    silent = devices.state("R1", T0 + 31_000)
    assert silent is not None and silent.rates_hz["rsm"] == 0.0
    assert silent.message_counts["rsm"] == 200


def test_a_new_stream_reads_its_rate_at_once() -> None:
    window = RateWindow(window_ms=10_000, bucket_ms=1_000)
    for n in range(20):  # 2 s at 10 Hz
        window.add(T0 + 100 * n)
    assert window.rate_hz(T0 + 1_999) == pytest.approx(10.0, rel=0.05)


def test_rate_window_survives_a_clock_step_backwards() -> None:
    window = RateWindow(window_ms=10_000, bucket_ms=1_000)
    window.add(T0 + 5_000)
    window.add(T0)  # counted into the newest bucket
    assert window.rate_hz(T0 + 5_000) > 0
    assert window.rate_hz(T0) > 0  # a reading from before the newest bucket does not crash either


@pytest.mark.parametrize(
    "config",
    [
        {"heartbeat_period_ms": 0},
        {"offline_after_periods": 0},
        {"rate_window_ms": 1_500, "rate_bucket_ms": 1_000},
        {"rate_bucket_ms": 0},
        {"max_auto_enrolled": -1},
    ],
)
def test_impossible_settings_are_refused(config: dict[str, int]) -> None:
    with pytest.raises(SettingError):
        RegistryConfig(**config)


def test_auto_enrolment_is_bounded() -> None:
    devices = DeviceRegistry(config=RegistryConfig(max_auto_enrolled=2))
    assert devices.enroll_vehicle("V1", zone=ZONE, now_ms=T0) is not None
    assert devices.enroll_vehicle("V2", zone=ZONE, now_ms=T0) is not None
    assert devices.enroll_vehicle("V3", zone=ZONE, now_ms=T0) is None
    devices.remove("V1")
    assert devices.enroll_vehicle("V3", zone=ZONE, now_ms=T0) is not None


def test_registry_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "devices.json"
    devices = registry()
    devices.enroll_vehicle("V9", zone=ZONE, now_ms=T0)
    save_registry(path, devices)
    assert load_registry(path).devices() == devices.devices()
    assert [p.name for p in path.parent.iterdir()] == ["devices.json"]  # no temporary files left
    assert b'"format": "roadcloud-devices"' in path.read_bytes()


def test_missing_registry_file_is_an_empty_registry(tmp_path: Path) -> None:
    assert len(load_registry(tmp_path / "none.json")) == 0


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not a roadcloud device file"),
        (b'{"format": "other"}', "not a roadcloud device file"),
        (
            b'{"devices": [{"id": "R1", "kind": "drone", "zone": "z", "provisionedAtMs": 0}]}',
            "not a roadcloud",
        ),
        (
            b'{"devices": [{"id": "R1", "kind": "rsu", "zone": "z", "provisioned_at_ms": 0},'
            b' {"id": "R1", "kind": "rsu", "zone": "z", "provisioned_at_ms": 0}]}',
            "already provisioned",
        ),
    ],
)
def test_broken_registry_files_name_the_path(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "devices.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=fragment) as caught:
        load_registry(path)
    assert str(path) in str(caught.value)
