"""One clock rule for every watermark: live, in a backlog and in replay alike.

A creator's watermark is the newest time its interactions *claim*, minus the allowed
lateness; an interaction older than that is late. What an interaction may claim is capped
by two clocks that travel with the records, never by the worker's wall clock (a replay
runs later, and a backlog's events are all behind it):

* the record's clock: the producer's ``campaignpulse.published_at`` header, else the
  record's Kafka timestamp (CreateTime as the producer set it, or LogAppendTime);
* the creator's clock: the median of the creator's last five interaction times (each
  capped by its own record's clock), before this one; none before five.

An interaction claims ``min(its time, its record's clock, its creator's clock)``. One
event from the future, with or without a header, moves the median by at most one place
among its neighbours and claims no more than the median: it cannot make the creator's
real events late, in a backlog or live, whatever the other creators of its partition do;
neither can two. The five times are state (the creator's windows header), so a restart
continues them.
"""

from __future__ import annotations

#: interactions whose median is the creator's clock
WINDOW = 5
_MIDDLE = WINDOW // 2


def record_clock(published_ms: int, timestamp_ms: int) -> int:
    """The clock a record carries: the producer's header, else its Kafka timestamp; -1
    when it has neither."""
    return published_ms if published_ms >= 0 else max(timestamp_ms, -1)


def claim(recent: list[int], ts: int, clock: int) -> int:
    """What an interaction at ``ts`` in a record with ``clock`` claims, given its
    creator's ``recent`` times (oldest first); ``recent`` then learns it (-1: nothing)."""
    believed = ts if clock < 0 or ts <= clock else clock
    capped = sorted(recent)[_MIDDLE] if len(recent) == WINDOW else -1
    recent.append(believed)
    if len(recent) > WINDOW:
        del recent[0]
    return believed if believed <= capped else capped
