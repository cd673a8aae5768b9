"""``eval --history``: greeting, sign-off, formality and length, each measured and reported on
its own against the company's published replies, for the templates and for a model."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from reply_assist.cli import main as cli_main
from reply_assist.eval.style_match import (
    FORMAL,
    INFORMAL,
    PublishedReply,
    address_of,
    greeting_of,
    learn_style,
    match_style,
    sign_off_of,
)
from tests.unit.eval.eval_helpers import LLM, completion, report, request_facts

HISTORY = Path(__file__).parents[3] / "reply_assist" / "eval" / "data" / "history-nordhavn.jsonl"
MEASURES = ("greeting", "sign_off", "formality", "length")


@pytest.mark.parametrize(
    ("text", "name", "greeting"),
    [
        ("Dear Sarah,\n\nThank you.", "Sarah Thompson", "dear ‹name›"),
        ("Dear Sarah Thompson,\n\nThank you.", "Sarah Thompson", "dear ‹name›"),
        ("Hi,\n\nThank you.", "Sarah Thompson", "hi"),
        ("Hola, Ana:\n\nGracias.", "Ana García", "hola ‹name›"),
        ("¡Hola, Ana! Gracias por todo.", "Ana García", "hola ‹name›"),
        ("Guten Tag Herr Müller,\n\nvielen Dank.", "Hans Müller", "guten tag herr ‹name›"),
        ("Hi Erik, thank you for taking the time.", "Erik", "hi ‹name›"),
        ("Thank you so much for your kind review, Erik.", "Erik", ""),
        ("", None, ""),
    ],
)
def test_the_greeting_is_its_words_with_the_readers_name_as_a_slot(
    text: str, name: str | None, greeting: str
) -> None:
    assert greeting_of(text, name) == greeting


@pytest.mark.parametrize(
    ("text", "sign_off"),
    [
        (
            "Dear Kate,\n\nThank you.\n\nWarm wishes from the fjords,\nMaja, Nordhavn Outdoor",
            "warm wishes from the fjords maja nordhavn outdoor",
        ),
        ("Hi Erik, thanks. We hope to see you soon. Warm regards, Anna", "warm regards anna"),
        ("Hej,\n\nTack!\n\nHa det fint!\nMaja", "ha det fint maja"),
        # A short last sentence of the body is not a closing.
        ("Hi,\n\nWe hope to see you soon.\nMaja", "maja"),
        ("Thank you for the review.", ""),
    ],
)
def test_the_sign_off_is_the_closing_and_signature(text: str, sign_off: str) -> None:
    assert sign_off_of(text) == sign_off


@pytest.mark.parametrize(
    ("language", "text", "address"),
    [
        ("sv", "Tack för att du skrev till oss.", INFORMAL),
        ("sv", "Tack för att ni skrev till oss, vi hjälper er gärna.", FORMAL),
        ("nl", "Bedankt dat je ons schreef.", INFORMAL),
        ("nl", "Bedankt dat u ons schreef, wij helpen uw bestelling.", FORMAL),
        ("de", "Danke, dass du uns geschrieben hast.", INFORMAL),
        ("de", "Danke, dass Sie uns geschrieben haben.", FORMAL),
        ("de", "Unsere Kunden sagen, sie kommen gern wieder.", None),  # sie: they
        ("fr", "Merci, tu nous as fait plaisir.", INFORMAL),
        ("fr", "Merci pour votre avis, vous nous aidez.", FORMAL),
        ("es", "Gracias, tú nos ayudas mucho.", INFORMAL),
        ("es", "Gracias por su reseña; usted nos ayuda. Queremos ayudarle.", FORMAL),
        ("es", "Queremos ayudarte con tu pedido.", INFORMAL),
        ("da", "Tak fordi du skrev.", INFORMAL),
        ("da", "Vi håber, De vil handle igen.", FORMAL),
        ("da", "Tak.\n\nDe bedste hilsner\nMaja", None),  # De opening a line: "the"
        ("en", "Thank you, we hope you come back.", None),  # English has no such choice
        ("sv", "Tack för recensionen.", None),  # addresses nobody
    ],
)
def test_formality_by_the_words_that_address_the_reader(
    language: str, text: str, address: str | None
) -> None:
    assert address_of(text, language) == address


def test_a_draft_is_held_to_each_measure_apart() -> None:
    style = learn_style(
        "sv",
        [
            PublishedReply(
                "sv",
                1,
                "Bästa Erik,\n\nTack för att du skrev. "
                + "ord " * 30
                + "\n\nVarma hälsningar,\nMaja",
                "Erik",
            ),
            PublishedReply(
                "sv", 5, "Bästa Eva,\n\nTack, du är snäll.\n\nVarma hälsningar,\nMaja", "Eva"
            ),
        ],
    )
    assert style.greeting_for("Ola Nord") == "bästa ‹name›"
    assert style.greeting_for(None) == "bästa"  # never wrote to a nameless reader
    assert style.sign_off == "varma hälsningar maja" and style.address == INFORMAL
    # Right greeting and sign-off (on one line), formal where the company says du, too long.
    draft = "Bästa Ola,\n\nTack för att ni skrev. " + "ord " * 80 + "Varma hälsningar, Maja"
    matched = match_style(draft, style, stars=1, reader_name="Ola Nord")
    assert matched.greeting and matched.sign_off
    assert matched.formality is False and matched.length is False
    short = "Hej Ola, tack för att du skrev. " + "ord " * 30 + "\n\nMvh\nMaja"
    matched = match_style(short, style, stars=1, reader_name="Ola Nord")
    assert not matched.greeting and not matched.sign_off
    assert matched.formality and matched.length


def test_the_templates_against_the_companys_replies(tmp_path: Path) -> None:
    """The built-in templates greet as the company does in English and German, never in
    Swedish; never sign off as it does; address the reader as the brand voice says; and write
    longer."""
    code = cli_main(
        [
            *("eval", "--history", str(HISTORY), "--languages", "en,sv,de"),
            *("--sample", "18", "--out", str(tmp_path), "--quiet"),
        ]
    )
    assert code == 0
    voice = report(tmp_path)["voice"]
    assert voice["company"]["sv"]["greeting"] == "bästa ‹name›"
    assert voice["company"]["sv"]["formality"] == "informal"
    assert voice["company"]["de"]["formality"] == "formal"
    assert voice["company"]["en"]["formality"] is None
    for arm in ("reply-v2", "reply-v2+examples"):  # the templates cannot use examples
        rows = voice["arms"][arm]["by_language"]
        assert {lang: rows[lang]["greeting"]["match"] for lang in rows} == {
            "en": 1.0,
            "de": 1.0,
            "sv": 0.0,
        }
        assert rows["sv"]["greeting"]["drafts_usually"] == "hej ‹name›"
        assert all(rows[lang]["sign_off"]["match"] == 0.0 for lang in rows)
        assert rows["en"]["formality"] == {
            "match": None,
            "matched": 0,
            "of": 0,
            "drafts_usually": None,
        }
        # Without a style profile the templates address the reader as the brand voice says
        # ("professional": formal), which is the company's Sie in German but not its du in Swedish.
        assert rows["sv"]["formality"]["match"] == 0.0 and rows["de"]["formality"]["match"] == 1.0
        assert rows["sv"]["formality"]["drafts_usually"] == "formal"
        assert all(rows[lang]["length"]["ratio"] > 1.1 for lang in rows)
        assert voice["arms"][arm]["all"]["drafts"] == 18
        assert "overall" not in voice["arms"][arm]["all"]


def test_a_model_that_follows_examples_only_on_greeting_and_sign_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mocked model that takes the company's greeting and sign-off from examples, but says
    "ni" in Swedish (the company says "du") and writes twice as long: each measure moves or
    stays on its own, and the examples reach the prompt without the reviewers' names."""
    prompts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        facts = request_facts(request)
        prompts.append(json.loads(request.content)["messages"][1]["content"])
        first = (facts["name"] or "").split()[0]
        language = facts["language"]
        if facts["examples"]:
            greeting, closing = {
                "en": ("Dear", "Warm wishes from the fjords,"),
                "sv": ("Bästa", "Varma hälsningar från fjällen,"),
                "de": ("Guten Tag", "Herzliche Grüße aus dem Norden,"),
            }[language]
        else:
            greeting, closing = {"en": "Hi", "sv": "Hej", "de": "Hallo"}[language], "Regards,"
        body = {
            "en": "Thank you for writing to us, we are glad you did.",
            "sv": "Tack för att ni skrev till oss, vi hjälper er gärna.",
            "de": "Danke, dass Sie uns geschrieben haben, wir helfen Ihnen gern.",
        }[language]
        text = f"{greeting} {first},\n\n{' '.join([body] * 8)}\n\n{closing}\nMaja, Nordhavn Outdoor"
        return httpx.Response(200, json=completion(text))

    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(side_effect=answer)
        code = cli_main(
            [
                *("eval", "--base-url", LLM, "--model", "m", "--history", str(HISTORY)),
                *("--languages", "en,sv,de", "--sample", "12", "--no-cache"),
                *("--out", str(tmp_path), "--quiet"),
            ]
        )
    assert code == 0
    arms = report(tmp_path)["voice"]["arms"]
    plain, shown = arms["reply-v2"]["by_language"], arms["reply-v2+examples"]["by_language"]
    for rows, expected in ((plain, 0.0), (shown, 1.0)):
        for language in ("en", "sv", "de"):
            assert rows[language]["greeting"]["match"] == expected
            assert rows[language]["sign_off"]["match"] == expected
            assert rows[language]["length"]["match"] == 0.0
            assert rows[language]["length"]["ratio"] > 2
        assert rows["sv"]["formality"]["match"] == 0.0
        assert rows["sv"]["formality"]["drafts_usually"] == "formal"
        assert rows["de"]["formality"]["match"] == 1.0
        assert rows["en"]["formality"]["match"] is None
    terminal = capsys.readouterr().out
    assert "Drafts that match the company's published replies" in terminal
    md = (tmp_path / "eval-report.md").read_text("utf-8")
    # The arms side by side, a row per language and measure.
    assert "| language | measure | reply-v2 | reply-v2+examples | reply-v2+profile |" in md
    assert "| sv | greeting | 0.000 (0/4) | 1.000 (4/4) | 1.000 (4/4) |" in md
    assert "| sv | formality | 0.000 (0/4) | 0.000 (0/4) |" in md
    shown_prompts = [p for p in prompts if "--- example 1 ---" in p]  # +examples and +profile
    assert len(shown_prompts) == 24 and "Dear ‹name›," in "".join(shown_prompts)
    examples = [p.split("<<<EXAMPLES", 1)[1].split("EXAMPLES>>>", 1)[0] for p in shown_prompts]
    assert not any(n in e for e in examples for n in ("Sarah", "Thompson", "Kate Moss"))


