"""Prometheus metrics of the running service, read from the pipeline at scrape time.

The pipeline already keeps its counters (``PipelineStats``); rather than mirror every increment into
prometheus_client objects on the hot path, a custom collector turns one ``view.stats()`` into metric
families when Prometheus scrapes ``/metrics``, plus the stream hub's own counters. The registry is the
app's own (never the process-global one), so two apps in one process (tests) do not collide.

All names start with ``roadcloud_``; times are seconds, as Prometheus conventions ask.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from roadcloud.api.stream import StreamHub
from roadcloud.api.view import CloudView

#: Metric families /metrics always has (as the text format names them, counters with ``_total``).
METRIC_FAMILIES = (
    "roadcloud_messages_in",
    "roadcloud_dropped",
    "roadcloud_downlink_out",
    "roadcloud_fusion_tick_latency_seconds",
    "roadcloud_ldm_age_seconds",
    "roadcloud_tracks",
    "roadcloud_events_active",
    "roadcloud_devices_online",
    "roadcloud_devices_total",
    "roadcloud_vehicles_online",
    "roadcloud_store_backlog",
    "roadcloud_component_ok",
    "roadcloud_stream_clients",
    "roadcloud_stream_frames_in",
    "roadcloud_stream_messages_sent",
    "roadcloud_stream_dropped",
)


class PipelineCollector(Collector):
    """Metric families from one ``view.stats()`` and the hub's counters, built per scrape."""

    def __init__(self, view: CloudView, hub: StreamHub) -> None:
        self._view = view
        self._hub = hub

    def collect(self) -> Iterator[Metric]:
        stats = self._view.stats()
        yield _labelled(
            CounterMetricFamily,
            "roadcloud_messages_in",
            "Accepted up-stream messages, per message type.",
            "type",
            stats.messages_in,
        )
        yield _labelled(
            CounterMetricFamily,
            "roadcloud_dropped",
            "Messages and detections dropped, per reason.",
            "reason",
            stats.dropped,
        )
        yield _labelled(
            CounterMetricFamily,
            "roadcloud_downlink_out",
            "Down-stream messages sent, per message type.",
            "type",
            stats.downlink_out,
        )
        # The pipeline keeps quantiles, not buckets, so latency is a summary with quantile samples only.
        latency = Metric(
            "roadcloud_fusion_tick_latency_seconds",
            "Wall time of one pipeline tick (fusion, events, services), quantiles over recent ticks.",
            "summary",
        )
        latency.add_sample(
            "roadcloud_fusion_tick_latency_seconds", {"quantile": "0.5"}, stats.tick_latency_p50_ms / 1000.0
        )
        latency.add_sample(
            "roadcloud_fusion_tick_latency_seconds", {"quantile": "0.99"}, stats.tick_latency_p99_ms / 1000.0
        )
        yield latency
        yield GaugeMetricFamily(
            "roadcloud_ldm_age_seconds",
            "Tick time minus the time the live dynamic map refers to.",
            value=stats.ldm_age_ms / 1000.0,
        )
        yield _labelled(
            GaugeMetricFamily,
            "roadcloud_tracks",
            "Confirmed tracks in the live dynamic map, per kind.",
            "kind",
            stats.tracks_by_kind or {"all": stats.tracks},
        )
        yield _labelled(
            GaugeMetricFamily,
            "roadcloud_events_active",
            "Active road events, per event type.",
            "type",
            stats.events_active,
        )
        yield GaugeMetricFamily(
            "roadcloud_devices_online",
            "Roadside devices (units, signals, sensors) heard recently.",
            value=stats.devices_online,
        )
        yield GaugeMetricFamily(
            "roadcloud_devices_total",
            "Roadside devices (units, signals, sensors) in the registry.",
            value=stats.devices_total,
        )
        yield GaugeMetricFamily(
            "roadcloud_vehicles_online", "Connected vehicles heard recently.", value=stats.vehicles_online
        )
        yield GaugeMetricFamily(
            "roadcloud_store_backlog", "Writes queued for the database.", value=stats.store_backlog
        )
        components = {
            name: 1 if state == "ok" else 0 for name, state in self._view.health().items() if state != "off"
        }
        yield _labelled(
            GaugeMetricFamily,
            "roadcloud_component_ok",
            "1 when a component is healthy, 0 on error (off: absent).",
            "component",
            components,
        )
        counters = self._hub.counters
        yield GaugeMetricFamily(
            "roadcloud_stream_clients", "Connected WebSocket stream clients.", value=len(self._hub.clients)
        )
        yield CounterMetricFamily(
            "roadcloud_stream_frames_in",
            "Frames the pipeline handed to the stream hub.",
            value=counters.frames_in,
        )
        yield _labelled(
            CounterMetricFamily,
            "roadcloud_stream_messages_sent",
            "Stream messages sent, per stream.",
            "stream",
            counters.messages_sent,
        )
        yield _labelled(
            CounterMetricFamily,
            "roadcloud_stream_dropped",
            "Stream frames dropped, per reason.",
            "reason",
            {"slow_client": counters.dropped_slow_client, "loop_busy": counters.dropped_loop_busy},
        )


def _labelled(
    family_type: type[CounterMetricFamily] | type[GaugeMetricFamily],
    name: str,
    documentation: str,
    label: str,
    values: Mapping[str, float],
) -> Metric:
    family = family_type(name, documentation, labels=[label])
    for key in sorted(values):
        family.add_metric([str(key)], float(values[key]))
    return family


def build_registry(view: CloudView, hub: StreamHub) -> CollectorRegistry:
    """A fresh registry holding only this service's metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(view, hub))
    return registry
