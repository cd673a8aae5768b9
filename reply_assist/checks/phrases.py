"""What a reply says, per language: thanks, an apology, an invitation to get in touch, and what
it must never say (a promised refund, discount, voucher, credit, replacement or cover of costs;
an admission of fault or liability).

Each entry is a pattern matched case-insensitively at a word start, so an inflection follows a
stem ("rembours" matches "remboursement", "rembourserons"); a space stands for any run of
whitespace, and an entry may use a regular expression's groups and repeats ("\\d+ ?% off").
They are phrases a reply *states*, not every word near the topic: "free" alone is "feel free",
"credit" alone is "full credit goes to our driver", "code" alone is a postal code.

**Denials do not count** for what a reply must never say. "Unfortunately we cannot offer a
refund", "es war nicht unsere Schuld", "nous déclinons toute responsabilité" name a refund or a
fault to deny it; a warning on them teaches an agent to ignore the warning. A match is a denial
when a negation of its language ("not", "inte", "nicht", "ne … pas", "ei", "geen"…) stands in
the same clause, at most six words before it (or, in the languages that put it after the verb,
right after it: "Wir haften nicht", "vi ansvarar inte"), or when the clause goes on to say it
is not possible ("a refund is not possible", "eine Erstattung ist leider nicht möglich"); "not
only" and its kin are no negation.
A clause ends at punctuation or at "but" ("men", "aber", "mais", "pero"…), so "Don't worry, you
will get your money back" is still a promise.

``tests/data/draft_cases.jsonl`` labels drafts in every language, hard negatives included;
``python bench/draft_checks.py`` prints precision and recall per check and language. A language
without a list is not judged on these checks.
"""

from __future__ import annotations

import functools
import re
from typing import Final, Literal

__all__ = ["DENIED", "PHRASES", "Phrase", "says"]

Phrase = Literal["thanks", "apology", "contact", "promise", "fault"]
# The phrases a reply must never say, for which a denial does not count.
DENIED: Final[frozenset[Phrase]] = frozenset(["promise", "fault"])

