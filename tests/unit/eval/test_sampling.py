"""``--sample N``: stratified over language x star band (negative 1-2, mixed 3, positive 4-5),
the same cases every time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from reply_assist.cli import main as cli_main
from reply_assist.eval.cases import EvalCase, band_of, load_cases
from reply_assist.eval.sampling import stratified_sample
from tests.unit.eval.eval_helpers import report

CASES = load_cases()
LANGUAGES = {c.language for c in CASES}


def _strata(cases: Sequence[EvalCase]) -> Counter[tuple[str, str]]:
    return Counter((c.language, band_of(c.stars)) for c in cases)


def test_sample_9_from_the_command_covers_every_language_and_band(tmp_path: Path) -> None:
    assert cli_main(["eval", "--sample", "9", "--out", str(tmp_path), "--quiet"]) == 0
    cases = report(tmp_path)["cases"]
    assert len(cases) == 9
    assert {c["language"] for c in cases} == LANGUAGES
    assert Counter(band_of(c["stars"]) for c in cases) == {"1-2": 3, "3": 3, "4-5": 3}


def test_27_cases_are_every_language_and_band_once() -> None:
    sample = stratified_sample(CASES, 27)
    assert len(sample) == 27 and set(_strata(sample).values()) == {1}


def test_larger_samples_stay_even_until_a_band_runs_out() -> None:
    sample = stratified_sample(CASES, 90)
    counts = _strata(sample)
    assert len(counts) == 27 and set(counts.values()) <= {3, 4}
    # Each language has 6 mixed reviews: past 162 the mixed band is used up, the others go on.
    sample = stratified_sample(CASES, 200)
    assert len(sample) == 200
    assert all(counts == 6 for (_, band), counts in _strata(sample).items() if band == "3")


def test_the_same_n_gives_the_same_cases_and_a_larger_sample_holds_a_smaller_one() -> None:
    ids = [c.id for c in stratified_sample(CASES, 40)]
    assert ids == [c.id for c in stratified_sample(CASES, 40)]
    assert set(ids) <= {c.id for c in stratified_sample(CASES, 60)}
    assert ids == sorted(ids, key=[c.id for c in CASES].index)  # in the set's own order


def test_one_language_is_spread_over_its_bands() -> None:
    english = [c for c in CASES if c.language == "en"]
    sample = stratified_sample(english, 10)
    assert Counter(band_of(c.stars) for c in sample) == {"1-2": 4, "3": 3, "4-5": 3}


def test_hostile_reviews_come_up_as_often_as_in_the_set() -> None:
    """Within a stratum the order is a fixed shuffle, not the file's (where hostile reviews
    come last), so a small sample holds some."""
    sample = stratified_sample(CASES, 27)
    hostile = sum("hostile" in c.tags for c in sample)
    assert 3 <= hostile <= 14  # 90 of 315 in the set: about 8 of 27


def test_a_sample_larger_than_the_set_is_the_set() -> None:
    assert stratified_sample(CASES, 1000) == CASES
