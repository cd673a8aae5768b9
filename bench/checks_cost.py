"""What the output checks cost per draft, on the hot path: ``inspect_draft`` over 1,000 drafts.

``python bench/checks_cost.py`` builds 1,000 distinct drafts from the eval set's reviews (nine
languages, the built-in templates' replies with the reviewer greeted by name, signed with the
company's signature) and adds to one in ten a sentence of the kind the checks exist for (a link,
a phone number, a promise, an admission, the reviewer's surname). Every draft is checked once per
round, as the service checks a new draft; the contact finders' caches (256 texts) are smaller
than the set, so every round meets them cold, as a new draft does. Prints the mean, p50 and p99
over the drafts of each draft's least CPU time (this thread's, ``time.thread_time``: time the
process waits for a core is not counted) in ``--rounds`` rounds (other processes on a shared
machine only ever add to it).

``--code DIR`` measures another checkout of the code (e.g. the code before a change:
``mkdir /tmp/before && git archive <commit> | tar -x -C /tmp/before``), on the same drafts.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "reply_assist" / "eval" / "data" / "cases.jsonl"

SIGNATURE = "Maja, Nordhavn Outdoor"
BRAND_VOICE = "warm and informal; our shop is www.nordhavn.se"
# One draft in ten ends with one of these: what the checks look for, in the draft's language
# where it matters for the phrase lists.
EXTRAS = [
    "You can also read more at nordhavn-deals.shop today.",
    "Call us directly on 070-123 45 67 and we will sort it out.",
    "Write to claims@nordhavn-help.com for a quick answer.",
    "We will of course refund the full amount.",
    "It was entirely our fault and we take full responsibility.",
    "Vi ger dig gärna 20 % rabatt på nästa köp.",
    "Wir erstatten Ihnen selbstverständlich den Kaufpreis.",
    "Nous allons vous rembourser intégralement.",
]


def load_code(directory: Path) -> None:
    sys.path.insert(0, str(directory))
    for name in [m for m in sys.modules if m == "reply_assist" or m.startswith("reply_assist.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def build_drafts(count: int, seed: int = 7) -> list[dict[str, Any]]:
    from reply_assist.drafting.base import (
        CompanyFacts,
        DraftRequest,
        PromptMessages,
        ReviewFacts,
    )
    from reply_assist.drafting.template_texts import TemplateTexts
    from reply_assist.drafting.templates import TemplateDrafter

    drafter = TemplateDrafter(TemplateTexts.load(ROOT / "prompts" / "templates"))
    cases = [json.loads(line) for line in CASES.read_text("utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    company = CompanyFacts(name="Nordhavn Outdoor", brand_voice=BRAND_VOICE, signature=SIGNATURE)
    messages = PromptMessages(
        system="", user="", prompt_version="x", prompt_tokens=0, truncated=False
    )
    drafts: list[dict[str, Any]] = []
    variant = 0
    while len(drafts) < count:
        case = cases[len(drafts) % len(cases)]
        variant += 1
        review = ReviewFacts(
            stars=case["stars"],
            text=case["text"],
            language=case["language"],
            title=case.get("title"),
            author_name=case.get("author_name"),
        )
        request = DraftRequest(
            company=company, review=review, messages=messages, max_tokens=300, variant=variant
        )
        text = asyncio.run(drafter.complete(request)).text
        # Distinct texts, as every new draft is: the order number makes each one unique.
        text = text.replace("\n\n", f"\n\nWe have looked at order {10000 + len(drafts)}. ", 1)
        if rng.random() < 0.1:
            text = f"{text}\n{rng.choice(EXTRAS)}"
        drafts.append({"text": text, "case": case})
    return drafts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--drafts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    load_code(args.code.resolve())

    from reply_assist.models import Company, Review
    from reply_assist.services.safety import inspect_draft

    drafts = build_drafts(args.drafts)
    # A company answers in its own language and English (two numbering plans for phones).
    companies = {
        language: Company(
            id="nordhavn",
            name="Nordhavn Outdoor",
            plan="enterprise",
            contract_start=datetime(2026, 1, 1, tzinfo=UTC),
            languages=list(dict.fromkeys([language, "en"])),
            signature=SIGNATURE,
            brand_voice=BRAND_VOICE,
        )
        for language in ("en", "sv", "da", "no", "nl", "de", "fi", "fr", "es")
    }
    system_prompt = (ROOT / "prompts" / "reply-v1" / "system.j2").read_text("utf-8")
    reviews = [
        Review(
            id=f"r{i}",
            company_id="nordhavn",
            type="company",
            text=d["case"]["text"],
            title=d["case"].get("title"),
            stars=d["case"]["stars"],
            created_at=datetime(2026, 2, 1, tzinfo=UTC),
            author_name=d["case"].get("author_name"),
            language=d["case"]["language"],
        )
        for i, d in enumerate(drafts)
    ]
    # Each draft's least CPU time of the rounds: other processes on a shared machine only add.
    best = [float("inf")] * len(drafts)
    warned = 0
    for _ in range(args.rounds):
        warned = 0
        for i, (draft, review) in enumerate(zip(drafts, reviews, strict=True)):
            started = time.thread_time()
            warnings = inspect_draft(
                draft["text"],
                language=draft["case"]["language"],
                company=companies[draft["case"]["language"]],
                system_prompt=system_prompt,
                review=review,
            )
            best[i] = min(best[i], time.thread_time() - started)
            warned += bool(warnings)
    best.sort()
    print(f"code: {args.code.resolve()}")
    print(
        f"{len(drafts)} drafts, {warned} with warnings; "
        f"each draft's least CPU time of {args.rounds} rounds"
    )
    print(
        f"CPU per draft: mean {statistics.fmean(best) * 1e3:.3f} ms, "
        f"p50 {best[len(best) // 2] * 1e3:.3f} ms, p99 {best[int(len(best) * 0.99)] * 1e3:.3f} ms"
    )


if __name__ == "__main__":
    main()
