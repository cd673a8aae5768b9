"""``create_app(settings)``: the only place that wires things together.

Clients (Redis, AsyncOpenAI) are made in the lifespan, kept on ``app.state`` and closed on the
way out; handlers reach them only through the ``runtime`` dependency.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import secrets
import sys
from collections.abc import AsyncIterator

import anyio
import structlog
from litestar import Litestar, Router
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from reply_assist import __version__, metrics
from reply_assist.api.common import dependencies
from reply_assist.api.companies import CompanyController
from reply_assist.api.draft_rules import DraftRulesController
from reply_assist.api.drafts import DraftController
from reply_assist.api.health import HealthController
from reply_assist.api.openapi import complete_schema
from reply_assist.api.replies import ReplyController
from reply_assist.api.review_list import ReviewListController
from reply_assist.api.reviews import ReviewController
from reply_assist.api.schema_ui import (
    add_schema_security_headers,
    schema_assets_router,
    schema_render_plugins,
)
from reply_assist.api.stats import StatsController
from reply_assist.api.strict_body import refuse_coerced_body
from reply_assist.api.style import StyleController
from reply_assist.api.usage import UsageController
from reply_assist.api.webhooks import WebhookController
from reply_assist.auth import AuthMiddleware
from reply_assist.drafting import language
from reply_assist.drafting.base import Drafter
from reply_assist.drafting.fairness import FairDrafter, FairGate
from reply_assist.drafting.llm import OpenAIDrafter, make_openai_client
from reply_assist.drafting.prompting import PromptLibrary, default_prompts_dir
from reply_assist.drafting.template_texts import TemplateTexts, templates_dir
from reply_assist.drafting.templates import TemplateDrafter
from reply_assist.drafting.tokens import TokenCounter
from reply_assist.http.middleware import (
    RequestContext,
    add_request_id_header,
    complete_allow_header,
)
from reply_assist.http.problems import exception_handlers
from reply_assist.jobs.runner import JobRunner, RunnerOptions
from reply_assist.logs import configure_logging
from reply_assist.runtime import Runtime
from reply_assist.services.draft_jobs import DraftJobs, JobPolicy, QueuedJob
from reply_assist.services.publishing import deliver_pending_events
from reply_assist.services.readiness import ReadinessProbe
from reply_assist.services.webhook_delivery import WebhookDeliveries
from reply_assist.settings import Settings
from reply_assist.store.connection import connect
from reply_assist.web import add_security_headers, template_config, web_routers

__all__ = [
    "MAX_BODY_BYTES",
    "background_work",
    "create_app",
    "job_runner",
    "load_templates",
    "open_runtime",
]

MAX_BODY_BYTES = 64 * 1024
_RELAY_INTERVAL_S = 10.0

log = structlog.get_logger(__name__)


def load_templates(settings: Settings) -> TemplateTexts:
    """The template texts, checked (``TemplateError``, one line, when a file is broken)."""
    packaged = default_prompts_dir()
    return TemplateTexts.load(templates_dir(settings.prompts_dir or packaged, packaged))


def _drafter(settings: Settings, tokens: TokenCounter) -> Drafter:
    if not settings.uses_model:
        return TemplateDrafter(load_templates(settings))
    client = make_openai_client(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        timeout_s=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        # One more than the gate admits: the readiness probe's, so no admitted call ever waits
        # for a connection inside the client, where the wait would count as the model's time.
        max_connections=settings.llm_max_connections + 1,
        transport=settings.llm_http,
    )
    drafter = OpenAIDrafter(
        client,
        model=settings.model,
        temperature=settings.llm_temperature,
        counter=tokens,
        # For JSON calls and streams alike; reservation_ttl_s outlasts it (settings.py).
        deadline_s=settings.model_deadline_s,
    )
    gate = FairGate(
        capacity=settings.llm_max_connections,
        per_company=settings.llm_company_connections,
        wait_s=settings.llm_queue_wait_s,
    )
    return FairDrafter(drafter, gate)


async def _relay_events(runtime: Runtime) -> None:
    """Deliver publish events that a failed call left in an outbox (see store.replies)."""
    while True:
        await anyio.sleep(_RELAY_INTERVAL_S)
        try:
            delivered = await deliver_pending_events(runtime)
            if delivered:
                log.info("events_relayed", count=delivered)
        except Exception as exc:  # Redis down: try again next round
            log.warning("event_relay_failed", error=type(exc).__name__)


def _freeze_startup_heap() -> None:
    """Keep the ~200,000 objects that live as long as the process out of garbage collection.

    Imports, the language profiles and the tokenizer are never freed, yet every full (gen 2)
    collection walked them all: a 100+ ms pause of the event loop, now and then, in the middle of
    somebody's stream. Frozen, a full collection scans only what requests made. Once a process
    (the tests start many apps in one); a forked worker freezes what its own start made, its
    parent has frozen the rest before forking (see serving.py).
    """
    global _heap_frozen_in
    if _heap_frozen_in != os.getpid():
        gc.collect()
        gc.freeze()
        _heap_frozen_in = os.getpid()
    metrics.watch_gc_pauses()


_heap_frozen_in = 0  # the process that froze its heap


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Everything a request or a job needs, made once per process and closed on the way out
    (the API's app and the worker's app both run in it)."""
    prompts = PromptLibrary.load(
        settings.prompts_dir or default_prompts_dir(), settings.prompt_version
    )
    # Loading the tokenizer (~0.3 s) and the language profiles (~0.2 s) off the event loop.
    tokens = await anyio.to_thread.run_sync(
        TokenCounter.for_model, settings.model, settings.tiktoken_cache_dir
    )
    await anyio.to_thread.run_sync(language.ensure_loaded)
    store = connect(
        settings.redis_url,
        prefix=settings.redis_key_prefix,
        max_connections=settings.redis_max_connections,
        timeout_s=settings.redis_timeout_s,
        pool_wait_s=settings.redis_pool_wait_s,
    )
    drafter = _drafter(settings, tokens)
    runtime = Runtime.build(settings, store, drafter, prompts, tokens)
    _freeze_startup_heap()
    log.info(
        "started",
        store=store.description,
        drafter="built-in templates (no model configured)"
        if drafter.kind == "template"
        else f"{drafter.kind} model {settings.model}",
        prompt_version=prompts.version,
        pid=os.getpid(),
    )
    try:
        yield runtime
    finally:
        await drafter.aclose()
        await store.aclose()


