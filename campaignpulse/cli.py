"""The ``campaignpulse`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from pathlib import Path

from campaignpulse.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="campaignpulse",
        description="Live monitoring of Instagram micro-influencer campaigns.",
        epilog="Configuration comes from CAMPAIGNPULSE_* environment variables (see README).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run everything embedded: Tansu, chdb, worker, simulator")
    demo.add_argument("--duration", type=float, default=60.0, metavar="SECONDS",
                      help="how long to feed the simulator (default 60)")
    demo.add_argument("--events", type=Path, metavar="FILE.jsonl",
                      help="publish this file (timestamps kept) instead of simulating")
    demo.add_argument("--data-dir", default=None, metavar="DIR",
                      help="embedded warehouse directory (default ./campaignpulse-data)")
    demo.add_argument("--no-board", action="store_true", help="no live terminal board")
    demo.add_argument("--seed", type=int, default=7, help="simulator seed")
    demo.add_argument("--rate", type=float, default=2000.0, help="simulated events per second")

    sql = sub.add_parser("sql", help="query the warehouse")
    sql.add_argument("query", help="SQL to run")
    where = sql.add_mutually_exclusive_group()
    where.add_argument("--data-dir", default=None, metavar="DIR", help="embedded warehouse")
    where.add_argument("--clickhouse-url", default=None, metavar="URL",
                       help="clickhouse://user:pass@host:9000/db")
    sql.add_argument("--format", choices=("json", "table"), default="table")

    sub.add_parser("worker", help="run the stream worker against configured Kafka and ClickHouse")
    sub.add_parser("migrate", help="create or update the warehouse schema")

    produce = sub.add_parser("produce", help="publish events to Kafka")
    how = produce.add_subparsers(dest="source", required=True)
    sim = how.add_parser("simulate", help="publish simulated campaign activity")
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument("--creators", type=int, default=200)
    sim.add_argument("--rate", type=float, default=1000.0, help="events per second")
    sim.add_argument("--events", type=int, default=None, help="stop after this many events")
    sim.add_argument("--start", default=None,
                     help="event time of the first step (RFC 3339; default: 24h ago)")
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
    fil.add_argument("path", type=Path)
    fil.add_argument("--retime", action="store_true",
                     help="shift all timestamps so that the newest event is now")
    fil.add_argument("--rate", type=float, default=None, help="events per second (default: max)")

    sub.add_parser("notify", help="deliver spike alerts from Kafka to Alertmanager")
    from campaignpulse import spikes

    spikes.add_parser(sub)
    from campaignpulse import replay

    replay.add_parser(sub)

    bench = sub.add_parser("bench", help="raw consume rate vs full pipeline rate, one run")
    bench.add_argument("--events", type=int, default=200_000)
    bench.add_argument("--seed", type=int, default=11)
    bench.add_argument("--restore", type=int, default=None, metavar="CREATORS",
                       help="instead: time restoring the state of this many creators")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = Settings()
    command = args.command
    if command == "demo":
        from campaignpulse.demo import run_demo

        if args.data_dir:
            settings = settings.model_copy(update={"data_dir": args.data_dir})
        if args.events is not None and not args.events.is_file():
            print(f"no such file: {args.events}", file=sys.stderr)
            return 2
        return asyncio.run(run_demo(
            settings, args.duration, args.events, not args.no_board, args.seed, args.rate
        ))
    if command == "sql":
        return _sql(settings, args)
    if command == "migrate":
        from campaignpulse.sinks.warehouse import migrate, open_warehouse

        warehouse = open_warehouse(settings.clickhouse(), settings.data_dir)
        for statement in migrate(warehouse):
            print(statement.splitlines()[0])
        return 0
    if command == "worker":
        return asyncio.run(_worker(settings))
    if command == "notify":
        return asyncio.run(_notify(settings))
    if command == "spikes":
        from campaignpulse import spikes

        return spikes.run(args)
    if command == "replay":
        from campaignpulse import replay

        return replay.run(args)
    if command == "produce":
        return _produce(settings, args)
    if command == "bench":
        from campaignpulse.bench import run_bench, run_restore_bench

        if args.restore:
            return asyncio.run(run_restore_bench(settings, args.restore, args.seed))
        return asyncio.run(run_bench(settings, args.events, args.seed))
    return 2


def _sql(settings: Settings, args: argparse.Namespace) -> int:
    from campaignpulse.sinks.warehouse import open_warehouse

    url = args.clickhouse_url or (None if args.data_dir else settings.clickhouse())
    warehouse = open_warehouse(url, args.data_dir or settings.data_dir)
    rows = warehouse.query(args.query)
    if args.format == "json":
        for row in rows:
            print(json.dumps(row, default=str))
    elif rows:
        names = list(rows[0])
        cells = [[str(row[n]) for n in names] for row in rows]
        widths = [max(len(n), *(len(c[i]) for c in cells)) for i, n in enumerate(names)]
        print("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)))
        for c in cells:
            print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))
    warehouse.close()
    return 0


async def _worker(settings: Settings) -> int:
    from prometheus_client import start_http_server

    from campaignpulse.broker import ensure_topics
    from campaignpulse.sinks.warehouse import migrate, open_warehouse
    from campaignpulse.streams.runtime import EngagementWorker

    await asyncio.to_thread(ensure_topics, settings)
    if settings.metrics_port:
        start_http_server(settings.metrics_port)
    warehouse = open_warehouse(settings.clickhouse(), settings.data_dir)
    migrate(warehouse)
    await EngagementWorker(settings, warehouse).run(_stop_on_signals())
    warehouse.close()
    return 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def _notify(settings: Settings) -> int:
    from campaignpulse.broker import ensure_topics
    from campaignpulse.notify import run_notifier

    await asyncio.to_thread(ensure_topics, settings)
    await run_notifier(settings, _stop_on_signals())
    return 0


def _produce(settings: Settings, args: argparse.Namespace) -> int:
    import itertools

    from campaignpulse.broker import ensure_topics
    from campaignpulse.producers.jsonl import newest_event_ms, parse_lines
    from campaignpulse.producers.publisher import Publisher, envelope_to_outgoing
    from campaignpulse.producers.simulator import CampaignSimulator, Faults, Incidents
    from campaignpulse.streams.timestamps import parse_timestamp_ms

    if args.source == "simulate":
        start = (parse_timestamp_ms(args.start) if args.start
                 else int(time.time() * 1000) - 24 * 3_600_000)
        simulator = CampaignSimulator(
            seed=args.seed, start_ms=start, creators=args.creators,
            faults=Faults(args.duplicates, args.late, args.malformed),
            incidents=Incidents(args.bought_per_day, args.viral_per_day),
        )
        envelopes = itertools.islice(simulator.events(), args.events)
        if args.output:
            with args.output.open("w") as out:
                for envelope in envelopes:
                    out.write(envelope.to_json() + "\n")
            return 0
        ensure_topics(settings)
        publisher = Publisher(settings.kafka_bootstrap)
        report = publisher.publish((envelope_to_outgoing(e) for e in envelopes), args.rate)
    else:
        shift = 0
        if args.retime:
            with args.path.open("rb") as lines:
                newest = newest_event_ms(lines)
            shift = int(time.time() * 1000) - newest if newest is not None else 0
        ensure_topics(settings)
        publisher = Publisher(settings.kafka_bootstrap)
        with args.path.open("rb") as lines:
            report = publisher.publish(parse_lines(lines, shift), args.rate)
    publisher.close()
    print(json.dumps({"published": dict(report.by_topic), "unroutable": report.unroutable}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
