"""Where a webhook may be sent: http(s) URLs whose host resolves only to public addresses.

Every address the host resolves to is checked (an attacker's DNS may answer one public and one
private address); the check runs when the endpoint is saved and again before each delivery,
and the delivery connects to the address that was checked (no second lookup that a rebinding
DNS server could answer differently). Operators may allow private networks (a receiver inside
the company network) with ``PROBITY_WEBHOOK_ALLOWED_NETWORKS`` — tenants cannot.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from probity.errors import InvalidInput
from probity.i18n import Msgid

__all__ = ["Target", "check_url", "parse_networks", "refused_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def parse_networks(values: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(v, strict=False) for v in values]


def refused_address(address: IPAddress, allowed: Sequence[Network]) -> str | None:
    """Why the address may not be a webhook target (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in allowed):
        return None
    if address.is_loopback:
        return "loopback"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "reserved"
    if address.is_link_local:
        return "link_local"
    if address.is_private or not address.is_global:
        return "private"
    return None


def _refuse(template: Msgid, code: str, **params: object) -> InvalidInput:
    """A 422 whose message is the msgid ``template`` (translated in webhooks.po)."""
    return InvalidInput(template.format(**params), code=code, template=template, params=params,
                        **{k: str(v) for k, v in params.items()})


async def check_url(url: str, allowed: Sequence[Network]) -> Target:
    """Parse and resolve ``url``; 422 unless it is http(s) and every address is allowed."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise _refuse("The webhook URL is not a valid URL.", "webhook_url_invalid") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _refuse("A webhook URL must start with http:// or https://.",
                      "webhook_url_scheme")
    host = parts.hostname
    if not host:
        raise _refuse("The webhook URL is not a valid URL.", "webhook_url_invalid")
    if parts.username or parts.password:
        raise _refuse("A webhook URL may not carry a user name or password.",
                      "webhook_url_credentials")
    port = port or (443 if scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError) as exc:
            raise _refuse("The webhook host {host} does not resolve.",
                          "webhook_url_unresolvable", host=host) from exc
        addresses = []
        for info in infos:
            addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if addr not in addresses:
                addresses.append(addr)
        if not addresses:
            raise _refuse("The webhook host {host} does not resolve.",
                          "webhook_url_unresolvable", host=host)
    for addr in addresses:
        why = refused_address(addr, allowed)
        if why is not None:
            raise _refuse("The webhook URL resolves to {address}, a {reason} address. Only "
                          "public addresses are allowed unless the operator allows the "
                          "network (PROBITY_WEBHOOK_ALLOWED_NETWORKS).",
                          "webhook_url_private", address=str(addr), reason=why)
    return Target(scheme=scheme, host=host, port=port,
                  addresses=tuple(str(a) for a in addresses))