def job_runner(runtime: Runtime, concurrency: int | None = None) -> JobRunner[QueuedJob]:
    """The draft-rules job loop of this process, with the settings' policy."""
    settings = runtime.settings
    policy = JobPolicy(
        lease_s=settings.job_lease_s,
        max_attempts=settings.job_max_attempts,
        backoff_s=settings.job_backoff_s,
    )
    return JobRunner(
        DraftJobs(runtime, policy),
        RunnerOptions(concurrency=concurrency or settings.worker_concurrency, policy=policy),
    )


@contextlib.asynccontextmanager
async def background_work(runtime: Runtime, concurrency: int | None = None) -> AsyncIterator[None]:
    """The draft-rules jobs and the webhook deliveries, each on its own job loop, while inside;
    on the way out each finishes or hands back what it runs."""
    deliveries = WebhookDeliveries(runtime)
    options = RunnerOptions(
        concurrency=concurrency or runtime.settings.worker_concurrency,
        policy=JobPolicy(
            lease_s=deliveries.policy.lease_s,
            max_attempts=deliveries.policy.max_attempts,
            backoff_s=deliveries.policy.backoff_s,
        ),
        grace_s=deliveries.policy.timeout_s + 1,
    )
    drafts = job_runner(runtime, concurrency)
    webhooks = JobRunner(deliveries, options)
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(drafts.run)
            tasks.start_soon(webhooks.run)
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    async with anyio.create_task_group() as stopping:
                        stopping.start_soon(drafts.stop)
                        stopping.start_soon(webhooks.stop)
                tasks.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await deliveries.aclose()


@contextlib.asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    async with open_runtime(app.state.settings) as runtime:
        app.state.runtime = runtime
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_relay_events, runtime)
            try:
                if app.state.run_jobs:
                    async with background_work(runtime):
                        yield
                else:
                    yield
            finally:
                tasks.cancel_scope.cancel()


def create_app(settings: Settings | None = None, *, run_jobs: bool | None = None) -> Litestar:
    """The service's app. ``run_jobs``: run the draft-rules jobs in this process too; by
    default only with the embedded store (no other process can reach it to run them)."""
    settings = settings or Settings.from_env()
    if run_jobs is None:
        run_jobs = settings.redis_url is None
    configure_logging(settings.log_level, settings.log_format)
    admin_token = settings.admin_token
    if admin_token is None:
        admin_token = secrets.token_urlsafe(32)
        print(
            f"reply-assist: REPLY_ASSIST_ADMIN_TOKEN is not set; this run's admin token is "
            f"{admin_token}",
            file=sys.stderr,
            flush=True,
        )
        # Kept in the settings too: what is derived from the admin token (the review list's
        # cursor key) must be the token this app accepts.
        settings = dataclasses.replace(settings, admin_token=admin_token)
    v1 = Router(
        path="/v1",
        route_handlers=[
            CompanyController,
            ReviewController,
            ReviewListController,
            DraftController,
            ReplyController,
            StatsController,
            DraftRulesController,
            StyleController,
            WebhookController,
            UsageController,
        ],
        middleware=[DefineMiddleware(AuthMiddleware)],
        before_request=refuse_coerced_body,
        dependencies=dependencies,
    )
    prometheus = PrometheusConfig(
        app_name="reply_assist", prefix="reply_assist", group_path=True, exclude=["^/metrics"]
    )
    app = Litestar(
        route_handlers=[
            v1,
            HealthController,
            PrometheusController,
            schema_assets_router(),
            *web_routers(),
        ],
        template_config=template_config(),  # the reply desk's pages (reply_assist/web)
        lifespan=[_lifespan],
        state=State(
            {
                "settings": settings,
                "admin_token": admin_token,
                "readiness": ReadinessProbe(settings.readiness_probe_interval_s),
                "run_jobs": run_jobs,
            }
        ),
        middleware=[prometheus.middleware],
        before_send=[
            add_request_id_header,
            complete_allow_header,
            add_security_headers,
            add_schema_security_headers,
        ],
        exception_handlers=exception_handlers,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="reply-assist",
            version=__version__,
            description="Draft replies to company reviews with a language model. "
            "The reference, with conventions, roles, every field and every error code: "
            "docs/api.md in the repository (generated from this schema).",
            path="/schema",
            render_plugins=schema_render_plugins(),  # assets served locally, no CDN
        ),
        response_cache_config=ResponseCacheConfig(),
        debug=False,
    )
    complete_schema(app.openapi_schema)
    # Around everything, the router included: a 404 for an unknown path gets its access line.
    app.asgi_handler = RequestContext(app.asgi_handler)
    return app
