"""A contest's performance and its suspicious entry patterns, from the judged entries.

Suspicious patterns, each a count over the entries inside the contest (not the creator's
own), documented in the README:

* ``identical_text_entries``: entries whose normalised text (case-folded, whitespace
  collapsed) equals an entry's from another account.
* ``mention_magnets``: accounts mentioned by at least ``MAGNET_ENTRANTS`` distinct entrants.
* ``burst_entries``: entries in a run of at least ``BURST_ENTRIES`` entries within
  ``BURST_SPAN_MS`` of event time.
* ``new_entrants``: entrants with no interaction with the creator before the contest
  started, among what the worker has seen of that creator.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from campaignpulse.streams.campaigns.kpis import money
from campaignpulse.streams.contests.definition import Contest
from campaignpulse.streams.contests.rules import INVALID_REASONS, Entry, Verdict

MINUTE_MS = 60_000
MAGNET_ENTRANTS = 10
BURST_ENTRIES = 5
BURST_SPAN_MS = 10_000


@dataclass(frozen=True, slots=True)
class ContestPerformance:
    contest_id: str
    creator_id: str
    media_id: str
    campaign_id: str
    starts_at_ms: int
    ends_at_ms: int
    prize_value: Decimal
    final: bool
    entries: int
    valid_entries: int
    provisional_entries: int
    invalid: tuple[int, ...]  # per INVALID_REASONS
    unique_entrants: int
    cost_per_valid_entry: Decimal | None
    identical_text_entries: int
    mention_magnets: int
    burst_entries: int
    new_entrants: int
    version: int

    def invalid_by_reason(self) -> dict[str, int]:
        return {str(r): n for r, n in zip(INVALID_REASONS, self.invalid, strict=True)}


@dataclass(frozen=True, slots=True)
class ContestMinute:
    contest_id: str
    minute_start_ms: int
    entries: int
    valid_entries: int
    provisional_entries: int
    version: int


def burst_entries(times: Sequence[int]) -> int:
    """Entries in any run of ≥ BURST_ENTRIES within BURST_SPAN_MS (times sorted)."""
    marked_to = -1
    count = 0
    left = 0
    for right, t in enumerate(times):
        while t - times[left] > BURST_SPAN_MS:
            left += 1
        if right - left + 1 >= BURST_ENTRIES:
            start = max(left, marked_to + 1)
            count += right - start + 1
            marked_to = right
    return count


def summarise(
    contest: Contest, judged: Sequence[tuple[Entry, Verdict]], first_seen: Mapping[str, int],
    final: bool, version: int,
) -> tuple[ContestPerformance, list[ContestMinute]]:
    verdicts = Counter(v for _, v in judged)
    inside = [e for e, v in judged
              if contest.covers(e.at_ms) and v is not Verdict.OWN_ACCOUNT]
    entrants = {e.actor_id for e in inside}
    texts: dict[int, set[str]] = defaultdict(set)
    mentioned: dict[str, set[str]] = defaultdict(set)
    for e in inside:
        if e.features.fingerprint:
            texts[e.features.fingerprint].add(e.actor_id)
        for account in e.features.mentions:
            mentioned[account].add(e.actor_id)
    valid = verdicts[Verdict.VALID]
    performance = ContestPerformance(
        contest_id=contest.contest_id, creator_id=contest.creator_id,
        media_id=contest.media_id, campaign_id=contest.campaign_id or "",
        starts_at_ms=contest.starts_at, ends_at_ms=contest.ends_at,
        prize_value=money(contest.prize_value), final=final, entries=len(judged),
        valid_entries=valid, provisional_entries=verdicts[Verdict.PROVISIONAL],
        invalid=tuple(verdicts[r] for r in INVALID_REASONS),
        unique_entrants=len(entrants),
        cost_per_valid_entry=money(contest.prize_value / valid) if valid else None,
        identical_text_entries=sum(
            1 for e in inside if len(texts.get(e.features.fingerprint, ())) > 1),
        mention_magnets=sum(1 for who in mentioned.values() if len(who) >= MAGNET_ENTRANTS),
        burst_entries=burst_entries(sorted(e.at_ms for e in inside)),
        new_entrants=sum(1 for a in entrants if first_seen.get(a, contest.starts_at)
                         >= contest.starts_at),
        version=version,
    )
    minutes: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for e, v in judged:
        cell = minutes[e.at_ms - e.at_ms % MINUTE_MS]
        cell[0] += 1
        cell[1] += v is Verdict.VALID
        cell[2] += v is Verdict.PROVISIONAL
    rows = [ContestMinute(contest.contest_id, m, cell[0], cell[1], cell[2], version)
            for m, cell in sorted(minutes.items())]
    return performance, rows
