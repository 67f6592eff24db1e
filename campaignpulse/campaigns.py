"""``campaignpulse campaigns load|list|delete``: campaign definitions on ``ig.campaigns``.

``load`` validates every campaign in a YAML file first and publishes nothing if any field
is wrong; ``list`` reads the compacted topic from the beginning, which is exactly what
every worker reads at start.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from campaignpulse.settings import Settings
from campaignpulse.streams.campaigns.definition import Campaign, InvalidDefinition, parse_campaign
from campaignpulse.streams.contract import Rejected
from campaignpulse.streams.contract_campaigns import CAMPAIGNS_TOPIC, decode_campaign
from campaignpulse.streams.timestamps import format_timestamp_ms


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    campaigns = sub.add_parser(
        "campaigns",
        help="campaign definitions on ig.campaigns (reads CAMPAIGNPULSE_KAFKA_BOOTSTRAP)",
        description="Campaign definitions on the compacted topic ig.campaigns. Reads "
                    "CAMPAIGNPULSE_KAFKA_BOOTSTRAP (and CAMPAIGNPULSE_TOPIC_PARTITIONS, "
                    "CAMPAIGNPULSE_TOPIC_RETENTION_MS when it creates topics).",
    )
    how = campaigns.add_subparsers(dest="action", required=True)
    load = how.add_parser("load", help="validate a YAML file of campaigns and publish them")
    load.add_argument("path", type=Path, metavar="FILE.yaml",
                      help="campaign definitions (YAML: one mapping or a list)")
    load.add_argument("--check", action="store_true", help="validate only, publish nothing")
    listing = how.add_parser("list", help="the campaigns the workers know (the compacted topic)")
    listing.add_argument("--format", choices=("table", "json"), default="table",
                         help="a table on the terminal, or one JSON object per line")
    delete = how.add_parser("delete", help="delete a campaign (a null value on ig.campaigns)")
    delete.add_argument("campaign_id", help="the campaign to delete (a null value on ig.campaigns)")


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.action == "load":
        try:
            campaigns = read_file(args.path)
        except InvalidDefinition as exc:
            for line in exc.errors:
                print(line, file=sys.stderr)
            print(f"{args.path}: nothing published", file=sys.stderr)
            return 2
        if not args.check:
            publish(settings, [(c.campaign_id, c.to_json()) for c in campaigns])
        print(json.dumps({"valid": len(campaigns), "published": 0 if args.check else len(campaigns),
                          "campaign_ids": [c.campaign_id for c in campaigns]}))
        return 0
    if args.action == "delete":
        publish(settings, [(args.campaign_id, None)])
        return 0
    known = read_topic(settings.kafka_bootstrap)
    if args.format == "json":
        for campaign in known.values():
            print(campaign.to_json().decode())
    else:
        print_table(list(known.values()))
    return 0


def _plain(value: Any) -> Any:
    """YAML turns bare timestamps into datetimes; the contract wants RFC 3339 text."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()  # refused by validation: no zone
        return format_timestamp_ms(int(value.timestamp() * 1000))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_file(path: Path) -> list[Campaign]:
    """Every campaign in the file, or :class:`InvalidDefinition` naming each bad field."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidDefinition([f"{path}: {exc}"]) from None
    if isinstance(doc, dict) and "campaigns" in doc:
        doc = doc["campaigns"]
    items = doc if isinstance(doc, list) else [doc]
    campaigns: list[Campaign] = []
    errors: list[str] = []
    for i, item in enumerate(items, start=1):
        name = item.get("campaign_id", "?") if isinstance(item, dict) else "?"
        try:
            campaigns.append(parse_campaign(_plain(item)))
        except InvalidDefinition as exc:
            errors.extend(f"campaign #{i} ({name}): {line}" for line in exc.errors)
    ids = [c.campaign_id for c in campaigns]
    errors.extend(f"campaign_id {c!r} appears twice" for c in sorted({c for c in ids
                                                                       if ids.count(c) > 1}))
    if errors:
        raise InvalidDefinition(errors)
    return campaigns


def publish(settings: Settings, records: list[tuple[str, bytes | None]]) -> None:
    from kafka import KafkaProducer

    from campaignpulse.broker import ensure_topics

    ensure_topics(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                             client_id="campaignpulse-campaigns")
    try:
        futures = [producer.send(CAMPAIGNS_TOPIC, key=key.encode(), value=value)
                   for key, value in records]
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close()


def read_topic(bootstrap: str) -> dict[str, Campaign]:
    """The current definition of every campaign: the compacted topic, start to end."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             client_id="campaignpulse-campaigns-list")
    try:
        partitions = [TopicPartition(CAMPAIGNS_TOPIC, p)
                      for p in sorted(consumer.partitions_for_topic(CAMPAIGNS_TOPIC) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        known: dict[str, Campaign] = {}
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for messages in consumer.poll(timeout_ms=1000).values():
                for message in messages:
                    try:
                        campaign_id, campaign = decode_campaign(message.key, message.value)
                    except Rejected:
                        continue  # the worker dead-letters it; the list shows what counts
                    if campaign is None:
                        known.pop(campaign_id, None)
                    else:
                        known[campaign_id] = campaign
        return known
    finally:
        consumer.close()


def print_table(campaigns: list[Campaign]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"campaigns on {CAMPAIGNS_TOPIC}")
    for column in ("campaign", "brand", "name", "starts", "ends", "creators", "fees",
                   "disclosure"):
        table.add_column(column)
    for c in sorted(campaigns, key=lambda c: c.starts_at):
        table.add_row(
            c.campaign_id, c.brand, c.name, format_timestamp_ms(c.starts_at),
            format_timestamp_ms(c.ends_at), str(len(c.creators)),
            f"{sum(f.fee for f in c.creators):,.2f} {c.currency}",
            ("required: " + " ".join(f"#{t}" for t in c.disclosure.tags))
            if c.disclosure.required else "not required",
        )
    Console().print(table)
