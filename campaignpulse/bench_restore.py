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
from campaignpulse.worker.collector import Collector


async def run_restore_bench(settings: Settings, creators: int, seed: int,
                            rounds: int = 3) -> int:
    """Seconds to restore the checkpointed state of ``creators`` creators from a changelog.

    Each creator has an open hour of interactions and a follower history; the state is
    checkpointed to a changelog on the embedded broker, then read back and rebuilt
    ``rounds`` times (the median is reported).
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
        written = len(records)
        size_mb = sum(len(k) + len(v or b"") for _, k, v in records) / 1e6
        del live, records  # restores in a heap without the state that wrote them
        reader = Changelog(bootstrap, "bench-restore.state", "bench")
        runs = []
        for _ in range(rounds):
            fresh = EngagementPipeline(settings.allowed_lateness_ms)
            report = RestoreReport()
            started, cpu = time.perf_counter(), time.process_time()
            with Collector().quiet():  # as the worker restores (host.py)
                read, read_s = await reader.read(range(4))
                for partition in range(4):
                    report.merge(fresh.restore(partition, read.pop(partition)))
            runs.append((time.perf_counter() - started, read_s, time.process_time() - cpu))
            # what a restore leaves for later: each detector is decoded at its creator's
            # next snapshot; timed here all at once
            started = time.perf_counter()
            for n in range(creators):
                fresh.spikes.detector(f"creator-{n:06d}")
            deferred = time.perf_counter() - started
            del fresh
    total, read_s, cpu = sorted(runs)[len(runs) // 2]
    restored = report.keys.get("windows", 0)
    print(f"creators          {restored:,} ({report.items.get('events', 0):,} open-hour events)")
    print(f"changelog         {written:,} records, {size_mb:,.1f} MB (state built in "
          f"{built:.1f} s)")
    print(f"restore           {total:.2f} s ({read_s:.2f} s reading, "
          f"{total - read_s:.2f} s rebuilding, {cpu:.2f} CPU-s), median of {len(runs)} "
          f"({', '.join(f'{t:.2f}' for t, _, _ in runs)} s)")
    print(f"deferred          {deferred:.2f} s decoding the detectors at their next snapshots")
    print(json.dumps({"restore_creators": restored, "restore_records": written,
                      "restore_mb": round(size_mb, 1), "restore_s": round(total, 2),
                      "restore_read_s": round(read_s, 2),
                      "restore_cpu_s": round(cpu, 2),
                      "restore_rounds_s": [round(t, 2) for t, _, _ in runs],
                      "restore_deferred_s": round(deferred, 2)}))
    return 0 if restored == creators and not report.refused else 1
