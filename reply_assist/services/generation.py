"""Generating one draft: the rules, the slot, the model, the checks, the commit.

One way through::

    claim the Idempotency-Key (if any) → read company and review and reserve a slot (one Lua
    round trip) → check the rules in the contract's order (a refusal releases the slot) → render
    the prompt → call the model → check the output → commit draft and slot together (Lua)

Any failure after the reservation releases the slot and the key claim, so a failed call counts
nothing and a retry runs anew. Cleanup is shielded from cancellation (a client that disconnects
cancels the handler), and if Redis itself is gone the reservation's expiry frees the slot.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import msgspec
import structlog
from redis.exceptions import RedisError

from reply_assist import metrics
from reply_assist.drafting import framing
from reply_assist.drafting.base import (
    Answering,
    CompanyFacts,
    Completion,
    DraftRequest,
    ReviewFacts,
    Usage,
)
from reply_assist.drafting.style import Style, frame_for
from reply_assist.errors import (
    LLMUnavailable,
    ReplyAssistError,
    StoreUnavailable,
)
from reply_assist.markets import star_band, star_shift
from reply_assist.models import GENERATION_LIMIT, Company, DraftUsage, Origin, StoredDraft
from reply_assist.runtime import Runtime
from reply_assist.services import idempotency, months, safety, usage, voice
from reply_assist.services.eligibility import LIMIT_DETAIL, evaluate, refusal
from reply_assist.services.lookups import require_found
from reply_assist.services.style import style_for_draft
from reply_assist.store.drafts import DraftRecord
from reply_assist.store.reviews import DraftTokens, Loaded, Reservation, ReviewRecord

__all__ = ["RULE_DRAFT_DETAIL", "GenerateCall", "Generation", "begin_generation"]

log = structlog.get_logger(__name__)

RULE_DRAFT_DETAIL = "The review already has the draft its company's rules made."
# A draft up to this long (a reply is 300-1,300 characters) is checked on the event loop, in at
# most ~2 ms whatever it holds; a longer one, which only a model writing far past the reply the
# prompt asks for sends, in a worker thread (see Generation._inspect).
_CHECK_ON_LOOP_MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class GenerateCall:
    company_id: str
    review_id: str
    guidance: str | None
    idempotency_key: str | None
    origin: Origin = "request"
    # The draft-rules job (its stream entry id) that this call runs: the commit finishes it.
    job: str | None = None


def _new_draft_id() -> str:
    # Time first, so ids sort roughly by creation; 48 random bits make them unguessable enough
    # for ids that are only ever used behind a company-scoped key.
    return f"drf_{int(time.time() * 1000):x}{secrets.token_hex(6)}"


async def _shielded(step: Callable[[], Awaitable[object]], what: str) -> None:
    """Run a cleanup step even while being cancelled; never let it mask the original error."""
    with anyio.CancelScope(shield=True):
        try:
            await step()
        except Exception as exc:  # Redis down: the reservation's expiry frees the slot
            log.warning("cleanup_failed", step=what, error=type(exc).__name__)


class Generation:
    """A generate call that passed the rules and holds a slot: run it once, then it is spent."""

    def __init__(
        self,
        rt: Runtime,
        call: GenerateCall,
        company: Company,
        record: ReviewRecord,
        reservation: Reservation,
        request: DraftRequest,
        claim: idempotency.Claim | None,
    ) -> None:
        self._rt = rt
        self._call = call
        self._company = company
        self._record = record
        self._reservation = reservation
        self._claim = claim
        self.request = request
        # The frame's lines are the company's own words, which the system prompt quotes: a
        # draft that carries them repeats nothing it should not (no prompt_leak for them).
        self._frame = frame_for(request)
        frame = self._frame
        lines = (frame.greeting, frame.closing, frame.sign_off) if frame else ()
        self._own_passages = (*request.examples, *filter(None, lines))

    async def complete(self) -> DraftRecord:
        """Generate without streaming; one retry when the output checks find something."""
        try:
            completion = await self._call_model(self._rt.drafter.complete(self.request))
            warnings = await self._inspect(completion)
            # A model that ignored its token limit is not asked again: its answer was cut at the
            # bound (cut_off), and a second one would most likely cost as much again.
            if warnings and not completion.over_limit:
                try:
                    retry = await self._call_model(self._rt.drafter.complete(self.request))
                except LLMUnavailable:  # the first draft, warnings and all, beats no draft
                    return await self._commit(completion, warnings)
                retry_warnings = await self._inspect(retry)
                usage = _add_usage(completion.usage, retry.usage)
                if len(retry_warnings) < len(warnings):
                    completion, warnings = retry, retry_warnings
                completion = msgspec.structs.replace(completion, usage=usage)
            return await self._commit(completion, warnings)
        except BaseException as exc:
            _count_failure(exc)
            await self._abandon()
            raise

    async def stream(self) -> AsyncIterator[Answering | str | DraftRecord]:
        """Yield ``ANSWERING`` once the model has accepted the call, then text deltas as the model
        produces them, then the stored draft.

        A failure (or the client going away) at any point stores and counts nothing.
        """
        try:
            completion: Completion | None = None
            with _model_timer(self._rt.drafter.kind) as timer:
                items = self._rt.drafter.stream(self.request)
                if self._frame is not None:
                    # Framed as the company frames its replies (drafting/framing.py): the
                    # greeting streams first, the closing and sign-off last; the draft stored is
                    # the text streamed.
                    items = framing.framed_stream(items, self.request)
                async for item in items:
                    if isinstance(item, Completion):
                        completion = item
                    elif isinstance(item, str):
                        # As stored: what hides or reorders text never reaches a page either.
                        yield safety.visible(item)
                    else:
                        yield item
                timer.ok = True
            if completion is None:
                raise LLMUnavailable(
                    "The model's stream ended without a completion.", cause="malformed_response"
                )
            _count_tokens(completion.usage)
            yield await self._commit(completion, await self._inspect(completion))
        except BaseException as exc:
            _count_failure(exc)
            await self._abandon()
            raise

    async def _call_model(self, call: Awaitable[Completion]) -> Completion:
        with _model_timer(self._rt.drafter.kind) as timer:
            completion = await call
            timer.ok = True
        _count_tokens(completion.usage)
        if self._frame is None:
            return completion
        return framing.frame_completion(completion, self.request)

    async def _inspect(self, completion: Completion) -> list[str]:
        check = functools.partial(
            safety.inspect_draft,
            completion.text,
            language=self.request.review.language,
            company=self._company,
            system_prompt=self.request.messages.system,
            cut_off=completion.cut_off,
            review=self._record.review,
            examples=self._own_passages,
        )
        if len(completion.text) <= _CHECK_ON_LOOP_MAX_CHARS:
            return check()
        # A long text (the drafter's bound allows 16 characters a token) takes the checks tens
        # of milliseconds; in a worker thread the event loop gets the interpreter back every few
        # milliseconds meanwhile, instead of serving nobody until they end.
        return await anyio.to_thread.run_sync(check)

    async def _commit(self, completion: Completion, warnings: list[str]) -> DraftRecord:
        rt, call = self._rt, self._call
        # The drafter's own warnings are not retried for (a template stays a template).
        warnings = [*warnings, *(w for w in completion.warnings if w not in warnings)]
        now = datetime.now(UTC)
        draft = StoredDraft(
            id=_new_draft_id(),
            review_id=call.review_id,
            text=safety.visible(completion.text),  # as the checks read it: approved is checked
            language=self.request.review.language,
            model=completion.model,
            prompt_version=self.request.messages.prompt_version,
            usage=DraftUsage(
                prompt_tokens=completion.usage.prompt_tokens,
                completion_tokens=completion.usage.completion_tokens,
                cached_prompt_tokens=completion.usage.cached_prompt_tokens,
            ),
            created_at=now,
            warnings=warnings,
            prompt_truncated=self.request.messages.truncated,
            origin=call.origin,
            star_band=self.request.review.star_band,
            country=self.request.review.country,
        )
        idempotency = None
        if self._claim is not None:
            idempotency = (self._claim.key, self._claim.fingerprint, rt.settings.idempotency_ttl_s)
        result = await rt.reviews.commit_draft(
            self._reservation,
            draft_id=draft.id,
            data=msgspec.json.encode(draft),
            language=draft.language,
            prompt_version=draft.prompt_version,
            country=draft.country,
            created_epoch_s=now.timestamp(),
            limit=GENERATION_LIMIT,
            idempotency=idempotency,
            origin=call.origin,
            job=call.job,
            review_index=self._record.index,
            tokens=DraftTokens(
                model=draft.model,
                prompt=draft.usage.prompt_tokens,
                completion=draft.usage.completion_tokens,
                cached_prompt=draft.usage.cached_prompt_tokens,
            ),
        )
        if result == "duplicate":  # a rule's job run twice: the first one's draft stands
            raise refusal("rule_draft_exists", RULE_DRAFT_DETAIL)
        if result == "quota_exhausted":
            # Only when the model outlived the held draft and others used the last ones.
            raise usage.exhausted(self._reservation.month)
        if result is None:
            # Only when the model outlived the reservation and others took the slots meanwhile.
            raise refusal("generation_limit_reached", LIMIT_DETAIL)
        self._claim = None  # the commit stored the key's answer
        if result.crossed_low or result.crossed_exhausted:
            await usage.tell_alerts(rt, self._company, self._reservation.month, result)
        for warning in warnings:
            metrics.DRAFT_WARNINGS.labels(warning).inc()
        metrics.GENERATIONS.labels("drafted").inc()
        log.info(
            "draft_generated",
            company_id=call.company_id,
            review_id=call.review_id,
            draft_id=draft.id,
            generation=result.generation,
            model=draft.model,
            warnings=warnings,
            origin=call.origin,
        )
        return DraftRecord(
            data=draft,
            generation=result.generation,
            generations_left=result.generations_left,
            status="draft",
        )

    async def _abandon(self) -> None:
        await _release_slot(self._rt, self._reservation)
        await _release_claim(self._rt, self._claim)
        self._claim = None


async def _release_slot(rt: Runtime, reservation: Reservation | None) -> None:
    if reservation is not None:
        await _shielded(lambda: rt.reviews.release(reservation), "release")


async def _release_claim(rt: Runtime, claim: idempotency.Claim | None) -> None:
    if claim is not None:
        await _shielded(lambda: idempotency.abandon(rt, claim), "idempotency_abandon")


@dataclass(slots=True)
class _Outcome:
    ok: bool = False


@contextlib.contextmanager
def _model_timer(drafter: str) -> Iterator[_Outcome]:
    """Time a model call into MODEL_LATENCY; the body sets ``ok`` when the call succeeded."""
    outcome = _Outcome()
    started = time.perf_counter()
    try:
        yield outcome
    finally:
        metrics.MODEL_LATENCY.labels(drafter, "ok" if outcome.ok else "error").observe(
            time.perf_counter() - started
        )


def _count_failure(exc: BaseException) -> None:
    if isinstance(exc, LLMUnavailable):
        outcome = "llm_unavailable"
    elif isinstance(exc, RedisError | StoreUnavailable):
        outcome = "store_unavailable"
    elif isinstance(exc, ReplyAssistError) and exc.status < 500:
        outcome = "refused"
    else:
        outcome = "cancelled" if isinstance(exc, anyio.get_cancelled_exc_class()) else "error"
    metrics.GENERATIONS.labels(outcome).inc()


def _count_tokens(usage: Usage) -> None:
    metrics.MODEL_TOKENS.labels("prompt").inc(usage.prompt_tokens)
    metrics.MODEL_TOKENS.labels("completion").inc(usage.completion_tokens)


def _add_usage(a: Usage, b: Usage) -> Usage:
    return Usage(
        a.prompt_tokens + b.prompt_tokens,
        a.completion_tokens + b.completion_tokens,
        a.cached_prompt_tokens + b.cached_prompt_tokens,
    )


async def _claim_key(rt: Runtime, call: GenerateCall) -> idempotency.Claim | DraftRecord | None:
    """Claim the call's Idempotency-Key; a DraftRecord is the first call's answer to replay."""
    if call.idempotency_key is None:
        return None
    key = rt.store.keys.idempotency(
        call.company_id, call.review_id, idempotency.key_hash(call.idempotency_key)
    )
    # The lease outlives the slowest model call.
    claimed = await idempotency.begin(
        rt, key, idempotency.fingerprint({"guidance": call.guidance}), rt.settings.reservation_ttl_s
    )
    if isinstance(claimed, idempotency.Claim):
        return claimed
    generation, left, data = claimed
    metrics.GENERATIONS.labels("replayed").inc()
    return DraftRecord(
        data=msgspec.json.decode(data, type=StoredDraft),
        generation=int(generation),
        generations_left=int(left),
        status="draft",
    )


async def begin_generation(
    rt: Runtime, call: GenerateCall, prefetched: Loaded | None = None
) -> Generation | DraftRecord:
    """Check everything that can refuse the call before the model runs, and take a slot.

    ``prefetched`` is what the auth middleware already read and reserved in its own round trip
    (a key that names its company, no Idempotency-Key); this call then owns that slot.
    Returns the replayed draft when the Idempotency-Key already has an answer.
    """
    reservation: Reservation | None = prefetched.reservation if prefetched else None
    try:
        claimed = await _claim_key(rt, call)
    except BaseException:
        await _release_slot(rt, reservation)
        raise
    if isinstance(claimed, DraftRecord):
        await _release_slot(rt, reservation)
        return claimed
    try:
        # One round trip reads the company and the review and takes a slot; the rules are then
        # checked on what it read, and a call they refuse gives its slot straight back. (Calls
        # for one review all meet the same rules, so a slot held by a refused call for a moment
        # never changes another call's answer.)
        month = prefetched.reservation.month if prefetched and prefetched.reservation else None
        month = month or months.current_month()
        loaded = prefetched or await rt.reviews.load_and_reserve(
            call.company_id,
            call.review_id,
            ttl_s=rt.settings.reservation_ttl_s,
            limit=GENERATION_LIMIT,
            month=month,
        )
        reservation = loaded.reservation
        company, record = require_found(loaded.company, loaded.record)
        eligibility = evaluate(company, record, in_flight=0)
        # The limit and the month's drafts were decided by the reservation, atomically; every
        # other rule here, first.
        first = next((r for r in eligibility.reasons if r != "generation_limit_reached"), None)
        if first is not None:
            metrics.REFUSALS.labels(first).inc()
            raise refusal(first, eligibility.details[first])
        if loaded.quota_exhausted:
            metrics.REFUSALS.labels("quota_exhausted").inc()
            raise usage.exhausted(month)
        if reservation is None:
            metrics.REFUSALS.labels("generation_limit_reached").inc()
            raise refusal("generation_limit_reached", LIMIT_DETAIL)
        assert record.language is not None  # evaluate() refuses a review without one
        examples = await _voice_examples(rt, company, record, record.language)
        style = await style_for_draft(rt, company, record.language)
        request = _draft_request(
            rt, company, record, record.language, call.guidance, reservation.used, examples, style
        )
    except BaseException as exc:
        _count_failure(exc)
        await _release_slot(rt, reservation)
        await _release_claim(rt, claimed)
        raise
    return Generation(rt, call, company, record, reservation, request, claimed)


def _draft_request(
    rt: Runtime,
    company: Company,
    record: ReviewRecord,
    language: str,
    guidance: str | None,
    variant: int,
    examples: list[str],
    style: Style | None = None,
) -> DraftRequest:
    review = record.review
    # Every free-text field that reaches the model is masked: it needs no one's e-mail address
    # or phone number, and they should not leave for a third-party API. The company's own
    # settings (brand voice, signature) are not: they are its public contacts, which a draft
    # may rightly carry (the output checks allow exactly those).
    languages = (language, *company.languages)

    def mask(text: str) -> str:
        return safety.mask_personal_data(text, languages)

    facts = ReviewFacts(
        stars=review.stars,
        text=mask(review.text),
        language=language,
        title=mask(review.title) if review.title else None,
        author_name=mask(review.author_name) if review.author_name else None,
        country=review.country,
        star_shift=star_shift(review.country, company.market_star_shift),
    )
    guidance = mask(guidance) if guidance else guidance
    company_facts = CompanyFacts(
        name=company.name, brand_voice=company.brand_voice, signature=company.signature
    )
    messages = rt.prompts.render(
        company_facts,
        facts,
        guidance,
        rt.tokens,
        rt.settings.max_prompt_tokens,
        examples,
        style=style,
    )
    return DraftRequest(
        company=company_facts,
        review=facts,
        messages=messages,
        max_tokens=rt.settings.max_completion_tokens,
        guidance=guidance,
        variant=variant,
        company_id=company.id,
        examples=tuple(examples),
        style=style,
    )


async def _voice_examples(
    rt: Runtime, company: Company, record: ReviewRecord, language: str
) -> list[str]:
    """Replies the company published to reviews like this one (``services/voice.py``), read
    through the per-process cache; none for the templates, which cannot follow them, or when
    the company opted out. A failed read costs the examples, never the draft."""
    if not company.voice_examples or rt.drafter.kind == "template":
        return []
    try:
        candidates = await rt.voice.candidates(company.id)
    except RedisError as exc:
        log.warning("voice_examples_unavailable", company_id=company.id, error=type(exc).__name__)
        return []
    # The newest examples of the language and band, not those most like this review: the same
    # for every review, so the prompt's head stays the same (voice.py). Each is checked again
    # with today's checks before it is shown.
    return voice.choose_examples(
        candidates,
        language=language,
        band=star_band(
            record.review.stars, star_shift(record.review.country, company.market_star_shift)
        ),
        review_text=None,
        counter=rt.tokens,
        exclude_review=record.review.id,
        accept=lambda example: voice.example_passes(example, company),
    )
