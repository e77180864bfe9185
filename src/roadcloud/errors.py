"""The roadcloud exception tree.

Every error a user can cause names the thing, the value and the fix in one line. The CLI turns any
``InputError`` into that line and exit code 2; the pipeline counts, logs and drops messages that raise
``MessageError`` and keeps running.

    RoadcloudError
     ├── InputError            bad input from outside: files, settings, arguments, messages
     │    ├── MapError         missing or corrupt network, unknown lane or edge, no route
     │    ├── ManifestError    malformed or impossible zone manifest
     │    ├── SettingError     an impossible setting (negative rate, empty zone)
     │    ├── RecordingError   missing or corrupt twin recording
     │    ├── StoreError       a database URL that cannot be used, a database newer than this roadcloud,
     │    │                    or a store query with impossible bounds
     │    └── MessageError     a V2X message that cannot be decoded or fails validation
     │         ├── DecodeError
     │         └── ValidationError
     └── ToolError             a SUMO tool (netconvert, netgenerate, duarouter) failed
"""

from __future__ import annotations


class RoadcloudError(Exception):
    """Base of every error roadcloud raises on purpose."""


class InputError(RoadcloudError):
    """Input from outside roadcloud is wrong; the message says what and how to fix it."""


class MapError(InputError):
    """A road network is missing, corrupt, or does not contain what was asked for."""


class ManifestError(InputError):
    """A zone manifest is malformed or describes an impossible zone."""


class SettingError(InputError):
    """A setting has an impossible value."""


class RecordingError(InputError):
    """A twin recording is missing, truncated or not a roadcloud recording."""


class StoreError(InputError):
    """A database cannot be opened or used as asked; the message names the URL or the bound and the fix."""


class MessageError(InputError):
    """A V2X message cannot be accepted."""


class DecodeError(MessageError):
    """The payload is not a well-formed message of the expected type."""


class ValidationError(MessageError):
    """The message decodes but a value is out of range, stale, or from an unknown device."""


class ToolError(RoadcloudError):
    """An external SUMO tool failed; the message carries the tool's own last words."""
