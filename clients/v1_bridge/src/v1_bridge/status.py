"""Account status with V1's fail-open cache (domain.md §8.3; vectors V1-02, V1-03).

A lookup answers a :class:`StatusEnvelope`, never an exception:

- fresh (fetched now, or cached and younger than the TTL) → ``reachable=True, stale=False``;
- the fetch failed but the key was fetched before → ``reachable=False, stale=True``, the last good
  status and its ``fetched_at``;
- the fetch failed and there is no history → ``reachable=False, stale=False, fetched_at=None`` and the
  fallback status (``DEFAULT_BILLING_MODE`` = POSTPAID, ACTIVE, 15 days, no credits,
  ``source="v1_default"``); nothing is cached for that key.

The TTL is 45 s by default (at least 1 s). A reserve/consume/release naming an external key
invalidates that key's entry (:meth:`StatusCache.invalidate`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)

DEFAULT_BILLING_MODE = "POSTPAID"
DEFAULT_TTL_S = 45.0
MIN_TTL_S = 1.0
DEFAULT_PAYMENT_TERMS_DAYS = 15


class Credit(BaseModel):
    """Credit balances (defaults 0 when V2 leaves them out)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    wallet: int = 0
    reserved: int = 0
    available: int = 0


class AccountStatus(BaseModel):
    """An account's status as V1 uses it, normalised (§8.2): ``billing_mode`` upper-cased (default
    ``DEFAULT_BILLING_MODE``), ``account_status`` ACTIVE and ``payment_terms_days`` 15 by default, and
    ``credit`` zeros. Other fields of V2's answer are kept (``extra``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    billing_mode: str = DEFAULT_BILLING_MODE
    account_status: str = "ACTIVE"
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS
    credit: Credit = Field(default_factory=Credit)
    account_id: str | None = None
    external_key: str | None = None
    source: str = "v2"

    @property
    def can_use_credits(self) -> bool:
        """Soft gate (§8.3): a CREDIT account with credits available."""
        return self.billing_mode == "CREDIT" and self.credit.available > 0

    @property
    def insufficient_credits(self) -> bool:
        """Soft gate (§8.3): a CREDIT account with nothing available (warn the approver, never block)."""
        return self.billing_mode == "CREDIT" and self.credit.available <= 0


def normalize_status(raw: dict[str, Any], default_mode: str = DEFAULT_BILLING_MODE) -> AccountStatus:
    """V2's status JSON (HTTP route or the topic's view) as V1 sees it; ``ValueError`` if unusable."""
    data = dict(raw)
    mode = data.get("billing_mode")
    data["billing_mode"] = str(mode).strip().upper() if mode else default_mode.upper()
    status = data.get("account_status") or data.get("status")
    data["account_status"] = str(status).strip().upper() if status else "ACTIVE"
    data.pop("status", None)
    if data.get("payment_terms_days") is None:
        data["payment_terms_days"] = DEFAULT_PAYMENT_TERMS_DAYS
    if not isinstance(data.get("credit"), dict):
        data["credit"] = {}
    data.setdefault("source", "v2")
    try:
        return AccountStatus.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"unusable status answer: {exc.errors()[:2]}") from exc


def fallback_status(default_mode: str = DEFAULT_BILLING_MODE) -> AccountStatus:
    """What V1 assumes when V2 never answered for a key."""
    return AccountStatus(billing_mode=default_mode.upper(), source="v1_default")


@dataclass(frozen=True)
class StatusEnvelope:
    """The answer of every status lookup (see the module docstring)."""

    reachable: bool
    stale: bool
    error: str | None
    fetched_at: datetime | None
    status: AccountStatus

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape V1's admin view renders."""
        return {
            "reachable": self.reachable,
            "stale": self.stale,
            "error": self.error,
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
            "status": self.status.model_dump(mode="json"),
        }


class StatusUnavailable(Exception):
    """A status source could not answer (unreachable, HTTP ≥ 400, unknown key, bad JSON)."""


class StatusSource(Protocol):
    """Where statuses come from: the HTTP routes or the compacted topic (:mod:`v1_bridge.sources`)."""

    async def fetch(self, key: str) -> dict[str, Any]:
        """The raw status JSON of an account key or id; raises on any failure."""
        ...


@dataclass
class _Entry:
    loaded_at: float  # monotonic clock, for the TTL
    fetched_at: datetime  # wall clock, for the envelope
    status: AccountStatus


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StatusCache:
    """Fail-open, TTL-bounded status lookups over one :class:`StatusSource`.

    ``clock`` (monotonic seconds) and ``wall`` (aware datetimes) are injectable for tests.
    """

    def __init__(
        self,
        source: StatusSource,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        default_mode: str = DEFAULT_BILLING_MODE,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._source = source
        self.ttl_s = max(MIN_TTL_S, ttl_s)
        self._default_mode = default_mode.upper()
        self._clock = clock
        self._wall = wall
        self._entries: dict[str, _Entry] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def invalidate(self, key: str | None) -> None:
        """Forget a key's status (after a reserve/consume/release on it)."""
        if key:
            self._entries.pop(key.strip(), None)

    def expire(self, key: str) -> None:
        """Keep the last good status of ``key`` (stale-while-error) but make the next lookup fetch."""
        entry = self._entries.get(key.strip())
        if entry is not None:
            entry.loaded_at = self._clock() - self.ttl_s - 1

    async def lookup(self, key: str, *, force_refresh: bool = False) -> StatusEnvelope:
        """The status of ``key`` (an external key or an account uuid); never raises."""
        key = key.strip()
        entry = self._entries.get(key)
        if entry is not None and not force_refresh and self._clock() - entry.loaded_at < self.ttl_s:
            return StatusEnvelope(True, False, None, entry.fetched_at, entry.status)
        try:
            status = normalize_status(await self._source.fetch(key), self._default_mode)
        except Exception as exc:
            error = _describe(exc)
            log.warning("v2 billing status unavailable", extra={"key": key, "error": error})
            if entry is not None:
                return StatusEnvelope(False, True, error, entry.fetched_at, entry.status)
            return StatusEnvelope(False, False, error, None, fallback_status(self._default_mode))
        fresh = _Entry(self._clock(), self._wall(), status)
        self._entries[key] = fresh
        return StatusEnvelope(True, False, None, fresh.fetched_at, status)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]
