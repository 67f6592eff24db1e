"""The ``campaignpulse`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

from campaignpulse.errors import UsageError, UserError, explain, first_line
from campaignpulse.settings import Settings
from campaignpulse.shutdown import Shutdown

#: Libraries whose warnings and errors (retries, a group coordinator that is not up yet on
#: a fresh broker) are noise to a user; our own code reports what they mean. --verbose shows.
QUIET_LIBRARIES = ("aiokafka", "kafka", "clickhouse_driver", "faust", "mode")

_KAFKA = ["kafka_bootstrap", "topic_partitions", "topic_retention_ms", "connect_timeout_s"]
_WAREHOUSE = ["clickhouse_url", "data_dir", "connect_timeout_s"]
_PIPELINE = ["allowed_lateness_s", "flush_interval_s", "max_batch_records", "max_pending_rows",
             "spike_alert_level"]
_DLQ = ["dlq_max_value_bytes", "dlq_max_header_bytes", "dlq_max_in_flight",
        "dlq_max_in_flight_bytes", "dlq_retry_for_s"]
_STATE = ["state_topic", "state_idle_s"]
_GROUP = ["session_timeout_ms", "rebalance_timeout_ms", "heartbeat_interval_ms",
          "max_poll_interval_ms"]
ENGINES = ("native", "faust")
#: The settings each command reads, listed in its --help. A command missing here reads none.
COMMAND_SETTINGS: dict[str, list[str]] = {
    "demo": ["data_dir", *_PIPELINE, "topic_partitions", "topic_retention_ms", "metrics_port"],
    "sql": _WAREHOUSE,
    "worker": ["engine", "faust_web_port", "faust_web_host", *_KAFKA, "group_id",
               *_WAREHOUSE[:2], "clickhouse_cluster", *_PIPELINE, *_DLQ, *_STATE,
               "metrics_port", *_GROUP],
    "replay": [*_KAFKA, "group_id", *_WAREHOUSE[:2], "clickhouse_cluster", *_PIPELINE],
    "migrate": [*_WAREHOUSE, "clickhouse_cluster"],
    "produce": _KAFKA,
    "notify": [*_KAFKA, "alertmanager_url", "alert_resend_s", "alert_group_id", "metrics_port",
               *_GROUP],
    "bench": ["engine", *_PIPELINE],
    "dashboards": ["grafana_url", "grafana_token"],
    "campaigns": _KAFKA,
}


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Defaults shown next to each option; the environment epilog kept as written."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="campaignpulse",
        description="Live monitoring of Instagram micro-influencer campaigns.",
        epilog="Each command's --help lists the CAMPAIGNPULSE_* variables it reads.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log at INFO level, including Kafka and ClickHouse client logs")
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an error instead of one line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run everything embedded: Tansu, chdb, worker, simulator")
    demo.add_argument("--duration", type=float, default=60.0, metavar="SECONDS",
                      help="how long to feed the simulator")
    demo.add_argument("--events", type=Path, metavar="FILE.jsonl",
                      help="publish this file (timestamps kept) instead of simulating")
    demo.add_argument("--data-dir", default=None, metavar="DIR",
                      help="embedded warehouse directory (default: CAMPAIGNPULSE_DATA_DIR)")
    demo.add_argument("--no-board", action="store_true", help="no live terminal board")
    demo.add_argument("--seed", type=int, default=7, help="simulator seed")
    demo.add_argument("--rate", type=float, default=2000.0, help="simulated events per second")
    demo.add_argument("--start", default=None, metavar="TIME",
                      help="event time where the simulator starts: RFC 3339 or 'now' "
                           "(default: 24 h ago, so a day of history arrives fast)")

    sql = sub.add_parser("sql", help="query the warehouse (read only)")
    sql.add_argument("query", help="SQL to run")
    where = sql.add_mutually_exclusive_group()
    where.add_argument("--data-dir", default=None, metavar="DIR",
                       help="embedded warehouse (default: CAMPAIGNPULSE_DATA_DIR)")
    where.add_argument("--clickhouse-url", default=None, metavar="URL",
                       help="clickhouse://user:pass@host:9000/db "
                            "(default: CAMPAIGNPULSE_CLICKHOUSE_URL)")
    sql.add_argument("--format", choices=("json", "table"), default="table",
                     help="json: one object per row, full precision; table: for reading")

    worker = sub.add_parser("worker",
                            help="run the stream worker against configured Kafka and ClickHouse")
    worker.add_argument("--engine", choices=ENGINES, default=argparse.SUPPRESS,
                        help="native: the aiokafka batch loop; faust: the same pipeline as a "
                             "Faust app (default: CAMPAIGNPULSE_ENGINE)")
    migrate = sub.add_parser("migrate", help="create or update the warehouse schema")
    migrate.add_argument("--cluster", default=None, metavar="NAME",
                         help="create the tables ON CLUSTER NAME, replicated on every node, "
                              "with <table>_all Distributed tables for reads "
                              "(default: CAMPAIGNPULSE_CLICKHOUSE_CLUSTER)")

    produce = sub.add_parser("produce", help="publish events to Kafka")
    how = produce.add_subparsers(dest="source", required=True, metavar="SOURCE")
    sim = how.add_parser("simulate", help="publish simulated campaign activity")
    sim.add_argument("--seed", type=int, default=7, help="simulator seed")
    sim.add_argument("--creators", type=int, default=200, help="number of creators")
    sim.add_argument("--rate", type=float, default=1000.0, help="events per second")
    sim.add_argument("--events", type=int, default=None, help="stop after this many events")
    sim.add_argument("--start", default=None, metavar="TIME",
                     help="event time of the first step: RFC 3339 or 'now' (default: 24 h ago)")
    sim.add_argument("--output", type=Path, default=None,
                     help="write a JSONL file instead of publishing")
    sim.add_argument("--duplicates", type=float, default=0.0, help="share of duplicated events")
    sim.add_argument("--late", type=float, default=0.0, help="share of very late events")
    sim.add_argument("--malformed", type=float, default=0.0, help="share of broken payloads")
    sim.add_argument("--bought-per-day", type=float, default=0.0,
                     help="bought-follower packages per creator and simulated day")
    sim.add_argument("--viral-per-day", type=float, default=0.0,
                     help="viral posts per creator and simulated day")
    fil = how.add_parser("file", help="publish a JSONL event file")
    fil.add_argument("path", type=Path, help="one {\"topic\": ..., \"value\": {...}} per line")
    fil.add_argument("--retime", action="store_true",
                     help="shift all timestamps so that the newest event is now")
    fil.add_argument("--rate", type=float, default=None, help="events per second (default: max)")

    sub.add_parser("notify", help="deliver spike alerts from Kafka to Alertmanager")

    bench = sub.add_parser("bench", help="raw consume rate vs full pipeline rate, one run")
    bench.add_argument("--events", type=int, default=200_000, help="events to publish and read")
    bench.add_argument("--seed", type=int, default=11, help="simulator seed")
    bench.add_argument("--engine", choices=(*ENGINES, "both"), default=argparse.SUPPRESS,
                       help="the engine whose pipeline rate is measured; both: one after the "
                            "other on the same records (default: CAMPAIGNPULSE_ENGINE)")
    bench.add_argument("--restore", type=int, default=None, metavar="CREATORS",
                       help="instead: time restoring the state of this many creators")
    bench.add_argument("--creators", type=int, default=None,
                       help="creators the simulator publishes for (default 200; --read: 1000)")
    bench.add_argument("--rounds", type=int, default=3,
                       help="interleaved raw and pipeline rounds; medians are reported")
    bench.add_argument("--read", action="store_true",
                       help="instead: fill a warehouse and time every query of the "
                            "campaign board (1 h, 24 h, 7 d; all, one campaign, one creator)")
    bench.add_argument("--days", type=int, default=7, help="--read: days of data")
    bench.add_argument("--runs", type=int, default=5, help="--read: timed runs per query")
    bench.add_argument("--clickhouse-url", default=None, metavar="URL",
                       help="--read: fill this (empty) server database instead of an "
                            "embedded warehouse in a temporary directory")

    # Commands that live in their own modules: add_parser(sub) here, run(args) in _run.
    from campaignpulse import spikes

    spikes.add_parser(sub)
    from campaignpulse import campaigns

    campaigns.add_parser(sub)
    from campaignpulse import dashboards_cli

    dashboards_cli.add_parser(sub)
    from campaignpulse import replay

    replay.add_parser(sub)
    _document(sub)
    return parser


def _document(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Every command's --help shows defaults and the environment variables it reads."""
    for name, command in sub.choices.items():
        _describe_environment(command, COMMAND_SETTINGS.get(name, []))


