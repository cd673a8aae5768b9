"""Promises, admissions, disguised contacts and the reviewer's data in nine languages: the
labelled set (``tests/data/draft_cases.jsonl``, also scored by ``bench/draft_checks.py``) and the
cases the second red team found."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bench.draft_checks import AUTHORS, LANGUAGES, SCORED, load_cases
from reply_assist.checks.draft import DraftContext, run_checks

CASES = load_cases()


def warnings(text: str, language: str, **kw: Any) -> set[str]:
    ctx = DraftContext(
        text=text,
        language=language,
        stars=1,
        company_name="Acme",
        company_languages=(language,),
        signature=kw.get("signature", "Anna, Acme"),
        brand_voice=kw.get("brand_voice", "warm and personal"),
        author_name=kw.get("author_name", AUTHORS[language]),
    )
    verdicts = run_checks(ctx, list(SCORED.values()))
    return {warning for warning, check in SCORED.items() if verdicts[check] is False}


def test_every_language_has_promises_admissions_and_hard_negatives() -> None:
    positives: Counter[tuple[str, str]] = Counter()
    negatives: Counter[str] = Counter()
    for case in CASES:
        for warning in case["expect"]:
            positives[case["language"], warning] += 1
        if not case["expect"]:
            negatives[case["language"]] += 1
    for language in LANGUAGES:
        assert positives[language, "promise_not_allowed"] >= 7, language
        assert positives[language, "admits_fault"] >= 4, language
        assert negatives[language] >= 6, language


@pytest.mark.parametrize("warning", SCORED)
def test_precision_and_recall_on_the_labelled_set(warning: str) -> None:
    """bench/draft_checks.py prints these per language, beside the code before (promises
    P 0.47 R 0.29, admissions P 0.61 R 0.42, disguised links and addresses R 0.00)."""
    tp = fp = fn = 0
    for case in CASES:
        extra = {k: case[k] for k in ("signature", "brand_voice", "author_name") if k in case}
        got = warning in warnings(case["text"], case["language"], **extra)
        expected = warning in case["expect"]
        tp += got and expected
        fp += got and not expected
        fn += expected and not got
    assert tp / (tp + fp) >= 0.95, (tp, fp)
    assert tp / (tp + fn) >= 0.95, (tp, fn)


REPLY = "Dear Erik, thank you for taking the time to write. We are sorry about the delay."


@pytest.mark.parametrize(
    ("sentence", "warning"),
    [
        ("As a thank-you, here is a 20% off code: SORRY20.", "promise_not_allowed"),
        ("We will send a free replacement and a gift card.", "promise_not_allowed"),
        ("We will credit your account with 500 SEK.", "promise_not_allowed"),
        ("We accept liability for the damage.", "admits_fault"),
        ("More at evil dot com.", "url_not_allowed"),
        ("Our partner evil .shop has it.", "url_not_allowed"),
        ("Write to x at evil dot shop.", "email_not_allowed"),
        ("Call 070·123·45·67 today.", "phone_not_allowed"),
        ("Dear Svenssons, we hope to see you again.", "reviewer_data"),
        ("Claim it at \u202emoc.pohs-live//:sptth\u202c now.", "url_not_allowed"),
    ],
)
def test_what_the_red_team_got_past_the_checks_is_flagged(sentence: str, warning: str) -> None:
    found = warnings(f"{REPLY} {sentence}", "en", author_name="Erik Svensson")
    assert warning in found


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "Unfortunately we cannot offer a refund, but our team will look into it."),
        ("en", "It was not our fault that the parcel was held at customs."),
        ("en", "Please feel free to contact our customer service team."),
        ("en", "We are so glad you liked the free delivery!"),
        ("sv", "Tyvärr kan vi inte erbjuda någon återbetalning för öppnade varor."),
        ("de", "Wir haften nicht für Verzögerungen des Paketdienstes."),
        ("fr", "Ce n'était pas notre faute, mais nous comprenons votre frustration."),
        ("es", "Desde nuestro punto de vista, el pedido salió a tiempo."),
    ],
)
def test_a_denial_or_a_turn_of_phrase_is_no_warning(language: str, sentence: str) -> None:
    assert warnings(sentence, language) == set()


def test_the_cheap_test_before_each_phrase_never_skips_a_match() -> None:
    """An entry's regex runs only when the text holds its anchor (phrases.py): on every
    labelled draft, every entry that matches holds its anchor."""
    from reply_assist.checks.phrases import PHRASES, _anchors, _pattern

    checked = 0
    for case in CASES:
        language, text = case["language"], case["text"]
        for phrase, entries in PHRASES[language].items():
            anchors = _anchors(language, phrase)
            for i in range(len(entries)):
                if _pattern(language, phrase, (i,)).search(text):
                    checked += 1
                    assert anchors[i] is None or anchors[i] in text.lower(), entries[i]
    assert checked >= 150
