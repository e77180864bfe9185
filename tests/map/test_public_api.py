"""The package's public surface is exactly what ``__all__`` lists, and every name in it exists."""

from __future__ import annotations

import roadcloud.map


def test_all_lists_the_public_names() -> None:
    public = {name for name in vars(roadcloud.map) if not name.startswith("_")}
    modules = {"commands", "geo", "load", "matching", "model", "routing", "tools"}
    assert set(roadcloud.map.__all__) == public - modules
    assert roadcloud.map.__all__ == sorted(roadcloud.map.__all__, key=lambda name: (not name.isupper(), name))
