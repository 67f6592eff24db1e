"""A sticky assignor that keeps the input topics co-partitioned.

Partition *k* of every input topic holds the same creators, and their state lives on
changelog partition *k*: so partition numbers are assigned, not topic partitions, and
each member gets partition *k* of every topic it subscribes. aiokafka's own sticky
assignor balances topic partitions one by one and would split *k* across members; the
range assignor keeps *k* together but reshuffles every membership change. This one keeps
each member's numbers where it can (they travel in the join metadata, with the
generation that gave them, so a stale member's claim loses), balances the rest, and
thereby a member that stays restores only the numbers it gains.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)


def plan(partitions: int, owned: Mapping[str, tuple[int, Iterable[int]]]) -> dict[str, list[int]]:
    """Partition numbers per member: ``owned`` maps each member to (generation, numbers it
    holds). Each member gets ⌊n/m⌋ or ⌈n/m⌉ numbers; members that own more get the extra
    ones; a number two members claim goes to the later generation (then the member id)."""
    members = sorted(owned)
    if not members:
        return {}
    claims: dict[int, tuple[int, str]] = {}
    for member in members:
        generation, numbers = owned[member]
        for p in numbers:
            if 0 <= p < partitions and (generation, member) > claims.get(p, (-2, "")):
                claims[p] = (generation, member)
    kept: dict[str, list[int]] = {m: [] for m in members}
    for p, (_, member) in sorted(claims.items()):
        kept[member].append(p)
    base, extra = divmod(partitions, len(members))
    by_claims = sorted(members, key=lambda m: (-len(kept[m]), m))
    quota = {m: base + (1 if i < extra else 0) for i, m in enumerate(by_claims)}
    out: dict[str, list[int]] = {m: kept[m][:quota[m]] for m in members}
    taken = {p for numbers in out.values() for p in numbers}
    free = [p for p in range(partitions) if p not in taken]
    for member in members:
        while len(out[member]) < quota[member]:
            out[member].append(free.pop(0))
    return {m: sorted(numbers) for m, numbers in out.items()}


class CopartitionedStickyAssignor:
    """An aiokafka assignor instance (one per consumer: it remembers what it holds)."""

    name = "copartitioned-sticky"
    version = 0

    def __init__(self) -> None:
        self.owned: list[int] = []
        self.generation = -1

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        user_data = json.dumps({"owned": self.owned, "generation": self.generation}).encode()
        return ConsumerProtocolMemberMetadata(self.version, sorted(topics), user_data)

    def on_assignment(self, assignment: ConsumerProtocolMemberAssignment) -> None:
        self.owned = sorted({p for _, partitions in assignment.assignment for p in partitions})
        self.generation = _decoded(assignment.user_data).get("generation", -1)

    def assign(self, cluster: Any, members: Mapping[str, ConsumerProtocolMemberMetadata]
               ) -> dict[str, ConsumerProtocolMemberAssignment]:
        topics = sorted({t for metadata in members.values() for t in metadata.subscription})
        counts = {t: len(cluster.partitions_for_topic(t) or ()) for t in topics}
        owned = {}
        generation = -1
        for member, metadata in members.items():
            data = _decoded(metadata.user_data)
            owned[member] = (int(data.get("generation", -1)), list(data.get("owned", [])))
            generation = max(generation, owned[member][0])
        numbers = plan(max(counts.values(), default=0), owned)
        user_data = json.dumps({"generation": generation + 1}).encode()
        return {
            member: ConsumerProtocolMemberAssignment(self.version, [
                (t, [p for p in numbers[member] if p < counts[t]])
                for t in sorted(metadata.subscription)
            ], user_data)
            for member, metadata in members.items()
        }


def _decoded(user_data: bytes | None) -> dict[str, Any]:
    try:
        data = json.loads(user_data or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
