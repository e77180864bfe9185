"""The cloud pipeline end to end in one process: a short twin run → in-process bus → ingest → fusion →
events → services → downlink, with frames out."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from roadcloud.bus import connect_bus
from roadcloud.bus.topics import field_filters, zone_filter
from roadcloud.cloud import CloudPipeline, LiveFrame, ZoneSite, provisioned_registry
from roadcloud.twin.commands import run_twin
from roadcloud.twin.generator import GridSettings, ZoneSettings, new_zone
from roadcloud.twin.runtime import Twin

PIPELINE_ZONE = ZoneSettings(
    name="cloudzone",
    grid=GridSettings(columns=3, rows=2, lanes=2, block_x_m=200.0, block_y_m=200.0),
    vehicles_per_hour=2400.0,
    pedestrians_per_hour=300.0,
    bicycles_per_hour=100.0,
    connected_share=0.5,
    duration_s=60.0,
    seed=5,
)
RUN_S = 40.0


@pytest.fixture(scope="module")
def zone_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cloud")
    with contextlib.chdir(folder):
        new_zone(folder / "zone", PIPELINE_ZONE)
    return folder / "zone"


@pytest.fixture(scope="module")
def played(zone_dir: Path) -> tuple[CloudPipeline, list[LiveFrame], list[str]]:
    """Twin → bus → pipeline for RUN_S seconds, ticking on twin time; frames and downlink topics kept."""
    site = ZoneSite.from_zone_dir(zone_dir)
    twin = Twin(zone_dir, duration_s=RUN_S)
    now_ms = [twin.start_epoch_ms]
    frames: list[LiveFrame] = []
    downlink: list[str] = []
    with connect_bus("inproc://") as bus:
        pipeline = CloudPipeline(
            site,
            registry=provisioned_registry(site, provisioned_at_ms=twin.start_epoch_ms),
            clock_ms=lambda: now_ms[0],
            publish=bus.publish,
        )
        for topic_filter in field_filters(site.zone):
            bus.subscribe(topic_filter, pipeline.handle)
        bus.subscribe(zone_filter(site.zone, direction="down"), lambda topic, _: downlink.append(topic))
        pipeline.add_frame_listener(frames.append)

        def step(epoch_ms: int) -> None:
            now_ms[0] = epoch_ms
            pipeline.tick(epoch_ms)

        run_twin(twin, publish=bus.publish, on_step=step, quiet=True, out=io.StringIO())
    return pipeline, frames, downlink


def test_every_twin_step_gives_one_frame_and_the_map_moves_on_the_100_ms_grid(
    played: tuple[CloudPipeline, list[LiveFrame], list[str]],
) -> None:
    pipeline, frames, _ = played
    times = np.array([frame.time_ms for frame in frames])
    ticks = np.array([frame.tick_ms for frame in frames])
    assert len(frames) == pytest.approx(RUN_S * 10, abs=2)
    assert np.all(np.diff(ticks) == 100)
    assert np.all(times % 100 == 0) and np.all(np.diff(times) >= 0)
    assert np.all(ticks - times <= 1_000)  # the map is never more than its maximum budget behind
    assert pipeline.latest() is frames[-1]


def test_the_live_map_tracks_the_zone_and_stats_count_what_came_in(
    played: tuple[CloudPipeline, list[LiveFrame], list[str]],
) -> None:
    _, frames, _ = played
    last = frames[-1]
    assert len(last.snapshot) > 20
    assert last.stats.tracks == len(last.snapshot)
    assert last.stats.messages_in["rsm"] > 1000 and last.stats.messages_in["bsm"] > 1000
    assert last.stats.messages_per_s > 100
    assert last.stats.devices_online >= last.stats.devices_total // 2
    assert last.stats.ldm_age_ms == last.tick_ms - last.time_ms > 0
    assert last.stats.tick_latency_p99_ms > 0


def test_signal_heads_show_the_lights_of_every_controller(
    played: tuple[CloudPipeline, list[LiveFrame], list[str]],
) -> None:
    pipeline, frames, _ = played
    heads = frames[-1].signals
    controllers = [c for c in pipeline.site.road_map.signal_controllers.values() if c.phases and c.groups]
    assert len(heads) == len(controllers)
    lights = {group.light.name for head in heads for group in head.groups}
    assert lights & {"PROTECTED_GREEN", "PERMISSIVE_GREEN"} and "RED" in lights


def test_connected_vehicles_get_sensor_sharing_or_advice_down_the_bus(
    played: tuple[CloudPipeline, list[LiveFrame], list[str]],
) -> None:
    _, frames, downlink = played
    assert downlink, "the pipeline published nothing down"
    assert all("/down" in topic for topic in downlink)
    assert sum(frames[-1].stats.downlink_out.values()) == len(downlink)


def test_a_provisioned_device_is_listed_and_can_be_removed(
    played: tuple[CloudPipeline, list[LiveFrame], list[str]],
) -> None:
    pipeline, _, _ = played
    pipeline.provision("R9999", kind="rsu", name="test unit", lon_deg=116.5, lat_deg=39.8)
    assert pipeline.device("R9999") is not None
    assert any(state.device.id == "R9999" for state in pipeline.devices())
    assert pipeline.remove_device("R9999") and pipeline.device("R9999") is None
    assert not pipeline.remove_device("R9999")