PHRASES: Final[dict[str, dict[Phrase, tuple[str, ...]]]] = {
    "en": {
        "thanks": ("thank", "thanks", "grateful", "appreciate"),
        "apology": ("sorry", "apolog", "regret"),
        "contact": (
            "get in touch",
            "contact",
            "reach out",
            "write to us",
            "let us know",
            "customer service",
            "support team",
        ),
        "promise": (
            "refund",
            "reimburs",
            "compensat",
            "discount",
            "voucher",
            "coupon",
            "gift card",
            "gift voucher",
            "money back",
            "free of charge",
            "for free",
            r"free (?:replacement|gift|shipping|delivery|upgrade|return)",
            r"(?:a|free|new) replacement",
            r"at no (?:extra |additional )?(?:cost|charge)",
            "no charge",
            "on the house",
            r"(?:shipping|delivery|postage|returns?|next \w+) (?:is|are|will be) on us",
            r"(?:bonus|loyalty|reward) points",
            r"store credit",
            r"credit (?:to )?your (?:account|card)",
            r"credit note",
            r"cover (?:the |your |all )?(?:cost|postage|shipping|repair|fee)",
            r"pay for (?:the |your )?(?:repair|return|shipping|postage)",
            r"waive",
            r"goodwill gesture",
            r"gesture of goodwill",
            r"promo code",
            r"\d+ ?% off",
            r"\d+ ?% (?:\w+ ){0,3}(?:next|discount)",
            r"(?:use|enter|with) the code",
        ),
        "fault": (
            "our fault",
            r"our (?:own )?(?:mistake|error)",
            r"we made (?:a|an) (?:mistake|error)",
            "we messed up",
            r"(?:that|this|it)(?:'s| is| was) (?:entirely |all |completely )?on us",
            "we are liable",
            r"we (?:are|were) to blame",
            r"we (?:are|were) at fault",
            r"the (?:blame|fault) (?:is|was|lies) (?:entirely )?(?:ours|with us)",
            r"we are responsible for (?:the |this |your )?(?:damage|delay|loss|mistake|error)",
            r"(?:accept|take|bear|assume) (?:full |complete |all |the )?responsibility",
            r"(?:accept|take|bear|assume) (?:full |complete |all |the )?liability",
            r"(?:accept|take|bear|assume) (?:full |complete |all |the )?blame",
            "liability for",
            "negligen",
            "we admit",
        ),
    },
    "sv": {
        "thanks": ("tack", "uppskatta"),
        "apology": ("ledsen", "ledsna", "ber om ursäkt", "beklagar", "ursäkta"),
        "contact": ("kontakta", "hör av dig", "kundtjänst", "kundservice", "skriv till oss"),
        "promise": (
            "återbetal",
            r"betala(?:r|)? (?:\w+ )?tillbaka",
            r"tillbaka (?:\w+ ){0,2}(?:köpesumma|beloppet|pengarna)",
            "pengarna tillbaka",
            "ersättning",
            r"ersätter (?:dig|er)",
            "kompensation",
            "kompensera",
            "rabatt",
            "värdecheck",
            "värdebevis",
            "presentkort",
            "tillgodo",
            "kostnadsfri",
            r"utan (?:extra |någon )?kostnad",
            "gratis",
            "krediter",
            r"står för (?:\w+ )?kostnad",
            r"bjuder på",
            r"(?:använd|ange) koden",
            r"\d+ ?% (?:\w+ ){0,3}(?:nästa|rabatt)",
        ),
        "fault": (
            "vårt fel",
            r"felet (?:är|var|ligger) (?:\w+ ){0,3}(?:vårt|hos oss)",
            r"vårt (?:eget )?misstag",
            r"vi (?:gjorde|har gjort) (?:ett )?misstag",
            r"(?:vi|det var vi som) (?:\w+ )?gjorde fel(?!\w)",
            "vi är ansvariga",
            r"(?:tar|bär) (?:\w+ ){0,2}ansvar(?:et)?(?!\w)(?! för att)",
            "skadeståndsansvar",
            "vårdslös",
            "vi erkänner",
        ),
    },
    "da": {
        "thanks": ("tak", "sætter pris på", "sætter stor pris på"),
        "apology": ("ked af", "kede af", "beklager", "undskyld"),
        "contact": ("kontakt", "skriv til os", "kundeservice", "henvend"),
        "promise": (
            "refusion",
            "refunder",
            "pengene tilbage",
            "pengene retur",
            r"(?:købesum|beløb)\w* (?:\w+ ){0,2}retur",
            "kompensation",
            "kompenser",
            "erstatning",
            "rabat",
            "gavekort",
            "tilgodebevis",
            "gratis",
            "fri fragt",
            r"uden (?:ekstra )?(?:beregning|omkostning|udgift|betaling)",
            "krediter",
            r"dækker (?:\w+ )?(?:udgift|omkostning|fragt|reparation)",
            r"(?:brug|indtast) koden",
            r"\d+ ?% (?:\w+ ){0,3}(?:næste|rabat)",
        ),
        "fault": (
            "vores skyld",
            "skylden er vores",
            r"fejlen (?:er|var|ligger) (?:\w+ ){0,3}(?:vores|hos os)",
            r"vores (?:egen )?fejl",
            r"vi (?:begik|lavede|har begået|har lavet) en fejl",
            r"begik (?:\w+ )?fejlen",
            "vi er ansvarlige",
            r"påtager os (?:\w+ ){0,2}ansvar",
            r"tager (?:\w+ ){0,2}ansvar(?:et)?(?!\w)(?! for at)",
            "erstatningsansvar",
            "uagtsom",
            "indrømmer",
        ),
    },
    "no": {
        "thanks": ("takk", "setter pris på", "setter stor pris på"),
        "apology": ("lei for", "lei oss", "beklager", "unnskyld"),
        "contact": ("kontakt", "ta kontakt", "kundeservice", "kundesenter", "skriv til oss"),
        "promise": (
            "refusjon",
            "refunder",
            "pengene tilbake",
            "kompensasjon",
            "kompenser",
            "erstatning",
            "rabatt",
            "gavekort",
            "tilgodelapp",
            "gratis",
            "kostnadsfri",
            r"uten (?:ekstra )?(?:kostnad|betaling)",
            "krediter",
            r"dekker (?:\w+ )?(?:kostnad|utgift|frakt|reparasjon)",
            r"(?:bruk|skriv inn) koden",
            r"\d+ ?% (?:\w+ ){0,3}(?:neste|rabatt)",
        ),
        "fault": (
            "vår feil",
            "skylden er vår",
            r"feilen (?:er|var|ligger) (?:\w+ ){0,3}(?:vår|hos oss)",
            r"vi (?:gjorde|har gjort) en feil",
            r"(?:vi|det var vi som) (?:\w+ )?gjorde (?:en )?feil",
            "vi er ansvarlige",
            r"påtar oss (?:\w+ ){0,2}ansvar",
            r"tar (?:\w+ ){0,2}ansvar(?:et)?(?!\w)(?! for å)",
            "erstatningsansvar",
            "uaktsom",
            "innrømmer",
        ),
    },
    "nl": {
        "thanks": ("bedankt", "dank", "bedanken", "waarder", "op prijs"),
        "apology": ("sorry", "excuses", "excuseren", "spijt", "vervelend"),
        "contact": ("contact", "klantenservice", "klantenteam", "laat het ons weten"),
        "promise": (
            "terugbetal",
            "geld terug",
            r"\w*bedrag (?:\w+ ){0,3}terug",
            "restitutie",
            "compensatie",
            "compenseren",
            "vergoed",
            "korting",
            "tegoed",
            "cadeaubon",
            "cadeaukaart",
            "gratis",
            "kosteloos",
            r"zonder (?:extra )?kosten",
            "bijschrijven",
            r"storten (?:\w+ ){0,6}terug",
            "terugstorten",
            r"\w*kosten (?:\w+ ){0,6}(?:zijn|komen) voor (?:ons|onze rekening)",
            r"schrijven (?:\w+ ){0,4}bij op",
            "voor onze rekening",
            "vervangend",
            r"(?:gebruik|met) de code",
            r"\d+ ?% (?:\w+ ){0,3}(?:volgende|korting)",
        ),
        "fault": (
            "onze schuld",
            r"onze (?:eigen )?(?:fout|vergissing)",
            r"(?:wij|we) hebben een fout gemaakt",
            r"fout (?:lag|ligt|zat) (?:\w+ ){0,2}bij ons",
            "aansprakelijk",
            r"(?:nemen|dragen) (?:\w+ )?verantwoordelijkheid",
            "nalatig",
            "wij geven toe",
            "we geven toe",
        ),
    },
    "de": {
        "thanks": ("danke", "dank", "bedanken", "schätzen es", "wissen es zu schätzen"),
        "apology": ("leid", "entschuldig", "bedauern"),
        "contact": (
            "kontakt",
            "melden sie sich",
            "wenden sie sich",
            "kundenservice",
            "kundendienst",
            "schreiben sie uns",
        ),
        "promise": (
            "erstatt",
            "rückerstatt",
            "geld zurück",
            "betrag zurück",
            "entschädig",
            "gutschein",
            "gutschrift",
            "gutschreiben",
            r"schreiben (?:\w+ ){0,4}gut(?!\w)",
            "rabatt",
            "nachlass",
            "kulanz",
            "kostenlos",
            "kostenfrei",
            r"ohne (?:zusätzliche |weitere )?kosten",
            "gratis",
            r"übernehmen (?:\w+ ){0,2}kosten",
            r"\w*kosten (?:\w+ ){0,5}übernehmen wir",
            r"ersatz(?!teil)",
            r"(?:mit dem|den) code",
            r"\d+ ?% (?:\w+ ){0,3}(?:rabatt|nachlass|nächste)",
        ),
        "fault": (
            "unsere schuld",
            "unser verschulden",
            r"unser (?:eigener )?(?:fehler|versäumnis)",
            r"(?:wir haben|haben wir) (?:\w+ ){0,2}(?:einen )?fehler gemacht",
            r"fehler (?:lag|liegt) (?:\w+ ){0,2}bei uns",
            "haften",
            "haftbar",
            "haftung",
            r"übernehmen (?:\w+ )?(?:\w+ )?verantwortung",
            "fahrlässig",
        ),
    },
    "fi": {
        "thanks": ("kiitos", "kiitämme", "kiittää", "arvosta"),
        "apology": ("pahoillamme", "pahoittel", "anteeksi", "ikävä"),
        "contact": ("yhteyttä", "asiakaspalvelu"),
        "promise": (
            "hyvit",
            "rahat takaisin",
            "rahasi takaisin",
            "rahanne takaisin",
            "korvau",
            "korvaamme",
            r"palautamme (?:\w+ ){0,2}(?:summan|rahat|rahasi|hinnan|maksun|kauppahinnan)",
            "korvaava",
            "alennu",
            "lahjakort",
            "maksutta",
            "veloituksetta",
            "ilmaiseksi",
            "ilmaisen",
        ),
        "fault": (
            "meidän syymme",
            r"(?:meidän )?virheemme",
            r"virhe (?:oli|on) (?:\w+ )?meidän",
            r"teimme (?:\w+ )?virheen",
            "olemme vastuussa",
            r"otamme (?:\w+ )?vastuun",
            "korvausvastuu",
            "huolimattom",
            "myönnämme",
        ),
    },
    "fr": {
        "thanks": ("merci", "remerci"),
        "apology": ("désolé", "excuse", "regrett"),
        "contact": ("contact", "service client", "écrivez-nous", "notre équipe"),
        "promise": (
            "rembours",
            "compens",
            "dédommag",
            "réduction",
            "remise",
            "bon d'achat",
            r"un bon (?:de \d|de réduction|cadeau)",
            r"(?:frais|livraison|port) (?:\w+ ){0,6}(?:sont |est )?offert",
            "code promo",
            "carte cadeau",
            "carte-cadeau",
            "un avoir",
            "gratuit",
            "sans frais",
            "à nos frais",
            "geste commercial",
            r"crédit(?:er|ons|é|erons)",
            r"prenons en charge (?:les |la |le |l')?(?:frais|coût|réparation|remplacement|retour)",
            "remplacement",
            r"vous offrons (?:la livraison|les frais|un bon|une carte|un avoir|le retour)",
            r"\d+ ?% (?:\w+ ){0,3}(?:réduction|remise|prochaine)",
        ),
        "fault": (
            "notre faute",
            r"(?:faute|erreur) de notre part",
            "notre erreur",
            r"(?:erreur|faute) (?:vient|venait|est|était) (?:\w+ )?(?:de nous|la nôtre)",
            r"nous avons (?:commis|fait) une erreur",
            "responsabilité",
            "négligence",
            "nous reconnaissons",
        ),
    },
    "es": {
        "thanks": ("gracias", "agradec"),
        "apology": ("sentimos", "lamentamos", "disculpa", "perdón", "lo siento"),
        "contact": ("contact", "póngase en contacto", "atención al cliente", "escríbanos"),
        "promise": (
            "reembols",
            "devolver el dinero",
            "devolución del importe",
            r"(?:le )?devolve(?:remos|mos) (?:el|su) (?:importe|dinero)",
            "compensa",
            "indemniz",
            "descuento",
            "cupón",
            "tarjeta regalo",
            "tarjeta de regalo",
            r"vale (?:de )?(?:compra|descuento|regalo)",
            "gratis",
            r"sin (?:ningún )?(?:coste|costo|cargo)",
            r"abona(?:remos|mos|r)",
            r"hacemos cargo de los (?:gastos|costes)",
            r"corre(?:n|rán)? (?:\w+ )?(?:de|por) nuestra cuenta",
            r"(?:de|una|la) sustitución",
            r"(?:un|el) reemplazo",
            r"\d+ ?% (?:\w+ ){0,3}(?:descuento|próximo)",
        ),
        "fault": (
            "nuestra culpa",
            "culpa nuestra",
            r"(?:nuestro error|error nuestro)",
            r"(?:error|culpa) (?:fue|es) (?:\w+ )?(?:nuestro|nuestra)",
            r"cometimos un error",
            r"nos (?:hemos )?equivoca(?:mos|do)",
            "somos responsables",
            r"asumimos (?:\w+ )?(?:\w+ )?responsabilidad",
            "negligencia",
            "admitimos",
        ),
    },
}

