"""Query parameter parsers: the accepted forms, and errors that name the parameter and the form."""

from __future__ import annotations

import pytest

from roadcloud.api.params import parse_around, parse_bbox, parse_choices, parse_format, parse_hz
from roadcloud.errors import InputError


def test_bbox_and_around_accept_their_forms() -> None:
    assert parse_bbox("13.30,52.45,13.32,52.46") == (13.30, 52.45, 13.32, 52.46)
    assert parse_bbox("-180,-90,180,90") == (-180.0, -90.0, 180.0, 90.0)
    assert parse_around("13.31,52.455,200") == (13.31, 52.455, 200.0)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ("1 value",)),
        ("1,2,3,4,5", ("5 value",)),
        ("a,b,c,d", ("not numeric",)),
        ("nan,1,2,3", ("non-finite",)),
        ("181,0,182,1", ("longitude 181",)),
        ("1,1,0,2", ("minimum above its maximum",)),
    ],
)
def test_bad_bbox_names_the_parameter_and_the_form(text: str, words: tuple[str, ...]) -> None:
    with pytest.raises(InputError) as caught:
        parse_bbox(text)
    message = str(caught.value)
    assert message.startswith("bbox=") and "lon_min,lat_min,lon_max,lat_max" in message
    for word in words:
        assert word in message


@pytest.mark.parametrize("text", ["1,2", "1,2,0", "1,2,60000", "1,91,5"])
def test_bad_around(text: str) -> None:
    with pytest.raises(InputError, match=r"around=.*lon,lat,radius_m"):
        parse_around(text)


def test_choices_hz_and_format() -> None:
    assert parse_choices("tracks, events", name="streams", choices=("tracks", "events")) == {
        "tracks",
        "events",
    }
    with pytest.raises(InputError, match="names nothing"):
        parse_choices(",", name="streams", choices=("tracks",))
    assert parse_hz("2.5") == 2.5
    for bad in ("0", "-1", "10.5", "nan", "x"):
        with pytest.raises(InputError, match="hz="):
            parse_hz(bad)
    assert parse_format("rows") is True and parse_format("columns") is False
