"""Event files for the state and replay tests, and a recount check limited to their creators.

The session's Kafka is shared by every test, so each test's creators carry their own
prefix and every comparison is limited to it.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from campaignpulse.broker import partition_counts
from campaignpulse.producers.jsonl import parse_lines
from campaignpulse.producers.publisher import Publisher, PublishReport
from campaignpulse.producers.simulator import CampaignSimulator, Faults
from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.streams.contract_campaigns import WORKER_TOPICS
from tests.recount import COLUMNS, recount, to_ms, values

HOUR_MS = 3_600_000


def make_lines(prefix: str, events: int, creators: int = 40, seed: int = 5,
               start_ms: int | None = None) -> list[str]:
    """Simulated events, 12 h ago and on, of creators named ``<prefix>-NNNNN``."""
    start = start_ms if start_ms is not None else (
        int(time.time() * 1000) // HOUR_MS * HOUR_MS - 12 * HOUR_MS)
    simulator = CampaignSimulator(seed=seed, start_ms=start, creators=creators,
                                  faults=Faults(duplicate=0.01, late=0.003))
    lines = []
    for envelope in simulator.events():
        lines.append(envelope.to_json().replace('"cr-', f'"{prefix}-'))
        if len(lines) == events:
            break
    return lines


def event_ms(line: str) -> int:
    for topic, field in (("ig.interactions", "occurred_at"), ("ig.media", "published_at"),
                         ("ig.followers", "observed_at")):
        for value in values([line], topic):
            return to_ms(value[field])
    return -1


def publish_file(
    bootstrap: str, path: Path, client_id: str = "campaignpulse-producer"
) -> PublishReport:
    """A JSONL event file through our producer, as ``campaignpulse produce file`` does."""
    publisher = Publisher(bootstrap, client_id=client_id)
    with path.open("rb") as f:
        report = publisher.publish(parse_lines(f))
    publisher.close()
    return report


def publish_lines(bootstrap: str, lines: list[str], path: Path) -> PublishReport:
    path.write_text("\n".join(lines) + "\n")
    return publish_file(bootstrap, path, client_id=f"test-{path.stem}")


def engagement(warehouse: Warehouse, prefix: str) -> dict[str, dict[tuple, dict]]:
    got = {}
    for table in ("engagement_minute", "engagement_hour"):
        rows = warehouse.query(
            f"SELECT toUnixTimestamp(window_start) AS ws, * FROM {table} "  # noqa: S608
            f"WHERE startsWith(creator_id, '{prefix}-')"
        )
        got[table] = {(r["ws"], r["campaign_id"], r["creator_id"], r["media_id"]):
                      {c: r[c] for c in (*COLUMNS, "interactions", "unique_actors", "reach")}
                      for r in rows}
        assert len(got[table]) == len(rows), f"{table}: more than one row per grain"
    return got


def expected(lines: list[str], from_ms: int | None = None, to_ms: int | None = None
             ) -> dict[str, dict[tuple, dict]]:
    """The naive recount, limited to windows overlapping [from, to) when given."""
    out = recount(lines)
    if from_ms is None or to_ms is None:
        return out
    sizes = {"engagement_minute": 60, "engagement_hour": 3600}
    return {table: {k: v for k, v in rows.items()
                    if k[0] * 1000 < to_ms and (k[0] + sizes[table]) * 1000 > from_ms}
            for table, rows in out.items()}


def assert_matches(warehouse: Warehouse, prefix: str, want: dict) -> int:
    got = engagement(warehouse, prefix)
    for table in got:
        extra, missing = set(got[table]) - set(want[table]), set(want[table]) - set(got[table])
        assert not extra and not missing, (f"{table}: grains differ", sorted(extra)[:3],
                                           sorted(missing)[:3], len(extra), len(missing))
        wrong = [(k, got[table][k], want[table][k]) for k in sorted(want[table])
                 if got[table][k] != want[table][k]]
        assert not wrong, (table, len(wrong), wrong[:3])
    return sum(len(rows) for rows in got.values())


def stop_once_committed(worker: subprocess.Popen[str], log: list[str], bootstrap: str,
                        group: str, ends: dict[tuple[str, int], int],
                        timeout_s: float = 180) -> None:
    """Wait until ``group`` committed ``ends`` (the worker process must stay up), then
    SIGTERM the worker: it must exit 0. ``log``: its stderr lines, for the messages."""
    from tests.integration.test_state_restart import committed

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = committed(bootstrap, group, ends)
        if all(done.get(tp, 0) >= end for tp, end in ends.items()):
            break
        assert worker.poll() is None, "".join(log[-30:])
        time.sleep(0.5)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0, "".join(log[-30:])


async def start_group_at_the_end(bootstrap: str, group: str) -> None:
    """Commit the current log end for ``group``: its worker reads only what comes next
    (the session's topics hold other tests' data, e.g. a file published twice)."""
    counts = partition_counts(bootstrap, WORKER_TOPICS)  # ig.contests, samples too
    tps = [TopicPartition(t, p) for t, n in counts.items() for p in range(n)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit({tp: end for tp, end in ends.items()})
    finally:
        await consumer.stop()
