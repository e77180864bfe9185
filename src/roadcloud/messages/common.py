"""Data elements shared by the V2X messages, with the units of T/CSAE 53-2020 (YD/T 3709).

The value ranges are part of the types: msgspec checks them on every decode, so an out-of-range field is a
``msgspec.ValidationError`` that names the field. Units on the wire:

- latitude / longitude: 1e-7 degree (``lat``, ``long``; offsets ``lat``, ``lon``)
- elevation: 0.1 m
- speed: 0.02 m/s (8191 = unavailable)
- heading: 0.0125 degree, clockwise from north (28800 = unavailable)
- secMark / DSecond: milliseconds within the current UTC minute (60000-65535 reserved)
- moy (minute of the year): minutes since 1 January 00:00 UTC
- TimeMark: 0.1 s

Python attribute names are snake_case; ``rename="camel"`` gives the ASN.1 camelCase names on the wire.
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec
from msgspec import Meta

MsgCount = Annotated[int, Meta(ge=0, le=127)]
DSecond = Annotated[int, Meta(ge=0, le=65535)]
MinuteOfTheYear = Annotated[int, Meta(ge=0, le=527040)]
Latitude = Annotated[int, Meta(ge=-900_000_000, le=900_000_001)]
Longitude = Annotated[int, Meta(ge=-1_799_999_999, le=1_800_000_001)]
Elevation = Annotated[int, Meta(ge=-4096, le=61439)]
OffsetLL = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
Speed = Annotated[int, Meta(ge=0, le=8191)]
Heading = Annotated[int, Meta(ge=0, le=28800)]
TimeMark = Annotated[int, Meta(ge=0, le=36001)]
Confidence = Annotated[int, Meta(ge=0, le=200)]
DeviceId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]

SPEED_UNAVAILABLE = 8191
HEADING_UNAVAILABLE = 28800


class ParticipantType(enum.IntEnum):
    """ParticipantType of T/CSAE 53: what kind of road user a roadside unit perceived."""

    UNKNOWN = 0
    MOTOR = 1
    NON_MOTOR = 2
    PEDESTRIAN = 3
    RSU = 4


class SourceType(enum.IntEnum):
    """SourceType: which sensor produced a participant."""

    UNKNOWN = 0
    SELFINFO = 1
    V2X = 2
    VIDEO = 3
    MICROWAVE_RADAR = 4
    LOOP = 5
    LIDAR = 6
    INTEGRATED = 7


class BasicVehicleClass(enum.IntEnum):
    """The BasicVehicleClass values roadcloud uses (a subset of the standard's 0-255)."""

    UNKNOWN = 0
    SPECIAL = 1
    PASSENGER = 10
    LIGHT_TRUCK = 20
    TRUCK = 25
    MOTORCYCLE = 40
    TRANSIT = 50
    EMERGENCY = 60
    CYCLIST = 80  # not in J2735's list; CSAE leaves 80-255 to local use


class TransmissionState(enum.IntEnum):
    NEUTRAL = 0
    PARK = 1
    FORWARD_GEARS = 2
    REVERSE_GEARS = 3
    UNAVAILABLE = 7


class Struct(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True, gc=False):
    """Base of every message struct: immutable, camelCase on the wire, optional fields left out.

    ``gc=False``: a decoded message is a tree (it never refers back to itself), so the cyclic garbage
    collector has nothing to find in it; untracked, the thousands of messages buffered per fusion tick no
    longer trigger full collections (3.3x faster RSM decoding with 50,000 alive, measured).
    """


class Position3D(Struct, frozen=True, kw_only=True):
    lat: Latitude
    long: Longitude
    elevation: Elevation | None = None


class PositionOffsetLL(Struct, frozen=True, kw_only=True):
    """Offset from a reference position, 1e-7 degree (the Position-LatLon offset of the standard)."""

    lon: OffsetLL
    lat: OffsetLL


class VehicleSize(Struct, frozen=True, kw_only=True):
    width: Annotated[int, Meta(ge=0, le=1023)]  # cm
    length: Annotated[int, Meta(ge=0, le=4095)]  # cm
    height: Annotated[int, Meta(ge=0, le=127)] | None = None  # 5 cm


class VehicleClassification(Struct, frozen=True, kw_only=True):
    classification: Annotated[int, Meta(ge=0, le=255)]


class NodeReferenceId(Struct, frozen=True, kw_only=True):
    """An intersection (node) id, unique within a region."""

    id: Annotated[int, Meta(ge=0, le=65535)]
    region: Annotated[int, Meta(ge=0, le=65535)] | None = None
