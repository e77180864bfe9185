"""The service edge (#6): REST API, live WebSocket stream, health and Prometheus metrics around a running
cloud pipeline, and the dashboard's static files.

    CloudPipeline (implements CloudView) ──latest() / listener──▶ create_app(view) ──▶ uvicorn
                                                                    ├─ /api/v1/…  (routes/)
                                                                    ├─ WS /api/v1/stream (stream.StreamHub)
                                                                    ├─ /health, /metrics (metrics)
                                                                    └─ /  (web/, the dashboard)

``commands`` adds ``roadcloud serve``.
"""

from roadcloud.api.app import create_app
from roadcloud.api.stream import StreamFilter, StreamHub
from roadcloud.api.view import CloudView, HistoryView, RoadsideUnitView

__all__ = ["CloudView", "HistoryView", "RoadsideUnitView", "StreamFilter", "StreamHub", "create_app"]