def _describe_environment(parser: argparse.ArgumentParser, names: list[str]) -> None:
    parser.formatter_class = _Formatter
    if names:
        rows = Settings.describe(names)
        width = max(len(variable) for variable, _, _ in rows)
        parser.epilog = "environment (default in brackets):\n" + "\n".join(
            f"  {variable:<{width}}  {text} [{default}]" for variable, default, text in rows
        )
    else:
        parser.epilog = "environment: reads no CAMPAIGNPULSE_* variables"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _describe_environment(child, names)


def _version() -> str:
    try:
        return metadata.version("campaignpulse")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if args.verbose else logging.CRITICAL)
    try:
        return _run(args, Settings())
    except KeyboardInterrupt:
        return 130  # Ctrl-C before a command installed its own handling
    except asyncio.CancelledError as exc:
        if Shutdown.interrupted:
            return 130  # a second Ctrl-C: quit without the summary
        # a client library cancelled while an error unwound (aiokafka's stop() does):
        # that error is the one to report, not a Ctrl-C nobody pressed
        context = exc.__context__
        return _failed(context if isinstance(context, Exception) else exc, args.debug)
    except Exception as exc:  # every failure ends here: one line, or the traceback with --debug
        return _failed(exc, args.debug)


def _failed(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(exc)
    problem = explain(exc)
    if problem is None:
        print(f"campaignpulse: internal error: {type(exc).__name__}: {first_line(exc)} "
              "(--debug shows the traceback)", file=sys.stderr)
        return 1
    print(f"campaignpulse: {problem}", file=sys.stderr)
    return problem.exit_code


def _run(args: argparse.Namespace, settings: Settings) -> int:
    command = args.command
    if getattr(args, "engine", None) in ENGINES:
        settings = settings.model_copy(update={"engine": args.engine})
    if command == "demo":
        from campaignpulse.demo import run_demo

        if args.data_dir:
            settings = settings.model_copy(update={"data_dir": args.data_dir})
        if args.events is not None and not args.events.is_file():
            raise UsageError(f"no such file: {args.events}")
        start_ms = _start_ms(args.start)
        return asyncio.run(run_demo(
            settings, args.duration, args.events, not args.no_board, args.seed, args.rate,
            start_ms,
        ))
    if command == "sql":
        return _sql(settings, args)
    if command == "migrate":
        from campaignpulse.sinks.schema import skipped_objects
        from campaignpulse.sinks.warehouse import migrate

        cluster = args.cluster or settings.clickhouse_cluster
        url = settings.clickhouse()
        if cluster and url is None:
            raise UsageError("--cluster needs a server: set CAMPAIGNPULSE_CLICKHOUSE_URL")
        warehouse = _warehouse(settings, url, settings.data_dir)
        for statement in migrate(warehouse, cluster):
            print(statement.splitlines()[0])
        for name, why in skipped_objects(warehouse.server_version()):
            print(f"skipped {name}: {why}", file=sys.stderr)
        return 0
    if command == "worker":
        return asyncio.run(_worker(settings))
    if command == "notify":
        return asyncio.run(_notify(settings))
    if command == "dashboards":
        from campaignpulse import dashboards_cli

        return dashboards_cli.run(args, settings)
    if command == "campaigns":
        from campaignpulse import campaigns

        return campaigns.run(args)
    if command == "replay":
        from campaignpulse import replay

        return replay.run(args)
    if command == "produce":
        from campaignpulse.produce import produce

        if args.source == "simulate":
            args.start_ms = _start_ms(args.start)
        return produce(settings, args)
    if command == "bench":
        if args.read:
            from campaignpulse.bench_read import run_read_bench

            return run_read_bench(args.days, args.creators or 1000, args.clickhouse_url,
                                  args.runs)
        if args.restore:
            from campaignpulse.bench_restore import run_restore_bench

            return asyncio.run(run_restore_bench(settings, args.restore, args.seed,
                                                    args.rounds))
        from campaignpulse.bench import run_bench

        engines = ENGINES if getattr(args, "engine", None) == "both" else (settings.engine,)
        return asyncio.run(run_bench(settings, args.events, args.seed, engines,
                                     args.creators or 200, args.rounds))
    if command == "spikes":
        from campaignpulse import spikes

        return spikes.run(args)
    raise UsageError(f"unknown command {command}")


def _start_ms(text: str | None) -> int:
    from campaignpulse.streams.timestamps import TimestampError, parse_timestamp_ms

    now_ms = int(time.time() * 1000)
    if text is None:
        return now_ms - 24 * 3_600_000
    if text == "now":
        return now_ms
    try:
        return parse_timestamp_ms(text)
    except TimestampError as exc:
        raise UsageError(f"--start {text!r}: {exc}; use RFC 3339 with a zone or 'now'") from exc


def _warehouse(settings: Settings, url: str | None, data_dir: str,
               retry_for_s: float = 60.0) -> Any:
    from urllib.parse import urlparse

    from campaignpulse.sinks.warehouse import open_warehouse

    if url is not None:
        parsed = urlparse(url)
        if parsed.scheme != "clickhouse" or not parsed.hostname:
            raise UsageError(f"not a ClickHouse URL: {parsed.scheme}://…; "
                             "expected clickhouse://user:password@host:9000/db")
    return open_warehouse(url, data_dir, connect_timeout_s=settings.connect_timeout_s,
                          retry_for_s=retry_for_s)


def _sql(settings: Settings, args: argparse.Namespace) -> int:
    from campaignpulse.sinks.warehouse import holds_warehouse

    url = args.clickhouse_url or (None if args.data_dir else settings.clickhouse())
    data_dir = args.data_dir or settings.data_dir
    if url is None and not holds_warehouse(data_dir):
        raise UserError(f"no warehouse in {data_dir}: run `campaignpulse demo --data-dir "
                        f"{data_dir}` first, or pass --data-dir/--clickhouse-url")
    warehouse = _warehouse(settings, url, data_dir)
    try:
        rows = warehouse.query(args.query)
    except Exception as exc:
        problem = explain(exc)
        if problem is not None:
            raise problem from exc
        raise UserError(f"query failed: {first_line(exc)}") from exc
    finally:
        warehouse.close()
    if args.format == "json":
        for row in rows:
            print(json.dumps(row, default=str))
    else:
        from campaignpulse.board import rows_table, stdout_console

        stdout_console().print(rows_table(rows))
    return 0


async def _worker(settings: Settings) -> int:
    from prometheus_client import start_http_server

    from campaignpulse import metrics
    from campaignpulse.board import worker_summary
    from campaignpulse.broker import ensure_topics
    from campaignpulse.shutdown import Shutdown
    from campaignpulse.sinks.warehouse import migrate
    from campaignpulse.worker.engines import new_worker

    shutdown = Shutdown().install()
    # no retries inside a write: the flush loop retries, and counts each failed attempt
    warehouse = _warehouse(settings, settings.clickhouse(), settings.data_dir, retry_for_s=0)
    migrate(warehouse, settings.cluster())
    await asyncio.to_thread(ensure_topics, settings)
    if settings.metrics_port:
        start_http_server(settings.metrics_port)
    metrics.preset_worker_series()
    started = time.monotonic()
    worker = new_worker(settings, warehouse)
    try:
        if not shutdown.requested:
            await worker.run(shutdown.event)
    finally:
        warehouse.close()
    print(worker_summary(worker.stats, time.monotonic() - started), flush=True)
    return shutdown.exit_code(sigterm=0)


async def _notify(settings: Settings) -> int:
    from campaignpulse import metrics
    from campaignpulse.broker import ensure_topics
    from campaignpulse.notify import run_notifier
    from campaignpulse.shutdown import Shutdown

    if not settings.alertmanager_url:
        raise UserError("set CAMPAIGNPULSE_ALERTMANAGER_URL, e.g. http://localhost:9093")
    shutdown = Shutdown().install()
    await asyncio.to_thread(ensure_topics, settings)
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port)
    metrics.preset_notifier_series()
    await run_notifier(settings, shutdown.event)
    return shutdown.exit_code(sigterm=0)


if __name__ == "__main__":
    sys.exit(main())
