"""The Faust engine under Faust's own worker CLI::

    faust -A campaignpulse.worker.faust_app worker -l info

Configured like ``campaignpulse worker --engine faust``: from ``CAMPAIGNPULSE_*`` alone.
Importing this module connects to nothing; the warehouse opens, its schema and the
contract's topics are created when the app starts.
"""

from __future__ import annotations

from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.worker.faust_engine import FaustWorker


def _open_warehouse(settings: Settings) -> Warehouse:
    from prometheus_client import start_http_server

    from campaignpulse import metrics
    from campaignpulse.broker import ensure_topics
    from campaignpulse.sinks.warehouse import migrate, open_warehouse

    warehouse = open_warehouse(settings.clickhouse(), settings.data_dir,
                               connect_timeout_s=settings.connect_timeout_s)
    migrate(warehouse, settings.cluster())
    ensure_topics(settings)
    if settings.metrics_port:
        start_http_server(settings.metrics_port)
    metrics.preset_worker_series()
    return warehouse


settings = Settings()
worker = FaustWorker(settings, lambda: _open_warehouse(settings),
                     web_port=settings.faust_web_port)
app = worker.app
