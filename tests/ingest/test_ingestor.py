"""The ingestor: valid messages in, every drop reason produced by a constructed bad message, never a raise."""

from __future__ import annotations

import logging

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roadcloud.bus.topics import Topic, topic
from roadcloud.ingest import DeviceRegistry, DropReason, Ingestor
from roadcloud.ingest.timing import measured_span_ms
from roadcloud.messages import DeviceKind, DeviceStatus, Heartbeat, Message
from roadcloud.messages.json_codec import MAX_PAYLOAD_BYTES, encode
from roadcloud.messages.units import resolve_sec_mark

from .factories import (
    NOW_MS,
    ZONE,
    FakeClock,
    bsm,
    heartbeat,
    participant,
    registry,
    rsm,
    valid_messages,
)

RSM_TOPIC = topic(ZONE, "rsu", "R1", "rsm")
BSM_TOPIC = topic(ZONE, "vehicle", "V1", "bsm")
HEARTBEAT_TOPIC = topic(ZONE, "rsu", "R1", "heartbeat")


def make_ingestor(**options: object) -> tuple[Ingestor, FakeClock, DeviceRegistry]:
    clock = FakeClock()
    devices = registry()
    return Ingestor(devices, clock_ms=clock, **options), clock, devices  # type: ignore[arg-type]


def with_field(message: Message, **changes: object) -> bytes:
    """The message's JSON with some wire fields replaced (names as on the wire)."""
    document = msgspec.json.decode(encode(message))
    document.update(changes)
    return msgspec.json.encode(document)


def test_every_valid_message_kind_is_accepted_and_recorded() -> None:
    downstream: list[tuple[Topic, Message]] = []
    ingestor, _, devices = make_ingestor(downstream=[lambda t, m: downstream.append((t, m))])
    for topic_name, message in valid_messages():
        assert ingestor.handle(topic_name, encode(message)) == message
    stats = ingestor.stats()
    assert stats.accepted == {
        name: 1 for name in ("rsm", "bsm", "spat", "map", "rsi", "heartbeat", "condition", "truth")
    }
    assert stats.dropped_total == 0
    assert [t.message for t, _ in downstream] == [name for name in stats.accepted]
    assert downstream[0][0] == Topic(ZONE, "rsu", "R1", "rsm", "up")
    rsu = devices.state("R1", NOW_MS)
    assert rsu is not None and rsu.online and rsu.last_seen_ms == NOW_MS
    assert rsu.message_counts == {"rsm": 1, "rsi": 1, "heartbeat": 1}
    assert rsu.status == DeviceStatus.OK and rsu.last_heartbeat_ms == NOW_MS


def test_accepted_counts_are_per_type() -> None:
    ingestor, _, _ = make_ingestor()
    for _ in range(3):
        ingestor.handle(RSM_TOPIC, encode(rsm()))
    ingestor.handle(BSM_TOPIC, encode(bsm()))
    assert ingestor.stats().accepted == {"rsm": 3, "bsm": 1}
    assert ingestor.stats().accepted_total == 4


