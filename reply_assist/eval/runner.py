"""Running every case through a drafter, concurrently, with a cache and an optional judge.

The drafter is the service's own (``TemplateDrafter`` or ``OpenAIDrafter``) and the prompt is
rendered by the service's ``PromptLibrary``, so eval measures what the service would send. Model
answers are cached on disk by a hash of everything that decides them (endpoint, model,
temperature, token limit, both messages): a rerun of an unchanged case costs nothing, and a
changed prompt misses the cache as it should.

A failed model call is recorded on its case (``error`` set, no score): such cases are counted
apart and shown as n/a, never scored 0. An endpoint that fails several calls in a row stops the
run (``endpoint_watch``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reply_assist.drafting.base import (
    CompanyFacts,
    Completion,
    Drafter,
    DraftRequest,
    PromptMessages,
    ReviewFacts,
    Usage,
)
from reply_assist.drafting.framing import frame_completion
from reply_assist.drafting.prompting import PromptLibrary
from reply_assist.drafting.style import Style
from reply_assist.drafting.tokens import TokenCounter
from reply_assist.errors import LLMUnavailable
from reply_assist.eval.cases import EvalCase, band_of
from reply_assist.eval.endpoint_watch import EndpointFailed, EndpointWatch, describe_failure
from reply_assist.eval.scoring import score_draft
from reply_assist.models import Company
from reply_assist.services.safety import mask_personal_data

__all__ = ["Arm", "CaseResult", "DiskCache", "Judge", "run_cases"]

# The first draft of a review is generation 1: the template drafter picks its text by it.
_FIRST_GENERATION = 1


class DiskCache:
    """One JSON file per answer under ``directory``, named by the hash of its request."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(parts: dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._dir / key[:2] / f"{key}.json"
        try:
            value: dict[str, Any] = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self._dir / key[:2] / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(value, ensure_ascii=False), "utf-8")
        tmp.replace(path)  # atomic: a killed run never leaves half an answer


async def _complete(
    drafter: Drafter, request: DraftRequest, cache: DiskCache | None, identity: dict[str, Any]
) -> tuple[Completion, bool]:
    """The drafter's completion, from the cache when it has one; (completion, was cached)."""
    if cache is None or drafter.kind == "template":  # templates cost nothing to rerun
        return await drafter.complete(request), False
    key = cache.key(
        {
            **identity,
            "max_tokens": request.max_tokens,
            "system": request.messages.system,
            "user": request.messages.user,
        }
    )
    hit = cache.get(key)
    if hit is not None:
        usage = Usage(hit["prompt_tokens"], hit["completion_tokens"])
        return Completion(hit["text"], hit["model"], usage, hit["cut_off"]), True
    completion = await drafter.complete(request)
    cache.put(
        key,
        {
            "text": completion.text,
            "model": completion.model,
            "prompt_tokens": completion.usage.prompt_tokens,
            "completion_tokens": completion.usage.completion_tokens,
            "cut_off": completion.cut_off,
        },
    )
    return completion, False


_JUDGE_SYSTEM = (
    "You grade replies that a company wrote to customer reviews. Rate the reply from 1 (poor) "
    "to 5 (excellent) on two scales: tone (professional, warm, calm, never defensive) and fit "
    "(answers what this customer actually said, in their language, without inventing facts). "
    'Answer with JSON only, like {"tone": 4, "fit": 3}.'
)


@dataclass
class Judge:
    """A second model that rates tone and fit; reported apart from the deterministic checks."""

    drafter: Drafter
    identity: dict[str, Any]
    watch: EndpointWatch | None = None

    async def rate(
        self, case: EvalCase, reply: str, cache: DiskCache | None
    ) -> dict[str, float] | None:
        user = (
            f"Review ({case.stars}/5 stars, language {case.language}):\n{case.text}\n\n"
            f"Reply:\n{reply}"
        )
        request = DraftRequest(
            company=CompanyFacts(name="judge"),
            review=ReviewFacts(stars=case.stars, text=case.text, language=case.language),
            messages=PromptMessages(_JUDGE_SYSTEM, user, "judge", 0, False),
            max_tokens=40,
        )
        if self.watch:
            self.watch.check()
        try:
            completion, _ = await _complete(self.drafter, request, cache, self.identity)
        except LLMUnavailable as exc:
            if self.watch:
                self.watch.failed(exc)
            return None
        if self.watch:
            self.watch.succeeded()
        match = re.search(r"\{.*?\}", completion.text, re.DOTALL)
        try:
            data = json.loads(match.group()) if match else {}
            return {k: float(data[k]) for k in ("tone", "fit") if 1 <= float(data[k]) <= 5}
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Arm:
    """One way of drafting that a run compares: a prompt version, with or without examples,
    with or without the company's style profile (``style``: the profile in the case's
    language, or None; the draft is then framed as the service frames it)."""

    label: str
    prompts: PromptLibrary
    examples: Callable[[EvalCase], Sequence[str]] | None = None
    style: Callable[[EvalCase], Style | None] | None = None


