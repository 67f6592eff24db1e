"""``campaignpulse produce simulate|file``: events to Kafka (or a simulated JSONL file)."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from campaignpulse.broker import ensure_topics
from campaignpulse.errors import UserError
from campaignpulse.progress import count_lines, publish_progress
from campaignpulse.settings import Settings


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """The first SIGINT/SIGTERM ends publishing after the current 200 events."""
    stop = threading.Event()

    def received(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        print("stopping: flushing what was sent (again to quit at once)", file=sys.stderr)
        stop.set()

    previous = {sig: signal.signal(sig, received) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def produce(settings: Settings, args: argparse.Namespace) -> int:
    with _stop_on_signals() as stop:
        code = _produce(settings, args, stop)
    return 130 if stop.is_set() else code


def _produce(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    from campaignpulse.producers.jsonl import newest_event_ms, parse_lines
    from campaignpulse.producers.publisher import Publisher, envelope_to_outgoing
    from campaignpulse.producers.simulator import (
        CampaignSimulator,
        Faults,
        Incidents,
        paced,
    )

    if args.source == "simulate":
        simulator = CampaignSimulator(
            seed=args.seed, start_ms=args.start_ms, creators=args.creators,
            faults=Faults(args.duplicates, args.late, args.malformed),
            incidents=Incidents(args.bought_per_day, args.viral_per_day),
        )
        # --start now: event time keeps pace with the wall clock, for a stack left running
        live = args.start == "now"
        envelopes = itertools.islice(paced(simulator) if live else simulator.events(),
                                     args.events)
        if args.output:
            with args.output.open("w") as out:
                for envelope in envelopes:
                    if stop.is_set():
                        break
                    out.write(envelope.to_json() + "\n")
            return 0
        ensure_topics(settings)
        publisher = Publisher(settings.kafka_bootstrap)
        with publish_progress(args.events) as progress:
            report = publisher.publish(
                (envelope_to_outgoing(e) for e in envelopes), args.rate, stop.is_set, progress
            )
    else:
        path: Path = args.path
        if not path.is_file():
            raise UserError(f"no such file: {path}", exit_code=2)
        shift = 0
        if args.retime:
            with path.open("rb") as lines:
                newest = newest_event_ms(lines)
            shift = int(time.time() * 1000) - newest if newest is not None else 0
        ensure_topics(settings)
        publisher = Publisher(settings.kafka_bootstrap)
        with path.open("rb") as lines, publish_progress(count_lines(path)) as progress:
            report = publisher.publish(parse_lines(lines, shift), args.rate, stop.is_set,
                                       progress)
    publisher.close()
    print(json.dumps({"published": dict(report.by_topic), "unroutable": report.unroutable}))
    if not report.by_topic and not report.unroutable:
        print("warning: published 0 events: the input was empty", flush=True)
    return 0

