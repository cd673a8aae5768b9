"""``--sample N``: a small set of cases that still covers every language and star band.

The shipped set is ordered by language, then stars, so taking every k-th case lands on the same
position in every language (``--sample 9`` once gave nine 1-star reviews). Instead the cases are
grouped into strata, one per language × star band (negative 1–2, mixed 3, positive 4–5), and the
strata take turns giving one case each. The turns rotate the band from one language to the next
(en negative, sv mixed, da positive, no negative, …), so 9 cases cover 9 languages and all three
bands, 27 cover every language × band pair once, and larger samples stay even over the pairs until
a stratum runs out. Within a stratum the cases are taken in the order of a hash of their id: a
shuffle that never changes, so short, long and hostile reviews turn up about as often as they do
in the set. The same N always gives the same cases, and a larger sample holds every case of a
smaller one (a model's answers cached by the smaller run are reused).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

from reply_assist.eval.cases import BANDS, EvalCase, band_of

__all__ = ["stratified_sample"]


def _allocate(
    sizes: dict[tuple[str, str], int], languages: list[str], n: int
) -> dict[tuple[str, str], int]:
    """How many cases each stratum gives: one per turn, in rotating order, until ``n``."""
    turns = [
        (language, BANDS[(i + shift) % len(BANDS)])
        for shift in range(len(BANDS))
        for i, language in enumerate(languages)
    ]
    counts: dict[tuple[str, str], int] = defaultdict(int)
    taken = 0
    while taken < n:
        progressed = False
        for stratum in turns:
            if taken == n:
                break
            if counts[stratum] < sizes.get(stratum, 0):
                counts[stratum] += 1
                taken += 1
                progressed = True
        if not progressed:  # every stratum is used up
            break
    return counts


def _fixed_shuffle_key(case: EvalCase) -> str:
    return hashlib.sha256(case.id.encode()).hexdigest()


def stratified_sample(cases: Sequence[EvalCase], n: int) -> list[EvalCase]:
    """About ``n`` cases (fewer only when the set is smaller), in the set's own order."""
    if n >= len(cases):
        return list(cases)
    strata: dict[tuple[str, str], list[int]] = defaultdict(list)
    languages: list[str] = []
    for index, case in enumerate(cases):
        if case.language not in languages:
            languages.append(case.language)
        strata[(case.language, band_of(case.stars))].append(index)
    counts = _allocate({k: len(v) for k, v in strata.items()}, languages, n)
    chosen = sorted(
        index
        for stratum, members in strata.items()
        for index in sorted(members, key=lambda i: _fixed_shuffle_key(cases[i]))[
            : counts.get(stratum, 0)
        ]
    )
    return [cases[i] for i in chosen]
