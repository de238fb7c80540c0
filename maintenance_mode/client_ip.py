"""Which address a request comes from, for ``ALLOWED_IPS``.

By default only ``REMOTE_ADDR`` counts, so a forged ``X-Forwarded-For`` grants
nothing. A deployment behind reverse proxies declares them in one of two ways:

- ``PROXY_COUNT = N``: every request passes through exactly N proxies that
  each append the address they received it from (nginx's
  ``$proxy_add_x_forwarded_for``, AWS ALB, Heroku). The chain is the header's
  entries, then ``REMOTE_ADDR``; its last N + 1 entries are the ones the
  proxies wrote, and the first of those is the client. Only safe when Django
  cannot be reached without going through those proxies.
- ``TRUSTED_PROXIES = [...]``: the proxies' addresses or networks. Walking the
  chain from the right, trusted proxies are skipped and the first other
  address is the client; a request whose ``REMOTE_ADDR`` is not a trusted
  proxy is taken at its ``REMOTE_ADDR``, so it also holds when Django is
  reachable directly. (django-ipware's own trusted-proxy mode expects proxies
  to write their own address into the header, which these do not.)

django-ipware picks the address from ``REMOTE_ADDR`` or from the checked
entries the proxies wrote, never from text the client wrote, with every
option explicit and its "modern" algorithm, in which explicit arguments win:
a project's own ``IPWARE_*`` settings cannot loosen this.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from django.http import HttpRequest
from ipware import get_client_ip

from maintenance_mode import validators
from maintenance_mode.conf import conf

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_ip(meta: Mapping[str, str], trusted_proxies: tuple[validators.Network, ...]) -> Address | None:
    """The client's address, or ``None`` when it cannot be trusted."""
    remote = meta.get("REMOTE_ADDR", "")
    if not (conf.PROXY_COUNT or trusted_proxies):
        return _ipware(remote, proxy_count=0)
    forwarded = meta.get(conf.PROXY_HEADER, "")
    chain = [*(forwarded.split(",") if forwarded.strip() else []), remote]
    if trusted_proxies:
        return _first_untrusted(chain, trusted_proxies)
    written_by_proxies = [_parse(entry) for entry in chain[-(conf.PROXY_COUNT + 1) :]]
    if len(chain) <= conf.PROXY_COUNT or None in written_by_proxies:
        return None  # an empty or garbage entry there: the proxies did not write this chain
    # Only the checked addresses reach ipware: text the client wrote (an
    # unclosed quote, say) could otherwise change how the chain is split.
    return _ipware(", ".join(str(address) for address in written_by_proxies), proxy_count=conf.PROXY_COUNT)


def _ipware(chain: str, proxy_count: int) -> Address | None:
    carrier = HttpRequest()
    carrier.META = {"CHAIN": chain}
    address, _routable = get_client_ip(
        carrier,
        proxy_order="left-most",
        proxy_count=proxy_count,
        request_header_order=["CHAIN"],
        strict=True,
        algorithm="modern",
    )
    return _parse(address) if address is not None else None


def _first_untrusted(chain: list[str], trusted: tuple[validators.Network, ...]) -> Address | None:
    for entry in reversed(chain):
        address = _parse(entry)
        if address is None:
            return None  # garbage before a trustworthy answer: trust nothing
        if not any(address in network for network in trusted):
            return address
    return None  # only proxies: no client address to speak of


def _parse(value: str) -> Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address