@dataclass
class CaseResult:
    case: EvalCase
    arm: str
    text: str
    model: str
    verdicts: dict[str, bool]
    score: float | None  # None: the model call failed (``error``), so nothing was scored
    opening: str
    cached: bool = False
    error: str | None = None
    judge: dict[str, float] | None = None
    tokens: dict[str, int] = field(default_factory=dict)

    @property
    def band(self) -> str:
        return band_of(self.case.stars)

    @property
    def scored(self) -> bool:
        return self.error is None


def _request(
    arm: Arm,
    case: EvalCase,
    company: Company,
    counter: TokenCounter,
    max_prompt_tokens: int,
    max_tokens: int,
) -> DraftRequest:
    facts = CompanyFacts(
        name=company.name, brand_voice=company.brand_voice, signature=company.signature
    )
    languages = (case.language, *company.languages)
    review = ReviewFacts(
        stars=case.stars,
        text=mask_personal_data(case.text, languages),  # as the service sends it
        language=case.language,
        title=mask_personal_data(case.title, languages) if case.title else None,
        author_name=case.author_name,
    )
    examples = list(arm.examples(case)) if arm.examples else []
    style = arm.style(case) if arm.style else None
    messages = arm.prompts.render(
        facts, review, None, counter, max_prompt_tokens, examples=examples, style=style
    )
    return DraftRequest(
        company=facts,
        review=review,
        messages=messages,
        max_tokens=max_tokens,
        variant=_FIRST_GENERATION,
        examples=tuple(examples),
        style=style,
    )


async def run_cases(
    cases: Sequence[EvalCase],
    arms: Sequence[Arm],
    *,
    drafter: Drafter,
    identity: dict[str, Any],
    counter: TokenCounter,
    company: Company,
    concurrency: int = 4,
    cache: DiskCache | None = None,
    judge: Judge | None = None,
    max_prompt_tokens: int = 3000,
    max_tokens: int = 400,
    on_done: Callable[[], None] | None = None,
    watch: EndpointWatch | None = None,
) -> list[CaseResult]:
    """Draft and score every case in every arm, ``concurrency`` model calls at a time.

    A model failure is recorded on its case (no score, ``error`` set): one flaky answer must
    not throw away a run that has cost hundreds of calls. When ``watch`` (or the judge's) sees
    its endpoint fail too often in a row, the calls still running are cancelled and
    ``EndpointFailed`` is raised.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(arm: Arm, case: EvalCase) -> CaseResult:
        request = _request(arm, case, company, counter, max_prompt_tokens, max_tokens)
        async with gate:
            if watch:
                watch.check()
            try:
                completion, cached = await _complete(drafter, request, cache, identity)
                # As the service does (``services/generation.py``): the draft begins with the
                # company's greeting and ends with its closing and sign-off, whatever the
                # drafter wrote. After the cache, which keeps what the model said.
                completion = frame_completion(completion, request)
            except LLMUnavailable as exc:
                if watch:
                    watch.failed(exc)
                if on_done:
                    on_done()
                return CaseResult(
                    case,
                    arm.label,
                    "",
                    "",
                    {},
                    None,
                    "",
                    error=watch.describe(exc) if watch else describe_failure(exc),
                )
            if watch:
                watch.succeeded()
            rating = await judge.rate(case, completion.text, cache) if judge else None
        scored = score_draft(
            case,
            company,
            completion.text,
            system_prompt=request.messages.system,
            cut_off=completion.cut_off,
        )
        if on_done:
            on_done()
        return CaseResult(
            case,
            arm.label,
            completion.text,
            completion.model,
            scored.verdicts,
            scored.score,
            scored.opening,
            cached=cached,
            judge=rating,
            tokens={
                "prompt": completion.usage.prompt_tokens,
                "completion": completion.usage.completion_tokens,
            },
        )

    try:
        async with asyncio.TaskGroup() as group:  # one raising cancels the others
            tasks = [group.create_task(one(arm, case)) for arm in arms for case in cases]
    except* EndpointFailed as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]
