"""Guarding the model's input and output.

Before the model: e-mail addresses and phone numbers in review text are masked (the model needs
neither, and they should not leave for a third-party API). After the model: every draft is
checked, and what an agent must look at is named in ``warnings`` (never silently passed):

    wrong_language     the draft is (detectably) not in the review's language
    too_long           the draft is over the length budget
    url_not_allowed    a URL or domain that is not in the company's settings
    email_not_allowed  an e-mail address that is not in the company's settings
    phone_not_allowed  a phone number that is not in the company's settings
    prompt_leak        the draft repeats a passage of the system prompt
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from reply_assist.checks import contacts
from reply_assist.drafting.language import count_words, detect_language
from reply_assist.models import Company

__all__ = ["MAX_DRAFT_WORDS", "WARNINGS", "inspect_draft", "mask_personal_data", "surely_in"]

MAX_DRAFT_WORDS = 220  # the prompt asks for at most 120; well past that is not "short"
WARNINGS = (
    "wrong_language",
    "too_long",
    "cut_off",
    "url_not_allowed",
    "email_not_allowed",
    "phone_not_allowed",
    "prompt_leak",
)

_MIN_WORDS_TO_DETECT = 12
_LEAK_WORDS = 8  # a run of this many system-prompt words in a draft is a leak, not chance


# A few dozen of the most frequent function words per language: a draft in the expected language
# is full of them (a fifth to a half of its words), a draft in another language has almost none.
_FUNCTION_WORDS = {
    "en": "the and to of a in is you for that we it our with this your are be have not on at "
    "as was will us thank thanks sorry hope",
    "sv": "och att det som en på är av för med till den har inte de om ett vi du var vår er "
    "dig oss tack ledsna hoppas",
    "da": "og at det som en på er af for med til den har ikke de om et vi du var vores jer "
    "dig os tak ked håber",
    "no": "og at det som en på er av for med til den har ikke de om et vi du var vår dere "
    "deg oss takk lei håper",
    "nl": "de en het van een in is dat op te je we voor met niet zijn u uw ons wij dank "
    "sorry hopen",
    "de": "der die und das in zu den ist nicht von sie mit es ein eine wir ihr ihre uns für "
    "auf danke leid hoffen",
    "fi": "ja on että ei se oli ole kuin mutta tai me te teille meille kiitos pahoillamme "
    "toivomme olemme",
    "fr": "le la les de des et en un une est pas que pour vous nous votre notre sur avec "
    "merci désolés espérons",
    "es": "el la los las de y en un una es no que por para con su sus nos usted gracias "
    "sentimos esperamos",
}
_LANGUAGES_OF: dict[str, frozenset[str]] = {}
for _language, _words in _FUNCTION_WORDS.items():
    for _word in _words.split():
        _LANGUAGES_OF[_word] = _LANGUAGES_OF.get(_word, frozenset()) | {_language}
_LETTERS = re.compile(r"[^\W\d_]+")


def surely_in(text: str, language: str) -> bool:
    """True when the text is plainly in ``language``, without running a detector (~30 µs
    against langdetect's ~1.7 ms, the largest cost of a draft in this service).

    Its function words must be at least a sixth of the words, and more of them ``language``'s
    than any other listed language's: a Danish draft for a Swedish review, which shares many
    words, still goes to the detector, and so does a language without a list.
    """
    if language not in _FUNCTION_WORDS:
        return False
    tokens = _LETTERS.findall(text.lower())
    counts: dict[str, int] = {}
    for token in tokens:
        for candidate in _LANGUAGES_OF.get(token, ()):
            counts[candidate] = counts.get(candidate, 0) + 1
    mine = counts.pop(language, 0)
    return mine * 6 >= len(tokens) > 0 and all(mine > other for other in counts.values())


def _family(language: str) -> str:
    # langdetect confuses Danish and Norwegian even at 99% confidence: a Norwegian draft read
    # as Danish is no reason to bother an agent.
    return "da" if language == "no" else language


def mask_personal_data(text: str, languages: Iterable[str | None] = ()) -> str:
    """E-mail addresses and phone numbers replaced by ``[e-mail]`` and ``[phone]``, found as the
    draft checks find them (full-width @, U+2011 hyphens…); ``languages`` choose the countries
    whose national numbers are read."""
    found = contacts.find_contacts(text, languages)
    spans = sorted((c.start, c.end, c.kind) for c in (*found.emails, *found.phones))
    out: list[str] = []
    last = 0
    for start, end, kind in spans:
        if start < last:
            continue  # overlapping finds: the first one masked it
        out.append(text[last:start])
        out.append("[e-mail]" if kind == "email" else "[phone]")
        last = end
    out.append(text[last:])
    return "".join(out)


def _allowed(company: Company) -> str:
    return " ".join(filter(None, [company.name, company.signature, company.brand_voice]))


@functools.lru_cache(maxsize=512)
def _shingles(system_prompt: str, own: tuple[str, ...]) -> frozenset[str]:
    """Every run of ``_LEAK_WORDS`` words of the fixed instructions; cached per distinct prompt
    (it repeats for every draft of a company, star band and language)."""
    # The company's own settings are in the system prompt and may rightly appear in a draft
    # (a long signature, say): only the fixed instructions count as a leak.
    for part in own:
        system_prompt = system_prompt.replace(part, " ")
    words = re.findall(r"\w+", system_prompt.lower())
    return frozenset(
        " ".join(words[i : i + _LEAK_WORDS]) for i in range(len(words) - _LEAK_WORDS + 1)
    )


def _leaks(text: str, system_prompt: str, company: Company) -> bool:
    own = tuple(filter(None, [company.signature, company.brand_voice, company.name]))
    shingles = _shingles(system_prompt, own)
    draft = re.findall(r"\w+", text.lower())
    return any(
        " ".join(draft[i : i + _LEAK_WORDS]) in shingles
        for i in range(len(draft) - _LEAK_WORDS + 1)
    )


def inspect_draft(
    text: str, *, language: str, company: Company, system_prompt: str, cut_off: bool = False
) -> list[str]:
    """The warnings for one draft, in ``WARNINGS`` order; empty when it passes. ``cut_off``: the
    model stopped at its token limit, so the draft ends mid-sentence."""
    found: list[str] = []
    # Below a dozen words detection guesses ("Thank you, Erik." reads as Dutch): don't cry wolf.
    detected = None
    if count_words(text) >= _MIN_WORDS_TO_DETECT and not surely_in(text, language):
        detected = detect_language(text).language
    if detected is not None and _family(detected) != _family(language):
        found.append("wrong_language")
    if len(text.split()) > MAX_DRAFT_WORDS:
        found.append("too_long")
    if cut_off:
        found.append("cut_off")
    kinds = contacts.unconfigured(
        text, settings_text=_allowed(company), languages=(language, *company.languages)
    )
    found.extend(f"{kind}_not_allowed" for kind in ("url", "email", "phone") if kind in kinds)
    if _leaks(text, system_prompt, company):
        found.append("prompt_leak")
    return found
