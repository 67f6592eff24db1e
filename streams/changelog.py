"""The state changelog's shell: a compacted Kafka topic written each flush, read on restore.

Why a changelog topic (as Kafka Streams and Faust do) rather than a local store or the
warehouse: it lives where the input lives, moves with a partition to whichever worker
takes it over, needs no disk on the worker, and compaction keeps it about the size of
the live state. Records of input partition k go to changelog partition k.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from campaignpulse.streams.state.codec import ChangelogRecord, StateRestorer

log = logging.getLogger(__name__)

#: commit metadata of an input partition: the changelog offset its state had reached
_MARK = "changelog"


def mark_metadata(next_offset: int) -> str:
    return json.dumps({_MARK: next_offset})


def parse_mark(metadata: str | None) -> int:
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        return int(json.loads(metadata or "{}").get(_MARK, 0))
    return 0


def ensure_changelog(bootstrap: str, topic: str, partitions: int) -> None:
    """Create the compacted changelog with as many partitions as the inputs have."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="campaignpulse-admin")
    try:
        if topic in set(admin.list_topics()):
            [described] = admin.describe_topics([topic])
            found = len(described.get("partitions") or ())
            if found and found != partitions:
                raise RuntimeError(f"{topic} has {found} partitions, the inputs {partitions}: "
                                   "state of input partition k must live on partition k")
            return
        configs = {"cleanup.policy": "compact", "segment.ms": str(3_600_000),
                   "min.cleanable.dirty.ratio": "0.5"}
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs)])
    finally:
        admin.close()


class Changelog:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        #: changelog partition -> offset after the newest record known durable
        self.marks: dict[int, int] = {}

    async def ready(self, producer: AIOKafkaProducer, partitions: int) -> None:
        """Wait until the producer sees every partition of a topic created a moment ago."""
        for _ in range(300):
            if len(await producer.partitions_for(self.topic)) >= partitions:
                return
            await producer.client.force_metadata_update()
            await asyncio.sleep(0.1)
        raise RuntimeError(f"changelog {self.topic} has fewer than {partitions} partitions")

    async def write(self, producer: AIOKafkaProducer, records: list[ChangelogRecord]) -> None:
        """Send and wait for every acknowledgement; raises if any record was refused."""
        if not records:
            return
        futures = [
            await producer.send(self.topic, value, key=key, partition=partition)
            for partition, key, value in records
        ]
        for metadata in await asyncio.gather(*futures):
            if metadata.offset >= self.marks.get(metadata.partition, 0):
                self.marks[metadata.partition] = metadata.offset + 1

    async def restore(
        self, partitions: Iterable[int], marks: dict[int, int], restorer: StateRestorer
    ) -> float:
        """Read these changelog partitions from the start into ``restorer``; seconds taken.

        Reads at least to ``marks`` (from the committed offsets' metadata, exact on any
        broker) and to the reported end, then on until a poll comes back empty: Tansu
        under-reports the end, and a crash can leave records past the last commit.
        """
        started = time.perf_counter()
        tps = [TopicPartition(self.topic, p) for p in partitions]
        if not tps:
            return 0.0
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
            max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024,
        )
        await consumer.start()
        try:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            target = {tp: max(ends.get(tp, 0), marks.get(tp.partition, 0)) for tp in tps}
            empty_polls = 0
            while True:
                batch = await consumer.getmany(timeout_ms=200, max_records=50_000)
                for tp, messages in batch.items():
                    restorer.add_all((m.key, m.value) for m in messages)
                    self.marks[tp.partition] = messages[-1].offset + 1
                empty_polls = 0 if batch else empty_polls + 1
                behind = False
                for tp, end in target.items():
                    behind = behind or await _position(consumer, tp) < end
                if empty_polls >= 2 and not behind:
                    break
                if empty_polls >= 50:  # 10 s without records while a mark says more
                    log.warning("changelog %s ends before its committed mark", self.topic)
                    break
        finally:
            await consumer.stop()
        return time.perf_counter() - started


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
    return int(await consumer.position(tp))
