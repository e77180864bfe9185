"""What of each live frame is kept: the bridge from the cloud pipeline's frames to the ``StoreWriter``.

A frame listener (it runs on the pipeline's thread and only queues): every event publication, every road
event advisory publication, device status changes, and the tracks (the writer downsamples them).
Sensor-sharing and speed-advice downlinks go to vehicles many times a second; they are counted in the
metrics, not stored one by one.
"""

from __future__ import annotations

from collections.abc import Callable

from roadcloud.cloud.frame import LiveFrame
from roadcloud.cloud.pipeline import CloudPipeline
from roadcloud.services.model import AdvisoryKind
from roadcloud.store.writer import StoreWriter


class FrameRecorder:
    """``attach`` it to a pipeline; ``detach`` (or the writer's ``close``) ends the recording."""

    def __init__(self, writer: StoreWriter) -> None:
        self.writer = writer
        self._detach: Callable[[], None] | None = None

    def attach(self, pipeline: CloudPipeline) -> None:
        """Store the zone's devices as they are now, then every frame from the next tick on."""
        self.writer.submit_devices(state.device for state in pipeline.devices())
        self._detach = pipeline.add_frame_listener(self.on_frame)

    def detach(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None

    def on_frame(self, frame: LiveFrame) -> None:
        if frame.event_changes:
            self.writer.submit_events(frame.event_changes)
        road_event_advisories = [
            advisory for advisory in frame.advisory_changes if advisory.kind == AdvisoryKind.ROAD_EVENT
        ]
        if road_event_advisories:
            self.writer.submit_advisories(road_event_advisories)
        if frame.device_changes:
            self.writer.submit_device_status(frame.device_changes)
        self.writer.submit_snapshot(frame.snapshot)
