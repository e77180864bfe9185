"""The QoS/retain table: every message kind has an explicit, documented policy."""

from __future__ import annotations

from roadcloud.bus import DELIVERY, delivery_table_markdown, qos_for, retain_for
from roadcloud.bus.topics import message_name, topic
from roadcloud.messages import MESSAGE_TYPES


def test_every_message_kind_has_an_explicit_policy() -> None:
    assert set(DELIVERY) == set(MESSAGE_TYPES)


def test_streams_are_qos0_map_is_retained_advisories_and_heartbeats_qos1() -> None:
    for name in ("bsm", "rsm", "spat", "truth"):
        assert (qos_for(name), retain_for(name)) == (0, False)
    assert (qos_for("map"), retain_for("map")) == (1, True)
    assert (qos_for("rsi"), retain_for("rsi")) == (1, False)
    assert (qos_for("heartbeat"), retain_for("heartbeat")) == (1, False)
    assert (qos_for(None), retain_for(None)) == (1, False)
    assert (qos_for("something-new"), retain_for("something-new")) == (1, False)


def test_markdown_table_lists_every_kind() -> None:
    table = delivery_table_markdown()
    assert table.splitlines()[0] == "| message | QoS | retained | why |"
    for name in MESSAGE_TYPES:
        assert f"| {name} |" in table


def test_message_name_of_topics() -> None:
    assert message_name(topic("z", "rsu", "R1", "rsm")) == "rsm"
    assert message_name("roadcloud/v1/z/signal/S1/map/down") == "map"
    assert message_name("other/topic") is None
    assert message_name("roadcloud/v2/z/signal/S1/map/up") is None
