"""What a reply says, per language: thanks, an apology, an invitation to get in touch, and what
it must never say (a promised refund or discount, an admission of legal fault).

Patterns are matched case-insensitively on word starts against the whole draft, so inflections
follow a stem ("rembours" matches "remboursement", "rembourserons"). They are deliberately
phrases a reply *states*, not every word near the topic: "refund" is a promise in a reply, as
the prompt forbids any mention of one. A language without a list is not judged on these checks.
"""

from __future__ import annotations

import functools
import re
from typing import Final, Literal

__all__ = ["PHRASES", "Phrase", "says"]

Phrase = Literal["thanks", "apology", "contact", "promise", "fault"]

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
            "money back",
            "free of charge",
            "for free",
        ),
        "fault": ("our fault", "we are liable", "we are responsible for", "negligen", "we admit"),
    },
    "sv": {
        "thanks": ("tack", "uppskatta"),
        "apology": ("ledsen", "ledsna", "ber om ursäkt", "beklagar", "ursäkta"),
        "contact": ("kontakta", "hör av dig", "kundtjänst", "kundservice", "skriv till oss"),
        "promise": (
            "återbetal",
            "pengarna tillbaka",
            "ersättning",
            "kompensation",
            "kompensera",
            "rabatt",
            "värdecheck",
            "presentkort",
            "kostnadsfritt",
            "gratis",
        ),
        "fault": ("vårt fel", "vi är ansvariga", "skadeståndsansvar", "vårdslös", "vi erkänner"),
    },
    "da": {
        "thanks": ("tak", "sætter pris på", "sætter stor pris på"),
        "apology": ("ked af", "kede af", "beklager", "undskyld"),
        "contact": ("kontakt", "skriv til os", "kundeservice", "henvend"),
        "promise": (
            "refusion",
            "refunder",
            "pengene tilbage",
            "kompensation",
            "kompenser",
            "erstatning",
            "rabat",
            "gavekort",
            "gratis",
        ),
        "fault": ("vores skyld", "vi er ansvarlige", "erstatningsansvar", "uagtsom", "indrømmer"),
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
            "gratis",
        ),
        "fault": ("vår feil", "vi er ansvarlige", "erstatningsansvar", "uaktsom", "innrømmer"),
    },
    "nl": {
        "thanks": ("bedankt", "dank", "bedanken", "waarder", "op prijs"),
        "apology": ("sorry", "excuses", "excuseren", "spijt", "vervelend"),
        "contact": ("contact", "klantenservice", "klantenteam", "laat het ons weten"),
        "promise": (
            "terugbetal",
            "geld terug",
            "restitutie",
            "compensatie",
            "compenseren",
            "vergoeding",
            "korting",
            "tegoedbon",
            "cadeaubon",
            "gratis",
        ),
        "fault": ("onze schuld", "aansprakelijk", "nalatig", "wij geven toe", "we geven toe"),
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
            "entschädig",
            "gutschein",
            "rabatt",
            "kostenlos",
            "gratis",
        ),
        "fault": ("unsere schuld", "unser verschulden", "haften", "haftbar", "fahrlässig"),
    },
    "fi": {
        "thanks": ("kiitos", "kiitämme", "kiittää", "arvosta"),
        "apology": ("pahoillamme", "pahoittel", "anteeksi", "ikävä"),
        "contact": ("yhteyttä", "asiakaspalvelu"),
        "promise": ("hyvity", "rahat takaisin", "korvaus", "korvaamme", "alennus", "lahjakort"),
        "fault": ("meidän syymme", "korvausvastuu", "huolimattom", "myönnämme"),
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
            "bon d'achat",
            "code promo",
            "gratuit",
            "geste commercial",
        ),
        "fault": ("notre faute", "responsabilité", "négligence", "nous reconnaissons"),
    },
    "es": {
        "thanks": ("gracias", "agradec"),
        "apology": ("sentimos", "lamentamos", "disculpa", "perdón", "lo siento"),
        "contact": ("contact", "póngase en contacto", "atención al cliente", "escríbanos"),
        "promise": (
            "reembols",
            "devolver el dinero",
            "devolución del importe",
            "compensa",
            "indemniz",
            "descuento",
            "cupón",
            "gratis",
        ),
        "fault": ("nuestra culpa", "somos responsables", "negligencia", "admitimos"),
    },
}


@functools.cache
def _pattern(language: str, phrase: Phrase) -> re.Pattern[str] | None:
    stems = PHRASES.get(language, {}).get(phrase)
    if not stems:
        return None
    # A stem starts at a word start; multi-word stems allow any run of spaces between words.
    alternatives = "|".join(r"\s+".join(map(re.escape, stem.split())) for stem in stems)
    return re.compile(rf"(?<!\w)(?:{alternatives})", re.IGNORECASE)


def says(text: str, language: str, phrase: Phrase) -> bool | None:
    """Whether ``text`` says ``phrase`` in ``language``; None when the language has no list."""
    pattern = _pattern(language, phrase)
    if pattern is None:
        return None
    return pattern.search(text) is not None