# Negations that deny what follows them in the clause, per language; and "not only" and its
# kin, which deny nothing.
_NEGATIONS: Final[dict[str, str]] = {
    "en": r"not|no|never|cannot|unable|neither|nor|decline\w*|\w+n['’]t",
    "sv": r"inte|ej|ingen|inget|inga|aldrig|icke",
    "da": r"ikke|ingen|intet|aldrig",
    "no": r"ikke|ikkje|ingen|intet|aldri",
    "nl": r"niet|geen|nooit|noch",
    "de": r"nicht|kein|keine|keinen|keinem|keiner|nie|niemals",
    "fi": r"ei|emme|en|et|eivät|ette",
    "fr": r"ne|pas|aucun|aucune|jamais|déclin\w*",
    "es": r"no|nunca|ningún|ninguna|ninguno|tampoco",
}
_NOT_ONLY: Final = (
    r"not only|not just|inte bara|inte endast|ikke kun|ikke blot|ikke bare|niet alleen|"
    r"nicht nur|ei vain|ei ainoastaan|non seulement|pas seulement|no solo|no sólo|no solamente"
)
# "A refund is not possible", "eine Erstattung ist leider nicht möglich": the thing named,
# then said to be unavailable, later in its clause.
_UNAVAILABLE: Final[dict[str, str]] = {
    "en": r"not (?:possible|available|an option)|(?:isn't|aren't|is not|are not) offered",
    "sv": r"inte (?:möjlig|aktuell)",
    "da": r"ikke (?:mulig|aktuel)",
    "no": r"ikke (?:mulig|aktuell)",
    "nl": r"niet (?:mogelijk|van toepassing)",
    "de": r"nicht (?:möglich|vorgesehen)",
    "fi": r"ei (?:ole )?mahdolli",
    "fr": r"pas (?:possible|prévu)",
    "es": r"no (?:es|son|será|serán) posible",
}
# Languages that put the negation after the verb ("Wir haften nicht"): a negation among the
# two words after the match denies it too.
_NEGATION_AFTER: Final = frozenset(["sv", "da", "no", "nl", "de"])
_MIN_ANCHOR: Final = 2
_BEFORE_WORDS: Final = 6
_AFTER_WORDS: Final = 2
# A clause ends at punctuation or at "but" and its kin.
_CLAUSE_END: Final = re.compile(
    r"[.!?;:,\n—–]|\b(?:but|men|aber|mais|pero|maar|mutta|however|dennoch)\b", re.IGNORECASE
)


