"""Detections.from_rsms gives, row for row, what from_rsm gives message by message."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from roadcloud.fusion import Detections, concatenate

from .scenario import GEO, START_MS, Mover, rsm_message


def test_batch_conversion_equals_one_by_one_including_minute_wrap() -> None:
    movers = [Mover("a", (10.0, 5.0), (3.0, 4.0)), Mover("b", (-40.0, 2.0), (0.0, -7.0))]
    rsms = [
        rsm_message(
            "R1", xy_m=[(10.0, 5.0), (-40.0, 2.0)], movers=movers, object_ids=[1, 2], sender_ms=START_MS
        ),
        rsm_message("R2", xy_m=[(11.0, 5.5)], movers=movers[:1], object_ids=[9], sender_ms=START_MS + 59_990),
    ]
    # the second arrives just after a minute boundary of the receiver: its secMark belongs to the last minute
    arrival = np.array([START_MS + 40, START_MS + 60_030], dtype=np.int64)
    sources = np.array([3, 4], dtype=np.int64)
    batch = Detections.from_rsms(rsms, geo=GEO, reference_ms=arrival, source_index=sources)
    single = concatenate(
        [
            Detections.from_rsm(rsm, geo=GEO, reference_ms=int(ms), source_index=int(src))
            for rsm, ms, src in zip(rsms, arrival, sources, strict=True)
        ]
    )
    for f in fields(Detections):
        assert np.array_equal(getattr(batch, f.name), getattr(single, f.name)), f.name
    assert len(Detections.from_rsms([], geo=GEO, reference_ms=arrival[:0], source_index=sources[:0])) == 0
