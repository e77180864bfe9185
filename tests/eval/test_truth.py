"""Only what the system could see is scored: roadside coverage or a connected vehicle."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roadcloud.eval.truth import (
    ActorNumbers,
    manifest_of,
    observable,
    roadside_units,
    truth_frame,
    truth_frames,
)
from roadcloud.messages.truth import ActorKind, GroundTruth
from roadcloud.twin.recording import read_header
from roadcloud.twin.sensors import RoadsideUnits

UNITS = RoadsideUnits(
    x_m=np.array([0.0, 1000.0]),
    y_m=np.array([0.0, 0.0]),
    range_m=np.array([100.0, 100.0]),
    fov_deg=np.array([360.0, 90.0]),
    facing_deg=np.array([0.0, 0.0]),  # the second unit looks north only
)


def test_observable_is_coverage_or_connected() -> None:
    x_m = np.array([50.0, 150.0, 150.0, 1000.0, 1000.0])
    y_m = np.array([0.0, 0.0, 0.0, 50.0, -50.0])
    connected = np.array([False, False, True, False, False])
    # in range; out of range; out of range but connected; in the sector; behind the sector.
    assert observable(UNITS, x_m, y_m, connected).tolist() == [True, False, True, True, False]


def test_truth_frame_drops_actors_out_of_sight_and_keeps_ids_stable() -> None:
    def truth(time_ms: int, x_m: list[float]) -> GroundTruth:
        count = len(x_m)
        return GroundTruth(
            time_ms=time_ms,
            actor_ids=["a", "b", "c"][:count],
            kinds=[ActorKind.CAR] * count,
            x_m=x_m,
            y_m=[0.0] * count,
            speed_mps=[10.0] * count,
            heading_deg=[90.0] * count,
            length_m=[4.5] * count,
            width_m=[1.8] * count,
            lane_ids=["e_0"] * count,
            connected=[False] * count,
        )

    numbers = ActorNumbers()
    first = truth_frame(truth(100, [10.0, 500.0, 20.0]), UNITS, numbers)
    assert first.actor_id.tolist() == [0, 2] and first.x_m.tolist() == [10.0, 20.0]
    second = truth_frame(truth(200, [30.0, 40.0]), UNITS, numbers)
    assert second.actor_id.tolist() == [0, 1]  # "b" came into sight: its number was given at first sight
    assert second.kind.tolist() == [int(ActorKind.CAR)] * 2


def test_truth_frames_of_a_recording_are_observable_and_on_the_grid(tiny_recording: Path) -> None:
    header = read_header(tiny_recording)
    units = roadside_units(manifest_of(header, tiny_recording))
    frames = truth_frames(tiny_recording)
    assert len(frames) >= 150
    times = [frame.time_ms for frame in frames]
    assert times == sorted(times)
    assert all((t - header.start_epoch_ms) % 100 == 0 for t in times)
    assert sum(len(frame) for frame in frames) > 0
    for frame in frames[::20]:
        assert observable(units, frame.x_m, frame.y_m, frame.connected).all()
