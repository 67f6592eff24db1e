"""A cancellation nobody asked for is an error with its cause, not a silent exit 130."""

from __future__ import annotations

import asyncio

import pytest

from campaignpulse import cli
from campaignpulse.shutdown import Shutdown


def test_a_library_cancelling_while_an_error_unwinds_reports_the_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(args: object, settings: object) -> int:
        try:
            raise AttributeError("'tuple' object has no attribute 'topic'")
        finally:  # as aiokafka's consumer.stop() does in a finally
            raise asyncio.CancelledError

    monkeypatch.setattr(cli, "_run", failing)
    assert cli.main(["worker"]) == 1
    err = capsys.readouterr().err
    assert "internal error: AttributeError: 'tuple' object has no attribute 'topic'" in err


def test_a_second_ctrl_c_still_quits_with_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def cancelled(args: object, settings: object) -> int:
        raise asyncio.CancelledError

    monkeypatch.setattr(cli, "_run", cancelled)
    monkeypatch.setattr(Shutdown, "interrupted", True)
    assert cli.main(["worker"]) == 130
