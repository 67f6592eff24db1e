"""``campaignpulse bench --restore CREATORS``: seconds to restore that many creators' state."""

from __future__ import annotations

import json
import random
import time

from campaignpulse.broker import embedded_tansu
from campaignpulse.settings import Settings
from campaignpulse.streams.contract import FollowerSnapshot, Interaction
from campaignpulse.streams.pipeline import EngagementPipeline
from campaignpulse.streams.state.store import RestoreReport
from campaignpulse.worker.changelog import Changelog


async def run_restore_bench(settings: Settings, creators: int, seed: int) -> int:
    """Seconds to restore the checkpointed state of ``creators`` creators from a changelog.

    Each creator has an open hour of interactions and a follower history; the state is
    checkpointed to a changelog on the embedded broker, then read back and rebuilt.
    """
    rng = random.Random(seed)  # noqa: S311 - synthetic load, not security
    hour = int(time.time() * 1000) // 3_600_000 * 3_600_000
    live = EngagementPipeline(settings.allowed_lateness_ms)
    started = time.perf_counter()
    for n in range(creators):
        creator = f"creator-{n:06d}"
        for i in range(10):
            live.aggregator.add(Interaction(
                f"{creator}-e{i}", creator, f"{creator}-m{i % 2}", "", rng.randrange(10),
                f"actor-{rng.randrange(1_000_000)}", hour + rng.randrange(3_000_000),
            ), n % 4)
        for i in range(3):
            live.spikes.observe_snapshot(FollowerSnapshot(
                creator, 10_000 + i * rng.randrange(20), 300, hour - (3 - i) * 600_000), n % 4)
    records = live.checkpoint(int(time.time() * 1000))
    built = time.perf_counter() - started
    with embedded_tansu() as bootstrap:
        changelog = Changelog(bootstrap, "bench-restore.state", "bench")
        await changelog.start(4)
        try:
            await changelog.write(records)
        finally:
            await changelog.stop()
        reader = Changelog(bootstrap, "bench-restore.state", "bench")
        started = time.perf_counter()
        read, read_s = await reader.read(range(4))
        fresh = EngagementPipeline(settings.allowed_lateness_ms)
        report = RestoreReport()
        for partition, partition_records in read.items():
            report.merge(fresh.restore(partition, partition_records))
        total = time.perf_counter() - started
    restored = report.keys.get("windows", 0)
    size_mb = sum(len(k) + len(v or b"") for _, k, v in records) / 1e6
    print(f"creators          {restored:,} ({report.items.get('events', 0):,} open-hour events)")
    print(f"changelog         {len(records):,} records, {size_mb:,.1f} MB (state built in "
          f"{built:.1f} s)")
    print(f"restore           {total:.2f} s ({read_s:.2f} s reading, "
          f"{total - read_s:.2f} s rebuilding)")
    print(json.dumps({"restore_creators": restored, "restore_records": len(records),
                      "restore_mb": round(size_mb, 1), "restore_s": round(total, 2),
                      "restore_read_s": round(read_s, 2)}))
    return 0 if restored == creators and not report.refused else 1
