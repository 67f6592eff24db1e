"""A ClickHouse outage shorter than a minute shows in the sink retry metric at once, and
the rows written after it equal the recount (the worker retries, nothing is lost)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from prometheus_client import REGISTRY

from campaignpulse.broker import ensure_topics
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import ServerWarehouse, migrate
from campaignpulse.worker.loop import Worker
from campaignpulse.worker.records import finish_line
from tests.integration.expectations import WINDOWS
from tests.integration.services import ClickHouseServer
from tests.integration.state_files import make_lines, publish_lines, start_group_at_the_end
from tests.recount import COLUMNS, recount


def retries() -> float:
    return REGISTRY.get_sample_value("campaignpulse_sink_retries_total") or 0.0


def test_a_short_outage_counts_retries_from_the_first_failure_and_loses_nothing(
    kafka_bootstrap: str, clickhouse_server: ClickHouseServer, tmp_path: Path
) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, group_id="sink-outage",
                        flush_interval_s=0.3, metrics_port=0, max_batch_records=300)
    ensure_topics(settings)
    asyncio.run(start_group_at_the_end(kafka_bootstrap, settings.group_id))
    lines = make_lines("so", 12_000, creators=20, seed=23)
    # the second half is published during the outage, so the worker has rows to write then
    first = publish_lines(kafka_bootstrap, lines[:6_000], tmp_path / "first.jsonl")
    warehouse = ServerWarehouse(clickhouse_server.url, retry_for_s=0)  # as `worker` opens it
    migrate(warehouse)

    async def run() -> tuple[float, float]:
        worker = Worker(settings, warehouse, client_id="sink-outage")
        task = asyncio.create_task(worker.run(asyncio.Event()))
        while worker.stats.rows_written == 0:
            assert not task.done(), task.result()
            await asyncio.sleep(0.1)
        before = retries()
        await asyncio.to_thread(clickhouse_server.stop)
        second = await asyncio.to_thread(
            publish_lines, kafka_bootstrap, lines[6_000:], tmp_path / "second.jsonl")
        worker.until = {**finish_line(first), **finish_line(second)}
        down = time.monotonic()  # from when there are rows to write
        for _ in range(300):
            if retries() > before:
                break
            await asyncio.sleep(0.1)
        seen_after = time.monotonic() - down
        await asyncio.sleep(12)  # a 12-second outage, and more
        counted = retries() - before
        await asyncio.to_thread(clickhouse_server.start)
        await asyncio.wait_for(task, timeout=240)
        return seen_after, counted

    try:
        seen_after, counted = asyncio.run(run())
        # the first failed attempt counts within seconds, not after the driver's minute
        assert seen_after < 10, seen_after
        assert counted >= 3, counted  # backoff 1, 2, 4, 8 s: attempts keep counting
        want = recount(lines)["engagement_hour"]
        rows = warehouse.query(
            "SELECT toUnixTimestamp(window_start) AS ws, campaign_id, creator_id, media_id, "  # noqa: S608
            f"{', '.join(COLUMNS)}, unique_actors, reach FROM {WINDOWS} "
            "WHERE window_seconds = 3600 AND creator_id LIKE 'so-%'")
        got = {(r["ws"], r["campaign_id"], r["creator_id"], r["media_id"]):
               {c: int(r[c]) for c in (*COLUMNS, "unique_actors", "reach")} for r in rows}
        assert got == {k: {c: v[c] for c in (*COLUMNS, "unique_actors", "reach")}
                       for k, v in want.items()}
        assert len(got) > 50
    finally:
        warehouse.close()
