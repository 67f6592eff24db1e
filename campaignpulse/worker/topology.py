"""Checks at start: the input topics co-partitioned, the changelog matching them.

Partition *k* of every input topic holds the same creators, and its state lives on
changelog partition *k*. Kafka Streams refuses a topology that breaks this at start; so
does the worker, with one line that names the topics and the fix, instead of failing
later inside a client library.
"""

from __future__ import annotations

from collections.abc import Iterable

from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from campaignpulse.broker import partition_counts
from campaignpulse.errors import UserError


def input_partitions(bootstrap: str, topics: Iterable[str], changelog: str) -> int:
    """The partition count every input topic shares; raises :class:`UserError` if they
    differ, one is missing, or the changelog exists with another count."""
    wanted = tuple(topics)
    counts = _counts(bootstrap, (*wanted, changelog), wanted)
    missing = [t for t in wanted if t not in counts]
    if missing:
        raise UserError(f"input topics {', '.join(missing)} do not exist: create them with as "
                        "many partitions as the others (`campaignpulse migrate` does not; "
                        "`campaignpulse worker` creates them on a fresh cluster)")
    inputs = {t: counts[t] for t in wanted}
    if len(set(inputs.values())) > 1:
        most = max(inputs.values())
        listed = ", ".join(f"{t} {n}" for t, n in inputs.items())
        fewer = " ".join(t for t, n in inputs.items() if n < most)
        raise UserError(
            f"input topics have different partition counts ({listed}): partition k of each "
            f"must hold the same creators; recreate {fewer} with {most} partitions (or "
            f"`kafka-topics.sh --alter --partitions {most}` on each; records already there "
            "stay where they are)")
    partitions = next(iter(inputs.values()))
    found = counts.get(changelog)
    if found is not None and found != partitions:
        raise UserError(
            f"state changelog {changelog} has {found} partitions, the input topics "
            f"{partitions}: the state of input partition k lives on partition k; delete "
            f"{changelog} (the state rebuilds, see README: Durable state) or set "
            "CAMPAIGNPULSE_STATE_TOPIC to a new topic")
    return partitions


def _counts(bootstrap: str, topics: tuple[str, ...], wanted: tuple[str, ...]) -> dict[str, int]:
    """Partition counts; a topic created a moment ago may take a few seconds to be listed
    by every broker, so a missing input topic is looked for again for up to 10 s."""

    @retry(retry=retry_if_result(lambda counts: any(t not in counts for t in wanted)),
           stop=stop_after_delay(10), wait=wait_fixed(0.5), retry_error_callback=lambda s:
           s.outcome.result() if s.outcome is not None else {})
    def attempt() -> dict[str, int]:
        return partition_counts(bootstrap, topics)

    return attempt()
