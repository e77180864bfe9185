"""Fuse a recorded twin run: the recording in delivery order through ``FusionEngine``, 10 Hz snapshots out.

Messages are fed by delivery time; before the first message delivered after a tick time N, the engine
ticks at N. The snapshot of tick N refers to T = N - the engine's latency budget then (a multiple of
100 ms, like the twin's truth times; ``published_ms`` = N) and holds every track's state estimated AT T
from data measured up to T. The budget adapts to the delay of the data; while it grows, consecutive
snapshots repeat one time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec

from roadcloud.fusion.config import FusionConfig
from roadcloud.fusion.engine import FusionEngine
from roadcloud.fusion.lanes import LaneMatching
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.twin.manifest import Manifest

FUSED_MESSAGES = frozenset({"rsm", "bsm"})


def fuse_recording(
    path: Path, config: FusionConfig | None = None, *, lane_matcher: LaneMatching | None = None
) -> Iterator[LdmSnapshot]:
    """One snapshot per 100 ms from the first delivery to the last delivery plus the budget.

    Snapshot ``time_ms`` = tick − the latency budget: a multiple of 100 ms, equal to the twin's truth
    times, holding every track's state estimated AT that time from data measured up to it.
    """
    # imported here: the recording module sits beside the SUMO runtime, which fusion itself never needs
    from roadcloud.twin.recording import read_header, read_recording

    header = read_header(path)
    config = config or FusionConfig()
    engine = FusionEngine(config, header.geo(), lane_matcher=lane_matcher)
    register_units(engine, header.manifest_toml)
    step = config.step_ms
    next_tick: int | None = None
    last_delivery = 0
    for emission in read_recording(path):
        if next_tick is None:
            next_tick = -(-emission.delivery_ms // step) * step
        while emission.delivery_ms > next_tick:
            yield engine.tick(next_tick)
            next_tick += step
        last_delivery = emission.delivery_ms
        name = emission.topic.rsplit("/", 2)[-2]
        if name in FUSED_MESSAGES:
            engine.add(emission.topic, emission.payload, emission.delivery_ms)
    if next_tick is None:
        return
    while next_tick <= last_delivery + engine.latency_budget_ms + step:
        yield engine.tick(next_tick)
        next_tick += step


def register_units(engine: FusionEngine, manifest_toml: str) -> list[int]:
    """Register the manifest's roadside units in manifest order, so source indices are stable; returns
    their indices."""
    manifest = msgspec.toml.decode(manifest_toml, type=Manifest)
    return [engine.source_index(f"rsu/{unit.id}") for unit in manifest.rsu]
