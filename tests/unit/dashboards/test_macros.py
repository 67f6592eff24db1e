"""The plugin's macros and Grafana's variable formats, as the tests and bench --read expand
them."""

from __future__ import annotations

import pytest

from campaignpulse.dashboards.macros import all_values, expand, interval_s


def test_time_macros() -> None:
    sql = expand("SELECT $__timeInterval(t) AS time WHERE $__timeFilter(t) AND x <= $__toTime "
                 "AND y >= $__fromTime", 100, 200, 3600)
    assert sql == ("SELECT toStartOfInterval(toDateTime(t), INTERVAL 3600 second) AS time "
                   "WHERE t >= toDateTime(100) AND t <= toDateTime(200) AND x <= toDateTime(200) "
                   "AND y >= toDateTime(100)")


def test_chosen_values_are_quoted_and_escaped() -> None:
    sql = expand("c IN (${v:singlequote})", 0, 1, variables={"v": ["a", "it's", "b\\c"]})
    assert sql == "c IN ('a','it\\'s','b\\\\c')"


def test_a_custom_all_value_is_inserted_as_written() -> None:
    board = {"templating": {"list": [{"name": "v", "allValue": "''"}, {"name": "w"}]}}
    everything = all_values(board)
    assert everything == {"v": "''"}
    assert expand("('' IN (${v:singlequote}) OR c IN (${v:singlequote}))", 0, 1,
                  variables=everything) == "('' IN ('') OR c IN (''))"


def test_an_unexpanded_variable_is_an_error() -> None:
    with pytest.raises(ValueError, match="creator"):
        expand("c IN (${creator:singlequote})", 0, 1)


@pytest.mark.parametrize(("range_s", "minimum", "expected"), [
    (3600, 0, 5),  # 4 s per point rounds to 5 s
    (86_400, 0, 120),
    (7 * 86_400, 0, 600),
    (7 * 86_400, 3600, 3600),  # never finer than the panel's minimum
    (86_400, 60, 120),
])
def test_grafana_rounds_the_interval(range_s: int, minimum: int, expected: int) -> None:
    assert interval_s(range_s, minimum) == expected
