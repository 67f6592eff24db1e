"""The board and summary say what their numbers mean, and stay quiet off a terminal."""

from __future__ import annotations

import io
import re
import time

from rich.console import Console

from campaignpulse.board import Board, event_time_line, rows_table, worker_summary
from campaignpulse.progress import publish_progress
from campaignpulse.worker.outputs import WorkerStats


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=200), out


def board(stats: WorkerStats, terminal: bool = True, **kwargs: object) -> tuple[Board, io.StringIO]:
    screen, out = console(terminal)
    return Board(None, stats, sections=[], console=screen, **kwargs), out  # type: ignore[arg-type]


def text(view: Board) -> str:
    screen, out = console(False)
    screen.print(view.render())
    return out.getvalue()


def test_nothing_is_drawn_off_a_terminal() -> None:
    view, out = board(WorkerStats(events=5), terminal=False)
    with view:
        view.refresh()
    assert out.getvalue() == ""


def test_on_a_terminal_the_board_is_drawn() -> None:
    view, out = board(WorkerStats(events=5))
    with view:
        view.refresh()
    assert "events 5" in out.getvalue()


def test_ctrl_c_hint_only_when_the_run_does_not_end_by_itself() -> None:
    assert "Ctrl-C to stop" in text(board(WorkerStats())[0])
    assert "Ctrl-C" not in text(board(WorkerStats(), stops_by_itself=True)[0])


def test_dead_letters_on_the_board_match_the_summary() -> None:
    stats = WorkerStats(events=10, dead_letters={"schema": 2})
    view, _ = board(stats, unroutable=lambda: 3)
    assert "dead letters malformed_line 3, schema 2" in text(view)
    assert "dead letters malformed_line 3, schema 2" in worker_summary(stats, 1.0, 3)


def test_rate_is_the_run_average_not_zero_at_the_end() -> None:
    view, _ = board(WorkerStats(events=10_000))
    view.started = time.monotonic() - 10  # no new events since: the rate is still the run's
    assert re.search(r"events/s (1,000|999) \(run average\)", text(view))


def test_event_time_lag_is_explained() -> None:
    stats = WorkerStats(events=1, newest_event_ms=int(time.time() * 1000) - 86_400_000)
    line = event_time_line(stats, "simulated time starts at --start")
    assert "24.0 h behind the wall clock (simulated time starts at --start)" in line
    ahead = WorkerStats(events=1, newest_event_ms=int(time.time() * 1000) + 600_000)
    assert "10 min ahead of the wall clock" in event_time_line(ahead)


def test_nothing_accepted_is_a_warning_and_nothing_new_is_not() -> None:
    rejected = worker_summary(WorkerStats(records=5, dead_letters={"schema": 5}), 1.0)
    assert "warning: read 5 records and accepted none of them" in rejected
    caught_up = worker_summary(WorkerStats(), 1.0)
    assert "warning" not in caught_up
    assert "nothing new to read" in caught_up
    assert "nothing new" not in worker_summary(WorkerStats(records=1, events=1), 1.0)
    assert "warning" not in worker_summary(WorkerStats(records=1, events=1), 1.0)


def test_a_restart_that_reads_again_on_purpose_is_no_warning() -> None:
    """Records read again after a crash are skipped, not rejected; duplicates are not
    dead letters: neither is "accepted none of them (see the dead letters)"."""
    reread = worker_summary(WorkerStats(reread=3_152, restored_partitions=4,
                                        restore_records=120, restore_seconds=0.5), 1.0)
    assert "warning" not in reread
    assert "read again after a crash and skipped" in reread and "3,152" in reread
    assert "restored 4 partitions (120 changelog records in 0.50s)" in reread
    again = worker_summary(WorkerStats(records=40, duplicates=40), 1.0)
    assert "warning" not in again and "all of them events counted before" in again


def test_sql_table_rounds_rates_and_shows_null() -> None:
    screen, out = console(False)
    screen.print(rows_table([{"creator_id": "cr-1", "engagement_rate": 0.0123456789,
                              "followers": None}]))
    assert "0.01235" in out.getvalue() and "NULL" in out.getvalue()
    assert "0.0123456789" not in out.getvalue()


def test_progress_bar_only_on_a_terminal() -> None:
    screen, out = console(False)
    with publish_progress(1000, screen) as bar:
        assert bar is None
    screen, out = console(True)
    with publish_progress(1000, screen) as bar:
        assert bar is not None
        bar(200)
        time.sleep(0.05)
        bar(400)
    shown = out.getvalue()
    assert "400/1000" in shown and "events" in shown and "ETA" in shown
