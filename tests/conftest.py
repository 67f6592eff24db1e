"""Hypothesis without its per-example deadline: speed is measured by ``bench``, never by
timed assertions, and a shared 2-core machine makes a first example slow at random."""

from hypothesis import settings

settings.register_profile("campaignpulse", deadline=None)
settings.load_profile("campaignpulse")