good_rsm = encode(rsm())
BAD_MESSAGES = [
    # (case, topic, payload, message name counted, reason)
    ("not the layout", "sensors/R1/rsm", good_rsm, "?", DropReason.BAD_TOPIC),
    ("down-stream topic", topic(ZONE, "rsu", "R1", "rsm", "down"), good_rsm, "?", DropReason.BAD_TOPIC),
    ("unknown message name", topic(ZONE, "rsu", "R1", "cam"), good_rsm, "?", DropReason.BAD_TOPIC),
    ("down-only message sent up", topic(ZONE, "vehicle", "V1", "glosa"), good_rsm, "?", DropReason.BAD_TOPIC),
    (
        "not provisioned",
        topic(ZONE, "rsu", "R404", "rsm"),
        encode(rsm(device_id="R404")),
        "rsm",
        DropReason.UNKNOWN_DEVICE,
    ),
    (
        "unprovisioned vehicle",
        topic(ZONE, "vehicle", "V404", "bsm"),
        encode(bsm(device_id="V404")),
        "bsm",
        DropReason.UNKNOWN_DEVICE,
    ),
    ("kind differs", topic(ZONE, "signal", "R1", "rsm"), good_rsm, "rsm", DropReason.WRONG_DEVICE),
    ("zone differs", topic("daxing", "rsu", "R1", "rsm"), good_rsm, "rsm", DropReason.WRONG_DEVICE),
    ("not JSON", RSM_TOPIC, b"\x00\xffgarbage", "rsm", DropReason.DECODE),
    ("empty", RSM_TOPIC, b"", "rsm", DropReason.DECODE),
    ("truncated", RSM_TOPIC, good_rsm[: len(good_rsm) // 2], "rsm", DropReason.DECODE),
    ("oversized", RSM_TOPIC, b" " * (MAX_PAYLOAD_BYTES + 1), "rsm", DropReason.DECODE),
    ("JSON array", RSM_TOPIC, b"[1, 2]", "rsm", DropReason.SCHEMA),
    ("missing fields", RSM_TOPIC, b"{}", "rsm", DropReason.SCHEMA),
    ("speed out of range", BSM_TOPIC, with_field(bsm(), speed=9000), "bsm", DropReason.SCHEMA),
    ("wrong type", BSM_TOPIC, with_field(bsm(), heading="north"), "bsm", DropReason.SCHEMA),
    ("no participants", RSM_TOPIC, with_field(rsm(), participants=[]), "rsm", DropReason.SCHEMA),
    (
        "17 participants",
        RSM_TOPIC,
        with_field(rsm(), participants=[msgspec.to_builtins(participant(n, 250)) for n in range(17)]),
        "rsm",
        DropReason.SCHEMA,
    ),
    ("secMark unavailable", BSM_TOPIC, with_field(bsm(), secMark=65535), "bsm", DropReason.SCHEMA),
    ("payload names another RSU", RSM_TOPIC, encode(rsm(device_id="R2")), "rsm", DropReason.ID_MISMATCH),
    ("payload names another vehicle", BSM_TOPIC, encode(bsm(device_id="V2")), "bsm", DropReason.ID_MISMATCH),
    (
        "heartbeat claims another kind",
        HEARTBEAT_TOPIC,
        encode(heartbeat(kind=DeviceKind.SIGNAL)),
        "heartbeat",
        DropReason.ID_MISMATCH,
    ),
    ("measured 6 s ago", BSM_TOPIC, encode(bsm(NOW_MS - 6_000)), "bsm", DropReason.STALE),
    ("measured 2 s ahead", BSM_TOPIC, encode(bsm(NOW_MS + 2_000)), "bsm", DropReason.FUTURE),
    (
        "one RSM participant stale",
        RSM_TOPIC,
        with_field(
            rsm(),
            participants=[
                msgspec.to_builtins(participant(0, 250)),
                msgspec.to_builtins(participant(1, (NOW_MS - 9_000) % 60_000)),
            ],
        ),
        "rsm",
        DropReason.STALE,
    ),
]


@pytest.mark.parametrize(
    ("topic_name", "payload", "name", "reason"),
    [case[1:] for case in BAD_MESSAGES],
    ids=[case[0] for case in BAD_MESSAGES],
)
def test_each_drop_reason(topic_name: str, payload: bytes, name: str, reason: DropReason) -> None:
    ingestor, _, devices = make_ingestor()
    assert ingestor.handle(topic_name, payload) is None
    stats = ingestor.stats()
    assert stats.dropped == {(name, reason): 1}
    assert stats.accepted_total == 0
    assert all(state.last_seen_ms is None for state in devices.states(NOW_MS))


def test_every_reason_is_reachable() -> None:
    produced = {case[-1] for case in BAD_MESSAGES} | {DropReason.INTERNAL}  # INTERNAL: see below
    assert produced == set(DropReason)


def test_time_window_follows_the_injected_clock() -> None:
    ingestor, clock, _ = make_ingestor(max_age_ms=5_000, max_future_ms=1_000)
    payload = encode(bsm(NOW_MS))
    assert ingestor.handle(BSM_TOPIC, payload) is not None
    clock.advance(5_000)  # exactly at the limit: still accepted
    assert ingestor.handle(BSM_TOPIC, payload) is not None
    clock.advance(1)
    assert ingestor.handle(BSM_TOPIC, payload) is None
    clock.now_ms = NOW_MS - 1_000  # the receiver's clock is behind: the message is 1 s ahead
    assert ingestor.handle(BSM_TOPIC, payload) is not None
    clock.now_ms = NOW_MS - 1_001
    assert ingestor.handle(BSM_TOPIC, payload) is None
    assert ingestor.stats().dropped == {("bsm", DropReason.STALE): 1, ("bsm", DropReason.FUTURE): 1}


def test_minute_of_year_disambiguates_old_messages() -> None:
    """secMark alone reads a 40-s-old message as 20 s ahead; a moy, where the message has one, fixes that."""
    ingestor, _, _ = make_ingestor()
    assert ingestor.handle(HEARTBEAT_TOPIC, encode(heartbeat(NOW_MS - 40_000))) is None
    assert ingestor.handle(BSM_TOPIC, encode(bsm(NOW_MS - 40_000))) is None
    assert ingestor.stats().dropped == {("heartbeat", DropReason.STALE): 1, ("bsm", DropReason.FUTURE): 1}


@given(
    sec_marks=st.lists(
        st.one_of(st.integers(0, 59_999), st.sampled_from([0, 29_999, 30_000, 30_001, 59_999])),
        min_size=1,
        max_size=16,
    ),
    now_ms=st.one_of(
        st.integers(1_600_000_000_000, 1_900_000_000_000),
        st.sampled_from([NOW_MS, NOW_MS - NOW_MS % 60_000, NOW_MS - NOW_MS % 60_000 + 30_000]),
    ),
)
def test_rsm_timing_agrees_with_resolve_sec_mark(sec_marks: list[int], now_ms: int) -> None:
    participants = [participant(n, mark) for n, mark in enumerate(sec_marks)]
    message = msgspec.structs.replace(rsm(), participants=participants)
    offsets = [resolve_sec_mark(mark, reference_epoch_ms=now_ms) - now_ms for mark in sec_marks]
    assert measured_span_ms(message, now_ms) == (min(offsets), max(offsets))


@settings(max_examples=300, deadline=None)
@given(
    topic_name=st.one_of(
        st.text(max_size=80),
        st.sampled_from([RSM_TOPIC, BSM_TOPIC, HEARTBEAT_TOPIC, topic(ZONE, "signal", "S1", "map")]),
    ),
    payload=st.one_of(
        st.binary(max_size=400),
        st.builds(lambda cut: good_rsm[:cut], st.integers(0, len(good_rsm))),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=12,
        ).map(msgspec.json.encode),
    ),
)
def test_garbage_never_raises_and_is_always_counted(topic_name: str, payload: bytes) -> None:
    ingestor, _, _ = make_ingestor()
    result = ingestor.handle(topic_name, payload)
    stats = ingestor.stats()
    assert stats.accepted_total + stats.dropped_total == 1
    assert (result is None) == (stats.dropped_total == 1)
    assert DropReason.INTERNAL not in stats.dropped_by_reason


def test_every_truncation_of_a_valid_payload_is_dropped() -> None:
    ingestor, _, _ = make_ingestor()
    for cut in range(len(good_rsm)):
        assert ingestor.handle(RSM_TOPIC, good_rsm[:cut]) is None
    assert ingestor.stats().dropped_by_reason == {DropReason.DECODE: len(good_rsm)}


def test_a_bug_behind_handle_is_counted_as_internal_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenRegistry(DeviceRegistry):
        def record(self, *args: object, **kwargs: object) -> bool:
            raise RuntimeError("disk on fire")

    devices = BrokenRegistry()
    devices.provision("R1", kind="rsu", zone=ZONE)
    ingestor = Ingestor(devices, clock_ms=FakeClock())
    with caplog.at_level(logging.WARNING):
        assert ingestor.handle(RSM_TOPIC, good_rsm) is None
    assert ingestor.stats().dropped == {("rsm", DropReason.INTERNAL): 1}
    assert "disk on fire" in caplog.text


def test_unprovisioned_vehicles_are_enrolled_when_the_policy_allows() -> None:
    ingestor, _, devices = make_ingestor(accept_unprovisioned_vehicles=True)
    newcomer = topic(ZONE, "vehicle", "V77", "bsm")
    assert ingestor.handle(newcomer, b"garbage") is None  # a broken first message enrols nobody
    assert "V77" not in devices
    assert ingestor.handle(newcomer, encode(bsm(device_id="V77"))) is not None
    enrolled = devices.get("V77")
    assert enrolled is not None and enrolled.auto_enrolled and enrolled.zone == ZONE
    # The policy is for vehicles only.
    assert ingestor.handle(topic(ZONE, "rsu", "R77", "rsm"), encode(rsm(device_id="R77"))) is None
    assert ingestor.stats().dropped_by_reason == {DropReason.DECODE: 1, DropReason.UNKNOWN_DEVICE: 1}


def test_drops_are_logged_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    ingestor, clock, _ = make_ingestor(log_interval_ms=10_000)
    stale = encode(bsm(NOW_MS - 60_000 + 20_000))  # 40 s old
    with caplog.at_level(logging.WARNING, logger="roadcloud.ingest.ingestor"):
        for _ in range(500):
            ingestor.handle(BSM_TOPIC, stale)
            ingestor.handle("junk", b"")
            clock.advance(10)  # 5 s of flood
        assert len(caplog.records) == 2  # one line per reason
        assert "dropped future" in caplog.records[0].getMessage()
        assert "bad_topic" in caplog.records[1].getMessage()
        caplog.clear()
        clock.advance(10_000)
        ingestor.handle(BSM_TOPIC, stale)
    assert len(caplog.records) == 1
    assert "499 more future drops not logged" in caplog.records[0].getMessage()
    assert ingestor.stats().dropped_by_reason == {DropReason.FUTURE: 501, DropReason.BAD_TOPIC: 500}


def test_failing_downstream_is_counted_and_the_message_still_accepted() -> None:
    seen: list[Message] = []

    def broken(parsed: Topic, message: Message) -> None:
        raise ValueError("downstream bug")

    ingestor, _, _ = make_ingestor(downstream=[broken])
    ingestor.add_downstream(lambda parsed, message: seen.append(message))
    assert ingestor.handle(RSM_TOPIC, good_rsm) is not None
    assert len(seen) == 1
    stats = ingestor.stats()
    assert stats.accepted == {"rsm": 1} and stats.downstream_errors == 1


def test_heartbeat_status_reaches_the_registry() -> None:
    ingestor, _, devices = make_ingestor()
    degraded = msgspec.structs.replace(heartbeat(), status=DeviceStatus.DEGRADED, detail="lidar 2 dirty")
    assert isinstance(ingestor.handle(HEARTBEAT_TOPIC, encode(degraded)), Heartbeat)
    state = devices.state("R1", NOW_MS)
    assert state is not None and state.status == DeviceStatus.DEGRADED


def test_negative_limits_are_refused() -> None:
    with pytest.raises(Exception, match="max_age_ms"):
        make_ingestor(max_age_ms=-1)
