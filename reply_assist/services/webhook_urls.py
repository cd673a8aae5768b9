"""Where a webhook may be sent: ``https`` to public addresses only, checked at registration and
again at every delivery, and the delivery connects to the very address that was checked.

A name is resolved once per attempt; every address it resolves to must be public (a name with
one private address among public ones is refused: a resolver could hand out either), and the
request goes to the first of them, with the name kept for TLS (SNI and the certificate) and the
``Host`` header. So a name that resolved to a public address at registration and resolves to a
private one later (DNS rebinding) is refused at the delivery, before anything is sent.

Refused: loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16,
fe80::/10), multicast, reserved, unspecified, shared (100.64/10) and every other non-global
address, IPv4-mapped IPv6 addresses by the IPv4 address they map. ``allow_private``
(``REPLY_ASSIST_WEBHOOK_ALLOW_PRIVATE=1``, for tests and internal networks) lifts this and
allows ``http`` too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Target", "UrlRefused", "check_shape", "refused_address", "resolve", "target_of"]

_MAX_URL = 2048


class UrlRefused(Exception):
    """Why a URL may not be used: ``code`` (stable) and words."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Target:
    """Where one delivery goes: the checked address, and the name for TLS and ``Host``."""

    url: str  # the URL with the address in place of the name
    host: str  # the name (or literal address) as registered
    host_header: str
    address: str


def check_shape(url: str, *, allow_private: bool) -> None:
    """The URL's form, without looking anything up: an absolute ``https`` URL with a host
    (``http`` too when private targets are allowed), no user or password."""
    if len(url) > _MAX_URL:
        raise UrlRefused("webhook_url_invalid", f"The URL is longer than {_MAX_URL} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("webhook_url_invalid", "The URL cannot be read.") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in schemes:
        raise UrlRefused(
            "webhook_url_not_https", "A webhook URL must be https (http only for private use)."
        )
    if not parts.hostname:
        raise UrlRefused("webhook_url_invalid", "The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("webhook_url_invalid", "The URL may not carry a user or password.")
    if port == 0:
        raise UrlRefused("webhook_url_invalid", "The URL's port is not valid.")


def refused_address(address: str) -> str | None:
    """Why an address is not public (None: it is)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "not public"
    return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the tests replace this to play a resolver)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def target_of(url: str, *, allow_private: bool) -> Target:
    """Check ``url`` now, resolving its name; where to connect. Raises ``UrlRefused``."""
    check_shape(url, allow_private=allow_private)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = await resolve(host, port)
        except (OSError, UnicodeError):
            addresses = []
        if not addresses:
            raise UrlRefused(
                "webhook_url_unresolvable", f"The host {host!r} does not resolve."
            ) from None
    if not allow_private:
        for address in addresses:
            reason = refused_address(address)
            if reason is not None:
                raise UrlRefused(
                    "webhook_url_not_public",
                    f"The host {host!r} resolves to a {reason} address ({address}); webhooks "
                    "go to public addresses only.",
                )
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = parts.netloc.rpartition("@")[2]
    return Target(
        url=parts._replace(netloc=netloc).geturl(),
        host=host,
        host_header=host_header,
        address=address,
    )