# "Free" that names a thing the customer already had ("glad you liked the free delivery", "den
# gratis frakten", "la livraison gratuite") rather than offers one: a definite article before it
# (before its noun, where the adjective follows the noun).
_FREE: Final = re.compile(r"free|gratis|gratuit|kostenlos|kostenfrei|kostnadsfri", re.IGNORECASE)
_REFERRING: Final[dict[str, re.Pattern[str]]] = {
    language: re.compile(rf"(?<!\w)(?:{articles})\s+$", re.IGNORECASE)
    for language, articles in {
        "en": "the",
        "sv": "den|det|de",
        "da": "den|det|de",
        "no": "den|det|de",
        "nl": "de|het",
        "de": "der|die|das|den|dem|des",
        "fr": r"(?:la|le|les|l')\s*\w+",
        "es": r"(?:el|la|los|las)\s+\w+",
    }.items()
}


def _names_a_free_thing(text: str, match: re.Match[str], language: str) -> bool:
    referring = _REFERRING.get(language)
    return bool(
        referring
        and _FREE.match(match.group())
        and referring.search(text, max(0, match.start() - 40), match.start())
    )


def _anchor(entry: str) -> str | None:
    """A piece of text that every match of ``entry`` contains (lower case), for a cheap test
    before the regex: the longest literal run outside its groups; None when it has none."""
    outside = entry
    while (stripped := re.sub(r"\([^()]*\)", "\x00", outside)) != outside:
        outside = stripped
    if "|" in outside:
        return None
    pieces = re.split(r"\\[a-zA-Z]|[\x00?*+^$.\[\]{}\d,\s\\]", outside)
    longest = max(pieces, key=len)
    return longest.lower() if len(longest) >= _MIN_ANCHOR or "%" in longest else None


