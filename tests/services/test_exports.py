"""The public surface of roadcloud.services is what ``__all__`` says, all of it exists, and the package
stays a pure core."""

from __future__ import annotations

from pathlib import Path

from roadcloud import services


def test_all_names_exist() -> None:
    assert len(services.__all__) == len(set(services.__all__))
    for name in services.__all__:
        assert getattr(services, name) is not None
    # What the cloud pipeline builds on.
    assert {
        "AdvisoryService",
        "ConnectedVehicles",
        "Downlink",
        "RoadsideUnitCoverage",
        "ServiceConfig",
    } <= set(services.__all__)


def test_services_import_no_io() -> None:
    """The core never imports the transports, the web stack, the database or the simulator."""
    for path in Path(services.__file__).parent.glob("*.py"):
        source = path.read_text()
        for edge in ("paho", "fastapi", "sqlalchemy", "libsumo", "roadcloud.twin", "roadcloud.bus.mqtt"):
            assert f"import {edge}" not in source and f"from {edge}" not in source, (path.name, edge)
