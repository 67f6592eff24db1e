"""Generic phrases and the MinHash LSH near-duplicate relation against exact Jaccard."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from campaignpulse.streams.authenticity.rules import Rules
from campaignpulse.streams.authenticity.text import BandSigner, bands, is_generic, shingles
from campaignpulse.streams.contests.rules import normalise


def test_generic_is_three_words_or_none():
    assert is_generic(normalise("🔥🔥🔥"), 3)
    assert is_generic(normalise("Love   this!"), 3)
    assert is_generic(normalise("so so cute 😍"), 3)
    assert not is_generic(normalise("where did you buy it?"), 3)


def test_datasketch_chooses_nine_bands_of_thirteen_for_0_8():
    assert bands(0.8, 128) == (9, 13)


def jaccard(a: str, b: str) -> float:
    x, y = shingles(normalise(a), 4), shingles(normalise(b), 4)
    return len(x & y) / len(x | y)


def near(signer: BandSigner, a: str, b: str) -> bool:
    ka, kb = signer.keys([normalise(a), normalise(b)])
    return bool(set(ka) & set(kb))


@settings(max_examples=60)
@given(st.integers(0, 2**32))
def test_pasted_text_with_a_changed_tail_is_a_near_duplicate_unrelated_text_is_not(seed):
    rng = random.Random(seed)
    words = [rng.choice("abcdefghijklmnopqrstuvwxyz") * rng.randint(2, 7) + str(i)
             for i in range(40)]
    text = " ".join(rng.sample(words, 12))
    other = " ".join(rng.sample(words, 12))
    signer = BandSigner(Rules())
    pasted = text + rng.choice([" 🔥", "!!", " 💯"])
    if jaccard(text, pasted) >= 0.95:
        assert near(signer, text, pasted)
    if jaccard(text, other) <= 0.3:
        assert not near(signer, text, other)
    assert near(signer, text, text.upper() + "  ")  # the same text once normalised


def test_the_cache_is_bounded_and_gives_the_same_keys():
    signer = BandSigner(Rules(max_cached_texts=3))
    texts = [f"comment number {i} with enough words" for i in range(6)]
    first = signer.keys(texts)
    assert signer.cached() == 3
    assert signer.keys(texts) == first
