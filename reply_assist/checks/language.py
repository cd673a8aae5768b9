"""Is a draft in the language it should be? A cheap function-word test first, the detector after.

Detection guesses below a dozen words ("Thank you, Erik." reads as Dutch), so shorter drafts are
not judged. Danish and Norwegian count as one: langdetect confuses them even at 99 %.
"""

from __future__ import annotations

import re
from typing import Final

from reply_assist.drafting.language import count_words, detect_language

__all__ = ["MIN_WORDS_TO_DETECT", "in_language", "surely_in"]

MIN_WORDS_TO_DETECT: Final = 12

# A few dozen of the most frequent function words per language: a draft in the expected language
# is full of them (a fifth to a half of its words), a draft in another language has almost none.
_FUNCTION_WORDS: Final = {
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
_LANGUAGES_OF: Final[dict[str, frozenset[str]]] = {}
for _language, _words in _FUNCTION_WORDS.items():
    for _word in _words.split():
        _LANGUAGES_OF[_word] = _LANGUAGES_OF.get(_word, frozenset()) | {_language}
_LETTERS: Final = re.compile(r"[^\W\d_]+")


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
    return "da" if language == "no" else language


def in_language(text: str, language: str) -> bool | None:
    """True or False for a draft of a dozen words or more; None (not judged) below that. A draft
    whose language cannot be told (mixed, too little text) is not called wrong either."""
    if count_words(text) < MIN_WORDS_TO_DETECT:
        return None
    if surely_in(text, language):
        return True
    detected = detect_language(text).language
    return detected is None or _family(detected) == _family(language)
