"""Ingest: decode and validate every up-stream message against the device registry before the core sees
it.

    bus ─▶ Ingestor.handle(topic, payload) ─▶ accepted Message ─▶ fusion, events, services
                     │
                     └─▶ DeviceRegistry (provisioned devices, online/offline, rates)

``registry_file`` keeps the registry on disk; ``commands`` adds ``roadcloud devices`` and
``roadcloud ingest``.
"""

from __future__ import annotations

from roadcloud.ingest.ingestor import Downstream, DropReason, Ingestor, IngestStats
from roadcloud.ingest.registry import (
    Device,
    DeviceRegistry,
    DeviceState,
    RegistryConfig,
    StatusChange,
)
from roadcloud.ingest.registry_file import DEFAULT_REGISTRY_PATH, load_registry, save_registry

__all__ = [
    "DEFAULT_REGISTRY_PATH",
    "Device",
    "DeviceRegistry",
    "DeviceState",
    "Downstream",
    "DropReason",
    "IngestStats",
    "Ingestor",
    "RegistryConfig",
    "StatusChange",
    "load_registry",
    "save_registry",
]
