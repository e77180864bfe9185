"""The device registry: which devices may talk to the platform, and whether they are alive.

Ingest consults it for every message (is the sender provisioned, with the kind and zone its topic claims?)
and feeds it every accepted message (last seen, rates per message type); heartbeats add the device's own
status. Operators read it through ``roadcloud devices`` and the live ingest console.

Pure and in memory: every method takes the time as an argument (UTC epoch ms) and nothing here reads a
clock, a file or the network. ``registry_file`` persists the provisioned devices; the live activity is
rebuilt from traffic after a restart.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated

import msgspec
from msgspec import Meta

from roadcloud.errors import InputError, SettingError
from roadcloud.ingest.rates import RateWindow
from roadcloud.messages import DeviceKind, DeviceStatus

_NAME_PATTERN = r"^[A-Za-z0-9_.:-]+$"
_NAME_RE = re.compile(_NAME_PATTERN)
_KINDS = frozenset(DeviceKind)
Name = Annotated[str, Meta(min_length=1, max_length=64, pattern=_NAME_PATTERN)]


class Device(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A provisioned device; ``id`` and ``zone`` are the ones in its topics."""

    id: Name
    kind: DeviceKind
    zone: Name
    provisioned_at_ms: Annotated[int, Meta(ge=0)]
    name: Annotated[str, Meta(max_length=128)] | None = None
    lon_deg: Annotated[float, Meta(ge=-180.0, le=180.0)] | None = None  # WGS84
    lat_deg: Annotated[float, Meta(ge=-90.0, le=90.0)] | None = None  # WGS84
    auto_enrolled: bool = False  # a vehicle accepted without provisioning (ingest's vehicle policy)


@dataclass(frozen=True, slots=True)
class RegistryConfig:
    """When a device counts as offline, and how rates are measured."""

    heartbeat_period_ms: int = 5_000
    offline_after_periods: int = 3  # silence of this many heartbeat periods marks a device offline
    rate_window_ms: int = 10_000
    rate_bucket_ms: int = 1_000
    max_auto_enrolled: int = 100_000  # bounds memory when vehicles are accepted without provisioning

    def __post_init__(self) -> None:
        if self.heartbeat_period_ms <= 0 or self.offline_after_periods <= 0:
            raise SettingError(
                f"heartbeat period {self.heartbeat_period_ms} ms × {self.offline_after_periods} periods: "
                "both must be positive"
            )
        if self.max_auto_enrolled < 0:
            raise SettingError(f"max_auto_enrolled is {self.max_auto_enrolled}; use 0 or more")
        RateWindow(window_ms=self.rate_window_ms, bucket_ms=self.rate_bucket_ms)  # validates the pair

    @property
    def offline_after_ms(self) -> int:
        return self.heartbeat_period_ms * self.offline_after_periods


