"""The client address of a request: the TCP peer, or what trusted reverse proxies say it is.

Everything that depends on who is asking reads ``scope["client"]``: the residency rule, the
audit trail's ``client_address``, the anonymous Beacon budget and the access log, on the Flask
path (through the WSGI ``REMOTE_ADDR``) and on the direct ASGI paths alike. This middleware, the
outermost of the app, sets it once per request (decision record 0011):

- by default no proxy is trusted and ``X-Forwarded-For`` is ignored: the peer is the client;
- when the peer is in ``server.trusted_proxies``, the ``X-Forwarded-For`` list (every such
  header, in order) is read from the right, skipping addresses of trusted proxies; the first
  address that is not one is the client. If every address is a trusted proxy's, the left-most
  is the client. A hop that is not an IP address ends the walk with no client address (denied
  residency, one shared budget), never with a value a caller chose.
- ``X-Forwarded-Proto`` (``http``/``https``) of a trusted peer sets the request's scheme.

uvicorn's own proxy handling is off (``gdi_node.server``): it trusts loopback by default.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.types import ASGIApp, Receive, Scope, Send

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address


class TrustedProxies:
    """Which peers may say who the client is."""

    def __init__(self, networks: Sequence[Network]) -> None:
        self.networks = tuple(networks)

    def trusts(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: Iterable[str]) -> str | None:
        """The client address for a request from ``peer`` carrying ``forwarded_for`` values."""
        peer_address = parse_address(peer)
        if peer_address is None or not self.trusts(peer_address):
            return peer
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        client: Address = peer_address
        for hop in reversed([h for h in hops if h]):
            address = parse_address(hop)
            if address is None:
                return None
            client = address
            if not self.trusts(address):
                break
        return str(client)


def parse_address(text: str) -> Address | None:
    """An IP address, also as ``[v6]:port`` or ``v4:port``; None when it is none."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ProxyHeadersMiddleware:
    """Set ``scope["client"]`` (and the scheme) from trusted proxies' headers."""

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if scope["type"] not in ("http", "websocket") or not self.proxies.networks or not peer:
            await self.app(scope, receive, send)
            return
        forwarded: list[str] = []
        proto: str | None = None
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                forwarded.append(value.decode("latin-1"))
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1").split(",")[-1].strip().lower()
        if not forwarded and proto is None:
            await self.app(scope, receive, send)
            return
        peer_address = parse_address(peer[0])
        if peer_address is None or not self.proxies.trusts(peer_address):
            await self.app(scope, receive, send)
            return
        if forwarded:
            client = self.proxies.client(peer[0], forwarded)
            scope["client"] = (client, 0) if client is not None else None
        if proto in ("http", "https") and scope["type"] == "http":
            scope["scheme"] = proto
        await self.app(scope, receive, send)
