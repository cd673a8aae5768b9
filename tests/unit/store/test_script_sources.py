"""Lua scripts as Redis runs them: shared parts included, none left out."""

from __future__ import annotations

from reply_assist.store.connection import script_sources


def test_includes_are_expanded_into_the_scripts_that_use_them() -> None:
    sources = script_sources()
    left = [n for n, source in sources.items() if "\n-- #include " in f"\n{source}"]
    assert not left
    for name in ("load_and_reserve", "authenticate_in_company"):
        assert "local function reserve(" in sources[name]
        assert sources[name].count("redis.call('ZADD'") == 1  # the rule once, not a copy
    assert "local function reserve(" not in sources["commit_draft"]
