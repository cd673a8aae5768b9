"""``redis+sentinel://`` URLs: what is accepted, one clear line for what is not, no password."""

from __future__ import annotations

import pytest
from redis.asyncio import BlockingConnectionPool, Redis, SSLConnection
from redis.asyncio.sentinel import (
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)

from reply_assist.settings import Settings, SettingsError
from reply_assist.store.connection import connect
from reply_assist.store.sentinel import SentinelUrl, is_sentinel_url, parse_sentinel_url

PASSWORD = "s3cret"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis+sentinel://127.0.0.1:26379/mymaster",
            SentinelUrl(sentinels=(("127.0.0.1", 26379),), service_name="mymaster"),
        ),
        (
            f"redis+sentinel://:{PASSWORD}@s1:26379,s2:26380,s3/mymaster/2",
            SentinelUrl(
                sentinels=(("s1", 26379), ("s2", 26380), ("s3", 26379)),
                service_name="mymaster",
                db=2,
                password=PASSWORD,
            ),
        ),
        (
            "rediss+sentinel://app:p%40ss@[::1]:26380,[fe80::1]/my%20master/",
            SentinelUrl(
                sentinels=(("::1", 26380), ("fe80::1", 26379)),
                service_name="my master",
                username="app",
                password="p@ss",
                tls=True,
            ),
        ),
        (
            "REDIS+SENTINEL://s1:1, s2:2 /mymaster/0",
            SentinelUrl(sentinels=(("s1", 1), ("s2", 2)), service_name="mymaster"),
        ),
        (
            "redis+sentinel://app@s1/mymaster",
            SentinelUrl(sentinels=(("s1", 26379),), service_name="mymaster", username="app"),
        ),
    ],
)
def test_a_good_url_is_parsed(url: str, expected: SentinelUrl) -> None:
    assert is_sentinel_url(url)
    assert parse_sentinel_url(url) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://s1:26379/mymaster", "must start with redis+sentinel://"),
        ("redis+sentinel//s1/mymaster", "must start with redis+sentinel://"),
        ("redis+sentinel://:{pw}@s1:26379", "names no service"),
        ("redis+sentinel://:{pw}@s1:26379/", "names no service"),
        ("redis+sentinel://:{pw}@/mymaster", "Sentinel address 1 has no host"),
        ("redis+sentinel://:{pw}@s1,,s2/mymaster", "Sentinel address 2 has no host"),
        ("redis+sentinel://:{pw}@s1,:26379/mymaster", "Sentinel address 2 has no host"),
        ("redis+sentinel://:{pw}@s1:port/mymaster", "Sentinel address 1 has no valid port"),
        ("redis+sentinel://:{pw}@s1:/mymaster", "Sentinel address 1 has no valid port"),
        ("redis+sentinel://:{pw}@s1:0/mymaster", "Sentinel address 1 has no valid port"),
        ("redis+sentinel://:{pw}@s1:65536/mymaster", "Sentinel address 1 has no valid port"),
        ("redis+sentinel://:{pw}@s1:²/mymaster", "Sentinel address 1 has no valid port"),
        ("redis+sentinel://:{pw}@::1:26379/mymaster", "put it in [brackets]"),
        ("redis+sentinel://:{pw}@[::1/mymaster", "malformed [IPv6] address"),
        ("redis+sentinel://:{pw}@[::1]26379/mymaster", "malformed [IPv6] address"),
        ("redis+sentinel://:{pw}@[]:26379/mymaster", "has no host"),
        ("redis+sentinel://:{pw}@s1/mymaster/zero", "database after the service must be a number"),
        ("redis+sentinel://:{pw}@s1/mymaster/-1", "database after the service must be a number"),
        ("redis+sentinel://:{pw}@s1/mymaster/0/x", "only /<service>[/<db>]"),
        ("redis+sentinel://:{pw}@s1/mymaster?cluster=1", "no ?query or #fragment"),
        ("redis+sentinel://:{pw}@s1?x=1", "no ?query or #fragment"),
        ("redis+sentinel://:{pw}@s1/mymaster#x", "no ?query or #fragment"),
    ],
)
def test_a_bad_url_is_one_line_naming_the_problem_not_the_password(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match="REPLY_ASSIST_REDIS_URL") as exc:
        parse_sentinel_url(url.format(pw=PASSWORD))
    message = str(exc.value)
    assert problem in message
    assert PASSWORD not in message
    assert "\n" not in message