@functools.cache
def _anchors(language: str, phrase: Phrase) -> tuple[str | None, ...]:
    return tuple(map(_anchor, PHRASES.get(language, {}).get(phrase, ())))


@functools.lru_cache(maxsize=1024)
def _pattern(language: str, phrase: Phrase, chosen: tuple[int, ...]) -> re.Pattern[str]:
    """The ``chosen`` entries of the list as one regex; an entry starts at a word start, and a
    space in it is any run of whitespace (" ?": none or one)."""
    entries = PHRASES[language][phrase]
    alternatives = "|".join(entries[i].replace(" ?", r"\s?").replace(" ", r"\s+") for i in chosen)
    return re.compile(rf"(?<!\w)(?:{alternatives})", re.IGNORECASE)


def _candidates(text: str, language: str, phrase: Phrase) -> re.Pattern[str] | None:
    """The regex of the entries whose anchor ``text`` contains; None when no entry can match.
    Most drafts contain few of them: one long alternation tried at every word start was most
    of the phrase checks' time."""
    lowered = text.lower()
    chosen = tuple(
        i
        for i, anchor in enumerate(_anchors(language, phrase))
        if anchor is None or anchor in lowered
    )
    return _pattern(language, phrase, chosen) if chosen else None


@functools.cache
def _negation(language: str) -> re.Pattern[str] | None:
    words = _NEGATIONS.get(language)
    if words is None:
        return None
    # Each word ends at a word end; the elided French "n'" (n'était) at its apostrophe.
    elided = r"|n['’](?=\w)" if language == "fr" else ""
    return re.compile(rf"(?<!\w)(?!{_NOT_ONLY})(?:(?:{words})(?![\w'’]){elided})", re.IGNORECASE)