LEMAIRE = HISTORY.with_name("history-lemaire.jsonl")
# The shipped simulated companies: the history, the languages it has, and how it frames replies.
COMPANIES = [
    pytest.param(
        HISTORY, "en,sv,de", {"sv": "Bästa {name},"}, "Maja, Nordhavn Outdoor", id="nordhavn"
    ),
    pytest.param(
        LEMAIRE,
        "nl,fr",
        {"nl": "Geachte {name},", "fr": "Bonjour {name},"},
        "Sophie, Atelier Lemaire",
        id="lemaire",
    ),
]


@pytest.mark.parametrize(("history", "languages", "greetings", "signature"), COMPANIES)
def test_the_templates_follow_the_style_profile_learned_from_the_history(
    tmp_path: Path, history: Path, languages: str, greetings: dict[str, str], signature: str
) -> None:
    """With the profile the service learns from the company's replies, the templates greet,
    close, sign and address the reader as the company does; without it they never sign off
    as it does."""
    code = cli_main(
        [
            *("eval", "--history", str(history), "--languages", languages),
            *("--sample", "18", "--out", str(tmp_path), "--quiet"),
        ]
    )
    assert code == 0
    voice = report(tmp_path)["voice"]
    for language, greeting in greetings.items():
        assert voice["profile"][language]["greeting"] == greeting
        assert voice["profile"][language]["sign_off"] == signature
    arms = voice["arms"]
    assert list(arms) == ["reply-v2", "reply-v2+examples", "reply-v2+profile"]
    profiled = arms["reply-v2+profile"]["all"]
    assert profiled["drafts"] == 18
    assert profiled["greeting"]["match"] >= 0.9 and profiled["sign_off"]["match"] >= 0.9
    assert profiled["formality"]["match"] == 1.0
    assert arms["reply-v2+profile"]["all"]["length"]["match"] is not None
    for arm in ("reply-v2", "reply-v2+examples"):
        assert arms[arm]["all"]["sign_off"]["match"] == 0.0
    drafts = [c for c in report(tmp_path)["cases"] if c["arm"] == "reply-v2+profile"]
    assert drafts and all(d["text"].endswith(f"\n{signature}") for d in drafts)


