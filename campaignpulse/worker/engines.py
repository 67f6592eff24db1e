"""Which engine runs the host: ``CAMPAIGNPULSE_ENGINE`` (or ``--engine``) decides."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.streams.pipeline import EngagementPipeline
from campaignpulse.worker.host import PipelineHost
from campaignpulse.worker.outputs import WorkerStats


class Engine(Protocol):
    """What the CLI, the bench and the tests use of either engine."""

    until: Mapping[tuple[str, int], int] | None

    @property
    def host(self) -> PipelineHost: ...

    @property
    def pipeline(self) -> EngagementPipeline: ...

    @property
    def stats(self) -> WorkerStats: ...

    async def run(self, stop: asyncio.Event) -> None: ...


def new_worker(settings: Settings, warehouse: Warehouse, client_id: str = "worker",
               exclusive: bool = False) -> Engine:
    """``exclusive`` (every partition, no group join) is the native engine's alone; Faust
    always joins ``group_id``. Faust is imported only when it runs."""
    if settings.engine == "faust":
        from campaignpulse.worker.faust_engine import FaustWorker

        return FaustWorker(settings, warehouse, client_id, web_port=settings.faust_web_port)
    from campaignpulse.worker.loop import Worker

    return Worker(settings, warehouse, client_id, exclusive=exclusive)
