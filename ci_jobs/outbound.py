"""Which outbound URLs the server may call (callbacks, and later URL inputs): the SSRF guard.

An address is judged after normalising every spelling that reaches the same host: IPv4 in
decimal, octal, hex or short forms (`2852039166`, `0251.0376.0251.0376`, `169.254.43518`), and
IPv4 inside IPv6 (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
`2002::/16`, Teredo, SIIT `::ffff:0:a.b.c.d`). Loopback and the addresses of this machine's own
interfaces (a service bound to 0.0.0.0 answers on them as on 127.0.0.1), and link-local (cloud metadata
lives at 169.254.169.254) are refused unless the settings allow them; unspecified, multicast and
broadcast addresses always are.

A name is resolved once at send time and the connection goes to the address that was checked, so
a DNS answer that changes between check and connect (rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import InvalidArgument

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIIT = ipaddress.ip_network("::ffff:0:0:0/96")  # IPv4-translated (RFC 2765), beside the mapped ::ffff:0:0/96
_COMPAT = ipaddress.ip_network("::/96")
# Cloud metadata services outside the link-local ranges (Alibaba; AWS's IPv6 endpoint).
_METADATA = frozenset({ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")})
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # Linux connects 0.0.0.0 to the local host


@dataclass(frozen=True)
class Policy:
    """What outbound calls may reach besides public and private-range addresses."""

    allow_loopback: bool = False
    allow_link_local: bool = False


def embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or ip in _SIIT or (ip in _COMPAT and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: Address, policy: Policy) -> str | None:
    """Why `ip` may not be called under `policy` (None: it may)."""
    v4 = embedded_ipv4(ip)
    for candidate in (ip, v4) if v4 is not None and v4 != ip else (ip,):
        reason = _refusal(candidate, policy)
        if reason:
            return reason
    return None


def _refusal(ip: Address, policy: Policy) -> str | None:
    if ip.is_unspecified or ip.is_multicast or ip == ipaddress.IPv4Address("255.255.255.255"):
        return "an unspecified, multicast or broadcast address"
    if ip.is_loopback or (isinstance(ip, ipaddress.IPv4Address) and ip in _THIS_NETWORK):
        return None if policy.allow_loopback else "a loopback address ([callbacks] allow_loopback)"
    if ip.is_link_local or ip in _METADATA:
        return None if policy.allow_link_local else \
            "a link-local or cloud-metadata address ([callbacks] allow_link_local)"
    if not policy.allow_loopback and is_own(ip):
        return "an address of this machine ([callbacks] allow_loopback)"
    return None


def is_own(ip: Address) -> bool:
    """Whether `ip` is an address of one of this machine's interfaces: a socket can bind to it (the system
    refuses to bind to any other, EADDRNOTAVAIL), asked anew each time as interfaces come and go. Where the
    system lets sockets bind to any address (ip_nonlocal_bind), that says nothing, and no address counts."""
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    if _binds_anything(family):
        return False
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(ip), 0))
    except OSError:  # EADDRNOTAVAIL: not this machine's; EAFNOSUPPORT: no IPv6 here at all
        return False
    return True


@functools.lru_cache(maxsize=2)
def _binds_anything(family: int) -> bool:
    name = "ipv4" if family == socket.AF_INET else "ipv6"
    try:
        return Path(f"/proc/sys/net/{name}/ip_nonlocal_bind").read_text().strip() not in ("", "0")
    except OSError:
        return False


def literal(host: str) -> Address | None:
    """The address a host names literally, in any spelling the system resolver accepts, else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if not host or not all(c in "0123456789abcdefxABCDEFX." for c in host):
        return None
    try:  # inet_aton is what getaddrinfo uses for numeric hosts: 0x7f.1, 2130706433, 0177.0.0.1
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_url(url: str, policy: Policy, what: str = "CallBack") -> None:
    """Refuse a URL that is not http(s) or that names a refused address (a submit-time check)."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise InvalidArgument(f"{what} {url!r} has an invalid port") from exc
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidArgument(f"{what} {url!r} must be an http(s) URL")
    ip = literal(host)
    if ip is None and (host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost")):
        ip = ipaddress.IPv4Address("127.0.0.1")
    if ip is not None:
        reason = refusal(ip, policy)
        if reason:
            raise InvalidArgument(f"{what} {url!r} targets {reason}, which is not allowed")


async def resolve(host: str, port: int, policy: Policy, what: str = "callback") -> str:
    """The address to connect to for `host`: resolved once, every answer checked, the first one kept."""
    ip = literal(host)
    if ip is not None:
        addresses = [ip]
    else:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise InvalidArgument(f"{what} host {host} does not resolve")
    for address in addresses:
        reason = refusal(address, policy)
        if reason:
            raise InvalidArgument(f"{what} host {host} resolves to {address}, {reason}, which is not allowed")
    return str(addresses[0])
