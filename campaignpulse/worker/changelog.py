"""The state changelog: a compacted Kafka topic written each flush, read on restore.

Why a changelog topic (as Kafka Streams and Faust do) rather than a local store or the
warehouse: it lives where the input lives, moves with a partition to whichever worker
takes it over, needs no disk on the worker, and compaction keeps it about the size of
the live state. Records of input partition k go to changelog partition k; what they mean
is the store's business (``streams/state/store.py``), this is only their transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from campaignpulse.streams.state.tables import ChangelogRecord

log = logging.getLogger(__name__)

#: (key, value) of a changelog partition, in offset order
Records = list[tuple[bytes | None, bytes | None]]

#: a flush cut short by a crash may overwrite a key's value: the restart writes it back,
#: and until then compaction must keep the value it overwrote (see README: crashes)
MIN_COMPACTION_LAG_MS = 3_600_000


def ensure_changelog(bootstrap: str, topic: str, partitions: int) -> None:
    """Create the compacted changelog with as many partitions as the inputs have (a
    changelog with another count is refused at start, ``topology.py``)."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="campaignpulse-admin")
    try:
        if topic in set(admin.list_topics()):
            return
        configs = {"cleanup.policy": "compact", "segment.ms": str(3_600_000),
                   "min.cleanable.dirty.ratio": "0.5",
                   "min.compaction.lag.ms": str(MIN_COMPACTION_LAG_MS)}
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs)])
    finally:
        admin.close()


class Changelog:
    def __init__(self, bootstrap: str, topic: str, client_id: str = "worker") -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._client_id = client_id
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
        by_partition: dict[int, list[tuple[bytes, bytes | None]]] = {}
        for partition, key, value in records:
            by_partition.setdefault(partition, []).append((key, value))
        # whole batches per partition, in order: a send() per record costs a coroutine
        # and an accumulator lookup each, more than encoding the state did
        futures = []
        for partition, items in by_partition.items():
            batch = producer.create_batch()
            for key, value in items:
                if batch.append(key=key, value=value, timestamp=None) is not None:
                    continue
                if batch.record_count():
                    futures.append(await producer.send_batch(batch, self.topic,
                                                             partition=partition))
                    batch = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:  # too big
                    futures.append(await producer.send(self.topic, value, key=key,
                                                       partition=partition))
            if batch.record_count():
                futures.append(await producer.send_batch(batch, self.topic, partition=partition))
        await asyncio.gather(*futures)

    async def read(self, partitions: Iterable[int]) -> tuple[dict[int, Records], float]:
        """Every record of these changelog partitions, and the seconds it took.

        Reads to the reported end, then on until polls come back empty: Tansu
        under-reports the end. Stopping short is safe (the state of an earlier flush is
        restored with the positions it covers, and more input is read again), only slower.
        """
        started = time.perf_counter()
        tps = [TopicPartition(self.topic, p) for p in partitions]
        out: dict[int, Records] = {tp.partition: [] for tp in tps}
        if not tps:
            return out, 0.0
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
            max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024,
        )
        await consumer.start()
        try:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            empty_polls = 0
            behind = True
            while True:
                # past the reported end, a fetch with more to read returns at once: wait
                # only briefly for what Tansu did not report
                batch = await consumer.getmany(timeout_ms=200 if behind else 50,
                                               max_records=50_000)
                for tp, messages in batch.items():
                    out[tp.partition].extend((m.key, m.value) for m in messages)
                empty_polls = 0 if batch else empty_polls + 1
                behind = False
                for tp, end in ends.items():
                    behind = behind or await _position(consumer, tp) < end
                if empty_polls >= 2 and not behind or empty_polls >= 50:
                    break
        finally:
            await consumer.stop()
        return out, time.perf_counter() - started


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
    return int(await consumer.position(tp))
