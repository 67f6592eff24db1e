"""Two workers, one SIGKILLed: the survivor restores only the partitions it gained, and
the rows of both (as one shared warehouse keeps them) equal the recount.

From outside: kcat publishes, two ``campaignpulse worker`` processes share a group (each
with its own embedded warehouse, since chdb opens a directory in one process: the rows
of a grain are merged as a shared ReplacingMergeTree would, the highest version wins).
"""

from __future__ import annotations

import re
from pathlib import Path

from campaignpulse.broker import ensure_topics
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse
from tests.integration.expectations import WINDOWS
from tests.integration.outside import (
    WorkerProcess,
    caught_up,
    kcat_publish,
    start_at_the_end,
    wait_until,
)
from tests.integration.state_files import make_lines
from tests.recount import COLUMNS, recount

GROUP = "outside-rebalance"
RESTORED = re.compile(r"restored partitions \[([\d, ]*)\]")


def restores(worker: WorkerProcess) -> list[set[int]]:
    return [{int(p) for p in found.split(",") if p.strip()}
            for found in RESTORED.findall(worker.stderr())]


def merged_rows(dirs: list[Path]) -> dict[str, dict[tuple, dict]]:
    """engagement_minute / engagement_hour as one ReplacingMergeTree over both dirs."""
    best: dict[tuple, dict] = {}
    for data_dir in dirs:
        warehouse = EmbeddedWarehouse(str(data_dir))
        try:
            rows = warehouse.query(
                "SELECT window_seconds, toUnixTimestamp(window_start) AS ws, campaign_id, "  # noqa: S608
                f"creator_id, media_id, {', '.join(COLUMNS)}, unique_actors, reach, version "
                f"FROM {WINDOWS} WHERE startsWith(creator_id, 'rb-')")
        finally:
            warehouse.close()
        for row in rows:
            key = (row["window_seconds"], row["ws"], row["campaign_id"], row["creator_id"],
                   row["media_id"])
            if key not in best or best[key]["version"] < row["version"]:
                best[key] = row
    out: dict[str, dict[tuple, dict]] = {"engagement_minute": {}, "engagement_hour": {}}
    for (seconds, *grain), row in best.items():
        table = "engagement_minute" if seconds == 60 else "engagement_hour"
        out[table][tuple(grain)] = {c: row[c] for c in (*COLUMNS, "unique_actors", "reach")}
    return out


def test_two_workers_one_killed_end_exact_and_the_survivor_restores_only_what_it_gained(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    ensure_topics(Settings(kafka_bootstrap=kafka_bootstrap))
    lines = make_lines("rb", 24_000, creators=40, seed=17)
    half = len(lines) // 2
    start_at_the_end(kafka_bootstrap, GROUP)
    kcat_publish(kafka_bootstrap, lines[:half])
    a = WorkerProcess(kafka_bootstrap, GROUP, tmp_path / "a", tmp_path / "a.log",
                      max_batch_records="500")
    wait_until("a owns every partition", lambda: restores(a) and restores(a)[-1] == {0, 1, 2, 3},
               workers=(a,))
    b = WorkerProcess(kafka_bootstrap, GROUP, tmp_path / "b", tmp_path / "b.log",
                      max_batch_records="500")
    wait_until("b joined", lambda: bool(restores(b)), workers=(a, b))
    wait_until("the first half committed", lambda: caught_up(kafka_bootstrap, GROUP),
               workers=(a, b))
    [b_holds] = restores(b)
    assert len(b_holds) == 2 and restores(a) == [{0, 1, 2, 3}]  # a kept its state: no restore
    kcat_publish(kafka_bootstrap, lines[half:])
    b.kill()  # while it works through the second half
    wait_until("a took over and committed everything",
               lambda: caught_up(kafka_bootstrap, GROUP), workers=(a,))
    a.stop()
    # the survivor restored exactly the partitions it gained, never its own again
    assert restores(a) == [{0, 1, 2, 3}, b_holds], a.stderr()[-2000:]

    want = recount(lines)
    got = merged_rows([tmp_path / "a", tmp_path / "b"])
    for table in got:
        wanted = {k: {c: v[c] for c in (*COLUMNS, "unique_actors", "reach")}
                  for k, v in want[table].items()}
        assert got[table] == wanted, table
    assert sum(len(rows) for rows in got.values()) > 1000
