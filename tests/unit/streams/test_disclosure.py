"""The disclosure matcher and the one-alert-per-media lifecycle, with exact cases."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignpulse.streams.campaigns.definition import DEFAULT_DISCLOSURE_TAGS
from campaignpulse.streams.disclosure import (
    DisclosureAlert,
    DisclosureMonitor,
    Finding,
    check,
)

TAGS = DEFAULT_DISCLOSURE_TAGS


@pytest.mark.parametrize(
    ("caption", "finding"),
    [
        ("New drop! #ad", Finding.DISCLOSED),
        ("#AD new drop", Finding.DISCLOSED),
        ("#Werbung neue Kollektion", Finding.DISCLOSED),
        ("Trip #adventure #adidas", Finding.MISSING),  # not whole hashtags
        ("#ad_hoc thoughts", Finding.MISSING),
        ("ad: new drop", Finding.MISSING),  # no hashtag
        ("#ad.", Finding.DISCLOSED),
        ("#sponsored,#pub", Finding.DISCLOSED),
        ("", Finding.MISSING),
        (None, Finding.MISSING),
    ],
)
def test_tags_match_whole_hashtags_case_insensitively(caption, finding):
    assert check(caption, False, TAGS) is finding


def test_paid_partnership_label_discloses_without_a_tag():
    assert check("nothing here", True, TAGS) is Finding.DISCLOSED


def test_fold_is_125_characters_and_the_tag_must_end_above_it():
    above = "x" * 122 + "#ad"  # ends at 125
    assert check(above, False, TAGS) is Finding.DISCLOSED
    across = "x" * 123 + "#ad"  # ends at 126: cut by the fold
    assert check(across, False, TAGS) is Finding.BELOW_FOLD
    assert check("x" * 200 + " #ad", False, TAGS) is Finding.BELOW_FOLD
    # one tag above the fold is enough, even if another is below
    assert check("#ad " + "x" * 200 + " #sponsored", False, TAGS) is Finding.DISCLOSED


def test_a_campaign_can_name_its_own_tags():
    assert check("#ad", False, ("brandpartner",)) is Finding.MISSING
    assert check("#BrandPartner", False, ("brandpartner",)) is Finding.DISCLOSED


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_a_word_glued_to_a_tag_never_counts(suffix):
    glued = suffix[:1]
    caption = "#ad" + glued
    expected = Finding.MISSING if glued and (glued.isalnum() or glued == "_") else Finding.DISCLOSED
    assert check(caption, False, ("ad",)) is expected


def test_one_alert_per_media_edits_resolve_and_repeats_change_nothing():
    monitor = DisclosureMonitor()
    fired = monitor.observe("m1", "cr-1", "cmp-1", 1000, Finding.MISSING, caption_hash=1)
    assert fired == DisclosureAlert("disclosure-m1", "cmp-1", "cr-1", "m1", "firing", "missing",
                                    "warning", 1000, 1)
    assert monitor.observe("m1", "cr-1", "cmp-1", 1000, Finding.MISSING, caption_hash=1) is None
    moved = monitor.observe("m1", "cr-1", "cmp-1", 1000, Finding.BELOW_FOLD, caption_hash=2)
    assert (moved.status, moved.reason, moved.version) == ("firing", "below_fold", 2)
    fixed = monitor.observe("m1", "cr-1", "cmp-1", 1000, Finding.DISCLOSED, caption_hash=3)
    assert (fixed.status, fixed.version, fixed.alert_id) == ("resolved", 3, "disclosure-m1")
    # the whole history read again (file fed twice): nothing new
    for h, f in ((1, Finding.MISSING), (2, Finding.BELOW_FOLD), (3, Finding.DISCLOSED)):
        assert monitor.observe("m1", "cr-1", "cmp-1", 1000, f, caption_hash=h) is None
    assert monitor.observe("m2", "cr-1", "cmp-1", 5, Finding.DISCLOSED, caption_hash=9) is None


def test_alert_json_round_trips():
    alert = DisclosureAlert("disclosure-m1", "cmp-1", "cr-1", "m1", "firing", "missing",
                            "warning", 1_795_737_600_000, 1)
    assert DisclosureAlert.from_json(alert.to_json()) == alert
