"""Bus URLs: every mistake is one line that names the URL and the fix."""

from __future__ import annotations

import pytest

from roadcloud.bus import connect_bus
from roadcloud.errors import InputError


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("kafka://localhost:9092", "neither inproc:// nor mqtt://"),
        ("localhost:1883", "neither inproc:// nor mqtt://"),
        ("mqtt://", "names no host"),
        ("mqtt://host:notaport", "bad port"),
        ("mqtt://host:99999", "bad port"),
        ("mqtt://host:1883/path", "has a path"),
        ("mqtt://user:secret@host:1883", "credentials"),
        ("mqtt://host:1883?qos=2", "unknown option"),
        ("mqtt://host:1883?max_queued=-5", "positive integer"),
        ("inproc://somewhere", "takes no host"),
    ],
)
def test_bad_bus_urls(url: str, fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        connect_bus(url)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message
