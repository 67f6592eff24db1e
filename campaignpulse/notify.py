"""``campaignpulse notify``: follow ``campaignpulse.alerts`` and keep Alertmanager current."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer

from campaignpulse import metrics
from campaignpulse.settings import Settings
from campaignpulse.sinks.alertmanager import AlertmanagerClient, AlertNotifier, Payload
from campaignpulse.streams.authenticity.alerts import AuthenticityAlert
from campaignpulse.streams.disclosure import DisclosureAlert
from campaignpulse.streams.spikes.alert import ALERTS_TOPIC, SpikeAlert

log = logging.getLogger(__name__)


async def run_notifier(settings: Settings, stop: asyncio.Event) -> None:
    """Posts each alert change at once and re-sends firing alerts; retries failed posts."""
    if not settings.alertmanager_url:
        raise ValueError("set CAMPAIGNPULSE_ALERTMANAGER_URL")
    client = AlertmanagerClient(settings.alertmanager_url)
    notifier = AlertNotifier(settings.alert_resend_s)
    consumer = AIOKafkaConsumer(
        ALERTS_TOPIC,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.alert_group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=settings.session_timeout_ms,
        rebalance_timeout_ms=settings.rebalance_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_poll_interval_ms=settings.max_poll_interval_ms,
    )
    await consumer.start()
    unsent: list[Payload] = []
    next_resend = time.monotonic() + settings.alert_resend_s
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=500)
            now_ms = int(time.time() * 1000)
            for messages in batch.values():
                for message in messages:
                    try:
                        alert = read_alert(message.value or b"")
                    except (ValueError, KeyError, TypeError):
                        metrics.ERRORS.labels("notify").inc()
                        log.warning("skipping an unreadable alert at offset %s", message.offset)
                        continue
                    metrics.NOTIFIER_ALERTS_READ.inc()
                    unsent.extend(notifier.handle(alert, now_ms))
            if time.monotonic() >= next_resend:
                next_resend = time.monotonic() + settings.alert_resend_s
                unsent.extend(notifier.resend(now_ms))
            if unsent and await _post(client, unsent):
                unsent = []
            metrics.NOTIFIER_PENDING.set(len(unsent))
            if batch and not unsent:
                await consumer.commit()
    finally:
        await consumer.stop()


def read_alert(raw: bytes) -> SpikeAlert | DisclosureAlert | AuthenticityAlert:
    """Every kind of message on the alerts topic; campaign ones carry ``alert_type``."""
    if b'"alert_type":"inauthentic_engagement"' in raw:
        return AuthenticityAlert.from_json(raw)
    if b'"alert_type"' in raw:
        return DisclosureAlert.from_json(raw)
    return SpikeAlert.from_json(raw)


async def _post(client: AlertmanagerClient, alerts: list[Payload]) -> bool:
    try:
        await asyncio.to_thread(client.post, alerts)
    except Exception as exc:  # the next loop retries; Alertmanager may be restarting
        metrics.ALERT_DELIVERIES.labels("error").inc()
        log.warning("alertmanager post failed: %s", exc)
        await asyncio.sleep(1.0)
        return False
    metrics.ALERT_DELIVERIES.labels("ok").inc()
    metrics.NOTIFIER_LAST_SUCCESS.set_to_current_time()
    return True