@pytest.mark.parametrize(("history", "languages", "greetings", "signature"), COMPANIES)
def test_a_model_that_ignores_the_style_is_still_framed_by_it(
    tmp_path: Path, history: Path, languages: str, greetings: dict[str, str], signature: str
) -> None:
    """A mocked model that ignores every instruction (its own greeting and "[Your Name]", or
    none at all): with the profile the service frames its draft with the company's greeting,
    closing and sign-off, never doubled; without it, the drafts match neither."""
    told: list[bool] = []

    def answer(request: httpx.Request) -> httpx.Response:
        facts = request_facts(request)
        told.append("Greeting: begin the reply with exactly" in facts["system"])
        body = "Thank you for your review, we appreciate it and hope to see you again soon."
        # Its own greeting and "[Your Name]" on odd stars, neither on even ones.
        own = f"Hello!\n\n{body}\n\nBest regards,\n[Your Name]"
        text = own if facts["stars"] % 2 else body
        return httpx.Response(200, json=completion(text))

    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(side_effect=answer)
        code = cli_main(
            [
                *("eval", "--base-url", LLM, "--model", "m", "--history", str(history)),
                *("--prompt-version", "reply-v2", "--languages", languages),
                *("--sample", "12", "--no-cache", "--out", str(tmp_path), "--quiet"),
            ]
        )
    assert code == 0
    arms = report(tmp_path)["voice"]["arms"]
    profiled = arms["reply-v2+profile"]["all"]
    assert profiled["greeting"]["match"] >= 0.9 and profiled["sign_off"]["match"] >= 0.9
    for arm in ("reply-v2", "reply-v2+examples"):
        assert arms[arm]["all"]["greeting"]["match"] <= 0.1
        assert arms[arm]["all"]["sign_off"]["match"] == 0.0
    # The model was told the greeting only in the +profile arm, and ignored it.
    assert told.count(True) == 12 and len(told) == 36
    drafts = [c for c in report(tmp_path)["cases"] if c["arm"] == "reply-v2+profile"]
    for draft in drafts:
        text = draft["text"]
        greeting = greetings.get(draft["language"])
        if greeting:
            first = greeting.split("{name}")[0]
            assert text.startswith(first) and text.count(first) == 1
        assert text.endswith(f",\n{signature}") and text.count(signature) == 1
        assert "[Your Name]" not in text and "Hello!" not in text and "Best regards" not in text
