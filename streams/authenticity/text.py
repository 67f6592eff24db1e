"""Comment text: normalisation, generic phrases, and MinHash LSH band keys (datasketch).

Two comments are near-duplicates when their MinHash signatures (datasketch 2.x, 128
permutations, seed 1, over the character 4-grams of the normalised text: case-folded,
whitespace collapsed) agree on every row of at least one LSH band, with the bands
datasketch chooses for a Jaccard threshold of 0.8 (9 bands of 13 rows). That is the rule,
exactly: it approximates Jaccard similarity, pairs at 0.95 agreeing on a band 99.8 % of
the time, at 0.9 93 %, at 0.8 40 %, at 0.7 8 %, at 0.6 1.2 %.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache

from datasketch import MinHash, MinHashLSH

from campaignpulse.streams.authenticity.rules import Rules
from campaignpulse.streams.contests.rules import normalise

WORD = re.compile(r"\w+")
#: one band key: (band index, 64-bit hash of the band's MinHash values)
BandKey = tuple[int, int]
_SEED = 1


def words(normalised: str) -> list[str]:
    return WORD.findall(normalised)


def is_generic(normalised: str, max_words: int) -> bool:
    """A one-phrase comment (a few words at most) or one without words (emoji only)."""
    return len(words(normalised)) <= max_words


def shingles(normalised: str, k: int) -> set[str]:
    if len(normalised) <= k:
        return {normalised}
    return {normalised[i:i + k] for i in range(len(normalised) - k + 1)}


@cache
def bands(threshold: float, permutations: int) -> tuple[int, int]:
    """(bands, rows per band) as datasketch's LSH picks them for the threshold."""
    lsh = MinHashLSH(threshold=threshold, num_perm=permutations)
    return int(lsh.b), int(lsh.r)


class BandSigner:
    """Band keys of normalised texts; texts seen recently (bots paste the same text)
    come from a bounded cache."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.b, self.r = bands(rules.near_duplicate, rules.minhash_permutations)
        # the permutations are drawn once: drawing them is most of a MinHash's cost
        self._seed = MinHash(num_perm=rules.minhash_permutations, seed=_SEED)
        self._cache: OrderedDict[str, tuple[BandKey, ...]] = OrderedDict()

    def cached(self) -> int:
        return len(self._cache)

    def keys(self, texts: Sequence[str]) -> list[tuple[BandKey, ...]]:
        known = self._cache
        fresh: dict[str, tuple[BandKey, ...]] = {}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        k = self.rules.shingle_chars
        for text in missing:
            signature = MinHash(num_perm=self.rules.minhash_permutations,
                                permutations=self._seed.permutations, scheme=self._seed.scheme)
            signature.update_batch([s.encode() for s in shingles(text, k)])
            fresh[text] = self._band_keys(signature.hashvalues)
        out = [fresh[t] if t in fresh else known[t] for t in texts]
        for t in texts:
            if t in known:
                known.move_to_end(t)
        known.update(fresh)
        while len(known) > self.rules.max_cached_texts:
            known.popitem(last=False)
        return out

    def _band_keys(self, hashvalues: object) -> tuple[BandKey, ...]:
        raw = bytes(hashvalues)  # type: ignore[call-overload]  # a numpy uint64 array
        width = len(raw) // self.rules.minhash_permutations * self.r
        return tuple(
            (i, int.from_bytes(hashlib.blake2b(raw[i * width:(i + 1) * width],
                                               digest_size=8).digest(), "big"))
            for i in range(self.b)
        )


__all__ = ["BandKey", "BandSigner", "bands", "is_generic", "normalise", "shingles", "words"]
