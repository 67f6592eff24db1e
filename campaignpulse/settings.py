"""All configuration, from the environment (``CAMPAIGNPULSE_*``) and nowhere else."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """One typed settings object for every command."""

    model_config = SettingsConfigDict(env_prefix="CAMPAIGNPULSE_", extra="ignore")

    kafka_bootstrap: str = Field("localhost:9092", description="Kafka bootstrap servers")
    engine: Literal["native", "faust"] = Field(
        "native", description="worker engine: native (aiokafka batches) or faust (a Faust app)"
    )
    faust_web_port: int = Field(
        6066, ge=0, le=65535, description="Faust engine's web server (creator views); 0: off"
    )
    faust_web_host: str = Field(
        "127.0.0.1", description="address the Faust web server binds to and other workers "
        "reach it at (creator views are routed to the partition's owner)"
    )
    group_id: str = Field("campaignpulse-engagement", description="consumer group of the worker")
    clickhouse_url: SecretStr | None = Field(
        None, description="clickhouse://user:password@host:9000/db; unset: embedded chdb"
    )
    clickhouse_cluster: str | None = Field(
        None, description="ClickHouse cluster (remote_servers) whose every node holds the "
        "tables, replicated (README, More than one machine); unset: one server"
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
    grafana_url: str | None = Field(
        None, description="Grafana base URL for `dashboards push`, e.g. http://localhost:3000"
    )
    grafana_token: SecretStr | None = Field(
        None, description="Grafana service-account token (Editor) for `dashboards push`"
    )
    dlq_max_value_bytes: int = Field(
        256 * 1024, gt=0, le=900_000,
        description="dead letters keep the original value up to this many bytes; past it a "
        "prefix, with the original length and sha256 in headers",
    )
    dlq_max_header_bytes: int = Field(
        1024, ge=128, le=16_384, description="cap of each dead-letter header (detail, ...)"
    )
    dlq_max_in_flight: int = Field(
        10_000, gt=0,
        description="dead letters and alerts awaiting the broker's ack before consuming waits",
    )
    dlq_max_in_flight_bytes: int = Field(
        32 * 1024 * 1024, gt=0, description="the same bound in bytes of letters"
    )
    dlq_retry_for_s: float = Field(
        120.0, gt=0,
        description="transient Kafka errors on letters are retried this long, then the "
        "worker stops without committing",
    )
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
    session_timeout_ms: int = Field(6_000, gt=0, description="consumer group session timeout")
    rebalance_timeout_ms: int = Field(10_000, gt=0, description="consumer group rebalance timeout")
    heartbeat_interval_ms: int = Field(2_000, gt=0, description="consumer group heartbeat")
    max_poll_interval_ms: int = Field(300_000, gt=0, description="longest pause between polls")
    connect_timeout_s: float = Field(
        15.0, gt=0, description="how long to wait for Kafka or ClickHouse before giving up"
    )

    @property
    def allowed_lateness_ms(self) -> int:
        return int(self.allowed_lateness_s * 1000)

    @classmethod
    def describe(cls, names: Iterable[str]) -> list[tuple[str, str, str]]:
        """(variable, default, description) of these fields, for ``--help``."""
        described = []
        for name in names:
            info = cls.model_fields[name]
            default = "unset" if info.default is None else str(info.default)
            variable = f"{cls.model_config.get('env_prefix', '')}{name.upper()}"
            described.append((variable, default, info.description or ""))
        return described

    @property
    def changelog_topic(self) -> str:
        """One changelog per consumer group, like Kafka Streams' ``<app.id>-…-changelog``."""
        return self.state_topic or f"{self.group_id}.state"

    def clickhouse(self) -> str | None:
        return self.clickhouse_url.get_secret_value() if self.clickhouse_url else None

    def cluster(self) -> str | None:
        """The ClickHouse cluster the schema lives on; only with a server (chdb has none)."""
        return self.clickhouse_cluster if self.clickhouse_url else None
