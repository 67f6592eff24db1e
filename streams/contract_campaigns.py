"""The campaign and contest contract: topics ``ig.campaigns`` and ``ig.contests``.

``ig.campaigns`` is compacted and keyed by ``campaign_id``; a null value deletes. Every
worker reads all of it. ``ig.contests`` is keyed by ``creator_id`` like the event topics,
so a contest meets its comments on the same partition. Comment text is read only for
comments on a contest media, and only the features the rules need are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from campaignpulse.streams.campaigns.definition import Campaign, InvalidDefinition, parse_campaign
from campaignpulse.streams.contests.definition import Contest, parse_contest
from campaignpulse.streams.contests.rules import CommentFeatures, features
from campaignpulse.streams.contract import INPUT_TOPICS, Reason, Rejected, json_object

CAMPAIGNS_TOPIC = "ig.campaigns"
CONTESTS_TOPIC = "ig.contests"
#: what the worker's consumer group subscribes to
WORKER_TOPICS = (*INPUT_TOPICS, CONTESTS_TOPIC)
#: topics a JSONL event file may carry
FILE_TOPICS = (*WORKER_TOPICS, CAMPAIGNS_TOPIC)

T = TypeVar("T")


def _parsed(parse: Callable[[dict[str, Any]], T], value: bytes) -> T:
    obj = json_object(value)
    try:
        return parse(obj)
    except InvalidDefinition as exc:
        raise Rejected(Reason.SCHEMA, str(exc)[:500]) from None


def _key(key: bytes | None) -> str:
    return key.decode("utf-8", "replace") if key is not None else ""


def decode_campaign(key: bytes | None, value: bytes | None) -> tuple[str, Campaign | None]:
    """(campaign id, definition or None for a deletion), or raise :class:`Rejected`."""
    if value is None:
        if not key:
            raise Rejected(Reason.KEY_MISMATCH, "a deletion needs the campaign_id as key")
        return _key(key), None
    campaign = _parsed(parse_campaign, value)
    if _key(key) != campaign.campaign_id:
        raise Rejected(Reason.KEY_MISMATCH, "record key must equal campaign_id")
    return campaign.campaign_id, campaign


def decode_contest(key: bytes | None, value: bytes | None) -> Contest:
    if value is None:
        raise Rejected(Reason.MALFORMED_JSON, "null value")
    contest = _parsed(parse_contest, value)
    if _key(key) != contest.creator_id:
        raise Rejected(Reason.KEY_MISMATCH, "record key must equal creator_id")
    return contest


def comment_features(value: bytes | None) -> CommentFeatures:
    """Mentions, hashtags and a fingerprint of an already validated comment's text."""
    text = orjson.loads(value or b"{}").get("text")
    return features(text if isinstance(text, str) else None)
