"""The replay's range arithmetic: whole windows at both ends, nothing outside."""

import pytest

from campaignpulse.replay import HOUR_MS, plan

T = 1_764_352_800_000  # an hour boundary
MIN = 60_000


def test_seek_starts_at_the_hour_holding_from_minus_the_lateness():
    rng = plan(T + 17 * MIN, T + 95 * MIN, 10 * MIN)
    assert rng.seek_ms == T - 10 * MIN
    assert plan(T, T + MIN, 0).seek_ms == T


@pytest.mark.parametrize(("start", "size", "overlaps"), [
    (T, HOUR_MS, True),                       # the hour holding `from`: whole, written
    (T + 16 * MIN, MIN, False),               # a minute that ends at `from`
    (T + 17 * MIN, MIN, True),                # the minute that starts at `from`
    (T + HOUR_MS, HOUR_MS, True),             # the hour holding `to`
    (T + 94 * MIN, MIN, True),                # the last minute before `to`
    (T + 95 * MIN, MIN, False),               # the minute starting at `to`
    (T - HOUR_MS, HOUR_MS, False),            # the hour before
    (T + 2 * HOUR_MS, HOUR_MS, False),        # the hour after
])
def test_rows_written_are_those_of_windows_overlapping_the_range(start, size, overlaps):
    rng = plan(T + 17 * MIN, T + 95 * MIN, 10 * MIN)
    assert rng.overlaps(start, size) is overlaps


def test_an_empty_range_is_refused():
    with pytest.raises(ValueError, match="after"):
        plan(T, T, 0)