def test_only_sentinel_schemes_are_sentinel_urls() -> None:
    for url in ("redis://s1/0", "rediss://s1/0", "unix:///tmp/redis.sock", "redis+sentinel"):
        assert not is_sentinel_url(url)


def test_description_and_repr_leave_the_password_out() -> None:
    target = parse_sentinel_url(f"rediss+sentinel://app:{PASSWORD}@s1,[::1]:26380/mymaster/3")
    assert target.describe() == (
        "redis sentinel (rediss+sentinel://s1:26379,[::1]:26380/mymaster/3)"
    )
    assert PASSWORD not in repr(target)


def test_settings_accept_a_sentinel_url_as_given() -> None:
    url = f"redis+sentinel://:{PASSWORD}@s1:26379,s2:26379/mymaster"
    assert Settings.from_env({"REPLY_ASSIST_REDIS_URL": url}).redis_url == url


@pytest.mark.parametrize(
    "url",
    [
        f"redis+sentinel://:{PASSWORD}@s1:26379,s2:port/mymaster",
        f"rediss+sentinel://:{PASSWORD}@s1:26379",
        f"sentinel://:{PASSWORD}@s1:26379/mymaster",
    ],
)
def test_settings_refuse_a_bad_sentinel_url_in_one_line(url: str) -> None:
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({"REPLY_ASSIST_REDIS_URL": url})
    message = str(exc.value)
    assert "REPLY_ASSIST_REDIS_URL" in message
    assert PASSWORD not in message
    assert "\n" not in message


async def test_connect_builds_a_blocking_master_pool_with_the_usual_options() -> None:
    store = connect(
        f"redis+sentinel://:{PASSWORD}@s1:26379,s2:26380/mymaster/4",
        prefix="p",
        max_connections=7,
        timeout_s=1.5,
        pool_wait_s=9,
    )
    try:
        assert isinstance(store.client, Redis)
        pool = store.client.connection_pool
        assert isinstance(pool, SentinelConnectionPool)
        assert isinstance(pool, BlockingConnectionPool)
        assert (pool.service_name, pool.is_master) == ("mymaster", True)
        assert (pool.max_connections, pool.timeout) == (7, 9)
        assert pool.connection_class is SentinelManagedConnection
        options = pool.connection_kwargs
        assert (options["db"], options["password"], options["decode_responses"]) == (
            4,
            PASSWORD,
            True,
        )
        assert (options["socket_timeout"], options["socket_connect_timeout"]) == (1.5, 1.5)
        assert options["health_check_interval"] == 30
        sentinels = pool.sentinel_manager.sentinels
        addresses = [
            (
                s.connection_pool.connection_kwargs["host"],
                s.connection_pool.connection_kwargs["port"],
            )
            for s in sentinels
        ]
        assert addresses == [("s1", 26379), ("s2", 26380)]
        # The Sentinels are asked without the master's password.
        assert all(s.connection_pool.connection_kwargs.get("password") is None for s in sentinels)
        assert store.description == "redis sentinel (redis+sentinel://s1:26379,s2:26380/mymaster/4)"
        assert not store.embedded
        assert not store.cluster
    finally:
        await store.aclose()


async def test_connect_speaks_tls_to_sentinels_and_master_with_rediss() -> None:
    store = connect("rediss+sentinel://s1/mymaster", prefix="p", max_connections=2, timeout_s=1)
    try:
        assert isinstance(store.client, Redis)
        pool = store.client.connection_pool
        assert isinstance(pool, SentinelConnectionPool)
        assert isinstance(pool, BlockingConnectionPool)
        assert pool.connection_class is SentinelManagedSSLConnection
        assert pool.timeout == 1  # no pool_wait_s: the socket timeout
        sentinel = pool.sentinel_manager.sentinels[0]
        assert sentinel.connection_pool.connection_class is SSLConnection
    finally:
        await store.aclose()
