"""The app a ``reply-assist worker`` process serves: the draft-rules job loop and the webhook
deliveries' in its lifespan,
and its probes (``/healthz``, ``/readyz``: Redis and the model reachable) and ``/metrics``
(the job counters and the queue's size, besides the model's and the process's own)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.datastructures import State
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from reply_assist.api.health import HealthController
from reply_assist.app import background_work, open_runtime
from reply_assist.logs import configure_logging
from reply_assist.services.readiness import ReadinessProbe
from reply_assist.settings import Settings

__all__ = ["create_worker_app"]


def create_worker_app(settings: Settings, concurrency: int) -> Litestar:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_runtime(settings) as runtime:
            app.state.runtime = runtime
            # SIGTERM: uvicorn stops serving, then the way out of this: finish or hand back the
            # jobs and the deliveries.
            async with background_work(runtime, concurrency):
                yield

    configure_logging(settings.log_level, settings.log_format)
    prometheus = PrometheusConfig(
        app_name="reply_assist", prefix="reply_assist", group_path=True, exclude=["^/metrics"]
    )
    return Litestar(
        route_handlers=[HealthController, PrometheusController],
        lifespan=[lifespan],
        state=State({"readiness": ReadinessProbe(settings.readiness_probe_interval_s)}),
        middleware=[prometheus.middleware],
        openapi_config=None,
        debug=False,
    )
