"""The company, the review and the counts every phase uses."""

from __future__ import annotations

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
ROOT = BENCH_DIR.parent
COMPANY = "bench"
OTHER_COMPANY = "bench-other"  # a second company, where a measure needs one (phase 2)
CLUSTER_COMPANIES = 12  # one company's keys share a slot: several spread the load over masters
LIMIT = 10  # drafts per review
BENCH_COMPANY = {
    "name": "Acme AB",
    "plan": "enterprise",
    "contract_start": "2026-01-01T00:00:00Z",
    "languages": ["en", "sv"],
    "brand_voice": "warm, informal, first names",
    "signature": "Anna, Acme kundtjänst",
}
BENCH_REVIEW = {
    "type": "company",
    "title": "Slow delivery",
    "text": "The parcel took three weeks and nobody answered my emails.",
    "stars": 2,
    "created_at": "2026-11-20T08:00:00Z",
    "reported": False,
    "verified": True,
    "author_name": "Erik",
    "language": "en",
}
MODEL_LATENCY_S = 1.0
