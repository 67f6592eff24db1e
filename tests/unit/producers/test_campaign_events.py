"""The simulator's campaigns and giveaways honour the contract and exercise the rules."""

import itertools
from collections import Counter

from campaignpulse.producers.jsonl import parse_lines
from campaignpulse.producers.simulator import CampaignSimulator
from campaignpulse.streams.contests.rules import Entry, Verdict, features, judge
from campaignpulse.streams.contract import decode
from campaignpulse.streams.contract_campaigns import (
    CAMPAIGNS_TOPIC,
    CONTESTS_TOPIC,
    decode_campaign,
    decode_contest,
)
from campaignpulse.streams.timestamps import parse_timestamp_ms

START = parse_timestamp_ms("2026-11-27T00:00:00Z")


def take(n: int, **kwargs) -> list[str]:
    sim = CampaignSimulator(seed=3, start_ms=START, creators=40, **kwargs)
    return [e.to_json() for e in itertools.islice(sim.events(), n)]


def test_without_campaign_activity_the_stream_is_unchanged():
    assert take(3000) == take(3000, campaign_activity=False)


def test_definitions_and_giveaway_events_decode_and_break_every_rule():
    lines = take(60_000, campaign_activity=True)
    assert lines[:3] == take(3, campaign_activity=True)  # deterministic
    contests, entries, likes = {}, [], {}
    topics = Counter()
    for item in parse_lines(line.encode() for line in lines):
        topics[item.topic] += 1
        if item.topic == CAMPAIGNS_TOPIC:
            campaign_id, campaign = decode_campaign(item.key, item.value)
            assert campaign is not None and campaign.creators
        elif item.topic == CONTESTS_TOPIC:
            contest = decode_contest(item.key, item.value)
            contests[contest.media_id] = contest
        else:
            event = decode(item.topic, item.key, item.value, START + 10 * 86_400_000)
            if getattr(event, "media_id", None) in contests and hasattr(event, "kind"):
                if event.kind == 1:
                    import orjson

                    text = orjson.loads(item.value)["text"]
                    entries.append((event.media_id, Entry(event.event_id, event.actor_id,
                                                          event.occurred_at_ms, features(text))))
                elif event.kind == 0:
                    likes.setdefault(event.media_id, {})[event.actor_id] = event.occurred_at_ms
    assert topics[CAMPAIGNS_TOPIC] >= 1 and len(contests) == 3
    verdicts = Counter()
    for media_id, contest in contests.items():
        mine = [e for m, e in entries if m == media_id]
        verdicts.update(v for _, v in judge(contest, mine, likes.get(media_id, {}), final=True))
    for verdict in (Verdict.VALID, Verdict.BEFORE_START, Verdict.TOO_FEW_MENTIONS,
                    Verdict.MISSING_HASHTAG, Verdict.NO_LIKE, Verdict.REPEAT_ENTRANT):
        assert verdicts[verdict] > 0, verdict
    assert verdicts[Verdict.VALID] > sum(verdicts.values()) / 3
