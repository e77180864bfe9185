"""Road events from the live dynamic map (#5): detectors with configurable thresholds and one life cycle."""

from roadcloud.events.model import EventPhase, EventType, RoadEvent

__all__ = ["EventPhase", "EventType", "RoadEvent"]
