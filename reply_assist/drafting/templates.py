"""The built-in offline drafter: natural replies from templates, used when no model is configured.

Without ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` the service still drafts, from the templates
below; such drafts are marked ``"model": "template"``. The templates follow the review
platform's advice for replies: never argue, keep it short; for a negative review apologise
personally and with empathy without going into detail, make the customer feel heard by naming
the frustration, and invite them to get in touch so it can be solved; remember that the reply is
public; thank the customer and end on a positive note.

What the templates use from a ``DraftRequest``:

* ``review.language`` picks the language. A language without templates falls back to English;
  the service's output language check then flags the draft (``wrong_language``) for the agent.
* ``review.stars`` picks the band: negative (1-2), mixed (3) or positive (4-5).
* ``variant`` (the generation number) picks the template, ``variant % len(templates)``, so that
  "Generate again" gives a different text, and the same generation always gives the same one.
* ``review.author_name`` gives the greeting's name, sanitised (see ``_greeting_name``).
* ``company.name`` and ``company.signature`` give the sign-off.

What they never use: the review's text and title are untrusted customer input and are never
copied into a reply (a reply is published under the company's name), and ``guidance`` is
ignored, because a fixed text cannot follow free-form instructions; an agent who wants the
guidance followed edits the draft or configures a model. ``brand_voice`` is ignored likewise.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterator, Mapping
from typing import Final, Literal

from reply_assist.drafting.base import ANSWERING, Completion, DraftRequest, StreamItem, Usage
from reply_assist.drafting.language import count_words, normalize_language

__all__ = [
    "FALLBACK_LANGUAGE",
    "TEMPLATES",
    "TEMPLATE_MODEL",
    "Band",
    "TemplateDrafter",
    "band_for_stars",
]

TEMPLATE_MODEL: Final = "template"
FALLBACK_LANGUAGE: Final = "en"

Band = Literal["negative", "mixed", "positive"]


class _Phrases:
    """The per-language pieces around a template: the greeting and the default sign-off."""

    __slots__ = ("generic_greeting", "named_greeting", "team_signoff")

    def __init__(self, named_greeting: str, generic_greeting: str, team_signoff: str) -> None:
        self.named_greeting = named_greeting  # "{name}" is the sanitised first name
        self.generic_greeting = generic_greeting  # when there is no usable name
        self.team_signoff = team_signoff  # "{company}" is the company's name


_PHRASES: Final[Mapping[str, _Phrases]] = {
    "en": _Phrases("Hi {name},", "Hi,", "The {company} team"),
    "sv": _Phrases("Hej {name},", "Hej,", "Teamet på {company}"),
    "da": _Phrases("Hej {name},", "Hej,", "Teamet hos {company}"),
    "no": _Phrases("Hei {name},", "Hei,", "Teamet i {company}"),
    "nl": _Phrases("Hallo {name},", "Hallo,", "Het team van {company}"),
    # German continues in lower case after a greeting that ends with a comma.
    "de": _Phrases("Hallo {name},", "Hallo,", "Ihr Team von {company}"),
    # Finnish inflects names ("Acmen tiimi"); a label after a comma needs no inflection.
    "fi": _Phrases("Hei {name},", "Hei,", "{company}, asiakaspalvelu"),
    "fr": _Phrases("Bonjour {name},", "Bonjour,", "L'équipe {company}"),
    "es": _Phrases("Hola, {name}:", "Hola:", "El equipo de {company}"),
}

# The templates: language -> band -> texts. Placeholders: {greeting} (a whole greeting line),
# {company} (the company's name) and {signoff} (the signature, or the team line above). They are
# filled with str.format_map, which does not re-read the values it inserts, so braces in a
# company name are harmless. Keep every template short, free of details, links and promises.
TEMPLATES: Final[Mapping[str, Mapping[Band, tuple[str, ...]]]] = {
    "en": {
        "negative": (
            "{greeting}\n\n"
            "Thank you for taking the time to tell us about your experience, and we're truly "
            "sorry that we let you down. It must have been frustrating, and it's not the "
            "experience we want anyone to have with {company}. Please get in touch with our "
            "customer service team so that we can put this right.\n\n"
            "Kind regards,\n{signoff}",
            "{greeting}\n\n"
            "We're very sorry to read this. We understand how disappointing it is when things "
            "don't go the way they should, and we appreciate you letting us know. If you "
            "contact our customer service, we'll do our very best to help and make things "
            "right.\n\n"
            "Best regards,\n{signoff}",
            "{greeting}\n\n"
            "Thank you for your honest feedback, and please accept our sincere apologies. We can "
            "understand why you're unhappy, and we would really like the chance to make it up "
            "to you. Please reach out to our support team so that we can look into this "
            "together.\n\n"
            "With best wishes,\n{signoff}",
        ),
        "mixed": (
            "{greeting}\n\n"
            "Thank you for your review and for sharing both the good and the not-so-good. We're "
            "glad some things worked well, and we're sorry that not everything lived up to your "
            "expectations. If you'd like to tell us more, our customer service team is always "
            "happy to help.\n\n"
            "Kind regards,\n{signoff}",
            "{greeting}\n\n"
            "Thanks for taking the time to leave a review. We're always working to improve, and "
            "feedback like yours shows us where we can do better. Please don't hesitate to "
            "contact us if there is anything we can help with.\n\n"
            "Best regards,\n{signoff}",
            "{greeting}\n\n"
            "Thank you for your feedback. We're sorry your experience with {company} wasn't "
            "everything it should have been, and we appreciate you telling us. We hope to have "
            "the chance to give you a better experience next time.\n\n"
            "Best wishes,\n{signoff}",
        ),
        "positive": (
            "{greeting}\n\n"
            "Thank you so much for your kind review! We're delighted to hear that you had a good "
            "experience with {company}, and we look forward to helping you again.\n\n"
            "Best wishes,\n{signoff}",
            "{greeting}\n\n"
            "Thanks a lot for taking the time to leave such positive feedback. It means a great "
            "deal to our whole team, and we hope to welcome you back soon!\n\n"
            "Kind regards,\n{signoff}",
            "{greeting}\n\n"
            "What a lovely review to read, thank you! We're really glad that you're happy with "
            "us. See you next time!\n\n"
            "Best regards,\n{signoff}",
        ),
    },
    "sv": {
        "negative": (
            "{greeting}\n\n"
            "Tack för att du tog dig tid att berätta om din upplevelse, och vi ber verkligen om "
            "ursäkt för att vi inte levde upp till dina förväntningar. Det måste ha varit "
            "frustrerande, och det är inte den upplevelse vi vill ge våra kunder. Kontakta "
            "gärna vår kundtjänst så att vi kan reda ut det här tillsammans.\n\n"
            "Vänliga hälsningar\n{signoff}",
            "{greeting}\n\n"
            "Det var verkligen tråkigt att läsa det här, och vi ber om ursäkt. Vi förstår att "
            "det är en besvikelse när saker inte blir som de ska, och vi uppskattar att du hör "
            "av dig. Om du kontaktar vår kundtjänst gör vi vårt bästa för att hjälpa dig och "
            "rätta till det.\n\n"
            "Med vänliga hälsningar\n{signoff}",
            "{greeting}\n\n"
            "Tack för din ärliga feedback, och vi ber uppriktigt om ursäkt. Vi förstår att du "
            "är missnöjd, och vi skulle gärna vilja få chansen att göra det bättre. Hör av dig "
            "till vår kundtjänst så tittar vi på det här tillsammans.\n\n"
            "Bästa hälsningar\n{signoff}",
        ),
        "mixed": (
            "{greeting}\n\n"
            "Tack för ditt omdöme och för att du delar med dig av både det som var bra och det "
            "som kunde ha varit bättre. Vi är glada att en del fungerade bra, och ledsna att "
            "inte allt levde upp till dina förväntningar. Vill du berätta mer är vår kundtjänst "
            "alltid redo att hjälpa till.\n\n"
            "Vänliga hälsningar\n{signoff}",
            "{greeting}\n\n"
            "Tack för att du tog dig tid att lämna ett omdöme. Vi arbetar ständigt med att bli "
            "bättre, och feedback som din visar oss var vi kan förbättra oss. Tveka inte att "
            "kontakta oss om det finns något vi kan hjälpa dig med.\n\n"
            "Med vänliga hälsningar\n{signoff}",
            "{greeting}\n\n"
            "Tack för din feedback. Vi beklagar att din upplevelse av {company} inte blev "
            "riktigt så bra som den borde, och vi uppskattar att du berättar det för oss. Vi "
            "hoppas få chansen att ge dig en bättre upplevelse nästa gång.\n\n"
            "Bästa hälsningar\n{signoff}",
        ),
        "positive": (
            "{greeting}\n\n"
            "Tusen tack för ditt fina omdöme! Vad roligt att höra att du är nöjd med {company}. "
            "Vi ser fram emot att få hjälpa dig igen.\n\n"
            "Vänliga hälsningar\n{signoff}",
            "{greeting}\n\n"
            "Stort tack för att du tog dig tid att lämna så positiv feedback. Det betyder "
            "mycket för hela teamet, och vi hoppas att vi ses snart igen!\n\n"
            "Med vänliga hälsningar\n{signoff}",
            "{greeting}\n\n"
            "Vilket härligt omdöme, tack! Vi är riktigt glada att du är nöjd med oss. "
            "Välkommen tillbaka!\n\n"
            "Bästa hälsningar\n{signoff}",
        ),
    },
    "da": {
        "negative": (
            "{greeting}\n\n"
            "Tak, fordi du tog dig tid til at fortælle om din oplevelse, og vi beklager "
            "virkelig, at vi ikke levede op til dine forventninger. Det må have været "
            "frustrerende, og det er ikke den oplevelse, vi ønsker at give vores kunder. "
            "Kontakt gerne vores kundeservice, så vi kan finde en løsning sammen.\n\n"
            "Venlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Det er vi meget kede af at læse, og vi beklager. Vi forstår godt, at det er "
            "skuffende, når tingene ikke går, som de skal, og vi sætter pris på, at du siger "
            "til. Hvis du kontakter vores kundeservice, gør vi vores bedste for at hjælpe dig "
            "og få det rettet op.\n\n"
            "Med venlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Tak for din ærlige feedback, og undskyld for den oplevelse, du har haft. Vi kan "
            "godt forstå, at du er utilfreds, og vi vil meget gerne have chancen for at gøre "
            "det godt igen. Skriv endelig til vores kundeservice, så kigger vi på det sammen.\n\n"
            "Bedste hilsner\n{signoff}",
        ),
        "mixed": (
            "{greeting}\n\n"
            "Tak for din anmeldelse, og fordi du deler både det gode og det, der kunne have "
            "været bedre. Vi er glade for, at noget fungerede godt, og kede af, at ikke alt "
            "levede op til dine forventninger. Hvis du vil fortælle mere, står vores "
            "kundeservice altid klar til at hjælpe.\n\n"
            "Venlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Tak, fordi du tog dig tid til at skrive en anmeldelse. Vi arbejder hele tiden på "
            "at blive bedre, og feedback som din viser os, hvor vi kan forbedre os. Tøv ikke "
            "med at kontakte os, hvis der er noget, vi kan hjælpe med.\n\n"
            "Med venlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Tak for din feedback. Vi beklager, at din oplevelse med {company} ikke helt var, "
            "som den burde have været, og vi sætter pris på, at du fortæller os det. Vi håber "
            "at få chancen for at give dig en bedre oplevelse næste gang.\n\n"
            "Bedste hilsner\n{signoff}",
        ),
        "positive": (
            "{greeting}\n\n"
            "Tusind tak for din flotte anmeldelse! Hvor er det dejligt at høre, at du er "
            "tilfreds med {company}. Vi glæder os til at hjælpe dig igen.\n\n"
            "Venlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Mange tak, fordi du tog dig tid til at give så positiv feedback. Det betyder "
            "meget for hele teamet, og vi håber at se dig igen snart!\n\n"
            "Med venlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Sikke en dejlig anmeldelse, tak! Vi er rigtig glade for, at du er tilfreds med "
            "os. Du er altid velkommen tilbage!\n\n"
            "Bedste hilsner\n{signoff}",
        ),
    },
    "no": {
        "negative": (
            "{greeting}\n\n"
            "Takk for at du tok deg tid til å fortelle om opplevelsen din, og vi beklager "
            "virkelig at vi ikke levde opp til forventningene dine. Det må ha vært "
            "frustrerende, og det er ikke den opplevelsen vi ønsker å gi kundene våre. Ta "
            "gjerne kontakt med kundeservice, så finner vi en løsning sammen.\n\n"
            "Vennlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Dette var veldig leit å lese, og vi beklager. Vi forstår godt at det er "
            "skuffende når ting ikke går som de skal, og vi setter pris på at du sier fra. "
            "Hvis du kontakter kundeservice, skal vi gjøre vårt beste for å hjelpe deg og "
            "rette opp i dette.\n\n"
            "Med vennlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Takk for en ærlig tilbakemelding, og beklager opplevelsen du har hatt. Vi "
            "skjønner godt at du er misfornøyd, og vi vil gjerne få sjansen til å gjøre det "
            "godt igjen. Send oss gjerne en melding via kundeservice, så ser vi på dette "
            "sammen.\n\n"
            "Beste hilsen\n{signoff}",
        ),
        "mixed": (
            "{greeting}\n\n"
            "Takk for anmeldelsen, og for at du deler både det som var bra og det som kunne "
            "vært bedre. Vi er glade for at noe fungerte godt, og lei oss for at ikke alt "
            "levde opp til forventningene dine. Vil du fortelle mer, står kundeservice alltid "
            "klar til å hjelpe.\n\n"
            "Vennlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Takk for at du tok deg tid til å skrive en anmeldelse. Vi jobber hele tiden med å "
            "bli bedre, og tilbakemeldinger som din viser oss hvor vi kan forbedre oss. Ikke "
            "nøl med å kontakte oss hvis det er noe vi kan hjelpe deg med.\n\n"
            "Med vennlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Takk for tilbakemeldingen. Vi beklager at opplevelsen din med {company} ikke helt "
            "var som den burde ha vært, og vi setter pris på at du forteller oss det. Vi håper "
            "å få sjansen til å gi deg en bedre opplevelse neste gang.\n\n"
            "Beste hilsen\n{signoff}",
        ),
        "positive": (
            "{greeting}\n\n"
            "Tusen takk for den fine anmeldelsen! Så hyggelig å høre at du er fornøyd med "
            "{company}. Vi gleder oss til å hjelpe deg igjen.\n\n"
            "Vennlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Mange takk for at du tok deg tid til å gi oss så positiv tilbakemelding. Det "
            "betyr mye for hele teamet, og vi håper å se deg igjen snart!\n\n"
            "Med vennlig hilsen\n{signoff}",
            "{greeting}\n\n"
            "Så hyggelig å lese anmeldelsen din, tusen takk! Det gleder oss veldig at du er "
            "fornøyd med oss. Velkommen tilbake!\n\n"
            "Beste hilsen\n{signoff}",
        ),
    },
    "nl": {
        "negative": (
            "{greeting}\n\n"
            "Bedankt dat je de tijd hebt genomen om je ervaring te delen, en onze oprechte "
            "excuses dat we niet aan je verwachtingen hebben voldaan. Dat moet frustrerend zijn "
            "geweest, en zo'n ervaring willen we niemand bezorgen. Neem gerust contact op met "
            "onze klantenservice, dan zoeken we samen naar een oplossing.\n\n"
            "Met vriendelijke groet,\n{signoff}",
            "{greeting}\n\n"
            "Wat vervelend om dit te lezen, en het spijt ons echt. We begrijpen goed dat het "
            "teleurstellend is als iets niet loopt zoals het hoort, en we waarderen het dat je "
            "het ons laat weten. Als je contact opneemt met onze klantenservice, doen we ons "
            "best om je te helpen en het recht te zetten.\n\n"
            "Met vriendelijke groet,\n{signoff}",
            "{greeting}\n\n"
            "Dank je wel voor je eerlijke feedback, en het spijt ons dat je deze ervaring hebt "
            "gehad. We begrijpen dat je ontevreden bent, en we krijgen graag de kans om het "
            "goed te maken. Stuur onze klantenservice gerust een bericht, dan kijken we er "
            "samen naar.\n\n"
            "Hartelijke groet,\n{signoff}",
        ),
        "mixed": (
            "{greeting}\n\n"
            "Bedankt voor je review en dat je zowel de goede als de minder goede punten deelt. "
            "Fijn dat een deel goed ging, en jammer dat niet alles aan je verwachtingen "
            "voldeed. Wil je ons er meer over vertellen? Onze klantenservice helpt je graag "
            "verder.\n\n"
            "Met vriendelijke groet,\n{signoff}",
            "{greeting}\n\n"
            "Bedankt dat je de tijd hebt genomen om een review te schrijven. We werken continu "
            "aan verbetering, en feedback zoals die van jou laat ons zien waar het beter kan. "
            "Aarzel niet om contact met ons op te nemen als we je ergens mee kunnen helpen.\n\n"
            "Met vriendelijke groet,\n{signoff}",
            "{greeting}\n\n"
            "Bedankt voor je feedback. Het spijt ons dat je ervaring met {company} niet helemaal "
            "was zoals die had moeten zijn, en we waarderen het dat je het ons laat weten. We "
            "hopen je de volgende keer een betere ervaring te kunnen bieden.\n\n"
            "Hartelijke groet,\n{signoff}",
        ),
        "positive": (
            "{greeting}\n\n"
            "Hartelijk bedankt voor je mooie review! Wat fijn om te horen dat je tevreden bent "
            "over {company}. We helpen je de volgende keer graag weer.\n\n"
            "Met vriendelijke groet,\n{signoff}",
            "{greeting}\n\n"
            "Heel erg bedankt dat je de tijd hebt genomen om zulke positieve feedback te geven. "
            "Dat betekent veel voor ons hele team, en we hopen je snel weer te zien!\n\n"
            "Met vriendelijke groet,\n{signoff}",
            "{greeting}\n\n"
            "Wat een leuke review, dank je wel! We zijn echt blij dat je tevreden over ons "
            "bent. Tot de volgende keer!\n\n"
            "Hartelijke groet,\n{signoff}",
        ),
    },
    "de": {
        "negative": (
            "{greeting}\n\n"
            "vielen Dank, dass Sie sich die Zeit genommen haben, uns von Ihrer Erfahrung zu "
            "berichten, und es tut uns wirklich leid, dass wir Ihre Erwartungen nicht erfüllt "
            "haben. Das muss sehr ärgerlich gewesen sein, und so eine Erfahrung möchten wir "
            "niemandem bereiten. Bitte wenden Sie sich an unseren Kundenservice, damit wir "
            "gemeinsam eine Lösung finden können.\n\n"
            "Freundliche Grüße\n{signoff}",
            "{greeting}\n\n"
            "es tut uns sehr leid, das zu lesen. Wir verstehen gut, wie enttäuschend es ist, "
            "wenn etwas nicht so läuft, wie es sollte, und wir schätzen es, dass Sie uns "
            "Bescheid geben. Wenn Sie unseren Kundenservice kontaktieren, tun wir unser Bestes, "
            "um Ihnen zu helfen und die Sache in Ordnung zu bringen.\n\n"
            "Viele Grüße\n{signoff}",
            "{greeting}\n\n"
            "danke für Ihr ehrliches Feedback, und bitte entschuldigen Sie die Erfahrung, die "
            "Sie mit uns gemacht haben. Wir können gut verstehen, dass Sie unzufrieden sind, "
            "und würden gerne die Gelegenheit bekommen, es wiedergutzumachen. Schreiben Sie "
            "unserem Kundenservice gerne eine Nachricht, dann schauen wir uns das gemeinsam "
            "an.\n\n"
            "Beste Grüße\n{signoff}",
        ),
        "mixed": (
            "{greeting}\n\n"
            "vielen Dank für Ihre Bewertung und dafür, dass Sie sowohl das Positive als auch "
            "das weniger Positive mit uns teilen. Es freut uns, dass einiges gut geklappt hat, "
            "und es tut uns leid, dass nicht alles Ihren Erwartungen entsprochen hat. Wenn Sie "
            "uns mehr erzählen möchten, hilft Ihnen unser Kundenservice gerne weiter.\n\n"
            "Freundliche Grüße\n{signoff}",
            "{greeting}\n\n"
            "danke, dass Sie sich die Zeit für eine Bewertung genommen haben. Wir arbeiten "
            "ständig daran, besser zu werden, und Feedback wie Ihres zeigt uns, wo wir uns "
            "verbessern können. Melden Sie sich gerne bei uns, wenn wir Ihnen bei etwas helfen "
            "können.\n\n"
            "Viele Grüße\n{signoff}",
            "{greeting}\n\n"
            "vielen Dank für Ihr Feedback. Es tut uns leid, dass Ihre Erfahrung mit {company} "
            "nicht ganz so war, wie sie hätte sein sollen, und wir wissen es zu schätzen, dass "
            "Sie uns davon berichten. Wir hoffen, Ihnen beim nächsten Mal ein besseres Erlebnis "
            "bieten zu können.\n\n"
            "Beste Grüße\n{signoff}",
        ),
        "positive": (
            "{greeting}\n\n"
            "herzlichen Dank für Ihre tolle Bewertung! Es freut uns sehr zu hören, dass Sie mit "
            "{company} zufrieden sind. Wir freuen uns darauf, Ihnen wieder weiterzuhelfen.\n\n"
            "Freundliche Grüße\n{signoff}",
            "{greeting}\n\n"
            "vielen Dank, dass Sie sich die Zeit für so ein positives Feedback genommen haben. "
            "Das bedeutet unserem ganzen Team sehr viel, und wir hoffen, Sie bald wieder bei "
            "uns begrüßen zu dürfen!\n\n"
            "Viele Grüße\n{signoff}",
            "{greeting}\n\n"
            "was für eine schöne Bewertung, danke! Wir freuen uns wirklich, dass Sie mit uns "
            "zufrieden sind. Bis zum nächsten Mal!\n\n"
            "Beste Grüße\n{signoff}",
        ),
    },
    "fi": {
        # The Finnish texts avoid inflecting the company's name, which a template cannot do.
        "negative": (
            "{greeting}\n\n"
            "Kiitos, että kerroit kokemuksestasi, ja pahoittelemme todella, ettemme vastanneet "
            "odotuksiisi. Se on varmasti ollut turhauttavaa, emmekä halua kenenkään "
            "asiakkaamme kokevan sellaista. Otathan yhteyttä asiakaspalveluumme, niin "
            "selvitämme asian yhdessä.\n\n"
            "Ystävällisin terveisin\n{signoff}",
            "{greeting}\n\n"
            "Olemme todella pahoillamme tästä. Ymmärrämme hyvin, miten harmillista on, kun "
            "asiat eivät mene niin kuin pitäisi, ja arvostamme, että kerroit asiasta meille. "
            "Jos otat yhteyttä asiakaspalveluumme, teemme parhaamme auttaaksemme sinua ja "
            "korjataksemme tilanteen.\n\n"
            "Terveisin\n{signoff}",
            "{greeting}\n\n"
            "Kiitos rehellisestä palautteestasi, ja pahoittelemme kokemustasi vilpittömästi. "
            "Ymmärrämme hyvin, että olet tyytymätön, ja haluaisimme mielellämme mahdollisuuden "
            "korjata asian. Laitathan viestiä asiakaspalveluumme, niin katsomme asiaa "
            "yhdessä.\n\n"
            "Parhain terveisin\n{signoff}",
        ),
        "mixed": (
            "{greeting}\n\n"
            "Kiitos arvostelustasi ja siitä, että kerroit sekä hyvistä että huonommista "
            "puolista. Olemme iloisia, että osa asioista sujui hyvin, ja pahoillamme, ettei "
            "kaikki vastannut odotuksiasi. Jos haluat kertoa lisää, asiakaspalvelumme auttaa "
            "mielellään.\n\n"
            "Ystävällisin terveisin\n{signoff}",
            "{greeting}\n\n"
            "Kiitos, että käytit aikaa arvostelun kirjoittamiseen. Kehitämme toimintaamme "
            "jatkuvasti, ja tällainen palaute auttaa meitä näkemään, missä voimme vielä "
            "parantaa. Otathan rohkeasti yhteyttä, jos voimme auttaa jossakin.\n\n"
            "Terveisin\n{signoff}",
            "{greeting}\n\n"
            "Kiitos palautteestasi. Pahoittelemme, ettei kokemuksesi ollut aivan sellainen kuin "
            "sen olisi pitänyt olla, ja arvostamme, että kerroit siitä meille. Toivomme, että "
            "saamme ensi kerralla tarjota sinulle paremman kokemuksen.\n\n"
            "Parhain terveisin\n{signoff}",
        ),
        "positive": (
            "{greeting}\n\n"
            "Lämmin kiitos mukavasta arvostelustasi! On ilo kuulla, että olet ollut "
            "tyytyväinen. Autamme sinua mielellämme myös jatkossa.\n\n"
            "Ystävällisin terveisin\n{signoff}",
            "{greeting}\n\n"
            "Kiitos paljon, että käytit aikaa näin positiivisen palautteen antamiseen. Se "
            "merkitsee paljon koko tiimillemme, ja toivomme näkevämme sinut pian uudelleen!\n\n"
            "Terveisin\n{signoff}",
            "{greeting}\n\n"
            "Ihana arvostelu, kiitos! Olemme todella iloisia, että olet tyytyväinen meihin. "
            "Tervetuloa uudelleen!\n\n"
            "Parhain terveisin\n{signoff}",
        ),
    },
    "fr": {
        # French puts a no-break space before "!" and "?".
        "negative": (
            "{greeting}\n\n"
            "Merci d'avoir pris le temps de partager votre expérience, et toutes nos excuses de "
            "ne pas avoir été à la hauteur de vos attentes. Cela a dû être très frustrant, et "
            "ce n'est pas l'expérience que nous souhaitons offrir à nos clients. N'hésitez pas "
            "à contacter notre service client afin que nous puissions trouver une solution "
            "ensemble.\n\n"
            "Bien cordialement,\n{signoff}",
            "{greeting}\n\n"
            "Nous sommes sincèrement désolés de lire cela. Nous comprenons à quel point il est "
            "décevant que les choses ne se passent pas comme prévu, et nous vous remercions de "
            "nous l'avoir signalé. Si vous contactez notre service client, nous ferons tout "
            "notre possible pour vous aider et arranger la situation.\n\n"
            "Cordialement,\n{signoff}",
            "{greeting}\n\n"
            "Merci pour votre retour sincère, et veuillez accepter nos excuses pour cette "
            "expérience. Nous comprenons tout à fait votre mécontentement, et nous aimerions "
            "beaucoup avoir l'occasion de nous rattraper. Écrivez à notre service client, et "
            "nous examinerons la situation ensemble.\n\n"
            "Bien à vous,\n{signoff}",
        ),
        "mixed": (
            "{greeting}\n\n"
            "Merci pour votre avis et d'avoir partagé aussi bien les points positifs que ceux "
            "à améliorer. Nous sommes ravis que certaines choses vous aient plu, et désolés que "
            "tout n'ait pas été à la hauteur de vos attentes. Si vous souhaitez nous en dire "
            "plus, notre service client se fera un plaisir de vous aider.\n\n"
            "Bien cordialement,\n{signoff}",
            "{greeting}\n\n"
            "Merci d'avoir pris le temps de laisser un avis. Nous cherchons constamment à nous "
            "améliorer, et des retours comme le vôtre nous montrent où nous pouvons faire "
            "mieux. N'hésitez pas à nous contacter si nous pouvons vous aider.\n\n"
            "Cordialement,\n{signoff}",
            "{greeting}\n\n"
            "Merci pour votre retour. Nous regrettons que votre expérience avec {company} n'ait "
            "pas été tout à fait à la hauteur, et nous vous remercions de nous en avoir fait "
            "part. Nous espérons avoir l'occasion de vous offrir une meilleure expérience la "
            "prochaine fois.\n\n"
            "Bien à vous,\n{signoff}",
        ),
        "positive": (
            "{greeting}\n\n"
            "Un grand merci pour votre avis si positif\u00a0! Nous sommes ravis d'apprendre que "
            "votre expérience avec {company} vous a plu. Au plaisir de vous retrouver "
            "bientôt.\n\n"
            "Bien cordialement,\n{signoff}",
            "{greeting}\n\n"
            "Merci beaucoup d'avoir pris le temps de nous laisser un si bel avis. Cela compte "
            "énormément pour toute notre équipe, et nous espérons vous revoir très "
            "bientôt\u00a0!\n\n"
            "Cordialement,\n{signoff}",
            "{greeting}\n\n"
            "Quel plaisir de lire votre avis, merci\u00a0! Nous sommes vraiment heureux que "
            "votre expérience avec nous vous ait plu. À très bientôt\u00a0!\n\n"
            "Bien à vous,\n{signoff}",
        ),
    },
    "es": {
        # Usted: the safe register for a public reply across Spain and Latin America.
        "negative": (
            "{greeting}\n\n"
            "Gracias por tomarse el tiempo de contarnos su experiencia, y lamentamos de verdad "
            "no haber estado a la altura de sus expectativas. Imaginamos lo frustrante que ha "
            "tenido que ser, y no es la experiencia que queremos ofrecer a nuestros clientes. "
            "Le invitamos a ponerse en contacto con nuestro servicio de atención al cliente "
            "para que podamos encontrar una solución juntos.\n\n"
            "Un saludo,\n{signoff}",
            "{greeting}\n\n"
            "Sentimos mucho leer esto. Comprendemos lo decepcionante que es cuando las cosas no "
            "salen como deberían, y le agradecemos que nos lo haya hecho saber. Si se pone en "
            "contacto con nuestro servicio de atención al cliente, haremos todo lo posible por "
            "ayudarle y solucionarlo.\n\n"
            "Saludos cordiales,\n{signoff}",
            "{greeting}\n\n"
            "Gracias por su opinión sincera, y le pedimos disculpas por la experiencia que ha "
            "tenido. Entendemos perfectamente su descontento y nos gustaría tener la "
            "oportunidad de compensarle. Escríbanos a través de nuestro servicio de atención al "
            "cliente y lo revisaremos juntos.\n\n"
            "Atentamente,\n{signoff}",
        ),
        "mixed": (
            "{greeting}\n\n"
            "Gracias por su reseña y por compartir tanto lo bueno como lo que se podría "
            "mejorar. Nos alegra que algunas cosas hayan ido bien, y lamentamos que no todo "
            "haya estado a la altura de sus expectativas. Si desea contarnos más, nuestro "
            "equipo de atención al cliente estará encantado de ayudarle.\n\n"
            "Un saludo,\n{signoff}",
            "{greeting}\n\n"
            "Gracias por tomarse el tiempo de dejar una reseña. Trabajamos constantemente para "
            "mejorar, y comentarios como el suyo nos muestran en qué podemos hacerlo mejor. No "
            "dude en ponerse en contacto con nosotros si podemos ayudarle en algo.\n\n"
            "Saludos cordiales,\n{signoff}",
            "{greeting}\n\n"
            "Gracias por sus comentarios. Lamentamos que su experiencia con {company} no haya "
            "sido del todo como debería, y le agradecemos que nos lo cuente. Esperamos tener la "
            "oportunidad de ofrecerle una mejor experiencia la próxima vez.\n\n"
            "Atentamente,\n{signoff}",
        ),
        "positive": (
            "{greeting}\n\n"
            "¡Muchas gracias por su reseña tan positiva! Nos alegra mucho saber que ha tenido "
            "una buena experiencia con {company}. Esperamos volver a atenderle pronto.\n\n"
            "Un saludo,\n{signoff}",
            "{greeting}\n\n"
            "Mil gracias por tomarse el tiempo de dejarnos una opinión tan bonita. Significa "
            "mucho para todo nuestro equipo, ¡y esperamos verle de nuevo muy pronto!\n\n"
            "Saludos cordiales,\n{signoff}",
            "{greeting}\n\n"
            "¡Qué alegría leer su reseña, gracias! Nos hace muy felices que su experiencia con "
            "nosotros haya sido buena. ¡Hasta la próxima!\n\n"
            "Un saludo,\n{signoff}",
        ),
    },
}


def band_for_stars(stars: int) -> Band:
    """The template band of a star rating: negative (1-2), mixed (3) or positive (4-5).

    Out-of-range values (the API refuses them, but a drafter should not crash) are clamped.
    """
    if stars <= 2:
        return "negative"
    if stars == 3:
        return "mixed"
    return "positive"


# --------------------------------------------------------------------------------------------
# The greeting's name
# --------------------------------------------------------------------------------------------

_MAX_NAME_CHARS: Final = 40
_MAX_RAW_NAME_CHARS: Final = 400  # bounds the work on a hostile author_name
# Script and style blocks go with their content: "<script>alert(1)</script>" is not a name.
_SCRIPT_RE: Final = re.compile(r"(?is)<(script|style)\b.*?(?:</\1\s*>|$)")
_TAG_RE: Final = re.compile(r"<[^>]*>?")
# Tokens that look like a URL, an address, a domain or code rather than a part of a name.
_URLISH_RE: Final = re.compile(
    r"\S*(?:[:/\\@=&?#%{}\[\]`|]|www\.|[^\W\d_]{2,}\.[^\W\d_]{2,})\S*", re.IGNORECASE
)
_NAME_PUNCTUATION: Final = frozenset(" '’-.")
_EDGE_PUNCTUATION: Final = "-'’."
# Titles that would make a poor first name on their own ("Hi Mr," ): greet the full name.
_TITLES: Final = frozenset(
    {"mr", "mrs", "ms", "miss", "dr", "herr", "frau", "fru", "hr", "dhr", "mevr", "mevrouw"}
    | {"meneer", "m", "mme", "mlle", "monsieur", "madame", "sr", "sra", "srta", "don", "doña"}
)


def _trim_name_word(word: str) -> str:
    """Strip punctuation from a name's word, but keep the period of an initial ("J.")."""
    word = word.strip(_EDGE_PUNCTUATION)
    if len(word) == 1 and word.isalpha():
        return f"{word}."
    return word


