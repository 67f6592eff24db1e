"""The read-only view of one creator that the Faust web view serves."""

from __future__ import annotations

import orjson

from campaignpulse.streams.contract import FOLLOWERS_TOPIC, INTERACTIONS_TOPIC
from campaignpulse.streams.pipeline import EngagementPipeline, RawRecord

T0 = 1_796_000_000_000 // 3_600_000 * 3_600_000


def interaction(offset: int, kind: str, actor: str, at_ms: int) -> RawRecord:
    value = {"event_id": f"e{offset}", "creator_id": "c1", "media_id": "m1",
             "campaign_id": "cmp-1", "kind": kind, "actor_id": actor,
             "occurred_at": at_ms, "text": None}
    return RawRecord(INTERACTIONS_TOPIC, 2, offset, b"c1", orjson.dumps(value))


def test_the_view_shows_open_windows_and_follower_state_and_changes_nothing() -> None:
    pipeline = EngagementPipeline(600_000)
    records = [interaction(0, "like", "a1", T0 + 5_000), interaction(1, "like", "a2", T0 + 6_000),
               interaction(2, "story_view", "a1", T0 + 7_000)]
    snapshot = {"creator_id": "c1", "followers_count": 5_000, "follows_count": 300,
                "observed_at": T0 + 8_000}
    records.append(RawRecord(FOLLOWERS_TOPIC, 2, 0, b"c1", orjson.dumps(snapshot)))
    pipeline.process(records, T0 + 10_000)
    pipeline.judge_snapshots(T0 + 10_000, everything=True)

    view = pipeline.creator_view("c1")
    assert view is not None
    assert view == pipeline.creator_view("c1")  # reading changes nothing
    engagement = view["engagement"]
    assert isinstance(engagement, dict) and engagement["partition"] == 2
    minute = [w for w in engagement["open_windows"]
              if w["window_seconds"] == 60 and w["media_id"] == "m1"]
    assert len(minute) == 1
    assert minute[0]["counts"]["like"] == 2 and minute[0]["counts"]["story_view"] == 1
    assert minute[0]["unique_actors"] == 2 and minute[0]["reach"] == 1
    followers = view["followers"]
    assert isinstance(followers, dict)
    assert followers["followers"] == 5_000 and followers["alert"] is None
    assert pipeline.creator_view("nobody") is None
