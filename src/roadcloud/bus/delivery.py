"""Delivery policy per message kind: MQTT QoS and whether the broker keeps the last message (retain).

Publishers never choose these per call: the message name in the topic decides, so every RSU, vehicle and
cloud service treats a kind the same way. The in-process bus follows the same retain rule, so a late
subscriber sees the same thing with either transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Delivery:
    qos: int
    retain: bool
    why: str


DELIVERY: Mapping[str, Delivery] = MappingProxyType(
    {
        "bsm": Delivery(0, False, "10 Hz stream; the next sample supersedes a lost one"),
        "rsm": Delivery(0, False, "10 Hz stream; the next sample supersedes a lost one"),
        "spat": Delivery(0, False, "10 Hz stream; the next sample supersedes a lost one"),
        "truth": Delivery(0, False, "twin ground truth stream, evaluation only"),
        "map": Delivery(1, True, "state: a late subscriber needs the current intersection geometry"),
        "rsi": Delivery(1, False, "advisory: must arrive, and expires by its own time details"),
        "heartbeat": Delivery(1, False, "liveness: a lost heartbeat would mark a device offline"),
        "condition": Delivery(1, False, "road and bridge readings: low rate, feed repair planning"),
        "glosa": Delivery(0, False, "speed advice: re-sent every second while the vehicle approaches"),
    }
)

# Topics outside the roadcloud layout, or message names added later: delivery over throughput.
DEFAULT_DELIVERY = Delivery(1, False, "any other message name: at least once, not retained")


def delivery_for(message_name: str | None) -> Delivery:
    if message_name is None:
        return DEFAULT_DELIVERY
    return DELIVERY.get(message_name, DEFAULT_DELIVERY)


def qos_for(message_name: str | None) -> int:
    """MQTT QoS (0 or 1) for a message name such as ``rsm``; ``None`` means a topic outside the layout."""
    return delivery_for(message_name).qos


def retain_for(message_name: str | None) -> bool:
    """Whether messages of this kind are retained so late subscribers receive the last one."""
    return delivery_for(message_name).retain


def delivery_table_markdown() -> str:
    """The policy as a Markdown table, for the README; generated here so the text cannot drift."""
    rows = ["| message | QoS | retained | why |", "|---|---|---|---|"]
    for name, delivery in DELIVERY.items():
        rows.append(f"| {name} | {delivery.qos} | {'yes' if delivery.retain else 'no'} | {delivery.why} |")
    rows.append(
        f"| (other) | {DEFAULT_DELIVERY.qos} | {'yes' if DEFAULT_DELIVERY.retain else 'no'} "
        f"| {DEFAULT_DELIVERY.why} |"
    )
    return "\n".join(rows)