def _greeting_name(author_name: str | None) -> str | None:
    """The name to greet the reviewer with, or None to use the generic greeting.

    The author name is chosen by the reviewer, so it is untrusted and will be published in the
    company's reply. Only its first line is used; markup, URL-like tokens, control and format
    characters (bidi overrides included), digits and symbols are removed; what remains must hold
    a letter. The reply greets the first name ("Erik Svensson" -> "Erik") unless that is a title
    or an initial, and the result is at most 40 characters.
    """
    if not author_name:
        return None
    raw = unicodedata.normalize("NFC", author_name[:_MAX_RAW_NAME_CHARS])
    lines = [line for line in raw.splitlines() if line.strip()]
    if not lines:
        return None
    text = _SCRIPT_RE.sub(" ", lines[0])
    text = _TAG_RE.sub(" ", text)
    text = _URLISH_RE.sub(" ", text)
    kept = "".join(
        ch if ch in _NAME_PUNCTUATION or unicodedata.category(ch)[0] in "LM" else " " for ch in text
    )
    words = [_trim_name_word(word) for word in kept.split()]
    words = [word for word in words if any(ch.isalpha() for ch in word)]
    if not words:
        return None
    first = words[0]
    if first.casefold() in _TITLES or (len(first) <= 2 and first.endswith(".")):
        name = ""
        for word in words:  # the whole name, cut at a word boundary
            candidate = f"{name} {word}".strip()
            if len(candidate) > _MAX_NAME_CHARS:
                break
            name = candidate
        if name == first:  # nothing but the title or initial fits: too little to greet
            return None
    else:
        name = first
    if not name or len(name) > _MAX_NAME_CHARS:
        return None
    if name.islower():  # "erik" -> "Erik"; leave deliberate casing ("McDonald", "de") alone
        name = name[0].upper() + name[1:]
    return name


