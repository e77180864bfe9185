"""The cloud side in one place (#6): ``CloudPipeline`` wires ingest → fusion → events → services and
publishes a ``LiveFrame`` every 100 ms for the API, the dashboard and storage; ``LiveRunner`` drives it from
a live bus on the wall clock; ``ZoneSite`` is what it knows of its zone before the first message.
"""

from roadcloud.cloud.frame import LiveFrame, PipelineStats, SignalGroupState, SignalHeadState
from roadcloud.cloud.pipeline import CloudConfig, CloudPipeline
from roadcloud.cloud.runner import LiveRunner, wall_clock_ms
from roadcloud.cloud.site import ZoneSite, provisioned_registry

__all__ = [
    "CloudConfig",
    "CloudPipeline",
    "LiveFrame",
    "LiveRunner",
    "PipelineStats",
    "SignalGroupState",
    "SignalHeadState",
    "ZoneSite",
    "provisioned_registry",
    "wall_clock_ms",
]
