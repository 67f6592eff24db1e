"""``campaignpulse demo``: broker, warehouse, worker and producer, all embedded and local."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from campaignpulse.board import Board, summary
from campaignpulse.broker import embedded_tansu, ensure_topics
from campaignpulse.campaign_board import campaign_summary
from campaignpulse.producers.jsonl import parse_lines
from campaignpulse.producers.publisher import Publisher, envelope_to_outgoing
from campaignpulse.producers.simulator import CampaignSimulator, Faults, Incidents
from campaignpulse.progress import count_lines, publish_progress
from campaignpulse.settings import Settings
from campaignpulse.shutdown import Shutdown
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.worker.loop import Worker
from campaignpulse.worker.records import finish_line

log = logging.getLogger(__name__)
_HINT = "'SELECT * FROM engagement_hour ORDER BY interactions DESC LIMIT 5'"


async def run_demo(
    settings: Settings,
    duration_s: float,
    events_file: Path | None,
    board: bool,
    seed: int,
    rate: float,
    start_ms: int | None = None,
) -> int:
    """Exit code 0, or 128 + the signal that stopped it (after the summary)."""
    shutdown = Shutdown().install()
    started = time.monotonic()
    _serve_metrics(settings.metrics_port)
    warehouse = EmbeddedWarehouse(settings.data_dir)
    migrate(warehouse)
    with embedded_tansu() as bootstrap:
        settings = settings.model_copy(update={"kafka_bootstrap": bootstrap})
        ensure_topics(settings)
        worker = Worker(settings, warehouse, client_id="demo", exclusive=True)
        publisher = Publisher(bootstrap, client_id="demo-producer")
        unroutable = lambda: publisher.report.unroutable  # noqa: E731
        if events_file is not None:
            view = Board(warehouse, worker.stats, enabled=board, stops_by_itself=True,
                         unroutable=unroutable, event_time_note="the file's own timestamps")
            with events_file.open("rb") as lines, publish_progress(count_lines(events_file)) as bar:
                await asyncio.to_thread(publisher.publish, parse_lines(lines), None,
                                        shutdown.flag.is_set, bar)
            worker.until = finish_line(publisher.report)
            runner = asyncio.create_task(worker.run(shutdown.event))
            with view:
                await _show(view, runner)
        else:
            if start_ms is None:
                start_ms = int(time.time() * 1000) - 24 * 3_600_000
            view = Board(warehouse, worker.stats, enabled=board, stops_by_itself=False,
                         unroutable=unroutable,
                         event_time_note="simulated time: it starts at --start and runs "
                                         "faster than the clock")
            simulator = CampaignSimulator(
                seed=seed,
                start_ms=start_ms,
                faults=Faults(duplicate=0.002, late=0.0005, malformed=0.0005),
                incidents=Incidents(bought_per_day=0.5, viral_per_day=0.5),
                campaign_activity=True,
            )
            if simulator.activity is not None:  # campaigns and contests before their events
                await asyncio.to_thread(publisher.publish, map(
                    envelope_to_outgoing, simulator.activity.definitions()))
            runner = asyncio.create_task(worker.run(shutdown.event))
            feed = asyncio.create_task(asyncio.to_thread(
                publisher.publish,
                (envelope_to_outgoing(e) for e in simulator.events()),
                rate,
                shutdown.flag.is_set,
            ))
            with view:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(_show(view, runner), timeout=duration_s)
                shutdown.flag.set()  # the feed ends: stop the publisher thread
                await feed
                worker.until = finish_line(publisher.report)
                await _show(view, runner)
        publisher.close()
    print(summary(warehouse, worker.stats, publisher.report.unroutable,
                  time.monotonic() - started))
    print("\n".join(campaign_summary(warehouse)))
    print(f"query it: campaignpulse sql --data-dir {settings.data_dir} {_HINT}", flush=True)
    warehouse.close()
    return shutdown.exit_code(sigterm=143)


async def _show(view: Board, runner: asyncio.Task[None]) -> None:
    while not runner.done():
        await asyncio.to_thread(view.refresh)  # its queries must not stall the worker
        await asyncio.wait({runner}, timeout=1.0)
    runner.result()
    await asyncio.to_thread(view.refresh)


def _serve_metrics(port: int) -> None:
    """The worker's /metrics, when the port is free: a second demo or a worker may hold it."""
    if not port:
        return
    from prometheus_client import start_http_server

    from campaignpulse import metrics

    try:
        start_http_server(port)
    except OSError as exc:
        log.warning("metrics not served on :%d (%s); set CAMPAIGNPULSE_METRICS_PORT", port, exc)
        return
    metrics.preset_worker_series()
