"""Lua scripts as Redis runs them: shared parts included, none left out."""

from __future__ import annotations

from reply_assist.store.connection import script_sources


def test_includes_are_expanded_into_the_scripts_that_use_them() -> None:
    sources = script_sources()
    left = [n for n, source in sources.items() if "\n-- #include " in f"\n{source}"]
    assert not left
    for name in ("load_and_reserve", "authenticate_in_company"):
        assert "local function reserve(" in sources[name]
        # The rules once, not a copy: the review's slot, and the month's draft (lib/usage.lua,
        # itself included by lib/reserve.lua).
        assert sources[name].count("redis.call('ZADD'") == 2
        assert sources[name].count("local function reserve_draft(") == 1
    assert "local function reserve(" not in sources["commit_draft"]
    assert "local function reserve_draft(" in sources["commit_draft"]
