"""MQTT wildcard semantics, checked against a table and against paho's own matcher as an oracle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.client import topic_matches_sub

from roadcloud.bus.matching import topic_matches, validate_filter, validate_topic
from roadcloud.errors import InputError


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("roadcloud/v1/z/rsu/R1/rsm/up", "roadcloud/v1/z/rsu/R1/rsm/up", True),
        ("roadcloud/v1/z/+/+/+/up", "roadcloud/v1/z/rsu/R1/rsm/up", True),
        ("roadcloud/v1/z/+/+/+/up", "roadcloud/v1/z/rsu/R1/rsm/down", False),
        ("roadcloud/v1/z/+/+/+/up", "roadcloud/v1/other/rsu/R1/rsm/up", False),
        ("roadcloud/v1/z/#", "roadcloud/v1/z/rsu/R1/rsm/up", True),
        ("roadcloud/v1/z/#", "roadcloud/v1/z", True),  # '#' includes the parent level
        ("roadcloud/v1/z/+", "roadcloud/v1/z", False),
        ("roadcloud/v1/z/+", "roadcloud/v1/z/", True),  # an empty level is a level
        ("+/+", "a/b/c", False),
        ("#", "a/b/c", True),
        ("#", "$SYS/broker/uptime", False),  # wildcards do not reach broker internals
        ("+/broker/uptime", "$SYS/broker/uptime", False),
        ("$SYS/#", "$SYS/broker/uptime", True),
        ("a/b", "a/b/c", False),
        ("a/b/c", "a/b", False),
    ],
)
def test_topic_matches(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


levels = st.sampled_from(["a", "b", "", "$x"])


@given(
    st.lists(st.one_of(levels, st.just("+")), min_size=1, max_size=4),
    st.booleans(),
    st.lists(levels, min_size=1, max_size=5),
)
def test_topic_matches_agrees_with_paho(
    filter_levels: list[str], hash_tail: bool, topic_levels: list[str]
) -> None:
    topic_filter = "/".join([*filter_levels, "#"] if hash_tail else filter_levels)
    topic = "/".join(topic_levels)
    assert topic_matches(topic_filter, topic) == topic_matches_sub(topic_filter, topic)


@pytest.mark.parametrize("bad", ["", "a/#/b", "a/b#", "a/+b/c", "a+"])
def test_bad_filters_are_refused_with_the_fix(bad: str) -> None:
    with pytest.raises(InputError, match=r"filter|'#'|'\+'"):
        validate_filter(bad)


@pytest.mark.parametrize("good", ["#", "+", "a/+/c", "a/#", "roadcloud/v1/z/+/+/+/up"])
def test_good_filters_pass(good: str) -> None:
    validate_filter(good)


@pytest.mark.parametrize("bad", ["", "a/+/c", "a/#"])
def test_publish_topics_may_not_hold_wildcards(bad: str) -> None:
    with pytest.raises(InputError):
        validate_topic(bad)
