"""Snapshots wait for the engagement of their moment, but never for long."""

from campaignpulse.streams.contract import FollowerSnapshot
from campaignpulse.streams.spikes.gate import EngagementGate
from campaignpulse.streams.state.store import Store

T = 1_790_000_000_000


def snap(at_ms: int, creator: str = "cr-1") -> FollowerSnapshot:
    return FollowerSnapshot(creator, 1_000, 10, at_ms)


def test_held_until_the_same_partition_has_read_that_far() -> None:
    gate = EngagementGate(max_wait_ms=5_000)
    gate.hold(2, 40, snap(T), now_ms=0)
    gate.interactions_read(1, T + 60_000)  # another partition: other creators
    assert gate.release(now_ms=100) == []
    gate.interactions_read(2, T - 1)
    assert gate.release(now_ms=200) == []
    assert len(gate) == 1
    gate.interactions_read(2, T)
    assert gate.release(now_ms=300) == [(snap(T), 2)]
    assert len(gate) == 0


def test_quiet_interactions_read_to_their_end_release_after_the_wait() -> None:
    gate = EngagementGate(max_wait_ms=5_000)
    gate.hold(0, 7, snap(T), now_ms=1_000)
    gate.interactions_at_end([0])
    assert gate.release(now_ms=5_999) == []
    assert gate.release(now_ms=6_000) == [(snap(T), 0)]


def test_interactions_behind_are_waited_for_beyond_the_wait() -> None:
    """A loaded worker or a backlog: the wall clock alone does not give up on engagement
    that is still to be read, so a viral post is not judged without its likes."""
    gate = EngagementGate(max_wait_ms=5_000, max_hold_ms=60_000)
    gate.hold(0, 7, snap(T), now_ms=0)
    gate.interactions_at_end([1])  # another partition is at its end, this one is not
    assert gate.release(now_ms=59_999) == []
    gate.interactions_read(0, T)
    assert gate.release(now_ms=30_000) == [(snap(T), 0)]


def test_an_engine_that_cannot_tell_the_end_releases_after_the_longest_hold() -> None:
    gate = EngagementGate(max_wait_ms=5_000, max_hold_ms=60_000)
    gate.hold(3, 1, snap(T), now_ms=0)
    assert gate.release(now_ms=59_999) == []
    assert gate.release(now_ms=60_000) == [(snap(T), 3)]


def test_release_is_in_event_time_order_and_can_take_everything() -> None:
    gate = EngagementGate()
    gate.hold(0, 1, snap(T + 2), now_ms=0)
    gate.hold(1, 1, snap(T + 1, "cr-2"), now_ms=0)
    gate.hold(0, 2, snap(T + 3), now_ms=0)
    assert [s.observed_at_ms for s, _ in gate.release(0, everything=True)] == [T + 1, T + 2,
                                                                                T + 3]


def test_held_snapshots_are_state_a_restart_judges_them() -> None:
    store = Store()
    gate = EngagementGate(max_wait_ms=5_000, store=store)
    gate.hold(0, 1, snap(T), now_ms=0)
    gate.hold(1, 5, snap(T, "cr-2"), now_ms=0)
    gate.interactions_read(1, T - 10)
    log = store.changes({("ig.followers", 0): 2, ("ig.followers", 1): 6})
    restored_store = Store()
    restored = EngagementGate(max_wait_ms=5_000, store=restored_store)
    for partition in (0, 1):
        restored_store.restore(partition, [(k, v) for p, k, v in log if p == partition])
    assert len(restored) == 2
    restored.interactions_read(1, T)
    assert restored.release(now_ms=10) == [(snap(T, "cr-2"), 1)]  # partition 1 read that far
    restored.interactions_at_end([0])
    assert restored.release(now_ms=5_009) == []  # waits anew from the restore
    assert restored.release(now_ms=5_010) == [(snap(T), 0)]
    # released ones leave the changelog
    gone = restored_store.changes({})
    assert sum(1 for _, _, v in gone if v is None) == 2


def test_revoked_partitions_are_forgotten() -> None:
    store = Store()
    gate = EngagementGate(store=store)
    gate.hold(0, 1, snap(T), now_ms=0)
    gate.hold(1, 5, snap(T, "cr-2"), now_ms=0)
    store.drop([0])
    assert gate.release(0, everything=True) == [(snap(T, "cr-2"), 1)]


def test_waits_on_the_partition_where_the_creators_interactions_really_are() -> None:
    # kcat's default partitioner put cr-1's interactions on 3, murmur2 its snapshots on 2
    gate = EngagementGate(max_wait_ms=5_000,
                          interactions_partition={"cr-1": 3}.get)
    gate.hold(2, 40, snap(T), now_ms=0)
    gate.interactions_read(2, T + 60_000)  # partition 2 is far ahead: not cr-1's engagement
    assert gate.release(now_ms=100) == []
    gate.interactions_read(3, T)
    assert gate.release(now_ms=200) == [(snap(T), 2)]
    assert gate.take_mismatches() == 1 and gate.take_mismatches() == 0
