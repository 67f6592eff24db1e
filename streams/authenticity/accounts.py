"""Bot accounts: an engagement rate across creators beyond a person's, or repeated
copy-paste and burst comments on several creators.

State per account and bucket: engagements and the distinct creators engaged (at most
``rate_min_creators``: the rule only asks whether there are that many), kept for the
rate window; and per account the creators it left copy-paste or burst comments on, with
the newest bucket for each (the ``max_suspicious_per_account`` most recent creators),
kept for the bot window. A cap at or above a rule's count keeps that rule exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import msgspec

from campaignpulse.streams.authenticity.rules import Rules


class BotReason(StrEnum):
    RATE = "rate"
    COPY_PASTE = "copy_paste"


class RateCell(msgspec.Struct, array_like=True, gc=False):
    engagements: int
    creators: list[str]


class AccountActivity:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.rate_buckets = rules.buckets(rules.rate_window_ms)
        self.bot_buckets = rules.buckets(rules.bot_window_ms)
        #: bucket -> account -> its engagements in that bucket
        self.rate: dict[int, dict[str, RateCell]] = {}
        #: account -> creator -> newest bucket with a copy-paste or burst comment on it
        self.suspicious: dict[str, dict[str, int]] = {}
        #: account -> its engagements in the buckets of ``rate`` (derived: a restore sums)
        self.in_window: dict[str, int] = {}

    def rebuild(self) -> None:
        """The window counts again from ``rate`` (after a restore)."""
        self.in_window = {}
        for cells in self.rate.values():
            for actor, cell in cells.items():
                self.in_window[actor] = self.in_window.get(actor, 0) + cell.engagements

    def engaged(self, bucket: int, engagements: Iterable[tuple[str, str]]) -> set[str]:
        """Fold in a bucket's engagements as (account, creator); the accounts that now
        have the rate rule's count of engagements in the window."""
        cells = self.rate.setdefault(bucket, {})
        cap = self.rules.rate_min_creators
        in_window = self.in_window
        enough = self.rules.rate_min_engagements
        heavy = set()
        for actor, creator in engagements:
            n = in_window[actor] = in_window.get(actor, 0) + 1
            if n >= enough:
                heavy.add(actor)
            cell = cells.get(actor)
            if cell is None:
                cells[actor] = RateCell(1, [creator])
                continue
            cell.engagements += 1
            if len(cell.creators) < cap and creator not in cell.creators:
                cell.creators.append(creator)
        return heavy

    def flag_comment(self, actor: str, bucket: int, creator: str) -> None:
        found = self.suspicious.setdefault(actor, {})
        found[creator] = max(bucket, found.get(creator, bucket))
        if len(found) > self.rules.max_suspicious_per_account:
            del found[min(found, key=lambda c: (found[c], c))]

    def reasons(self, actor: str, bucket: int) -> tuple[BotReason, ...]:
        """Why the account is a bot at the close of ``bucket`` (empty: it is not)."""
        rules = self.rules
        out: list[BotReason] = []
        if self.in_window.get(actor, 0) >= rules.rate_min_engagements:
            creators: set[str] = set()
            for b in range(bucket - self.rate_buckets + 1, bucket + 1):
                cell = self.rate.get(b, {}).get(actor)
                if cell is not None:
                    creators.update(cell.creators)
            if len(creators) >= rules.rate_min_creators:
                out.append(BotReason.RATE)
        found = self.suspicious.get(actor)
        if found and sum(1 for b in found.values()
                         if b > bucket - self.bot_buckets) >= rules.bot_min_creators:
            out.append(BotReason.COPY_PASTE)
        return tuple(out)

    def evict(self, bucket: int) -> None:
        """Forget what no window ending at ``bucket`` or later can see."""
        in_window = self.in_window
        for b in [b for b in self.rate if b <= bucket - self.rate_buckets]:
            for actor, cell in self.rate.pop(b).items():
                left = in_window[actor] - cell.engagements
                if left:
                    in_window[actor] = left
                else:
                    del in_window[actor]
        horizon = bucket - self.bot_buckets
        for actor in [a for a, found in self.suspicious.items()
                      if max(found.values()) <= horizon]:
            del self.suspicious[actor]
