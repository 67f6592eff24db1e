"""An independent, deliberately naive recount of engagement from raw events.

It shares no code with the stream core beyond the published contract (kind names and
timestamp parsing), so the end-to-end tests compare the warehouse with a second opinion.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

COLUMNS = (
    "likes", "comments", "saves", "shares", "story_views", "story_replies",
    "story_taps_forward", "story_taps_back", "story_exits", "reel_plays",
)
KIND_COLUMN = dict(zip(
    ("like", "comment", "save", "share", "story_view", "story_reply",
     "story_tap_forward", "story_tap_back", "story_exit", "reel_play"),
    COLUMNS, strict=True,
))


def to_ms(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def valid_interaction(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    for name in ("event_id", "creator_id", "media_id", "actor_id"):
        if not isinstance(value.get(name), str) or not value[name]:
            return False
    if value.get("kind") not in KIND_COLUMN:
        return False
    try:
        to_ms(value["occurred_at"])
    except (KeyError, ValueError, TypeError, AttributeError):
        return False
    return True


def values(lines: Iterable[str], topic: str) -> Iterator[dict]:
    """The object values of a topic's envelopes; lines that are not one are skipped."""
    for value, _published, _timestamp in values_and_clocks(lines, topic):
        yield value


def values_and_clocks(lines: Iterable[str], topic: str
                      ) -> Iterator[tuple[dict, int | None, int | None]]:
    """Like :func:`values`, with the envelope's ``published_ms`` and ``timestamp_ms``
    (test-only fields: the publication clock a producer puts in the
    ``campaignpulse.published_at`` header, and the Kafka timestamp it set)."""
    for line in lines:
        try:
            envelope = json.loads(line)
        except ValueError:
            continue
        if (isinstance(envelope, dict) and envelope.get("topic") == topic
                and isinstance(envelope.get("value"), dict)):
            yield envelope["value"], envelope.get("published_ms"), envelope.get("timestamp_ms")


def record_clock(published: int | None, timestamp: int | None, now: int) -> int | None:
    if published is not None and published >= 0:
        return published
    if timestamp is not None and timestamp >= 0:
        return timestamp
    return now if published is None and timestamp is None else None


def recount(
    lines: Iterable[str], lateness_ms: int = 600_000, now_ms: int | None = None,
) -> dict[str, dict[tuple, dict]]:
    """Expected rows of engagement_minute / engagement_hour keyed by their grain.

    The README's clock rule: an interaction claims the least of its time, its record's
    clock (the published_at header, else the Kafka timestamp) and its creator's clock
    (the median of the creator's last five interaction times, each capped by its own
    record's clock; none before five). It is late when it is older than the newest claim
    of its creator's earlier accepted interactions minus the lateness; a repeated event_id
    counts once; more than a day ahead of its record's clock it is impossible. Lines
    without either field were published just now by our producer: their header is ~now;
    a field of -1 says the record has no such clock.
    """
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    newest: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    recent: dict[str, list[int]] = defaultdict(list)
    accepted: list[dict] = []
    for value, published, timestamp in values_and_clocks(lines, "ig.interactions"):
        if not valid_interaction(value):
            continue
        clock = record_clock(published, timestamp, now)
        ts = to_ms(value["occurred_at"])
        if clock is not None and ts > clock + 86_400_000:  # impossible: over a day ahead
            continue
        creator = value["creator_id"]
        times = recent[creator]
        creator_clock = sorted(times)[2] if len(times) == 5 else None
        times.append(ts if clock is None else min(ts, clock))
        del times[:-5]
        if ts < newest.get(creator, -1) - lateness_ms:
            continue
        if (creator, value["event_id"]) in seen:
            continue
        seen.add((creator, value["event_id"]))
        if creator_clock is not None:
            claim = min(ts, creator_clock) if clock is None else min(ts, clock, creator_clock)
            newest[creator] = max(newest.get(creator, -1), claim)
        accepted.append({**value, "ts": ts})

    out: dict[str, dict[tuple, dict]] = {}
    for table, size in (("engagement_minute", 60_000), ("engagement_hour", 3_600_000)):
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for ev in accepted:
            start = ev["ts"] // size * size // 1000
            campaign = ev.get("campaign_id") or ""
            groups[(start, campaign, ev["creator_id"], ev["media_id"])].append(ev)
            groups[(start, campaign, ev["creator_id"], "")].append(ev)
        rows = {}
        for key, evs in groups.items():
            row = dict.fromkeys(COLUMNS, 0)
            for ev in evs:
                row[KIND_COLUMN[ev["kind"]]] += 1
            row["interactions"] = row["likes"] + row["comments"] + row["saves"] + row["shares"]
            row["unique_actors"] = len({ev["actor_id"] for ev in evs})
            row["reach"] = len({ev["actor_id"] for ev in evs
                                if ev["kind"] in ("story_view", "reel_play")})
            rows[key] = row
        out[table] = rows
    return out
