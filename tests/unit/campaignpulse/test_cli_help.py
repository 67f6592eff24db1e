"""Every command documents its options and the CAMPAIGNPULSE_* variables it reads."""

from __future__ import annotations

import argparse

import pytest

from campaignpulse import cli
from campaignpulse.settings import Settings


def help_of(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    with pytest.raises(SystemExit) as done:
        cli.main([*command, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(cli.COMMAND_SETTINGS))
def test_help_lists_each_variable_the_command_reads_with_its_default(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    text = " ".join(help_of(capsys, command).split())
    for variable, default, description in Settings.describe(cli.COMMAND_SETTINGS[command]):
        assert f"{variable} {' '.join(description.split())} [{default}]" in text


def test_worker_migrate_and_notify_name_their_connections(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "CAMPAIGNPULSE_KAFKA_BOOTSTRAP" in help_of(capsys, "worker")
    assert "[localhost:9092]" in help_of(capsys, "worker")
    assert "CAMPAIGNPULSE_CLICKHOUSE_URL" in help_of(capsys, "migrate")
    assert "CAMPAIGNPULSE_ALERTMANAGER_URL" in help_of(capsys, "notify")
    assert "CAMPAIGNPULSE_CONNECT_TIMEOUT_S" in help_of(capsys, "produce", "file")


def test_every_setting_is_described() -> None:
    missing = [name for name, info in Settings.model_fields.items() if not info.description]
    assert missing == []


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(_parsers(child))
    return found


def test_every_option_and_argument_has_help_text() -> None:
    undocumented = [
        f"{parser.prog} {action.dest}"
        for parser in _parsers(cli._parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert undocumented == []


def test_version_comes_from_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out.split()
    assert out[0] == "campaignpulse" and out[1][0].isdigit()


def test_start_takes_rfc3339_or_now_and_rejects_anything_else() -> None:
    assert cli._start_ms("2026-11-26T08:00:00Z") == 1_795_680_000_000
    assert abs(cli._start_ms("now") - cli._start_ms(None) - 24 * 3_600_000) < 5_000
    with pytest.raises(cli.UsageError, match="RFC 3339"):
        cli._start_ms("yesterday")


def test_client_library_logs_stay_quiet_unless_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    libraries = ("aiokafka.consumer.group_coordinator", "kafka.conn", "clickhouse_driver")
    root_level = logging.getLogger().level
    try:
        assert cli.main(["sql", "--clickhouse-url", "http://nowhere", "SELECT 1"]) == 2
        assert "clickhouse://" in capsys.readouterr().err
        for name in libraries:
            assert not logging.getLogger(name).isEnabledFor(logging.ERROR)
        assert cli.main(["--verbose", "sql", "--clickhouse-url", "http://x", "SELECT 1"]) == 2
        for name in libraries:
            assert logging.getLogger(name).getEffectiveLevel() <= logging.INFO
    finally:
        logging.getLogger().setLevel(root_level)
        for name in cli.QUIET_LIBRARIES:
            logging.getLogger(name).setLevel(logging.NOTSET)
