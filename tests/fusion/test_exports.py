"""The public surface of roadcloud.fusion is what ``__all__`` says, and all of it exists."""

from __future__ import annotations

from roadcloud import fusion


def test_all_names_exist_and_are_sorted() -> None:
    assert fusion.__all__ == sorted(fusion.__all__)
    for name in fusion.__all__:
        assert getattr(fusion, name) is not None
    assert {
        "Detections",
        "actor_kind",
        "concatenate",
        "fuse_recording",
        "FusionEngine",
        "LdmSnapshot",
    } <= set(fusion.__all__)
