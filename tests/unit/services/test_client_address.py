"""The address a failed authentication is counted under."""

from __future__ import annotations

from reply_assist.services.auth_throttle import client_address


def test_ipv4_addresses_are_counted_one_by_one() -> None:
    assert client_address("203.0.113.9") == "203.0.113.9"
    assert client_address("::ffff:203.0.113.9") == "203.0.113.9"  # the same client over IPv6


def test_ipv6_addresses_are_counted_by_their_64_network() -> None:
    # One host usually holds a whole /64: counted one by one, it could try 2**64 addresses.
    a = client_address("2001:db8:1:2:aaaa::1")
    assert a == client_address("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert client_address("2001:db8:1:3::1") != a


def test_no_address_or_another_name_is_counted_as_given() -> None:
    assert client_address(None) == client_address("") == "unknown"
    assert client_address("/run/proxy.sock") == "/run/proxy.sock"
