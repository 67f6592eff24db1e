"""A simulated run with pods, bots and fake followers injected, fed to the stage as the
pipeline will: interactions the engagement windows accept, with the comment text."""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from functools import cache

import orjson

from campaignpulse.producers.authenticity_events import Inauthenticity, Truth
from campaignpulse.producers.simulator import CampaignSimulator
from campaignpulse.streams.authenticity.stage import AuthenticityOutput, AuthenticityStage
from campaignpulse.streams.campaigns.definition import parse_campaign
from campaignpulse.streams.contract import INTERACTIONS_TOPIC, MEDIA_TOPIC, decode
from campaignpulse.streams.contract_authenticity import (
    FOLLOWER_SAMPLES_TOPIC,
    comment_text,
    decode_follower_sample,
)
from campaignpulse.streams.contract_campaigns import CAMPAIGNS_TOPIC
from campaignpulse.streams.windows import EngagementAggregator, Outcome

START_MS = 1_764_547_200_000  # 2025-12-01T00:00:00Z
LATENESS_MS = 600_000


@dataclass
class Run:
    lines: list[str]
    truth: Truth
    outputs: list[AuthenticityOutput]
    stage: AuthenticityStage
    followers: dict[str, int]

    def rows(self):
        return [r for o in self.outputs for r in o.rows]


def partition_of(partitions: int):
    return lambda creator: zlib.crc32(creator.encode()) % partitions


@cache
def simulated(seed: int, hours: float, creators: int, batch: int = 2000,
              media_delay: int = 0, partitions: int = 1, samples_delay: int = 0) -> Run:
    """``media_delay``, ``samples_delay``: the media (follower samples) of a batch reach
    the stage that many batches later, as in a backlog read faster on one topic;
    ``partitions``: the creators' partitions."""
    sim = CampaignSimulator(seed=seed, start_ms=START_MS, creators=creators,
                            campaign_activity=True, inauthenticity=Inauthenticity())
    envelopes = list(sim.activity.definitions()) if sim.activity else []
    for _ in range(int(hours * 360)):
        envelopes.extend(sim.step())
    lines = [e.to_json() for e in envelopes]
    now = sim.now_ms + 1
    campaigns = {}
    for e in envelopes:
        if e.topic == CAMPAIGNS_TOPIC:
            c = parse_campaign(e.value)
            campaigns[c.campaign_id] = c
    stage = AuthenticityStage(LATENESS_MS, campaigns, partition_of=partition_of(partitions))
    stage.assigned = set(range(partitions))  # as an engine assigns them
    of = partition_of(partitions)
    inputs = (INTERACTIONS_TOPIC, MEDIA_TOPIC, FOLLOWER_SAMPLES_TOPIC)
    # (topic, partition) -> its records not fed yet: at its end when none are left, as
    # an engine reports it
    unread = Counter((e.topic, of(e.value["creator_id"])) for e in envelopes
                     if e.topic in inputs and isinstance(e.value, dict))

    def feed(interactions: list[str], media: list, samples: list) -> None:
        """Count the batch's records (creators) as read, then tell the stage the ends."""
        for topic, creators in ((INTERACTIONS_TOPIC, interactions),
                                (MEDIA_TOPIC, [m.creator_id for m in media]),
                                (FOLLOWER_SAMPLES_TOPIC, [s.creator_id for s in samples])):
            unread.subtract((topic, of(c)) for c in creators)
        stage.inputs_at_end((t, p) for t in inputs for p in range(partitions)
                            if unread[(t, p)] <= 0)

    delayed: list[list] = []
    delayed_samples: list[list] = []
    windows = EngagementAggregator(LATENESS_MS)
    followers: dict[str, int] = {}
    outputs = []
    for start in range(0, len(envelopes), batch):
        interactions, media, samples = [], [], []
        read = []
        for e in envelopes[start:start + batch]:
            if not isinstance(e.value, dict) or "creator_id" not in e.value:
                continue
            key = e.value["creator_id"].encode()
            raw = orjson.dumps(e.value)
            if e.topic == INTERACTIONS_TOPIC:
                read.append(e.value["creator_id"])
                event = decode(e.topic, key, raw, now)
                if windows.add(event, 0, now) is Outcome.ACCEPTED:
                    interactions.append((event, comment_text(raw) if event.kind == 1 else None))
            elif e.topic == MEDIA_TOPIC:
                media.append(decode(e.topic, key, raw, now))
            elif e.topic == FOLLOWER_SAMPLES_TOPIC:
                samples.append(decode_follower_sample(key, raw, now))
            elif e.topic == "ig.followers":
                followers[e.value["creator_id"]] = e.value["followers_count"]
        windows.drain()
        delayed.append(media)
        delayed_samples.append(samples)
        ready = delayed.pop(0) if len(delayed) > media_delay else []
        sampled = delayed_samples.pop(0) if len(delayed_samples) > samples_delay else []
        feed(read, ready, sampled)
        outputs.append(stage.process(interactions, ready, sampled))
    media = [m for media in delayed for m in media]
    samples = [s for samples in delayed_samples for s in samples]
    feed([], media, samples)
    outputs.append(stage.process([], media, samples))
    outputs.append(stage.flush())
    assert sim.inauthentic is not None
    return Run(lines, sim.inauthentic.truth, outputs, stage, followers)
