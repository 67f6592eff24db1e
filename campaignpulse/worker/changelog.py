"""The state changelog: a compacted Kafka topic written each flush, read on restore.

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

from campaignpulse.streams.state.codec import ChangelogRecord

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
    def __init__(self, bootstrap: str, topic: str, client_id: str = "worker") -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._client_id = client_id
        #: changelog partition -> offset after the newest record known durable
        self.marks: dict[int, int] = {}
        # its own producer: a flood of dead letters must not delay checkpoints
        self._producer: AIOKafkaProducer | None = None

    async def start(self, partitions: int) -> None:
        """Create the topic if need be, and wait until the producer sees its partitions."""
        await asyncio.to_thread(ensure_changelog, self.bootstrap, self.topic, partitions)
        producer = self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, client_id=f"{self._client_id}-state",
            acks="all", linger_ms=5, max_batch_size=1024 * 1024,
        )
        await producer.start()
        for _ in range(300):
            if len(await producer.partitions_for(self.topic)) >= partitions:
                return
            await producer.client.force_metadata_update()
            await asyncio.sleep(0.1)
        raise RuntimeError(f"changelog {self.topic} has fewer than {partitions} partitions")

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def write(self, records: list[ChangelogRecord]) -> None:
        """Send and wait for every acknowledgement; raises if any record was refused."""
        if not records:
            return
        producer = self._producer
        if producer is None:
            raise RuntimeError("changelog written before start()")
        futures = [
            await producer.send(self.topic, value, key=key, partition=partition)
            for partition, key, value in records
        ]
        for metadata in await asyncio.gather(*futures):
            if metadata.offset >= self.marks.get(metadata.partition, 0):
                self.marks[metadata.partition] = metadata.offset + 1

    async def read(
        self, partitions: Iterable[int], marks: dict[int, int]
    ) -> tuple[list[tuple[bytes | None, bytes | None]], float]:
        """Read these changelog partitions from the start: (key, value) in offset order per
        partition, and the seconds it took.

        Reads at least to ``marks`` (from the committed offsets' metadata, exact on any
        broker) and to the reported end, then on until a poll comes back empty: Tansu
        under-reports the end, and a crash can leave records past the last commit.
        """
        started = time.perf_counter()
        tps = [TopicPartition(self.topic, p) for p in partitions]
        records: list[tuple[bytes | None, bytes | None]] = []
        if not tps:
            return records, 0.0
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
                    records.extend((m.key, m.value) for m in messages)
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
        return records, time.perf_counter() - started


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
    return int(await consumer.position(tp))
