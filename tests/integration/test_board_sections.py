"""The board's sections on a real (embedded) warehouse: alerts read in followers, NULL ends."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from campaignpulse.board import spike_alerts
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.streams.spikes.alert import Reason, Severity, SpikeAlert, Status

T0 = 1_795_680_000_000


def test_firing_alert_has_no_end_and_reads_in_followers(tmp_path: Path) -> None:
    warehouse = EmbeddedWarehouse(str(tmp_path / "w"))
    migrate(warehouse)
    alert = SpikeAlert("cr-1-1", "cr-1", (), Status.FIRING, Severity.CRITICAL, 0.9, T0,
                       T0 + 20 * 60_000, None, 2000, 3.4, 12_000,
                       (Reason.GROWTH_ABOVE_BASELINE, Reason.ROUND_NUMBER_JUMP), (), 2)
    writes = PendingWrites.empty()
    writes.alerts.append(alert)
    WarehouseSink(warehouse).write(writes)
    try:
        assert warehouse.query("SELECT ended_at FROM follower_spike_alerts FINAL") == [
            {"ended_at": None}]
        out = io.StringIO()
        Console(file=out, width=200).print(spike_alerts(warehouse))
        row = next(line for line in out.getvalue().splitlines() if "cr-1" in line)
        assert "+2,000 followers" in row and "3 followers" in row and "20 min" in row
        assert "round_number_jump" in row
    finally:
        warehouse.close()