def _denied(text: str, start: int, end: int, language: str) -> bool:
    """Whether a negation in the same clause denies the phrase at ``text[start:end]``."""
    negation = _negation(language)
    if negation is None:
        return False
    clause_start = 0
    for boundary in _CLAUSE_END.finditer(text, max(0, start - 200), start):
        clause_start = boundary.end()
    before = text[clause_start:start].split()[-_BEFORE_WORDS:]
    if negation.search(" ".join(before)):
        return True
    clause_end = _CLAUSE_END.search(text, end, end + 120)
    after = text[end : clause_end.start() if clause_end else end + 120]
    unavailable = _UNAVAILABLE.get(language)
    if unavailable and re.search(rf"(?<!\w)(?:{unavailable})", after, re.IGNORECASE):
        return True
    if language not in _NEGATION_AFTER:
        return False
    # The rest of the matched word, then the next words ("haft|en nicht").
    return bool(negation.search(" ".join(after.split()[: _AFTER_WORDS + 1])))


def says(text: str, language: str, phrase: Phrase) -> bool | None:
    """Whether ``text`` says ``phrase`` in ``language``; None when the language has no list.
    For what a reply must never say (``DENIED``), a denial in the same clause does not count."""
    if not PHRASES.get(language, {}).get(phrase):
        return None
    pattern = _candidates(text, language, phrase)
    if pattern is None:
        return False
    if phrase not in DENIED:
        return pattern.search(text) is not None
    return any(
        not _denied(text, m.start(), m.end(), language)
        and not _names_a_free_thing(text, m, language)
        for m in pattern.finditer(text)
    )
