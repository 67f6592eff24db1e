import hashlib

from hypothesis import given
from hypothesis import strategies as st

from campaignpulse.sinks.dead_letters import (
    DEAD_LETTER_COLUMNS,
    LetterLimits,
    cap_text,
    dead_letter,
    table_row,
)

LIMITS = LetterLimits(max_value_bytes=1000, max_header_bytes=200, max_key_bytes=64)
SOURCE = ("ig.interactions", 3, 1234)


def headers(letter):
    return dict(letter.headers)


def test_a_small_record_travels_whole_with_its_identity():
    letter = dead_letter("dlq", SOURCE, b"c1", b"{bad json", "malformed_json", "cut", LIMITS)
    assert letter.value == b"{bad json" and letter.key == b"c1"
    h = headers(letter)
    assert h["campaignpulse.reason"] == b"malformed_json"
    assert h["campaignpulse.source"] == b"ig.interactions/3/1234"
    assert h["campaignpulse.length"] == b"9"
    assert h["campaignpulse.sha256"] == hashlib.sha256(b"{bad json").hexdigest().encode()
    assert "campaignpulse.truncated" not in h


def test_an_oversized_record_becomes_a_prefix_with_length_and_sha256():
    junk = bytes(range(256)) * 4096 + b"x" * 1_200  # 1,049,776 bytes, past Kafka's 1 MB
    detail = "timestamp: " + "9" * 600_000
    letter = dead_letter("dlq", SOURCE, b"k" * 5000, junk, "schema", detail,
                         LetterLimits())  # the defaults
    assert letter.value == junk[: 256 * 1024]
    h = headers(letter)
    assert h["campaignpulse.length"] == str(len(junk)).encode()
    assert h["campaignpulse.sha256"] == hashlib.sha256(junk).hexdigest().encode()
    assert h["campaignpulse.truncated"] == b"true"
    assert all(len(v) <= 1024 for v in h.values())
    assert len(letter.key) == 1024
    assert letter.size < 300_000  # far under the broker's 1 MB


@given(st.binary(max_size=3000), st.text(max_size=3000), st.binary(max_size=300))
def test_every_letter_fits_its_limits(value, detail, key):
    letter = dead_letter("dlq", SOURCE, key, value, "schema", detail, LIMITS)
    assert len(letter.value) <= LIMITS.max_value_bytes
    assert len(letter.key) <= LIMITS.max_key_bytes
    assert all(len(v) <= LIMITS.max_header_bytes for _, v in letter.headers)
    assert letter.size <= 1000 + 64 + 6 * (200 + 30)
    # a capped detail is still valid UTF-8 (never cut inside a character)
    headers(letter)["campaignpulse.detail"].decode()
    assert letter.length == len(value)


def test_cap_text_keeps_whole_characters():
    capped = cap_text("é" * 1000, 101)
    assert len(capped) <= 101
    assert capped.decode().endswith("...")


def test_table_row_is_bounded_and_readable_for_any_bytes():
    letter = dead_letter("dlq", SOURCE, b"\xff\xfe", b"\x00\xff" * 100_000, "schema",
                         "d" * 10_000, LIMITS)
    row = dict(zip(DEAD_LETTER_COLUMNS, table_row(letter, "RecordTooLarge" * 500, 0.0),
                   strict=True))
    assert row["length"] == 200_000
    assert row["sha256"] == hashlib.sha256(b"\x00\xff" * 100_000).hexdigest()
    assert (row["source_topic"], row["source_partition"], row["source_offset"]) == SOURCE
    assert len(row["prefix"].encode()) <= 4 * 1024
    assert len(row["detail"].encode()) <= 1024 and len(row["failure"].encode()) <= 1024
    assert row["key"] == "\\xff\\xfe"
