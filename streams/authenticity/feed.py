"""What the pipeline hands the authenticity stage per micro-batch, and its durability.

The pipeline offers each accepted interaction (with its record's value, for the comment
text of comments), each media and each follower sample with its input partition; the
feed passes them to the stage once per batch and keeps the stage in the store
(``durable.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from campaignpulse.streams.authenticity.durable import DurableStage
from campaignpulse.streams.authenticity.followers import FollowerSample
from campaignpulse.streams.authenticity.stage import COMMENT, AuthenticityOutput, AuthenticityStage
from campaignpulse.streams.campaigns.definition import Campaign
from campaignpulse.streams.contract import Interaction, Media
from campaignpulse.streams.contract_authenticity import comment_text
from campaignpulse.streams.state.store import Store


class AuthenticityFeed:
    def __init__(self, allowed_lateness_ms: int, store: Store,
                 campaigns: Mapping[str, Campaign]) -> None:
        #: creator -> its input partition: where the state of its entries lives
        self.partitions: dict[str, int] = {}
        partitions = self.partitions
        self.stage = AuthenticityStage(allowed_lateness_ms, campaigns,
                                       partition_of=lambda c: partitions.get(c, 0))
        self.durable = DurableStage(self.stage, store, self.partitions)
        self._interactions: list[tuple[Interaction, str | None]] = []
        self._media: list[Media] = []
        self._samples: list[FollowerSample] = []

    def interaction(self, event: Interaction, partition: int, value: bytes | None) -> None:
        self._interactions.append(
            (event, comment_text(value) if event.kind == COMMENT else None))
        if event.creator_id not in self.partitions:
            self.partitions[event.creator_id] = partition

    def media(self, media: Media, partition: int) -> None:
        self._media.append(media)
        self.durable.media(media.media_id, partition)
        self.partitions.setdefault(media.creator_id, partition)

    def sample(self, sample: FollowerSample, partition: int) -> None:
        self._samples.append(sample)
        self.partitions.setdefault(sample.creator_id, partition)

    def drain(self, now_ms: int) -> AuthenticityOutput:
        """The batch through the stage: rows of the buckets it closed, evidence, alerts;
        ``now_ms``: the engine's wall clock, which tells idle partitions."""
        interactions, media, samples = self._interactions, self._media, self._samples
        self._interactions, self._media, self._samples = [], [], []
        out = self.stage.process(interactions, media, samples, now_ms)
        self.durable.sampled.update(row.creator_id for row in out.audience)
        return out

    def checkpoint(self) -> None:
        self.durable.sync()

    def assigned(self, partition: int) -> None:
        """An engine holds ``partition``: the watermark waits for it (``stage.watermark``)."""
        self.stage.assigned.add(partition)

    def inputs_at_end(self, partitions: Iterable[tuple[str, int]]) -> None:
        """The input partitions (topic, partition) the engine read to their end."""
        self.stage.inputs_at_end(partitions)

    def revoked(self, partitions: Iterable[int]) -> None:
        gone = set(partitions)
        self.stage.assigned -= gone
        for partition in gone:
            self.stage.delivered.pop(partition, None)
            self.stage.media_delivered.pop(partition, None)
            self.stage.samples_delivered.pop(partition, None)
        self.durable.revoked(gone)
        for creator in [c for c, p in self.partitions.items() if p in gone]:
            del self.partitions[creator]
