"""A contest activation (giveaway) as data, from topic ``ig.contests`` (key creator_id)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from campaignpulse.streams.campaigns.definition import (
    EpochMs,
    Hashtags,
    Id,
    InvalidDefinition,
    Money,
    field_errors,
)


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_mentions: Annotated[int, Field(ge=0, le=50)] = 0
    required_hashtags: Hashtags = ()
    one_entry_per_account: bool = True
    must_like: bool = False


class Contest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contest_id: Id
    creator_id: Id
    media_id: Id
    campaign_id: Annotated[str, Field(max_length=256)] | None = None
    starts_at: EpochMs
    ends_at: EpochMs
    prize_value: Money
    rules: Rules = Rules()

    @model_validator(mode="after")
    def _ordered(self) -> Contest:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def covers(self, at_ms: int) -> bool:
        return self.starts_at <= at_ms < self.ends_at


def parse_contest(obj: object) -> Contest:
    try:
        return Contest.model_validate(obj)
    except ValidationError as exc:
        raise InvalidDefinition(field_errors(exc)) from None
