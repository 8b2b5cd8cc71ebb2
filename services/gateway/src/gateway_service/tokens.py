"""Read your writes at the edge (architecture §4): each client's newest consistency tokens.

Every write response of a service carries ``x-zenops-version`` tokens; the gateway remembers the newest
version per aggregate for the authenticated client and sends them (merged with any the client sent) as
``x-zenops-after`` on that client's next requests, so a service answers only once its projections have
caught up — clients that know nothing of tokens still read their own writes across services.

This is process memory (architecture §7): a replicated gateway needs sticky sessions per client or a
shared store. Memory is bounded per client and in clients (LRU), and tokens expire after ``ttl_s`` (a
projection that has not caught up by then is stuck; waiting on it for every request would only slow the
client down).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from shared.consistency import VersionToken

_Key = tuple[str, str, str]


class ClientTokens:
    """The newest token per aggregate for each client, bounded and expiring."""

    def __init__(
        self,
        *,
        per_client: int = 64,
        max_clients: int = 10_000,
        ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_client = per_client
        self._max_clients = max_clients
        self._ttl_s = ttl_s
        self._clock = clock
        self._clients: OrderedDict[str, OrderedDict[_Key, tuple[int, float]]] = OrderedDict()

    def remember(self, client: str, tokens: Iterable[VersionToken]) -> None:
        """Keep ``tokens`` (a write's ``x-zenops-version``) as the client's newest, version only grows."""
        tokens = list(tokens)
        if not tokens:
            return
        now = self._clock()
        known = self._clients.pop(client, None) or OrderedDict()
        for token in tokens:
            previous = known.pop(token.key, None)
            version = max(token.version, previous[0]) if previous else token.version
            known[token.key] = (version, now)
        while len(known) > self._per_client:
            known.popitem(last=False)
        self._clients[client] = known
        while len(self._clients) > self._max_clients:
            self._clients.popitem(last=False)

    def after(self, client: str | None, sent: Iterable[VersionToken] = ()) -> list[VersionToken]:
        """The tokens to send upstream: the client's live ones merged with ``sent`` (max per aggregate)."""
        merged: dict[_Key, VersionToken] = {}
        for token in sent:
            current = merged.get(token.key)
            if current is None or token.version > current.version:
                merged[token.key] = token
        known = self._clients.get(client) if client is not None else None
        if known:
            now = self._clock()
            for key in [k for k, (_, seen) in known.items() if now - seen > self._ttl_s]:
                del known[key]
            for key, (version, _) in known.items():
                current = merged.get(key)
                if current is None or version > current.version:
                    merged[key] = VersionToken(key[0], key[1], key[2], version)
        return [merged[k] for k in sorted(merged)]

    def __len__(self) -> int:
        return len(self._clients)
