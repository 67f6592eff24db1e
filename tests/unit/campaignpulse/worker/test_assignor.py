"""The co-partitioned sticky assignor: partition k of every topic together, and kept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from campaignpulse.worker.assignor import CopartitionedStickyAssignor, plan

TOPICS = ("ig.contests", "ig.followers", "ig.interactions", "ig.media")


class Cluster:
    def __init__(self, partitions: int) -> None:
        self.partitions = partitions

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.partitions))


def join(assignors: dict[str, CopartitionedStickyAssignor], partitions: int) -> dict[str, list]:
    """One rebalance: every member's metadata to the leader, its assignment back."""
    metadata = {m: a.metadata(TOPICS) for m, a in assignors.items()}
    leader = next(iter(assignors.values()))
    assignments = leader.assign(Cluster(partitions), metadata)
    for member, assignment in assignments.items():
        assignors[member].on_assignment(assignment)
    return {m: a.assignment for m, a in assignments.items()}


def test_partition_k_of_every_topic_goes_to_one_member() -> None:
    members = {m: CopartitionedStickyAssignor() for m in ("w1", "w2", "w3")}
    assignment = join(members, 8)
    owner: dict[int, str] = {}
    for member, topics in assignment.items():
        assert sorted(t for t, _ in topics) == sorted(TOPICS)
        numbers = {tuple(ps) for _, ps in topics}
        assert len(numbers) == 1  # the same numbers on every topic
        for p in numbers.pop():
            assert owner.setdefault(p, member) == member
    assert sorted(owner) == list(range(8))
    assert sorted(len(a.owned) for a in members.values()) == [2, 3, 3]


def test_a_member_that_stays_keeps_its_partitions_and_gains_the_leavers() -> None:
    members = {m: CopartitionedStickyAssignor() for m in ("w1", "w2")}
    join(members, 4)
    before = {m: set(a.owned) for m, a in members.items()}
    del members["w2"]  # killed
    join(members, 4)
    assert set(members["w1"].owned) == {0, 1, 2, 3}
    assert before["w1"] <= set(members["w1"].owned)
    # a newcomer takes half, and w1 gives up only what it must
    members["w0"] = CopartitionedStickyAssignor()  # sorts before w1: range would reshuffle
    join(members, 4)
    assert len(members["w1"].owned) == 2 and set(members["w1"].owned) <= {0, 1, 2, 3}
    assert set(members["w0"].owned) == {0, 1, 2, 3} - set(members["w1"].owned)
    assert before["w1"] & set(members["w1"].owned)


def test_a_stale_claim_loses_to_the_newer_generation() -> None:
    assert plan(2, {"old": (1, [0, 1]), "new": (3, [0, 1])}) == {"new": [0], "old": [1]}
    assert plan(3, {"old": (1, [0]), "new": (3, [0, 1])}) == {"new": [0, 1], "old": [2]}


@given(st.integers(0, 12), st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]),
    st.tuples(st.integers(-1, 5), st.lists(st.integers(-2, 14), max_size=8)),
    min_size=1))
def test_every_number_once_and_balanced(partitions, owned) -> None:
    numbers = plan(partitions, owned)
    flat = sorted(p for ps in numbers.values() for p in ps)
    assert flat == list(range(partitions))
    sizes = [len(ps) for ps in numbers.values()]
    assert max(sizes) - min(sizes) <= 1
    # no member loses a number it owned that nobody newer claims, while under its share
    for member, (generation, mine) in owned.items():
        kept = set(numbers[member])
        contested = {p for m, (g, ps) in owned.items() if (g, m) > (generation, member)
                     for p in ps}
        keepable = {p for p in mine if 0 <= p < partitions} - contested
        assert len(kept & keepable) == min(len(keepable), len(numbers[member]))
