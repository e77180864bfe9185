"""Rate-limited logging for floods: one line per key per interval, then a count of what was held back.

A misconfigured RSU sending 10 stale messages a second, or an attacker spraying garbage, must not bury
the log; the counts in ``IngestStats`` stay exact either way.
"""

from __future__ import annotations

import logging
from typing import Any


class RateLimitedLog:
    """Times are caller-supplied epoch milliseconds (ingest passes its injected clock)."""

    __slots__ = ("_interval_ms", "_last_ms", "_logger", "_suppressed")

    def __init__(self, logger: logging.Logger, *, interval_ms: int) -> None:
        self._logger = logger
        self._interval_ms = interval_ms
        self._last_ms: dict[str, int] = {}
        self._suppressed: dict[str, int] = {}

    def allow(self, key: str, now_ms: int) -> int | None:
        """None when this key logged less than an interval ago (the event is counted as suppressed);
        otherwise the number suppressed since its last line, and the caller logs now."""
        last_ms = self._last_ms.get(key)
        if last_ms is not None and now_ms - last_ms < self._interval_ms:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        self._last_ms[key] = now_ms
        return self._suppressed.pop(key, 0)

    def warning(self, key: str, now_ms: int, message: str, *args: Any) -> bool:
        """Log ``message % args`` unless rate-limited; True when a line was written."""
        suppressed = self.allow(key, now_ms)
        if suppressed is None:
            return False
        if suppressed:
            message += " (%d similar not logged in the last %d s)"
            args = (*args, suppressed, self._interval_ms // 1000)
        self._logger.warning(message, *args)
        return True
