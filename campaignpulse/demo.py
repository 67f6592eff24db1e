"""``campaignpulse demo``: broker, warehouse, worker and producer, all embedded and local."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from pathlib import Path

from campaignpulse.board import Board, summary
from campaignpulse.broker import embedded_tansu, ensure_topics
from campaignpulse.campaign_board import campaign_summary
from campaignpulse.producers.jsonl import parse_lines
from campaignpulse.producers.publisher import Publisher, envelope_to_outgoing
from campaignpulse.producers.simulator import CampaignSimulator, Faults, Incidents
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.streams.runtime import EngagementWorker, finish_line

log = logging.getLogger(__name__)
_HINT = "'SELECT * FROM engagement_hour ORDER BY interactions DESC LIMIT 5'"


async def run_demo(
    settings: Settings,
    duration_s: float,
    events_file: Path | None,
    board: bool,
    seed: int,
    rate: float,
) -> int:
    started = time.monotonic()
    warehouse = EmbeddedWarehouse(settings.data_dir)
    migrate(warehouse)
    with embedded_tansu() as bootstrap:
        settings = settings.model_copy(update={"kafka_bootstrap": bootstrap})
        ensure_topics(settings)
        worker = EngagementWorker(settings, warehouse, client_id="demo", exclusive=True)
        publisher = Publisher(bootstrap, client_id="demo-producer")
        stop = asyncio.Event()
        view = Board(warehouse, worker.stats, enabled=board)
        if events_file is not None:
            with events_file.open("rb") as lines:
                await asyncio.to_thread(publisher.publish, parse_lines(lines))
            worker.until = finish_line(publisher.report)
            runner = asyncio.create_task(worker.run(stop))
            await _show(view, runner)
        else:
            finished = threading.Event()
            simulator = CampaignSimulator(
                seed=seed,
                start_ms=int(time.time() * 1000) - 24 * 3_600_000,
                faults=Faults(duplicate=0.002, late=0.0005, malformed=0.0005),
                incidents=Incidents(bought_per_day=0.5, viral_per_day=0.5),
                campaign_activity=True,
            )
            if simulator.activity is not None:  # campaigns and contests before their events
                await asyncio.to_thread(publisher.publish, map(
                    envelope_to_outgoing, simulator.activity.definitions()))
            runner = asyncio.create_task(worker.run(stop))
            feed = asyncio.create_task(asyncio.to_thread(
                publisher.publish,
                (envelope_to_outgoing(e) for e in simulator.events()),
                rate,
                finished.is_set,
            ))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(_show(view, runner), timeout=duration_s)
            finished.set()
            await feed
            worker.until = finish_line(publisher.report)
            await _show(view, runner)
        publisher.close()
    print(summary(warehouse, worker.stats, publisher.report.unroutable,
                  time.monotonic() - started))
    print("\n".join(campaign_summary(warehouse)))
    print(f"query it: campaignpulse sql --data-dir {settings.data_dir} {_HINT}")
    warehouse.close()
    return 0


async def _show(view: Board, runner: asyncio.Task[None]) -> None:
    while not runner.done():
        view.render()
        await asyncio.wait({runner}, timeout=1.0)
    runner.result()
    view.render()
