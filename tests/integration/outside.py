"""Checking from outside: files published by kcat, `campaignpulse worker` as a process,
offsets and topics read with plain clients. Nothing here is our producer or our worker
object: only what an operator would run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from campaignpulse.streams.contract import INPUT_TOPICS
from campaignpulse.streams.contract_campaigns import CONTESTS_TOPIC
from tests.integration.services import ROOT

INPUTS = (*INPUT_TOPICS, CONTESTS_TOPIC)


def kcat_publish(bootstrap: str, lines: list[str]) -> int:
    """Publish JSONL envelopes with kcat, one run per topic, keyed by creator (murmur2,
    as the README asks of foreign producers); no header, kcat's own clock as timestamp.
    Returns the records published to the worker's input topics."""
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    assert kcat, "install kcat (.ci/run does)"
    by_topic: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        envelope = json.loads(line)
        value = envelope["value"]
        if isinstance(value, str):
            by_topic[envelope["topic"]].append(f"\t{value}")
            continue
        key = value["campaign_id" if envelope["topic"] == "ig.campaigns" else "creator_id"]
        by_topic[envelope["topic"]].append(f"{key}\t{json.dumps(value)}")
    for topic, rows in by_topic.items():
        subprocess.run([kcat, "-P", "-b", bootstrap, "-t", topic, "-K", "\t",
                        "-X", "partitioner=murmur2_random"],
                       input="\n".join(rows) + "\n", text=True, check=True, timeout=120)
    return sum(len(rows) for topic, rows in by_topic.items() if topic in INPUTS)


def log_ends(bootstrap: str, topics: tuple[str, ...] = INPUTS) -> dict[tuple[str, int], int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t)
               or ()]
        return {(tp.topic, tp.partition): end for tp, end in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def committed(bootstrap: str, group: str, tps: list[tuple[str, int]]) -> dict[tuple[str, int],
                                                                             int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False)
    try:
        return {tp: consumer.committed(TopicPartition(*tp)) or 0 for tp in tps}
    finally:
        consumer.close()


def start_at_the_end(bootstrap: str, group: str) -> None:
    """Commit the current log ends for ``group``: the session's broker holds other tests'
    records (or their deleted ranges), and this group reads only what comes next."""
    ends = log_ends(bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False)
    try:
        tps = [TopicPartition(*tp) for tp in ends]
        consumer.assign(tps)
        consumer.commit({tp: OffsetAndMetadata(ends[(tp.topic, tp.partition)], "", -1)
                         for tp in tps})
    finally:
        consumer.close()


def committed_share(bootstrap: str, group: str) -> dict[str, float]:
    """Per input topic: committed offsets over log ends (1.0: everything committed)."""
    ends = log_ends(bootstrap)
    done = committed(bootstrap, group, list(ends))
    share = {}
    for topic in INPUTS:
        end = sum(e for (t, _), e in ends.items() if t == topic)
        share[topic] = 1.0 if not end else sum(
            done[tp] for tp in ends if tp[0] == topic) / end
    return share


def alert_messages(bootstrap: str) -> list[dict]:
    consumer = KafkaConsumer("campaignpulse.alerts", bootstrap_servers=bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000,
                             enable_auto_commit=False)
    try:
        return [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()


def dead_letter_reasons(bootstrap: str) -> list[str]:
    consumer = KafkaConsumer("campaignpulse.dlq", bootstrap_servers=bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000,
                             enable_auto_commit=False)
    try:
        return [dict(m.headers)["campaignpulse.reason"].decode() for m in consumer]
    finally:
        consumer.close()


class WorkerProcess:
    """``campaignpulse worker`` as a process, with its stderr kept in a file."""

    def __init__(self, bootstrap: str, group: str, data_dir: Path, log: Path,
                 **settings: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "CAMPAIGNPULSE_KAFKA_BOOTSTRAP": bootstrap,
               "CAMPAIGNPULSE_GROUP_ID": group, "CAMPAIGNPULSE_DATA_DIR": str(data_dir),
               "CAMPAIGNPULSE_METRICS_PORT": "0", "CAMPAIGNPULSE_FLUSH_INTERVAL_S": "0.3",
               **{f"CAMPAIGNPULSE_{k.upper()}": v for k, v in settings.items()}}
        env.pop("CAMPAIGNPULSE_CLICKHOUSE_URL", None)
        self.log = log
        self._err = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "campaignpulse.cli", "-v", "worker"], env=env,
            stdout=subprocess.PIPE, stderr=self._err, text=True)

    def stderr(self) -> str:
        return self.log.read_text()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> str:
        """SIGTERM: write, commit, summary, exit 0. Returns the summary."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=90)
        self._err.close()
        assert self.process.returncode == 0, self.stderr()[-3000:]
        return out

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._err.close()


def wait_until(what: str, check, timeout_s: float = 180, workers: tuple = ()) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        for worker in workers:
            assert worker.alive(), worker.stderr()[-3000:]
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def caught_up(bootstrap: str, group: str) -> bool:
    ends = log_ends(bootstrap)
    return committed(bootstrap, group, list(ends)) == ends
