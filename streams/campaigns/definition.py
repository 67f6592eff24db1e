"""A campaign as data: who is paid what, from when to when, what engagement is worth.

Definitions travel on the compacted topic ``ig.campaigns`` (key ``campaign_id``, a null
value deletes) and are validated here, for the CLI and the worker alike, with one error
per bad field.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from campaignpulse.streams.timestamps import format_timestamp_ms, parse_timestamp_ms

#: Interaction kinds that carry money in EMV (earned media value).
EMV_KINDS = ("like", "comment", "save", "share", "story_view", "reel_play")
#: Disclosure hashtags recognised when a campaign names none (FTC "#ad" and local forms).
DEFAULT_DISCLOSURE_TAGS = (
    "ad", "advertisement", "sponsored", "paidpartnership", "partner",
    "anzeige", "werbung", "publicidad", "pub", "reklama",
)


def _to_ms(value: object) -> int:
    return parse_timestamp_ms(value)  # TimestampError is a ValueError: pydantic reports it


Id = Annotated[str, Field(min_length=1, max_length=256)]
EpochMs = Annotated[int, BeforeValidator(_to_ms)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6, allow_inf_nan=False)]


@cache
def default_emv_rates() -> dict[str, Decimal]:
    """The package's default EMV table (``emv_rates.json``; its source is stated inside)."""
    data = json.loads(files("campaignpulse.streams.campaigns").joinpath("emv_rates.json")
                      .read_text())
    return {kind: Decimal(data["rates"][kind]) for kind in EMV_KINDS}


class CreatorFee(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    creator_id: Id
    fee: Money


def bare_hashtags(tags: tuple[str, ...]) -> tuple[str, ...]:
    """Tags as matched: without '#', case-folded; anything but a hashtag is refused."""
    out = []
    for tag in tags:
        bare = tag.removeprefix("#").casefold()
        if not bare or not all(c.isalnum() or c == "_" for c in bare):
            raise ValueError(f"not a hashtag: {tag!r}")
        out.append(bare)
    return tuple(out)


Hashtags = Annotated[tuple[str, ...], AfterValidator(bare_hashtags)]


class Disclosure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    required: bool = True
    tags: Hashtags = DEFAULT_DISCLOSURE_TAGS


class Campaign(BaseModel):
    """A validated campaign; times are epoch ms, money is ``Decimal``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign_id: Id
    brand: Id
    name: Id
    starts_at: EpochMs
    ends_at: EpochMs
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    creators: Annotated[tuple[CreatorFee, ...], Field(min_length=1)]
    emv_rates: dict[str, Money] = Field(default_factory=dict)
    disclosure: Disclosure = Disclosure()

    @field_validator("emv_rates")
    @classmethod
    def _known_kinds(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        unknown = sorted(set(rates) - set(EMV_KINDS))
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {list(EMV_KINDS)}")
        return rates

    @model_validator(mode="after")
    def _consistent(self) -> Campaign:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        ids = [c.creator_id for c in self.creators]
        if len(set(ids)) != len(ids):
            raise ValueError("a creator is listed twice")
        return self

    def rates(self) -> dict[str, Decimal]:
        """The campaign's EMV rates; kinds it does not set take the default table's."""
        return {**default_emv_rates(), **self.emv_rates}

    def fees(self) -> dict[str, Decimal]:
        return {c.creator_id: c.fee for c in self.creators}

    def total_fee(self) -> Decimal:
        """Every listed creator's fee, exactly: the campaign's cost to date, rounded once
        where it is reported (not the sum of rounded fees)."""
        return sum((c.fee for c in self.creators), Decimal(0))

    def covers(self, at_ms: int) -> bool:
        """Event time inside ``starts_at`` (inclusive) .. ``ends_at`` (exclusive)."""
        return self.starts_at <= at_ms < self.ends_at

    def to_json(self) -> bytes:
        """The canonical message for ``ig.campaigns``: RFC 3339 times, money as strings."""
        body: dict[str, Any] = self.model_dump(mode="json")
        body["starts_at"] = format_timestamp_ms(self.starts_at)
        body["ends_at"] = format_timestamp_ms(self.ends_at)
        return json.dumps(body, separators=(",", ":")).encode()


class InvalidDefinition(ValueError):
    """A definition that breaks the contract; ``errors`` has one line per bad field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def field_errors(exc: ValidationError) -> list[str]:
    """``path.to.field: message`` per error, the way a person fixes a YAML file."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(definition)"
        lines.append(f"{where}: {error['msg']}")
    return lines


def parse_campaign(obj: object) -> Campaign:
    """Validate one decoded campaign object, or raise :class:`InvalidDefinition`."""
    try:
        return Campaign.model_validate(obj)
    except ValidationError as exc:
        raise InvalidDefinition(field_errors(exc)) from None
