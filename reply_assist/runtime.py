"""Everything a request needs, built once in the app's lifespan and reached through DI."""

from __future__ import annotations

from dataclasses import dataclass

from reply_assist.drafting.base import Drafter
from reply_assist.drafting.prompting import PromptLibrary
from reply_assist.drafting.tokens import TokenCounter
from reply_assist.services.auth_throttle import AuthThrottle
from reply_assist.settings import Settings
from reply_assist.store.auth_failures import AuthFailureRepository
from reply_assist.store.companies import CompanyRepository
from reply_assist.store.connection import Store
from reply_assist.store.draft_rules import DraftRuleRepository
from reply_assist.store.drafts import DraftRepository
from reply_assist.store.jobs import JobRepository
from reply_assist.store.replies import ReplyRepository
from reply_assist.store.reviews import ReviewRepository
from reply_assist.store.stats import StatsRepository
from reply_assist.store.style import StyleRepository
from reply_assist.store.usage import UsageRepository
from reply_assist.store.voice import VoiceRepository
from reply_assist.store.webhooks import WebhookRepository

__all__ = ["Runtime"]


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: Store
    drafter: Drafter
    prompts: PromptLibrary
    tokens: TokenCounter
    companies: CompanyRepository
    reviews: ReviewRepository
    drafts: DraftRepository
    replies: ReplyRepository
    stats: StatsRepository
    voice: VoiceRepository
    draft_rules: DraftRuleRepository
    jobs: JobRepository
    auth_throttle: AuthThrottle
    style: StyleRepository
    webhooks: WebhookRepository
    usage: UsageRepository

    @classmethod
    def build(
        cls,
        settings: Settings,
        store: Store,
        drafter: Drafter,
        prompts: PromptLibrary,
        tokens: TokenCounter,
    ) -> Runtime:
        webhooks = WebhookRepository(store)
        return cls(
            settings=settings,
            store=store,
            drafter=drafter,
            prompts=prompts,
            tokens=tokens,
            companies=CompanyRepository(store),
            reviews=ReviewRepository(store),
            drafts=DraftRepository(store),
            replies=ReplyRepository(
                store, settings.events_stream, settings.events_max_length, webhooks
            ),
            stats=StatsRepository(store),
            voice=VoiceRepository(store),
            draft_rules=DraftRuleRepository(store),
            jobs=JobRepository(store),
            auth_throttle=AuthThrottle(
                AuthFailureRepository(store),
                limit=settings.auth_failure_limit,
                window_s=settings.auth_failure_window_s,
            ),
            style=StyleRepository(store),
            webhooks=webhooks,
            usage=UsageRepository(store),
        )
