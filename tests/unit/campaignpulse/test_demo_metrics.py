"""The demo serves the worker's /metrics when its port is free, and carries on when not."""

from __future__ import annotations

import logging
import socket
import urllib.request

import pytest

from campaignpulse.broker import free_port
from campaignpulse.demo import _serve_metrics


def test_demo_serves_metrics_with_every_label_value_preset() -> None:
    port = free_port()
    _serve_metrics(port)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:  # noqa: S310
        text = r.read().decode()
    # present before any error or dead letter (other tests may have counted some already)
    assert 'campaignpulse_dead_letters_total{reason="internal_error"}' in text
    assert 'campaignpulse_errors_total{stage="commit"}' in text


def test_a_taken_port_is_a_warning_not_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        with caplog.at_level(logging.WARNING):
            _serve_metrics(taken.getsockname()[1])
    assert "CAMPAIGNPULSE_METRICS_PORT" in caplog.text
