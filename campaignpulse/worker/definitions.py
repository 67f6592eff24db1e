"""The worker's definitions feed: all of ``ig.campaigns`` and ``ig.contests``, always.

Campaign definitions must not depend on the consumer group: every worker needs every
campaign (a creator's events can name any of them). So a separate consumer without a
group is assigned every partition of both topics, reads them from the beginning before
the worker consumes events (definitions survive restarts), then keeps following them.
``ig.contests`` is also in the group's input; a contest applied twice is the same contest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from campaignpulse import metrics
from campaignpulse.settings import Settings
from campaignpulse.sinks.writer_campaigns import CampaignDefinitionRow
from campaignpulse.streams.contract import Reason, Rejected
from campaignpulse.streams.contract_campaigns import CAMPAIGNS_TOPIC, CONTESTS_TOPIC
from campaignpulse.streams.pipeline import DeadLetter, EngagementPipeline, RawRecord
from campaignpulse.worker.records import raw_records

log = logging.getLogger(__name__)
FEED_TOPICS = (CAMPAIGNS_TOPIC, CONTESTS_TOPIC)


class DefinitionsFeed:
    def __init__(
        self,
        settings: Settings,
        pipeline: EngagementPipeline,
        written: Callable[[CampaignDefinitionRow], None],
        rejected: Callable[[DeadLetter], None],
        client_id: str,
    ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self._written = written
        self._rejected = rejected
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self, timeout_s: float = 60.0) -> None:
        """Assign every partition and read up to the current end before returning."""
        consumer = self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap, group_id=None,
            client_id=f"{self._client_id}-definitions", enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        # the metadata of every topic (``topics()`` does not keep it on the consumer)
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [TopicPartition(topic, p) for topic in FEED_TOPICS
                      for p in sorted(cluster.partitions_for_topic(topic) or ())]
        if not partitions:
            log.warning("no %s partitions yet: no definitions to read", FEED_TOPICS)
            return
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            positions = {tp: await consumer.position(tp) for tp in partitions}
            if all(positions[tp] >= end for tp, end in ends.items()):
                return
            await self.poll(500)
        log.warning("definitions not read to their end within %.0fs; following on", timeout_s)

    async def poll(self, timeout_ms: int) -> int:
        if self._consumer is None or not self._consumer.assignment():
            await asyncio.sleep(timeout_ms / 1000)
            return 0
        records = raw_records(await self._consumer.getmany(timeout_ms=timeout_ms))
        for record in records:
            self.apply(record)
        return len(records)

    def apply(self, record: RawRecord) -> None:
        try:
            if record.topic == CAMPAIGNS_TOPIC:
                campaign_id, campaign = self.pipeline.define_campaign(record.key, record.value)
                self._written(CampaignDefinitionRow(campaign_id, campaign, record.offset))
            else:
                self.pipeline.define_contest(record.key, record.value)
        except Rejected as rejected:
            if record.topic == CAMPAIGNS_TOPIC:  # a bad contest: the group's input letters it
                self._rejected(DeadLetter(record, rejected.reason, rejected.detail))
        except Exception as exc:  # a bug must cost one record, not the worker
            metrics.ERRORS.labels("definitions").inc()
            self._rejected(DeadLetter(record, Reason.INTERNAL_ERROR, repr(exc)[:200]))

    async def follow(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.poll(500)
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.ERRORS.labels("definitions").inc()
                log.exception("reading definitions failed; retrying")
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