@dataclass(frozen=True, slots=True)
class DeviceState:
    """One device as the registry sees it at ``at_ms``."""

    device: Device
    at_ms: int
    online: bool
    last_seen_ms: int | None
    last_heartbeat_ms: int | None
    status: DeviceStatus | None  # from the last heartbeat
    message_counts: Mapping[str, int]  # since the registry started, per message type
    rates_hz: Mapping[str, float]  # over the configured window, per message type


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A device went online or offline; ``at_ms`` is when (for offline: last seen + the silence limit)."""

    device_id: str
    online: bool
    at_ms: int


class _Activity:
    __slots__ = ("counts", "last_heartbeat_ms", "last_seen_ms", "reported_online", "status", "windows")

    def __init__(self) -> None:
        self.last_seen_ms: int | None = None
        self.last_heartbeat_ms: int | None = None
        self.status: DeviceStatus | None = None
        self.counts: dict[str, int] = {}
        self.windows: dict[str, RateWindow] = {}
        self.reported_online = False


class DeviceRegistry:
    def __init__(self, devices: Iterable[Device] = (), *, config: RegistryConfig | None = None) -> None:
        self._config = config or RegistryConfig()
        self._devices: dict[str, Device] = {}
        self._activity: dict[str, _Activity] = {}
        self._auto_enrolled = 0
        for device in devices:
            self.add(device)

    @property
    def config(self) -> RegistryConfig:
        return self._config

    # -- provisioning ---------------------------------------------------------------------------------

    def provision(
        self,
        device_id: str,
        *,
        kind: DeviceKind | str,
        zone: str,
        name: str | None = None,
        lon_deg: float | None = None,
        lat_deg: float | None = None,
        provisioned_at_ms: int = 0,
    ) -> Device:
        """Provision a device; a duplicate id or an impossible value raises ``InputError`` naming it."""
        try:
            device_kind = DeviceKind(kind)
        except ValueError:
            kinds = ", ".join(member.value for member in DeviceKind)
            raise InputError(f"device kind {kind!r} is unknown; use one of {kinds}") from None
        device = Device(
            id=device_id,
            kind=device_kind,
            zone=zone,
            provisioned_at_ms=provisioned_at_ms,
            name=name,
            lon_deg=lon_deg,
            lat_deg=lat_deg,
        )
        self.add(device)
        return device

    def add(self, device: Device) -> None:
        """Add a device record (as read from a registry file); same checks as ``provision``."""
        _check(device)
        if device.id in self._devices:
            known = self._devices[device.id]
            raise InputError(
                f"device {device.id!r} is already provisioned ({known.kind} in zone {known.zone}); "
                "remove it first or choose another id"
            )
        self._devices[device.id] = device
        self._activity[device.id] = _Activity()
        if device.auto_enrolled:
            self._auto_enrolled += 1

    def enroll_vehicle(self, device_id: str, *, zone: str, now_ms: int) -> Device | None:
        """Register a vehicle that was never provisioned; None when the enrolment limit is reached."""
        if self._auto_enrolled >= self._config.max_auto_enrolled:
            return None
        device = Device(
            id=device_id, kind=DeviceKind.VEHICLE, zone=zone, provisioned_at_ms=now_ms, auto_enrolled=True
        )
        self.add(device)
        return device

    def remove(self, device_id: str) -> Device:
        device = self._devices.pop(device_id, None)
        if device is None:
            raise InputError(f"device {device_id!r} is not provisioned; `roadcloud devices list` shows them")
        del self._activity[device_id]
        if device.auto_enrolled:
            self._auto_enrolled -= 1
        return device

    def get(self, device_id: str) -> Device | None:
        return self._devices.get(device_id)

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._devices

    def __len__(self) -> int:
        return len(self._devices)

    def devices(self) -> list[Device]:
        """Every device, by id."""
        return [self._devices[device_id] for device_id in sorted(self._devices)]

    # -- activity -------------------------------------------------------------------------------------

    def record(
        self, device_id: str, message_name: str, now_ms: int, *, status: DeviceStatus | None = None
    ) -> bool:
        """Note a message from a device (a heartbeat passes its ``status``); False for an unknown device."""
        activity = self._activity.get(device_id)
        if activity is None:
            return False
        activity.last_seen_ms = now_ms
        if status is not None:
            activity.last_heartbeat_ms = now_ms
            activity.status = status
        activity.counts[message_name] = activity.counts.get(message_name, 0) + 1
        window = activity.windows.get(message_name)
        if window is None:
            window = RateWindow(window_ms=self._config.rate_window_ms, bucket_ms=self._config.rate_bucket_ms)
            activity.windows[message_name] = window
        window.add(now_ms)
        return True

    def is_online(self, device_id: str, now_ms: int) -> bool:
        activity = self._activity.get(device_id)
        return activity is not None and self._online(activity, now_ms)

    def online_count(self, now_ms: int, *, kinds: Collection[DeviceKind] | None = None) -> int:
        """Devices online now; only those of ``kinds`` when given."""
        return sum(
            1
            for device_id, activity in self._activity.items()
            if (kinds is None or self._devices[device_id].kind in kinds) and self._online(activity, now_ms)
        )

    def count(self, *, kinds: Collection[DeviceKind] | None = None) -> int:
        """Devices provisioned or enrolled; only those of ``kinds`` when given."""
        if kinds is None:
            return len(self._devices)
        return sum(1 for device in self._devices.values() if device.kind in kinds)

    def state(self, device_id: str, now_ms: int) -> DeviceState | None:
        device = self._devices.get(device_id)
        if device is None:
            return None
        activity = self._activity[device_id]
        return DeviceState(
            device=device,
            at_ms=now_ms,
            online=self._online(activity, now_ms),
            last_seen_ms=activity.last_seen_ms,
            last_heartbeat_ms=activity.last_heartbeat_ms,
            status=activity.status,
            message_counts=MappingProxyType(dict(activity.counts)),
            rates_hz=MappingProxyType(
                {name: window.rate_hz(now_ms) for name, window in sorted(activity.windows.items())}
            ),
        )

    def states(self, now_ms: int) -> list[DeviceState]:
        """Every device's state, by id."""
        return [state for device_id in sorted(self._devices) if (state := self.state(device_id, now_ms))]

    def sweep(self, now_ms: int) -> list[StatusChange]:
        """Devices whose online state changed since the previous sweep, by id."""
        changes = []
        for device_id in sorted(self._activity):
            activity = self._activity[device_id]
            online = self._online(activity, now_ms)
            if online == activity.reported_online or activity.last_seen_ms is None:
                continue
            activity.reported_online = online
            at_ms = activity.last_seen_ms + (0 if online else self._config.offline_after_ms)
            changes.append(StatusChange(device_id, online, at_ms))
        return changes

    def _online(self, activity: _Activity, now_ms: int) -> bool:
        last_seen_ms = activity.last_seen_ms
        return last_seen_ms is not None and now_ms - last_seen_ms <= self._config.offline_after_ms


def validate_name(what: str, value: str) -> None:
    """A device id or zone must fit in one topic level; ``what`` names it in the error."""
    if not _NAME_RE.match(value) or len(value) > 64:
        raise InputError(
            f"{what} {value!r} cannot be used in topics; use 1-64 letters, digits and _ . : - only"
        )


def _check(device: Device) -> None:
    """The checks msgspec makes when a registry file is read, with messages that say the fix."""
    validate_name("device id", device.id)
    validate_name("zone", device.zone)
    if device.kind not in _KINDS:
        kinds = ", ".join(kind.value for kind in DeviceKind)
        raise InputError(f"device kind {device.kind!r} is unknown; use one of {kinds}")
    if (device.lon_deg is None) != (device.lat_deg is None):
        raise InputError(f"device {device.id!r} has only one of longitude and latitude; give both or neither")
    if device.lon_deg is not None and not -180.0 <= device.lon_deg <= 180.0:
        raise InputError(f"longitude {device.lon_deg} of device {device.id!r} is outside -180..180 degrees")
    if device.lat_deg is not None and not -90.0 <= device.lat_deg <= 90.0:
        raise InputError(f"latitude {device.lat_deg} of device {device.id!r} is outside -90..90 degrees")
    if device.name is not None and len(device.name) > 128:
        raise InputError(f"name of device {device.id!r} is {len(device.name)} characters; use at most 128")
