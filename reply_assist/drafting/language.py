"""Text rules the refusal checks and the output checks share: word counts and languages.

Two rules of the review platform depend on this module (see ``docs/api.md``):

* ``review_too_short``: a review must contain *more than four words*. ``count_words`` decides
  what a word is, including for scripts written without spaces.
* ``language_not_supported``: the review's language (the platform's hint, else detected) must be
  one of the company's languages. ``normalize_language`` makes hints and detections comparable;
  ``detect_language`` is the fallback detector, and is also the cheap check that a draft came
  out in the right language. Given the company's languages as a prior, it reads short reviews
  ("Bra bra bra bra bra") as the company's language where the words allow it, never forcing it.

Everything here is a pure function of its input except ``detect_language``'s one-time profile
load, which ``ensure_loaded`` performs (the app calls it once at start).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any, Final

import msgspec
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

__all__ = [
    "MIN_DETECTION_PROBABILITY",
    "LanguageDetection",
    "count_words",
    "detect_language",
    "ensure_loaded",
    "normalize_language",
]

# --------------------------------------------------------------------------------------------
# Word counting
# --------------------------------------------------------------------------------------------

# One whitespace-separated token that holds a letter or digit. Python's Unicode ``\w`` is
# "alphabetic (L*) or numeric (N*)" plus the underscore, and ``count_words`` first turns
# underscores into hyphens so that ``\w`` means exactly "letter or digit" here. The lookbehind
# pins a match to a token's first character; anything that is neither whitespace nor a letter or
# digit (punctuation, symbols, emoji, combining marks) may come before the first letter or digit,
# and the rest of the token is consumed. The quantifiers are possessive, so a long run of
# punctuation is scanned once and the whole count is one linear pass in C.
_WORD_RE: Final = re.compile(r"(?<!\S)[^\w\s]*+\w\S*+")

# Scripts written without spaces between words. Han ideographs (with the iteration mark and
# ideographic zero), Hiragana and Katakana (with the half-width forms) count one word each.
_CJK_CLASS: Final = (
    "\u3005\u3007"  # 々 iteration mark, 〇 ideographic zero
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana (with ー, the prolonged sound mark)
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK unified ideographs extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK extensions B to G, compatibility supplement
)
# Thai, Lao, Myanmar and Khmer: a run counts ceil(len / 4) words.
_SEA_CLASS: Final = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u19e0-\u19ff"  # Khmer symbols
    "\ua9e0-\ua9ff"  # Myanmar extended-B
    "\uaa60-\uaa7f"  # Myanmar extended-A
)
_CJK_RUN_RE: Final = re.compile(f"[{_CJK_CLASS}]+")
_SEA_RUN_RE: Final = re.compile(f"[{_SEA_CLASS}]+")
_UNSPACED_RE: Final = re.compile(f"[{_CJK_CLASS}{_SEA_CLASS}]")

# Average characters per word in the Southeast Asian scripts above.
_SEA_CHARS_PER_WORD: Final = 4


def count_words(text: str) -> int:
    """Count the words of ``text`` the way the ``review_too_short`` rule means them.

    A word is a whitespace-separated token holding at least one Unicode letter or digit
    (categories L* and N*). Tokens of only emoji, punctuation or symbols are not words, since
    "Great!!! 👍👍" says one thing, not three; a hyphenated token ("well-known", "e-mail") is
    one word, and "5 stars" is two.

    Scripts written without spaces cannot be split on whitespace, so they are estimated:

    * each Han ideograph, Hiragana and Katakana character counts as one word. A Chinese word
      averages about 1.5 characters, so this slightly over-counts, which errs toward allowing
      a draft rather than refusing a real review;
    * a run of Thai, Lao, Khmer or Myanmar characters counts as ``ceil(len / 4)`` words (their
      words average about 4 characters). A dictionary segmenter such as ICU would be exact
      but is a native dependency, not worth it for a "more than four words" threshold.

    A mixed token counts its CJK characters plus its other parts, so "東京Tower" is 3 words.

    The count is a few regex passes in C: a 10,000-character review takes well under 1 ms.
    """
    text = text.replace("_", "-")
    if text.isascii() or _UNSPACED_RE.search(text) is None:
        return len(_WORD_RE.findall(text))
    # Cut the unspaced scripts out (each cut becomes a space, so "東京Tower" leaves "Tower"),
    # count what was cut, then count what is left like any spaced text.
    words = sum(map(len, _CJK_RUN_RE.findall(text)))
    rest = _CJK_RUN_RE.sub(" ", text)
    for run in _SEA_RUN_RE.findall(rest):
        words += -(-len(run) // _SEA_CHARS_PER_WORD)  # ceil division
    rest = _SEA_RUN_RE.sub(" ", rest)
    return words + len(_WORD_RE.findall(rest))


# --------------------------------------------------------------------------------------------
# Language codes
# --------------------------------------------------------------------------------------------

# Codes that name the same written language for our purposes. langdetect answers "no" for
# Norwegian; hints and company settings may say Bokmål ("nb") or Nynorsk ("nn").
_LANGUAGE_ALIASES: Final[dict[str, str]] = {"nb": "no", "nn": "no"}


def normalize_language(code: str) -> str:
    """Reduce a language tag to the bare ISO 639-1 code the service compares.

    Hints come as "en-GB", "pt_BR" or "zh-cn", company settings as "en", and langdetect answers
    "zh-cn" or "no": all of them must compare equal when they mean the same language, so the
    code is lower-cased, its region dropped and Norwegian's "nb"/"nn" mapped to "no".
    """
    base = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    return _LANGUAGE_ALIASES.get(base, base)


# --------------------------------------------------------------------------------------------
# Language detection
# --------------------------------------------------------------------------------------------

# Below this top probability langdetect is guessing: short or mixed-language reviews often
# score 0.4-0.6 between neighbours (da/no, nl/af, es/pt). Refusing is better than answering
# in the wrong language, and the platform's hint, when sent, wins over detection anyway.
MIN_DETECTION_PROBABILITY: Final = 0.70

# Not language: removed before detection so that a review full of order numbers, links or
# addresses is judged by its words only.
_URL_RE: Final = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_EMAIL_RE: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS_RE: Final = re.compile(r"\d+")
_LETTER_RE: Final = re.compile(r"[^\W\d_]")
_MIN_SHOUTED_CHARS: Final = 4
# langdetect walks the text character by character in Python (about 18 ms for 10,000
# characters). A couple of thousand characters tell the language as surely as ten thousand.
_MAX_DETECTION_CHARS: Final = 2000

# The company's languages as a prior. Not through langdetect's own prior map: langdetect samples
# n-grams until one language passes 99.999 %, so the prior barely moves a short text (on
# bench/data/short_reviews.jsonl, 142 of 162 right without it, 144 with a weight of 100) while
# it pulls English reviews below the 70 % bar ("Never ordering from here again!" for a da/no
# company). A review's own words carry the prior instead, below.
# Short reviews are where langdetect fails ("Bra bra bra bra bra" -> pt, "ok ok ok" -> sk): up to
# this many words, common review words decide first, and a tie goes to the company's language.
_MAX_WORDS_FOR_LEXICON: Final = 15
# Frequent function words and review vocabulary per language, lower case. A word may belong to
# several languages ("service", "ok"); that is what makes a tie, which the prior breaks.
_REVIEW_WORDS: Final[dict[str, frozenset[str]]] = {
    language: frozenset(words.split())
    for language, words in {
        "sv": "och att det som en på är av för med till den har inte de om ett vi du var jag mig "
        "min mitt mina mycket bra snabb snabbt leverans leveransen tack kundtjänst service "
        "personal nöjd nöjda besviken dålig dåligt aldrig igen rekommenderar rekommenderas köp "
        "köpet varan beställning beställde paketet pris priser kvalitet trevlig trevliga toppen "
        "grym super ok okej inget helt men lite",
        "da": "og at det som en på er af for med til den har ikke de om et vi du var jeg mig min "
        "mit mine meget god godt hurtig hurtigt levering leveringen tak kundeservice service "
        "personale tilfreds skuffet dårlig dårligt aldrig igen anbefale anbefales købt varen "
        "ordre bestilling pakken pris priser kvalitet flink flinke super ok rigtig virkelig "
        "intet men lidt",
        "no": "og at det som en på er av for med til den har ikke de om et vi du var jeg meg min "
        "mitt mine veldig bra god godt rask raskt levering leveringen takk kundeservice service "
        "ansatte fornøyd skuffet dårlig aldri igjen anbefale anbefales kjøpte varen bestilling "
        "pakken pris priser kvalitet hyggelig hyggelige super ok kjempe ingenting men litt",
        "nl": "de en het van een in is dat op te je we voor met niet zijn u uw ons wij ik mijn "
        "heel erg zeer goed goede snel snelle levering bezorging bedankt dank klantenservice "
        "service personeel tevreden teleurgesteld slecht slechte nooit weer meer aanrader "
        "bestelling pakket prijs prijzen kwaliteit vriendelijk vriendelijke super ok top prima "
        "maar wel wat",
        "de": "der die und das in zu den ist nicht von sie mit es ein eine wir ihr uns für auf "
        "ich mein meine sehr gut gute guter schnell schnelle lieferung danke kundenservice "
        "service personal zufrieden enttäuscht schlecht schlechter nie wieder empfehlenswert "
        "bestellung paket preis preise qualität freundlich freundliches super ok top toll tolle "
        "aber etwas",
        "en": "the and to of a in is you for that we it our with this your are be have not on "
        "at as was will us thank thanks i my me very good great fast quick delivery service "
        "staff happy disappointed bad terrible never again recommend recommended order parcel "
        "price prices quality friendly nice super ok top but bit",
        "fi": "ja on että ei se oli ole kuin mutta tai me te minä olen todella hyvä hyvin hyvät "
        "nopea nopeasti toimitus kiitos asiakaspalvelu palvelu henkilökunta tyytyväinen "
        "pettynyt huono koskaan uudestaan suosittelen tilaus paketti hinta hinnat laatu "
        "ystävällinen super ok",
        "fr": "le la les de des et en un une est pas que pour vous nous votre notre sur avec je "
        "mon ma mes très bon bonne bien rapide livraison merci service client personnel "
        "satisfait déçu mauvais mauvaise nul jamais recommande commande colis prix qualité "
        "sympathique gentil super ok top mais peu",
        "es": "el la los las de y en un una es no que por para con su sus nos usted yo mi mis "
        "muy bueno buena buen bien rápido rápida entrega envío gracias atención servicio "
        "personal contento contenta decepcionado malo mala pésima nunca recomiendo pedido "
        "paquete precio precios calidad amable super ok pero poco",
    }.items()
}
_LETTERS_RUN_RE: Final = re.compile(r"[^\W\d_]+")

_NO_LETTERS: Final = "the text has no letters to detect a language from"
_TOO_SHORT: Final = "the text is too short or mixed to tell its language reliably"


class LanguageDetection(msgspec.Struct, frozen=True):
    """A detected language, or why none could be told.

    Exactly one of the fields is set: ``language`` is a normalized ISO 639-1 code, ``reason`` a
    human sentence suitable for a problem ``detail``.
    """

    language: str | None
    reason: str | None = None


_factory: DetectorFactory | None = None
_factory_lock = threading.Lock()


def ensure_loaded() -> None:
    """Load langdetect's language profiles once; safe to call from any thread, any number of times.

    The load takes about 0.2 s, so the app calls this at start rather than on the first review.
    The factory is private to this module and seeded on the instance: langdetect samples its
    n-grams at random, and without a fixed seed the same short review can come out "en" on one
    call and "da" on the next. A private instance also means no other importer of langdetect
    (or the order of imports) can change our seed or our profiles.
    """
    global _factory
    if _factory is not None:
        return
    with _factory_lock:
        if _factory is None:
            factory = DetectorFactory()
            factory.load_profile(PROFILES_DIRECTORY)
            factory.set_seed(0)
            _factory = factory


def _clean_for_detection(text: str) -> str:
    """Keep only what says something about the language.

    URLs, e-mail addresses and digits are removed, and only the first 2,000 characters of
    what is left are used. Words of four or more letters written in
    capitals ("NEVER AGAIN") are lower-cased, because langdetect ignores all-capital words
    entirely, and an angry review written in capitals would otherwise have nothing left to
    detect. Shorter ones are left alone: they are mostly acronyms ("OK", "DHL") whose
    lower-cased letters would vote for some unrelated language.
    """
    text = _URL_RE.sub(" ", text)
    text = _EMAIL_RE.sub(" ", text)
    text = _DIGITS_RE.sub(" ", text)
    text = " ".join(
        word.lower() if len(word) >= _MIN_SHOUTED_CHARS and word.isupper() else word
        for word in text.split()
    )
    if len(text) > _MAX_DETECTION_CHARS:
        # Cut at the last space before the limit, so no word is cut in half.
        cut = text.rfind(" ", 0, _MAX_DETECTION_CHARS + 1)
        text = text[: cut if cut > 0 else _MAX_DETECTION_CHARS]
    return text


def _by_review_words(cleaned: str, prior: Sequence[str]) -> list[str]:
    """The company languages that the words of a short review point to, best first; empty to
    leave the review to langdetect.

    Each word counts for every language whose list holds it. The company languages with the
    most words are chosen when no other language has more and they cover at least a third of
    the words: a tie with another language goes to the company (the prior), so "Bra bra bra"
    is Swedish for a Swedish company (Norwegian says "bra" too), while "Very happy with my
    order" is left to langdetect, which reads it as English.
    """
    words = [word.lower() for word in _LETTERS_RUN_RE.findall(cleaned)]
    if not words or len(words) > _MAX_WORDS_FOR_LEXICON:
        return []
    hits = {
        language: sum(word in vocabulary for word in words)
        for language, vocabulary in _REVIEW_WORDS.items()
    }
    most = max(hits.values())
    if most == 0 or most * 3 < len(words):
        return []
    return [language for language in prior if hits.get(language) == most]


def detect_language(text: str, prior: Sequence[str] = ()) -> LanguageDetection:
    """Detect the language ``text`` is written in, or say why it cannot be told.

    ``prior``: the company's languages (normalized ISO 639-1), the likelier answers. They weigh
    in, never restrict: a short review's words decide first, with ties going to the company's
    languages (see ``_by_review_words``), else langdetect decides alone; a review plainly in
    another language is still detected as that language.

    The answer is deterministic: the same text gives the same answer on every call and in
    every process. Costs about 2 ms for a short review and at most about 4 ms for a long one
    (plus 0.2-0.3 s on the first call if ``ensure_loaded`` has not run), so a caller should
    detect a review once and keep the result.
    """
    cleaned = _clean_for_detection(text)
    if _LETTER_RE.search(cleaned) is None:
        return LanguageDetection(language=None, reason=_NO_LETTERS)
    candidates = _by_review_words(cleaned, prior) if prior else []
    if len(candidates) == 1:
        return LanguageDetection(language=candidates[0])
    detection = _langdetect(cleaned)
    if candidates and detection.language not in candidates:
        # The words fit several company languages equally ("ok ok ok" for sv and en) and
        # langdetect names none of them: the company's first-listed language.
        return LanguageDetection(language=candidates[0])
    return detection


def _langdetect(cleaned: str) -> LanguageDetection:
    ensure_loaded()
    assert _factory is not None  # ensure_loaded has set it; this narrows the type
    detector: Any = _factory.create()
    detector.append(cleaned)
    try:
        ranked: list[Any] = detector.get_probabilities()
    except LangDetectException:
        return LanguageDetection(language=None, reason=_TOO_SHORT)
    # Sum the variants langdetect tells apart but we do not ("zh-cn" and "zh-tw" are both "zh").
    scores: dict[str, float] = {}
    for candidate in ranked:
        code = normalize_language(str(candidate.lang))
        scores[code] = scores.get(code, 0.0) + float(candidate.prob)
    if not scores:
        return LanguageDetection(language=None, reason=_TOO_SHORT)
    language, probability = max(scores.items(), key=lambda item: item[1])
    if probability < MIN_DETECTION_PROBABILITY:
        return LanguageDetection(
            language=None,
            reason=f"{_TOO_SHORT} (best guess {language!r} at {probability:.0%})",
        )
    return LanguageDetection(language=language)