# --------------------------------------------------------------------------------------------
# Rendering and the drafter
# --------------------------------------------------------------------------------------------

_CHUNK_RE: Final = re.compile(r"\S+\s*|\s+")


def _render(request: DraftRequest) -> str:
    """The reply for ``request``: language, band and variant choose the template."""
    language = normalize_language(request.review.language)
    if language not in TEMPLATES:
        language = FALLBACK_LANGUAGE
    phrases = _PHRASES[language]
    choices = TEMPLATES[language][band_for_stars(request.review.stars)]
    template = choices[request.variant % len(choices)]

    company = request.company.name.strip()
    name = _greeting_name(request.review.author_name)
    greeting = (
        phrases.named_greeting.format_map({"name": name}) if name else phrases.generic_greeting
    )
    signature = (request.company.signature or "").strip()
    signoff = signature or phrases.team_signoff.format_map({"company": company})
    return template.format_map({"greeting": greeting, "company": company, "signoff": signoff})


class TemplateDrafter:
    """Drafts from the built-in templates; needs no model, network or state.

    It implements ``base.Drafter``. Its usage reports no prompt tokens (no prompt is sent) and
    the reply's word count as completion tokens, as the closest honest figure.
    """

    @property
    def kind(self) -> str:
        """Always ``"template"`` (shown in ``/readyz``)."""
        return TEMPLATE_MODEL

    async def complete(self, request: DraftRequest) -> Completion:
        """The whole reply at once."""
        text = _render(request)
        return Completion(
            text=text,
            model=TEMPLATE_MODEL,
            usage=Usage(prompt_tokens=0, completion_tokens=count_words(text)),
        )

    async def stream(self, request: DraftRequest) -> AsyncIterator[StreamItem]:
        """The reply in word-sized deltas, then the same ``Completion`` that ``complete`` gives.

        Streaming a template is not needed for speed, but it lets clients exercise exactly the
        code path they use with a model. The deltas join to exactly the completion's text.
        """
        completion = await self.complete(request)
        yield ANSWERING
        for chunk in _CHUNK_RE.findall(completion.text):
            yield chunk
            await asyncio.sleep(0)  # let other tasks run, as a real stream would
        yield completion

    async def probe(self) -> str | None:
        """Always usable."""
        return None

    async def aclose(self) -> None:
        """Nothing to release."""
