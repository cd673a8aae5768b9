"""The built-in templates follow the company's style: greeting, closing, sign-off, address and
length, so a company without a model gets drafts framed as its own replies are."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from reply_assist.checks.draft import DraftContext, run_checks
from reply_assist.drafting.base import CompanyFacts, DraftRequest, PromptMessages, ReviewFacts
from reply_assist.drafting.language import count_words, detect_language, ensure_loaded
from reply_assist.drafting.prompting import default_prompts_dir
from reply_assist.drafting.style import LengthByBand, Style
from reply_assist.drafting.template_texts import BANDS, TemplateError, TemplateTexts
from reply_assist.drafting.templates import TemplateDrafter
from reply_assist.services.style_learning import address_of

TEXTS = TemplateTexts.load(default_prompts_dir() / "templates")
drafter = TemplateDrafter(TEXTS)
NORDHAVN = Style(
    greeting="Dear {name},",
    closing="Warm wishes from the fjords,",
    sign_off="Maja, Nordhavn Outdoor",
)
# (language, the address its own paragraphs use, the other one the file has)
ADDRESSES = [
    ("sv", "informal", "formal"),
    ("nl", "informal", "formal"),
    ("de", "formal", "informal"),
    ("fr", "formal", "informal"),
    ("es", "formal", "informal"),
]


def request(
    *,
    language: str = "en",
    stars: int = 1,
    style: Style | None = None,
    variant: int = 1,
    author_name: str | None = "Erik Svensson",
    brand_voice: str | None = None,
) -> DraftRequest:
    return DraftRequest(
        company=CompanyFacts(
            name="Nordhavn Outdoor", signature="The Nordhavn team", brand_voice=brand_voice
        ),
        review=ReviewFacts(
            stars=stars, text="A review.", language=language, author_name=author_name
        ),
        messages=PromptMessages("system", "user", "test", 0, False),
        max_tokens=400,
        variant=variant,
        style=style,
    )


async def test_the_style_gives_the_greeting_closing_and_sign_off() -> None:
    for stars, variant in itertools.product([1, 3, 5], [1, 2, 3]):
        text = (await drafter.complete(request(stars=stars, style=NORDHAVN, variant=variant))).text
        assert text.startswith("Dear Erik,\n\n")
        assert text.endswith("\n\nWarm wishes from the fjords,\nMaja, Nordhavn Outdoor")
    # Without a usable name: the form without one, else the template's own generic greeting.
    nameless = (await drafter.complete(request(style=NORDHAVN, author_name=None))).text
    assert nameless.startswith("Hi,\n\n")
    with_generic = Style(greeting="Dear {name},", greeting_without_name="Dear customer,")
    text = (await drafter.complete(request(style=with_generic, author_name="  "))).text
    assert text.startswith("Dear customer,\n\n")
    # Fields the style leaves empty stay the templates' own (and the company's signature).
    only_closing = (await drafter.complete(request(style=Style(closing="Cheers!")))).text
    assert only_closing.startswith("Hi Erik,") and only_closing.endswith(
        "Cheers!\nThe Nordhavn team"
    )


@pytest.mark.parametrize(("language", "own", "other"), ADDRESSES)
async def test_the_styles_formality_picks_the_address(language: str, own: str, other: str) -> None:
    ensure_loaded()
    for stars, variant in itertools.product([1, 3, 5], [1, 2, 3]):
        for address in (own, other):
            style = Style(formality=address)  # type: ignore[arg-type]
            text = (
                await drafter.complete(
                    request(language=language, stars=stars, style=style, variant=variant)
                )
            ).text
            assert address_of(text, language) == address, (address, text)
            assert detect_language(text).language == language, text
            verdicts = run_checks(
                DraftContext(
                    text=text,
                    language=language,
                    stars=stars,
                    company_name="Nordhavn Outdoor",
                    signature="The Nordhavn team",
                ),
                ("thanks", "apology", "contact", "no_promise", "no_fault", "signature"),
            )
            assert all(v is not False for v in verdicts.values()), (verdicts, text)


async def test_without_a_style_the_brand_voice_still_picks_the_address() -> None:
    formal = (await drafter.complete(request(language="sv", brand_voice="formell, artig"))).text
    informal = (await drafter.complete(request(language="sv", brand_voice="ledig"))).text
    assert address_of(formal, "sv") == "formal" and address_of(informal, "sv") == "informal"
    # The style wins over the brand voice.
    styled = request(language="sv", brand_voice="formell", style=Style(formality="informal"))
    assert address_of((await drafter.complete(styled)).text, "sv") == "informal"


@pytest.mark.parametrize("band", [1, 3, 5])
async def test_the_typical_length_picks_the_closest_paragraph_first(band: int) -> None:
    lengths = []
    for target in (20, 200):
        style = Style(length=LengthByBand(negative=target, mixed=target, positive=target))
        first = (await drafter.complete(request(stars=band, style=style, variant=1))).text
        others = [
            (await drafter.complete(request(stars=band, style=style, variant=v))).text
            for v in (2, 3)
        ]
        assert all(abs(count_words(first) - target) <= abs(count_words(o) - target) for o in others)
        assert len({first, *others}) == 3  # "Generate again" still varies
        lengths.append(count_words(first))
    assert lengths[0] < lengths[1]


def test_every_variant_file_has_every_band() -> None:
    for language, own, other in ADDRESSES:
        texts = TEXTS.languages[language]
        assert texts.address == own
        assert set(texts.address_templates) == {other}
        assert set(texts.address_templates[other]) == set(BANDS)  # type: ignore[index]


def test_a_variant_in_the_files_own_address_is_refused(tmp_path: Path) -> None:
    good = (default_prompts_dir() / "templates" / "en.toml").read_text(encoding="utf-8")
    (tmp_path / "en.toml").write_text(good, encoding="utf-8")
    broken = (
        good.replace(
            'team_signoff = "The {company} team"',
            'team_signoff = "The {company} team"\naddress = "formal"',
        )
        + '\n[templates.formal]\nnegative = ["a"]\nmixed = ["b"]\npositive = ["c"]\n'
    )
    (tmp_path / "sv.toml").write_text(broken, encoding="utf-8")
    with pytest.raises(TemplateError, match=r"templates\.formal: \[templates\] is formal already"):
        TemplateTexts.load(tmp_path)
    (tmp_path / "sv.toml").write_text(
        good.replace('team_signoff = "The {company} team"', 'team_signoff = "x"\naddress = "du"'),
        encoding="utf-8",
    )
    with pytest.raises(TemplateError, match='address: expected "formal" or "informal"'):
        TemplateTexts.load(tmp_path)
