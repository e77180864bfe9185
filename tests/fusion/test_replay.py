"""fuse_recording on a short real twin run: snapshot times on the truth grid, tracks close to the truth."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from roadcloud.eval.truth import truth_frames
from roadcloud.fusion import FusionConfig, fuse_recording
from roadcloud.messages.truth import GroundTruth
from roadcloud.twin.generator import GridSettings, ZoneSettings, new_zone
from roadcloud.twin.recording import RecordingHeader, RecordingWriter, read_recording
from roadcloud.twin.runtime import Twin

TINY_ZONE = ZoneSettings(
    name="fusezone",
    grid=GridSettings(columns=2, rows=2, lanes=1, block_x_m=200.0, block_y_m=200.0),
    vehicles_per_hour=1800.0,
    pedestrians_per_hour=200.0,
    connected_share=0.5,
    duration_s=30.0,
    seed=3,
)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fusion")
    new_zone(folder / "zone", TINY_ZONE)
    twin = Twin(folder / "zone", duration_s=25.0)
    path = folder / "run.rcrec"
    header = RecordingHeader(
        zone=twin.zone,
        start_epoch_ms=twin.start_epoch_ms,
        manifest_toml=(twin.folder / "zone.toml").read_text(),
        geo_proj=twin.road_map.geo.proj or "",
        geo_offset_m=twin.road_map.geo.net_offset_m,
    )
    with RecordingWriter(path, header) as writer:
        for step in twin.run():
            for emission in step:
                writer.write(emission)
    return path


def test_snapshots_sit_on_the_truth_grid_and_match_the_truth(recording: Path) -> None:
    decoder = msgspec.json.Decoder(GroundTruth)
    truth_times = {
        decoder.decode(e.payload).time_ms for e in read_recording(recording) if "/twin/truth/" in e.topic
    }
    # scored against the observable truth: actors in some unit's view or connected (what fusion could know)
    observable = {frame.time_ms: frame for frame in truth_frames(recording)}
    snapshots = list(fuse_recording(recording, FusionConfig()))
    assert all(s.time_ms % 100 == 0 for s in snapshots)
    assert len({s.time_ms for s in snapshots}) == len(snapshots)
    assert {s.time_ms for s in snapshots} & truth_times
    matched = actors = 0
    errors: list[float] = []
    first = min(truth_times)
    for snapshot in snapshots:
        frame = observable.get(snapshot.time_ms)
        if frame is None or snapshot.time_ms < first + 3000 or len(frame.actor_id) == 0:
            continue
        distance = np.hypot(
            snapshot.x_m[:, np.newaxis] - np.asarray(frame.x_m),
            snapshot.y_m[:, np.newaxis] - np.asarray(frame.y_m),
        )
        rows, cols = linear_sum_assignment(np.where(distance <= 2.0, distance, 1e6))
        good = distance[rows, cols] <= 2.0
        matched += int(good.sum())
        actors += len(frame.actor_id)
        errors.extend(distance[rows, cols][good].tolist())
    assert actors > 100
    assert matched / actors > 0.95
    assert float(np.median(errors)) < 0.3
