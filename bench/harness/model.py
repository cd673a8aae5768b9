"""The services under test, the review ids they draft for, the plan of a run, its results."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.constants import COMPANY, LIMIT
from harness.http import Run, StreamRun, http_request
from harness.procs import Proc


@dataclass
class Target:
    name: str  # "service", "floor", "service+patches", "floor (aiohttp)"
    port: int
    token: str | None
    proc: Proc | None = None
    company: str = COMPANY  # whose reviews it drafts for

    @property
    def is_floor(self) -> bool:
        return self.name.startswith("floor")

    def path(self, review_id: str) -> str:
        if self.is_floor:
            return f"/floor/{review_id}"
        return f"/v1/companies/{self.company}/reviews/{review_id}/drafts"

    def generate(self, review_id: str, accept: str | None = None) -> bytes:
        return http_request("POST", self.path(review_id), self.token, accept=accept)


class Reviews:
    """Review ids for generate calls, ``LIMIT`` calls per review.

    The service's reviews are created through the API in setup (as many as the plan needs); the
    floor's are just fresh ids (its script counts per id).
    """

    def __init__(self, ids: list[str] | None = None, prefix: str = "f") -> None:
        self._ids = ids
        self._prefix = prefix
        self._next = 0

    def take(self, calls: int) -> list[str]:
        n = -(-calls // LIMIT)
        if self._ids is None:
            ids = [f"{self._prefix}{self._next + i}" for i in range(n)]
        else:
            if self._next + n > len(self._ids):
                raise RuntimeError("bench planned too few reviews")
            ids = self._ids[self._next : self._next + n]
        self._next += n
        return [ids[i // LIMIT] for i in range(calls)]


@dataclass
class Plan:
    overhead_warmup: int
    overhead_latency: int
    overhead_throughput: int
    overhead_concurrency: int
    burst: int
    stream: int
    stream_concurrency: list[int]
    commands: int
    memory: int
    memory_concurrency: int
    workers: list[int]
    workers_calls: int
    workers_concurrency: int
    servers: list[str]
    floor_http: list[str]  # extra floors with another SDK transport, e.g. ["aiohttp"]
    patches: list[str]  # a service with bench/patched_app.py's patches, if any
    phases: str = "123456"
    memory_versions: int = 1  # phase 8: the service, and the --baseline one if given
    soak_calls: int = 0  # phase 9

    def streams_at(self, concurrency: int) -> int:
        """Streams measured at this concurrency: more when several run at once, so that the p99
        rests on a dozen slow streams rather than on the one or two slowest."""
        return self.stream * (4 if concurrency > 1 else 1)

    def service_calls(self) -> int:
        """Generate calls the plan makes on services (each needs a slot of some review)."""
        per_service = (
            self.overhead_warmup
            + self.overhead_latency
            + self.overhead_throughput
            + self.burst
            + sum(self.streams_at(c) for c in self.stream_concurrency)
        )
        services = 1 + (1 if self.patches else 0) + (self.memory_versions - 1)
        return (
            per_service * services
            + (self.overhead_warmup + self.overhead_latency + self.overhead_throughput)
            * len(self.servers)
            + self.streams_at(self.stream_concurrency[-1]) * len(self.servers)
            + 2 * self.burst
            + 800  # phase 2: the default pool's bursts and floods (two services)
            + (self.commands + 1) * services  # phase 4 measures every service version
            + self.memory
            + (self.overhead_warmup + self.workers_calls) * len(self.workers)
            + (self.memory * len(self.workers) * self.memory_versions if "8" in self.phases else 0)
            + (self.soak_calls if "9" in self.phases else 0)
        )


@dataclass
class Results:
    seq: Run | None = None
    par: Run | None = None
    model_calls: float = float("nan")
    cpu_ms_per_call: float = float("nan")  # the server's own CPU (all its processes), one at a time
    burst: Run | None = None
    streams: dict[int, StreamRun] = field(default_factory=dict)
