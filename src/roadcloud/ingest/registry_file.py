"""The device registry on disk: one small JSON file, read and written at the edge of ingest.

``roadcloud devices`` edits it and ``roadcloud ingest`` reads it at start. Only provisioning is stored;
liveness and rates are rebuilt from traffic. A database store replaces this file later without changing
``DeviceRegistry``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

import msgspec

from roadcloud.errors import InputError
from roadcloud.ingest.registry import Device, DeviceRegistry, RegistryConfig

DEFAULT_REGISTRY_PATH = Path(".roadcloud/devices.json")


class RegistryFile(msgspec.Struct, frozen=True, kw_only=True):
    format: Literal["roadcloud-devices"] = "roadcloud-devices"
    version: Literal[1] = 1
    devices: list[Device] = []


def load_registry(path: Path, *, config: RegistryConfig | None = None) -> DeviceRegistry:
    """Read a registry file; a missing file is an empty registry (nothing provisioned yet)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return DeviceRegistry(config=config)
    except OSError as error:
        raise InputError(f"cannot read device registry {path}: {error.strerror}") from None
    try:
        stored = msgspec.json.decode(data, type=RegistryFile)
    except msgspec.DecodeError as error:  # ValidationError is a subclass
        raise InputError(
            f"device registry {path} is not a roadcloud device file ({error}); fix it or move it away"
        ) from None
    try:
        return DeviceRegistry(stored.devices, config=config)
    except InputError as error:
        raise InputError(f"device registry {path}: {error}") from None


def save_registry(path: Path, registry: DeviceRegistry) -> None:
    """Write the registry atomically: readers see the old file or the new one, never half of one."""
    data = msgspec.json.format(msgspec.json.encode(RegistryFile(devices=registry.devices())), indent=2)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data + b"\n")
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise InputError(f"cannot write device registry {path}: {error.strerror or error}") from None
