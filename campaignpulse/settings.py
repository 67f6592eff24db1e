"""All configuration, from the environment (``CAMPAIGNPULSE_*``) and nowhere else."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """One typed settings object for every command."""

    model_config = SettingsConfigDict(env_prefix="CAMPAIGNPULSE_", extra="ignore")

    kafka_bootstrap: str = Field("localhost:9092", description="Kafka bootstrap servers")
    group_id: str = Field("campaignpulse-engagement", description="consumer group of the worker")
    clickhouse_url: SecretStr | None = Field(
        None, description="clickhouse://user:password@host:9000/db; unset: embedded chdb"
    )
    data_dir: str = Field("./campaignpulse-data", description="embedded warehouse directory")
    allowed_lateness_s: float = Field(600.0, ge=0, description="event-time lateness allowed")
    flush_interval_s: float = Field(1.0, gt=0, description="how often rows are written")
    max_batch_records: int = Field(20_000, gt=0, description="records per getmany")
    max_pending_rows: int = Field(200_000, gt=0, description="rows held before backpressure")
    metrics_port: int = Field(9464, ge=0, description="Prometheus endpoint port; 0 disables")
    topic_partitions: int = Field(4, gt=0, description="partitions of topics we create")
    topic_retention_ms: int = Field(7 * 86_400_000, gt=0, description="retention.ms of topics")
    spike_alert_level: float = Field(
        0.5, gt=0, le=1, description="anomaly score that opens a follower-spike alert"
    )
    alertmanager_url: str | None = Field(
        None, description="Alertmanager base URL for spike alerts, e.g. http://localhost:9093"
    )
    alert_resend_s: float = Field(30.0, gt=0, description="re-send interval of firing alerts")
    alert_group_id: str = Field("campaignpulse-notifier", description="consumer group, notifier")
    state_topic: str | None = Field(
        None, description="compacted state changelog topic; unset: <GROUP_ID>.state"
    )
    state_idle_s: float = Field(
        3600.0, gt=0,
        description="a creator without events this long (wall clock) leaves memory; its "
        "open windows close and a later event for them counts as late",
    )
    # Group membership timings that work on Tansu as well as Kafka: a short rebalance
    # timeout (joins wait for all of it on Tansu) and a long poll interval (a worker
    # with full buffers must not silently leave its group).
    session_timeout_ms: int = 6_000
    rebalance_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 2_000
    max_poll_interval_ms: int = 300_000

    @property
    def allowed_lateness_ms(self) -> int:
        return int(self.allowed_lateness_s * 1000)

    @property
    def changelog_topic(self) -> str:
        return self.state_topic or f"{self.group_id}.state"

    def clickhouse(self) -> str | None:
        return self.clickhouse_url.get_secret_value() if self.clickhouse_url else None
