"""The JSON Schemas of the topics keyed by creator (``ig.interactions``, ``ig.media``,
``ig.followers``, ``ig.follower_samples``), generated from the wire types the decoders
use; a unit test fails when the committed files differ from this.

``python -m campaignpulse.streams.contract_schemas [DIR]`` writes them.

``msgspec.json.schema`` states every bound the decoder checks while parsing. Added here,
for what the decoder checks on the parsed instant (``impossible_value``, not ``schema``):
a timestamp string is RFC 3339 (``format: date-time`` and a pattern) of the years
1970-2099; epoch milliseconds are 0 .. 2100-01-01 exclusive. What JSON Schema cannot say
is in each schema's description: the value size, the key, the clock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from campaignpulse.streams.contract import (
    FOLLOWERS_TOPIC,
    INTERACTIONS_TOPIC,
    MAX_KEY_BYTES,
    MAX_TIMESTAMP_MS,
    MAX_VALUE_BYTES,
    MEDIA_TOPIC,
    WIRE_TYPES,
    Timestamp,
)
from campaignpulse.streams.contract_authenticity import FOLLOWER_SAMPLES_TOPIC, FollowerSampleIn

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
RFC3339_1970_2099 = (
    r"^(19[7-9]\d|20\d{2})-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
#: topic -> (wire type, title)
TOPICS: dict[str, tuple[type[msgspec.Struct], str]] = {
    INTERACTIONS_TOPIC: (WIRE_TYPES[INTERACTIONS_TOPIC], "one interaction with one media"),
    MEDIA_TOPIC: (WIRE_TYPES[MEDIA_TOPIC], "a post, reel or story"),
    FOLLOWERS_TOPIC: (WIRE_TYPES[FOLLOWERS_TOPIC], "a follower-count snapshot"),
    FOLLOWER_SAMPLES_TOPIC: (FollowerSampleIn, "a sampled follower profile of a creator"),
}


def input_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema of each input topic's value."""
    return {f"{topic}.json": _schema(topic) for topic in TOPICS}


def _schema(topic: str) -> dict[str, Any]:
    wire, title = TOPICS[topic]
    generated = msgspec.json.schema(wire)["$defs"][wire.__name__]
    properties = generated["properties"]
    for field in msgspec.structs.fields(wire):
        if field.type == Timestamp:
            text, epoch_ms = properties[field.encode_name]["anyOf"]
            text |= {"format": "date-time", "pattern": RFC3339_1970_2099,
                     "description": "RFC 3339 with a zone, years 1970-2099"}
            epoch_ms |= {"minimum": 0, "maximum": MAX_TIMESTAMP_MS - 1,
                         "description": "epoch milliseconds before 2100"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://campaignpulse.dev/schemas/{topic}.json",
        "title": f"{topic} \u2014 {title}",
        "description": (
            f"Kafka value on topic {topic}, keyed by creator_id (UTF-8, at most "
            f"{MAX_KEY_BYTES} bytes). At most {MAX_VALUE_BYTES} bytes. Timestamps more than "
            "a day ahead of the record's clock, or from 2100 on, are rejected."),
        "type": "object",
        "properties": properties,
        "required": generated["required"],
    }


def to_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2) + "\n"


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    written = []
    for name, schema in input_schemas().items():
        path = directory / name
        path.write_text(to_text(schema))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(path)
