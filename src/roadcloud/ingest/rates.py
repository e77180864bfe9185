"""Message rates over a sliding window, for the device registry's per-device, per-message-type figures.

A window is a ring of fixed-width time buckets: recording a message is one integer increment (ingest does
it for every accepted message), and the window slides a whole bucket at a time.
"""

from __future__ import annotations

from roadcloud.errors import SettingError


class RateWindow:
    """Counts events over the last ``window_ms``; all times are caller-supplied epoch milliseconds."""

    __slots__ = ("_bucket_ms", "_counts", "_first_ms", "_last_bucket")

    def __init__(self, *, window_ms: int, bucket_ms: int) -> None:
        if bucket_ms <= 0 or window_ms < bucket_ms or window_ms % bucket_ms:
            raise SettingError(
                f"rate window {window_ms} ms with {bucket_ms} ms buckets: the window must be a positive "
                "whole number of buckets"
            )
        self._bucket_ms = bucket_ms
        self._counts = [0] * (window_ms // bucket_ms)
        self._last_bucket: int | None = None
        self._first_ms: int | None = None

    def add(self, now_ms: int, count: int = 1) -> None:
        bucket = now_ms // self._bucket_ms
        last = self._last_bucket
        if last is None:
            self._first_ms = now_ms
        if last is None or bucket > last:
            self._advance(bucket)
        elif bucket < last:
            bucket = last  # the clock stepped back: count into the newest bucket, never rewrite history
        self._counts[bucket % len(self._counts)] += count

    def rate_hz(self, now_ms: int) -> float:
        """Events per second over the window ending at ``now_ms``.

        The current bucket counts only for the part already elapsed, and a stream whose first event is less
        than a window old is divided by the time since that event (at least one bucket), so a new 10 Hz
        stream reads about 10 Hz at once instead of ramping up.
        """
        if self._last_bucket is None or self._first_ms is None:
            return 0.0
        buckets = len(self._counts)
        bucket = now_ms // self._bucket_ms
        age = max(bucket - self._last_bucket, 0)
        if age >= buckets:
            return 0.0
        # Buckets older than the window (relative to now, not to the last event) do not count.
        total = sum(self._counts[(self._last_bucket - back) % buckets] for back in range(buckets - age))
        covered_ms = (buckets - 1) * self._bucket_ms + (now_ms - bucket * self._bucket_ms) + 1
        since_start_ms = now_ms - self._first_ms + 1
        duration_ms = max(min(covered_ms, since_start_ms), self._bucket_ms)
        return total * 1000.0 / duration_ms

    def _advance(self, bucket: int) -> None:
        buckets = len(self._counts)
        if self._last_bucket is not None:
            for stale in range(self._last_bucket + 1, min(bucket, self._last_bucket + buckets) + 1):
                self._counts[stale % buckets] = 0
        self._last_bucket = bucket
