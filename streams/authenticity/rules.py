"""The documented thresholds of the authenticity rules (README, section "Authenticity").

One frozen object so a test, a replay and the live run decide with the same numbers.
Windows are whole numbers of buckets: every decision is taken when a bucket closes,
from the events up to its end, so it depends on the events and not on their order.
"""

from __future__ import annotations

from dataclasses import dataclass

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class Rules:
    #: decisions are taken per event-time bucket of this length
    bucket_ms: int = 10 * MINUTE_MS
    #: an engagement this soon after its media's publication is early
    early_ms: int = 10 * MINUTE_MS

    # copy-paste and generic comments
    #: a comment of at most this many words (or none: emoji, punctuation) is generic
    generic_max_words: int = 3
    #: near-duplicates agree on a MinHash LSH band; datasketch picks the bands for
    #: this Jaccard similarity of character shingles
    near_duplicate: float = 0.8
    shingle_chars: int = 4
    minhash_permutations: int = 128
    #: a non-generic comment is copy-paste when, in this trailing window, its
    #: near-duplicates come from at least ``copy_min_accounts`` accounts on at least
    #: ``copy_min_creators`` creators (itself included)
    copy_window_ms: int = 6 * HOUR_MS
    copy_min_accounts: int = 3
    copy_min_creators: int = 3
    #: a generic comment is a burst comment when an interval this long that contains it
    #: holds generic comments on the same media from at least ``burst_min_accounts``
    burst_ms: int = MINUTE_MS
    #: an input partition that delivered no interaction for this long (wall clock, as the
    #: engine tells it) and in this many batches that held interactions no longer holds
    #: the watermark back
    idle_partition_wall_ms: int = 30_000
    idle_partition_batches: int = 50
    burst_min_accounts: int = 5

    # bot accounts
    #: beyond a person: this many engagements on this many creators in the trailing hour
    rate_window_ms: int = HOUR_MS
    rate_min_engagements: int = 30
    rate_min_creators: int = 10
    #: an account with copy-paste or burst comments on this many creators in the window
    bot_window_ms: int = 6 * HOUR_MS
    bot_min_creators: int = 2

    # engagement pods
    pod_window_ms: int = 3 * DAY_MS
    #: a candidate engaged early on at least this many media of this many creators,
    #: published in this many distinct event-time hours (again and again, not once)
    pod_min_early: int = 3
    pod_min_creators: int = 3
    pod_min_hours: int = 3
    #: two candidates are linked when they were early on the same media at least this
    #: often and that is at least this share of each one's early media
    pod_min_shared: int = 3
    pod_min_overlap: float = 0.5
    #: a ring is a connected group of linked candidates of at least this size
    pod_min_members: int = 3
    #: a ring's targets: creators on whose media at least this many members were early
    pod_target_min_members: int = 2

    # bounds (memory, whatever the input)
    #: early engagements remembered per account (the most recent)
    max_early_per_account: int = 64
    #: accounts with early engagements remembered (the least recently early leave first)
    max_early_accounts: int = 200_000
    #: creators with copy-paste or burst comments remembered per account
    max_suspicious_per_account: int = 16
    #: identical normalised texts whose MinHash bands are cached
    max_cached_texts: int = 4096

    def buckets(self, window_ms: int) -> int:
        """A window as a whole number of buckets (at least one)."""
        return max(1, -(-window_ms // self.bucket_ms))


DEFAULT_RULES = Rules()
