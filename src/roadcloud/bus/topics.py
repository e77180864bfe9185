"""Topic names: ``roadcloud/v1/{zone}/{device kind}/{device id}/{message}/{up|down}``.

``up`` is field → cloud, ``down`` is cloud → field. The message segment names the payload type
(``roadcloud.messages.MESSAGE_TYPES``), so a subscriber never has to sniff a payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from roadcloud.errors import InputError
from roadcloud.messages.device import DeviceKind

PREFIX = "roadcloud/v1"
Direction = Literal["up", "down"]
_SEGMENT = re.compile(r"^[A-Za-z0-9_.:-]+$")


@dataclass(frozen=True, slots=True)
class Topic:
    zone: str
    device_kind: str
    device_id: str
    message: str
    direction: Direction = "up"

    def __str__(self) -> str:
        return f"{PREFIX}/{self.zone}/{self.device_kind}/{self.device_id}/{self.message}/{self.direction}"


def topic(zone: str, device_kind: str, device_id: str, message: str, direction: Direction = "up") -> str:
    """Build a topic string; segments may not contain '/', '+' or '#'."""
    for name, value in (("zone", zone), ("device kind", device_kind), ("device id", device_id)):
        if not _SEGMENT.match(value):
            raise InputError(
                f"{name} {value!r} cannot be used in a topic; use letters, digits and _ . : - only"
            )
    return f"{PREFIX}/{zone}/{device_kind}/{device_id}/{message}/{direction}"


def parse_topic(text: str) -> Topic:
    parts = text.split("/")
    if len(parts) != 7 or f"{parts[0]}/{parts[1]}" != PREFIX or parts[6] not in ("up", "down"):
        raise InputError(f"topic {text!r} is not of the form {PREFIX}/ZONE/KIND/DEVICE/MESSAGE/up|down")
    direction: Direction = "up" if parts[6] == "up" else "down"
    return Topic(parts[2], parts[3], parts[4], parts[5], direction)


def zone_filter(zone: str, *, direction: Direction = "up") -> str:
    """Subscription filter for every message of one zone in one direction."""
    return f"{PREFIX}/{zone}/+/+/+/{direction}"


FIELD_DEVICE_KINDS = tuple(kind.value for kind in DeviceKind)


def field_filters(zone: str, *, direction: Direction = "up") -> list[str]:
    """One filter per field device kind: what ingest listens to. The twin's ground truth (kind ``twin``)
    is for evaluation and is left out."""
    return [f"{PREFIX}/{zone}/{kind}/+/+/{direction}" for kind in FIELD_DEVICE_KINDS]


def message_name(text: str) -> str | None:
    """The message segment of a roadcloud topic, or None for a topic outside the layout.

    Cheaper than ``parse_topic`` and never raises, because the transports call it on every publish to
    look up the delivery policy.
    """
    parts = text.split("/")
    if len(parts) == 7 and parts[0] == "roadcloud" and parts[1] == "v1":
        return parts[5]
    return None
