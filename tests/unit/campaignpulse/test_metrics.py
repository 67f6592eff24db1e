"""Series exist from the start (so rate() and absent() rules work) and lag sums per topic."""

from __future__ import annotations

from aiokafka.structs import TopicPartition
from prometheus_client import REGISTRY, generate_latest

from campaignpulse import metrics
from campaignpulse.streams.contract import KINDS, Reason


def exported() -> str:
    return generate_latest(REGISTRY).decode()


def test_every_known_label_value_is_exported_before_anything_happens() -> None:
    metrics.preset_worker_series()
    metrics.preset_notifier_series()
    text = exported()
    for reason in Reason:
        assert f'campaignpulse_dead_letters_total{{reason="{reason.value}"}}' in text
    for stage in metrics.ERROR_STAGES:
        assert f'campaignpulse_errors_total{{stage="{stage}"}}' in text
    for kind in KINDS:
        assert f'campaignpulse_events_total{{kind="{kind}",topic="ig.interactions"}}' in text
    for severity in ("info", "warning", "critical"):
        assert f'campaignpulse_follower_spike_alerts_total{{severity="{severity}"}}' in text
    assert 'campaignpulse_alertmanager_posts_total{outcome="error"}' in text
    assert 'campaignpulse_sink_insert_duration_seconds_count{table="creator_windows"}' in text


class Ends:
    """aiokafka's consumer.highwater(): the log end seen in the last fetch, None before."""

    def __init__(self, ends: dict[TopicPartition, int]) -> None:
        self.ends = ends

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.ends.get(tp)


def test_consumer_lag_is_high_water_minus_position_summed_per_topic() -> None:
    a0, a1 = TopicPartition("ig.interactions", 0), TopicPartition("ig.interactions", 1)
    m0 = TopicPartition("ig.media", 0)
    f0 = TopicPartition("ig.followers", 0)
    metrics.CONSUMER_LAG.labels("ig.followers").set(12345)  # whatever came before
    metrics.observe_consumer_lag(Ends({a0: 150, a1: 40, m0: 7}),
                                 {a0: 100, a1: 40, m0: 9, f0: 5})
    text = exported()
    assert 'campaignpulse_consumer_lag_records{topic="ig.interactions"} 50.0' in text
    assert 'campaignpulse_consumer_lag_records{topic="ig.media"} 0.0' in text
    # an unknown end leaves the topic's figure as it was
    assert 'campaignpulse_consumer_lag_records{topic="ig.followers"} 12345.0' in text
