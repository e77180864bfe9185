"""The SUMO digital twin: plays the whole field side of a zone — roadside units, connected vehicles,
traffic signals — with ground truth, so the cloud can be built, tested and measured without hardware.

Data flow: ``zone new`` writes a scenario (network, demand, units, incidents, manifest) → ``Twin`` runs it in
SUMO through libsumo and emits wire-form V2X messages every 100 ms → a bus and/or a recording.
"""

from roadcloud.twin.manifest import Incident, Manifest, RoadsideUnitSpec, load_manifest, write_manifest

__all__ = ["Incident", "Manifest", "RoadsideUnitSpec", "load_manifest", "write_manifest"]
