"""Fusion: every roadside unit and connected vehicle into one live dynamic map (work in progress, #4)."""

from roadcloud.fusion.detections import Detections, actor_kind, concatenate

__all__ = ["Detections", "actor_kind", "concatenate"]
