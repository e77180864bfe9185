"""Batch conversion: from_rsms row for row as from_rsm, the vectorised rules as the scalar ones, and the
chunked buffer as one conversion."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from roadcloud.fusion import Detections, actor_kind, concatenate
from roadcloud.fusion.detections import DetectionBuffer, _temporary_id, actor_kinds, temporary_ids
from roadcloud.messages import BasicVehicleClass, ParticipantType

from .scenario import GEO, START_MS, Mover, bsm_message, rsm_message


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


def test_vectorised_kinds_and_ids_agree_with_the_scalar_rules() -> None:
    types = [int(t) for t in ParticipantType]
    classes = [-1, *range(0, 256, 5), *(int(c) for c in BasicVehicleClass)]
    ptc, cls = np.meshgrid(np.array(types), np.array(classes))
    expected = [
        actor_kind(int(p), None if c < 0 else int(c)) for p, c in zip(ptc.ravel(), cls.ravel(), strict=True)
    ]
    assert actor_kinds(ptc.ravel(), cls.ravel()).tolist() == [int(k) for k in expected]
    ids = [
        "00a1b2c3d4e5f607",
        "FFFFFFFFFFFFFFFF",
        "8000000000000000",
        "7fffffffffffffff",
        "abc",
        "0x1f",
        "1_f",
    ]
    ids += ["not hex", "é1", "0"]
    assert temporary_ids(ids).tolist() == [_temporary_id(text) for text in ids]


def test_the_buffer_converts_in_chunks_what_one_batch_conversion_gives() -> None:
    movers = [Mover(f"m{i}", (10.0 * i, 2.0), (3.0, 0.0)) for i in range(3)]
    rsms = [
        rsm_message(
            "R1",
            xy_m=[m.position(START_MS + k) for m in movers],
            movers=movers,
            object_ids=[1, 2, 3],
            sender_ms=START_MS + k,
        )
        for k in range(0, 1000, 100)
    ]
    bsms = [bsm_message(m, xy_m=m.position(START_MS), measured_ms=START_MS) for m in movers]
    arrival = np.arange(len(rsms), dtype=np.int64) + START_MS + 50
    buffer = DetectionBuffer(GEO, chunk=3)
    for rsm, ms in zip(rsms, arrival.tolist(), strict=True):
        buffer.add_rsm(rsm, ms, 4)
    for bsm in bsms:
        buffer.add_bsm(bsm, START_MS + 60, 0)
    expected = concatenate(
        [
            Detections.from_rsms(rsms, geo=GEO, reference_ms=arrival, source_index=np.full(len(rsms), 4)),
            Detections.from_bsms(bsms, geo=GEO, reference_ms=START_MS + 60, source_index=0),
        ]
    )
    got = buffer.take()
    for f in fields(Detections):
        assert np.array_equal(getattr(got, f.name), getattr(expected, f.name)), f.name
    assert len(buffer.take()) == 0
