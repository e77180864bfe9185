"""Road events from the live dynamic map (#5): detectors with configurable thresholds and one life cycle.

Data flow: fusion's ``LdmSnapshot`` and SPAT (through ``SignalStates``) → ``EventDetector.update`` →
``RoadEvent`` publications (STARTED / UPDATED / ENDED) for services, storage, the API and evaluation.
Thresholds live in ``EventConfig``.
"""

from roadcloud.events.config import EventConfig
from roadcloud.events.detector import EventDetector
from roadcloud.events.model import EventPhase, EventType, RoadEvent
from roadcloud.events.signal_state import SignalLight, SignalStates

__all__ = [
    "EventConfig",
    "EventDetector",
    "EventPhase",
    "EventType",
    "RoadEvent",
    "SignalLight",
    "SignalStates",
]
