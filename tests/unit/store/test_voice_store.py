"""Example candidates are read once per company per TTL: drafts add no Redis round trip."""

from __future__ import annotations

import time

import pytest

from reply_assist.services.voice import VoiceExample
from reply_assist.store.connection import Store, connect
from reply_assist.store.voice import VoiceRepository


def _example(i: int) -> VoiceExample:
    return VoiceExample(f"r{i}", "en", 1, "late parcel", f"reply {i}", float(i))


async def test_reads_are_cached_per_company_and_a_publish_refreshes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = connect(None, prefix="voice-test", max_connections=4, timeout_s=1)
    try:
        await _check(store, monkeypatch)
    finally:
        await store.aclose()


async def _check(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = VoiceRepository(store, ttl_s=60)
    await repo.add("acme", _example(1))
    assert [e.reply_text for e in await repo.candidates("acme")] == ["reply 1"]
    for _ in range(5):  # five more drafts of the same company: no read
        await repo.candidates("acme")
    assert repo.reads == 1
    await repo.add("acme", _example(2))  # a publish in this process: seen at once
    assert [e.reply_text for e in await repo.candidates("acme")] == ["reply 2", "reply 1"]
    assert repo.reads == 2
    later = time.monotonic() + 61
    monkeypatch.setattr(time, "monotonic", lambda: later)
    await repo.candidates("acme")  # past the TTL: read again
    assert repo.reads == 3
