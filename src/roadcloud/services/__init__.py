"""V2X services from the live dynamic map and road events (#5): advisories, speed advice, sensor sharing."""

from roadcloud.services.model import Advisory, AdvisoryKind, AdvisoryState

__all__ = ["Advisory", "AdvisoryKind", "AdvisoryState"]
