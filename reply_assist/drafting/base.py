"""What every drafter takes and returns, so the services never care which drafter runs.

A drafter turns a ``DraftRequest`` (the rendered prompt plus the structured facts it was
rendered from) into text. The LLM drafter sends ``messages``; the template drafter, which has
no model, uses the structured facts. Neither renders prompts: that is ``prompting``'s job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import msgspec

from reply_assist.drafting.style import Style
from reply_assist.markets import StarBand, answered_stars, star_band

__all__ = [
    "ANSWERING",
    "Answering",
    "CompanyFacts",
    "Completion",
    "DraftRequest",
    "Drafter",
    "PromptMessages",
    "ReviewFacts",
    "StreamItem",
    "Usage",
]


class CompanyFacts(msgspec.Struct, frozen=True):
    name: str
    brand_voice: str | None = None
    signature: str | None = None


class ReviewFacts(msgspec.Struct, frozen=True):
    """The review as the drafter may see it. ``text`` is untrusted customer input."""

    stars: int
    text: str
    language: str  # ISO 639-1: the language to answer in
    title: str | None = None
    author_name: str | None = None
    country: str | None = None  # the reviewer's, ISO 3166-1 alpha-2, when known
    star_shift: int = 0  # the company's market shift for that country (``markets``)

    @property
    def answered_stars(self) -> int:
        """The stars the review is answered as: its own, moved by the market shift."""
        return answered_stars(self.stars, self.star_shift)

    @property
    def star_band(self) -> StarBand:
        """The band every drafter writes in (``markets.star_band``): the templates' paragraph,
        the prompt's tone and the company's example replies all follow it."""
        return star_band(self.stars, self.star_shift)


class PromptMessages(msgspec.Struct, frozen=True):
    system: str
    user: str
    prompt_version: str
    prompt_tokens: int  # counted with the model's tokenizer, before sending
    truncated: bool  # the review text was cut to fit the prompt budget


class DraftRequest(msgspec.Struct, frozen=True):
    company: CompanyFacts
    review: ReviewFacts
    messages: PromptMessages
    max_tokens: int
    guidance: str | None = None
    variant: int = 0  # the generation number: lets a regeneration come out different
    company_id: str = ""  # whose call it is: the model's connections are shared fairly by it
    examples: tuple[str, ...] = ()  # the company's published replies shown in the prompt
    # How the company writes in this language (services/style.py): every drafter follows it,
    # and the service frames the draft with its greeting, closing and sign-off.
    style: Style | None = None


class Usage(msgspec.Struct, frozen=True):
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int = 0  # of prompt_tokens, those the server read from its cache


class Completion(msgspec.Struct, frozen=True):
    text: str
    model: str
    usage: Usage
    cut_off: bool = False  # the model stopped at max_tokens, mid-answer (finish_reason "length")
    # The model sent more than its token limit allows; the text was cut at the bound
    # (drafting/output_limits.py) and the rest never read. Implies cut_off.
    over_limit: bool = False
    # What the drafter itself knows an agent must look at ("guidance_not_applied"), added to
    # the warnings of the service's output checks.
    warnings: tuple[str, ...] = ()


class Answering(msgspec.Struct, frozen=True):
    """The model accepted the call (it answered HTTP 200); its tokens are on their way."""


ANSWERING = Answering()

# A stream yields ANSWERING once, then text deltas as they arrive, then exactly one Completion
# (the whole text). ANSWERING lets the API answer 200 while the model thinks, so that starting
# the response is not on the path from the model's first token to the client's first delta.
StreamItem = Answering | str | Completion


class Drafter(Protocol):
    """Writes one draft. Failures raise ``errors.LLMUnavailable`` and nothing else."""

    @property
    def kind(self) -> str:
        """``"openai"`` or ``"template"``: shown in ``/readyz``."""
        ...

    @property
    def connection_failed_at(self) -> float:
        """When a call last failed to reach the model (``time.monotonic()``; ``-inf`` never):
        ``/readyz`` probes again after it rather than wait for its interval."""
        ...

    async def complete(self, request: DraftRequest) -> Completion: ...

    def stream(self, request: DraftRequest) -> AsyncIterator[StreamItem]: ...

    async def probe(self) -> str | None:
        """None when usable, else a short reason (for ``/readyz``)."""
        ...

    async def aclose(self) -> None: ...
