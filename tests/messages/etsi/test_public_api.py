"""The ETSI package's public surface is exactly its ``__all__``, and every name in it exists."""

from __future__ import annotations

from roadcloud.messages import etsi


def test_all_names_exist_and_nothing_private_is_exported() -> None:
    for name in etsi.__all__:
        assert hasattr(etsi, name), name
        assert not name.startswith("_")


def test_every_message_type_has_an_encoder_and_a_decoder() -> None:
    for message in etsi.EtsiMessage:
        assert f"encode_{message.label}" in etsi.__all__
        assert f"decode_{message.label}" in etsi.__all__
