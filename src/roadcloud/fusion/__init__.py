"""Fusion: every roadside unit and connected vehicle into one live dynamic map (#4).

Data flow: ``detections`` (messages → arrays) → ``engine.FusionEngine`` (time alignment, identities) →
``tileset`` (every tile in this process, or tile workers in other processes) → ``tracker.Tracker``
(``kalman`` predict/update, ``association`` gate + assignment, ``lifecycle``, ``tracks`` table; ``oosm``
for data that arrives after its frame was fused) → ``ldm.LdmSnapshot`` (``lanes`` when matched).
``replay.fuse_recording`` runs a twin recording through it.
"""

from roadcloud.fusion.config import FusionConfig
from roadcloud.fusion.detections import Detections, actor_kind, concatenate
from roadcloud.fusion.engine import FusionCounts, FusionEngine
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.fusion.replay import fuse_recording

__all__ = [
    "Detections",
    "FusionConfig",
    "FusionCounts",
    "FusionEngine",
    "LdmSnapshot",
    "actor_kind",
    "concatenate",
    "fuse_recording",
]
