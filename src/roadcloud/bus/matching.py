"""MQTT topic-filter semantics, shared by both transports so a filter means the same in one process and
over a broker.

``+`` matches exactly one level, ``#`` (last level only) matches the parent level and everything below it,
and a filter that starts with a wildcard does not match topics starting with ``$`` (broker internals such as
``$SYS``), as MQTT 3.1.1 §4.7 and MQTT 5 §4.7 specify.
"""

from __future__ import annotations

from roadcloud.errors import InputError


def validate_topic(topic_name: str) -> None:
    """A topic one publishes to: not empty, no wildcards."""
    if not topic_name:
        raise InputError("topic is empty; publish to a topic such as roadcloud/v1/ZONE/KIND/ID/MESSAGE/up")
    if "+" in topic_name or "#" in topic_name:
        raise InputError(
            f"topic {topic_name!r} contains a wildcard; wildcards (+, #) are for subscriptions, "
            "publish to one concrete topic"
        )


def validate_filter(topic_filter: str) -> None:
    """A subscription filter: ``+`` fills a whole level, ``#`` fills the last level."""
    if not topic_filter:
        raise InputError("topic filter is empty; use '#' to subscribe to everything")
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise InputError(
                f"topic filter {topic_filter!r} uses '#' inside a level or before the last level; "
                "'#' must be the whole last level, as in roadcloud/v1/ZONE/#"
            )
        if "+" in level and level != "+":
            raise InputError(
                f"topic filter {topic_filter!r} uses '+' inside a level; '+' must fill a whole level, "
                "as in roadcloud/v1/ZONE/+/+/rsm/up"
            )


def topic_matches(topic_filter: str, topic_name: str) -> bool:
    """Whether ``topic_name`` is delivered to a subscription on ``topic_filter`` (both assumed valid)."""
    filter_levels = topic_filter.split("/")
    if topic_name.startswith("$") and filter_levels[0] in ("+", "#"):
        return False
    topic_levels = topic_name.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level not in ("+", topic_levels[index]):
            return False
    return len(filter_levels) == len(topic_levels)
