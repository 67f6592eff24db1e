"""Warehouse tables for authenticity: raw beside authentic engagement, the evidence behind
the exclusions, the audience estimate and the alerts.

ClickHouse 18.16 features only (Array, Nullable, ReplacingMergeTree). Each row is final
or versioned so replays and restarts converge: a judged bucket's row never changes (its
version is its event count), evidence rows are keyed by what they describe and the time
they were seen, alerts carry their version like the disclosure alerts.

Comment text: only the example text of a copy-paste cluster (a public comment pasted by
at least three accounts on three creators, cut to 200 characters) is stored, written as
a bound parameter, never in SQL text; authentic comments' text is never stored.
"""

from __future__ import annotations

from campaignpulse.streams.authenticity.outputs import EXCLUSIONS
from campaignpulse.streams.campaigns.definition import EMV_KINDS

RAW_COLUMNS = tuple(f"raw_{k}s" for k in EMV_KINDS)
AUTHENTIC_COLUMNS = tuple(f"authentic_{k}s" for k in EMV_KINDS)
EXCLUDED_COLUMNS = tuple(f"excluded_{r.value}" for r in EXCLUSIONS)
BUCKET_COLUMNS = (
    "bucket_start", "creator_id", "media_id", "campaign_id", *RAW_COLUMNS,
    *AUTHENTIC_COLUMNS, *EXCLUDED_COLUMNS, "events", "version",
)
RING_COLUMNS = ("ring_id", "seen_at", "members", "targets", "shared_media", "version")
BOT_COLUMNS = ("actor_id", "flagged_at", "reasons", "creators", "version")
CLUSTER_COLUMNS = ("cluster_id", "bucket_start", "example", "accounts", "creators",
                   "comments", "version")
AUDIENCE_COLUMNS = ("creator_id", "observed_at", "sampled", "flagged", "apparent", "share",
                    "low", "high", "version")
ALERT_COLUMNS = ("alert_id", "campaign_id", "creator_id", "status", "reasons", "pod_share",
                 "bot_share", "inauthentic_low", "engagements", "observed_at", "version")

_U32 = " UInt32,\n    "

TABLES = (
    f"""CREATE TABLE IF NOT EXISTS authenticity_buckets (
    bucket_start DateTime('UTC'),
    creator_id String,
    media_id String,
    campaign_id String,
    {_U32.join(RAW_COLUMNS + AUTHENTIC_COLUMNS + EXCLUDED_COLUMNS)} UInt32,
    events UInt32,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (creator_id, bucket_start, media_id, campaign_id)""",
    """CREATE TABLE IF NOT EXISTS authenticity_rings (
    ring_id String,
    seen_at DateTime('UTC'),
    members Array(String),
    targets Array(String),
    shared_media UInt32,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (ring_id, seen_at)""",
    """CREATE TABLE IF NOT EXISTS authenticity_bots (
    actor_id String,
    flagged_at DateTime('UTC'),
    reasons Array(String),
    creators Array(String),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (actor_id, flagged_at)""",
    """CREATE TABLE IF NOT EXISTS authenticity_clusters (
    cluster_id String,
    bucket_start DateTime('UTC'),
    example String,
    accounts Array(String),
    creators Array(String),
    comments UInt32,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (cluster_id, bucket_start)""",
    """CREATE TABLE IF NOT EXISTS audience_quality (
    creator_id String,
    observed_at DateTime('UTC'),
    sampled UInt32,
    flagged UInt32,
    apparent Float64,
    share Float64,
    low Float64,
    high Float64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (creator_id, observed_at)""",
    """CREATE TABLE IF NOT EXISTS authenticity_alerts (
    alert_id String,
    campaign_id String,
    creator_id String,
    status String,
    reasons Array(String),
    pod_share Nullable(Float64),
    bot_share Nullable(Float64),
    inauthentic_low Nullable(Float64),
    engagements UInt64,
    observed_at DateTime('UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (creator_id, alert_id)""",
)
