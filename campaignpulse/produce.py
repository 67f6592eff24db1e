"""``campaignpulse produce simulate|file``: events to Kafka (or a simulated JSONL file)."""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from campaignpulse.broker import ensure_topics
from campaignpulse.errors import UserError
from campaignpulse.progress import count_lines, publish_progress
from campaignpulse.settings import Settings


def produce(settings: Settings, args: argparse.Namespace) -> int:
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
                    out.write(envelope.to_json() + "\n")
            return 0
        ensure_topics(settings)
        publisher = Publisher(settings.kafka_bootstrap)
        with publish_progress(args.events) as progress:
            report = publisher.publish(
                (envelope_to_outgoing(e) for e in envelopes), args.rate, progress=progress
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
            report = publisher.publish(parse_lines(lines, shift), args.rate, progress=progress)
    publisher.close()
    print(json.dumps({"published": dict(report.by_topic), "unroutable": report.unroutable}))
    if not report.by_topic and not report.unroutable:
        print("warning: published 0 events: the input was empty", flush=True)
    return 0

