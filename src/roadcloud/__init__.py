"""roadcloud: the cloud control platform between intelligent roads, smart vehicles and the people who run
a connected and automated driving zone."""

from roadcloud.errors import (
    DecodeError,
    InputError,
    ManifestError,
    MapError,
    MessageError,
    RecordingError,
    RoadcloudError,
    SettingError,
    ToolError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "DecodeError",
    "InputError",
    "ManifestError",
    "MapError",
    "MessageError",
    "RecordingError",
    "RoadcloudError",
    "SettingError",
    "ToolError",
    "ValidationError",
    "__version__",
]
