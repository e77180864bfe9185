"""``connect_bus(url)``: the one place a bus URL becomes a transport.

``inproc://`` gives a new in-process bus (share it by passing the object, not the URL); ``mqtt://HOST:PORT``
connects to a broker. Options may ride in the query string: ``mqtt://host:1883?client_id=ingest-1``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from roadcloud.bus.base import Bus
from roadcloud.bus.inproc import InprocBus
from roadcloud.errors import InputError

DEFAULT_MQTT_PORT = 1883
_MQTT_OPTIONS = ("client_id", "max_queued", "keepalive_s")


def connect_bus(url: str = "inproc://", *, connect_timeout_s: float | None = 5.0) -> Bus:
    """Open the bus that ``url`` names; a bad URL raises ``InputError`` naming the fix."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "inproc":
        if parts.netloc or parts.path or parts.query:
            raise InputError(f"bus URL {url!r}: inproc:// takes no host, path or options; use inproc://")
        return InprocBus()
    if scheme != "mqtt":
        raise InputError(f"bus URL {url!r} is neither inproc:// nor mqtt://HOST:PORT; use one of those")
    try:
        port = parts.port or DEFAULT_MQTT_PORT
    except ValueError:
        raise InputError(f"bus URL {url!r} has a bad port; use mqtt://HOST:PORT with PORT 1-65535") from None
    host = parts.hostname
    if not host:
        raise InputError(f"bus URL {url!r} names no host; use mqtt://HOST:PORT, e.g. mqtt://127.0.0.1:1883")
    if parts.path not in ("", "/"):
        raise InputError(f"bus URL {url!r} has a path; use mqtt://HOST:PORT")
    if parts.username or parts.password:
        raise InputError(f"bus URL {url!r} carries credentials; broker authentication is not supported yet")
    options = {name: values[-1] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(options) - set(_MQTT_OPTIONS))
    if unknown:
        raise InputError(
            f"bus URL {url!r} has unknown option(s) {', '.join(unknown)}; known: {', '.join(_MQTT_OPTIONS)}"
        )
    from roadcloud.bus.mqtt import MqttBus  # paho is imported only by processes that use MQTT

    return MqttBus(
        host,
        port,
        client_id=options.get("client_id") or None,
        max_queued=_int_option(url, options, "max_queued", 10_000),
        keepalive_s=_int_option(url, options, "keepalive_s", 30),
        connect_timeout_s=connect_timeout_s,
    )


def _int_option(url: str, options: dict[str, str], name: str, default: int) -> int:
    text = options.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"bus URL {url!r}: {name}={text!r} must be a positive integer")
    return value
