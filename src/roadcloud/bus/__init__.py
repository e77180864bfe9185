"""The bus: how messages travel between the field, ingest and the cloud services.

Two transports behind one seam (``Bus``): in-process for one process and the tests, MQTT for a split
deployment. Both carry the wire form ``(topic, payload bytes)`` with MQTT topic semantics; the delivery
policy (QoS, retain) is set per message kind in ``delivery``. Topic names live in ``topics``.

The MQTT transport (``roadcloud.bus.mqtt``) is imported only when ``connect_bus`` is asked for one, so
importing this package does not import paho.
"""

from __future__ import annotations

from roadcloud.bus.base import Bus, BusStats, Handler
from roadcloud.bus.connect import connect_bus
from roadcloud.bus.delivery import (
    DELIVERY,
    Delivery,
    delivery_for,
    delivery_table_markdown,
    qos_for,
    retain_for,
)
from roadcloud.bus.handoff import HandoffQueue
from roadcloud.bus.inproc import InprocBus
from roadcloud.bus.matching import topic_matches, validate_filter, validate_topic

__all__ = [
    "DELIVERY",
    "Bus",
    "BusStats",
    "Delivery",
    "Handler",
    "HandoffQueue",
    "InprocBus",
    "connect_bus",
    "delivery_for",
    "delivery_table_markdown",
    "qos_for",
    "retain_for",
    "topic_matches",
    "validate_filter",
    "validate_topic",
]
