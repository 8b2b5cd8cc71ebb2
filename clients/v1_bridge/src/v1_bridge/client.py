"""The bridge V1 embeds: credit holds over HTTP, usage events, account status, and V1's flows (§8.2).

Everything here is fail-open (§8.3): a V2 that is down, slow or refusing never stops V1. Credit calls
answer the V2 JSON or ``None`` (logged); events answer whether they left; status lookups answer a
:class:`~v1_bridge.status.StatusEnvelope`. Only programming errors (a malformed id given to a key
function) raise.

::

    config = BridgeConfig.from_env()
    async with BillingBridge.open(config) as bridge:
        outcome = await bridge.commission_approved(commission_id=12, assignment_id=34, assignment_code="A-34",
                                                   fees="1500.00", partner_id=77)
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from v1_bridge import keys
from v1_bridge.contracts import V1UsageEvent
from v1_bridge.publisher import EventPublisher, HttpEventPublisher, KafkaEventPublisher
from v1_bridge.sources import HttpStatusSource, TopicStatusSource
from v1_bridge.status import (
    DEFAULT_BILLING_MODE,
    DEFAULT_TTL_S,
    MIN_TTL_S,
    StatusCache,
    StatusEnvelope,
    StatusSource,
    fallback_status,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
MIN_TIMEOUT_S = 0.5
COMMISSION_REF = "commission_request"
Json = dict[str, Any]


@dataclass(frozen=True)
class BridgeConfig:
    """How to reach V2. The bridge is enabled only with a base URL and a service token (§8.3)."""

    base_url: str = ""
    service_token: str = field(default="", repr=False)
    kafka_bootstrap: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S
    status_ttl_s: float = DEFAULT_TTL_S
    default_billing_mode: str = DEFAULT_BILLING_MODE
    status_from_topic: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeout_s", max(MIN_TIMEOUT_S, self.timeout_s))
        object.__setattr__(self, "status_ttl_s", max(MIN_TTL_S, self.status_ttl_s))
        object.__setattr__(self, "default_billing_mode", self.default_billing_mode.strip().upper())

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.service_token)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BridgeConfig:
        """``V1_BRIDGE_BASE_URL``, ``V1_BRIDGE_SERVICE_TOKEN``, ``V1_BRIDGE_KAFKA_BOOTSTRAP``,
        ``V1_BRIDGE_TIMEOUT_S``, ``V1_BRIDGE_STATUS_TTL_S``, ``V1_BRIDGE_DEFAULT_BILLING_MODE``,
        ``V1_BRIDGE_STATUS_FROM_TOPIC`` (1/true). A dev stack's ``make env`` names work too:
        ``ZENOPS_GATEWAY_URL``, ``ZENOPS_SERVICE_TOKEN``, ``ZENOPS_KAFKA_BOOTSTRAP``."""
        e = os.environ if env is None else env

        def get(name: str, dev: str = "") -> str:
            return (e.get(f"V1_BRIDGE_{name}") or (e.get(dev) if dev else "") or "").strip()

        def number(name: str, default: float) -> float:
            raw = get(name)
            try:
                return float(raw) if raw else default
            except ValueError:
                log.warning("ignoring a bad setting", extra={"setting": f"V1_BRIDGE_{name}"})
                return default

        return cls(
            base_url=get("BASE_URL", "ZENOPS_GATEWAY_URL"),
            service_token=get("SERVICE_TOKEN", "ZENOPS_SERVICE_TOKEN"),
            kafka_bootstrap=get("KAFKA_BOOTSTRAP", "ZENOPS_KAFKA_BOOTSTRAP"),
            timeout_s=number("TIMEOUT_S", DEFAULT_TIMEOUT_S),
            status_ttl_s=number("STATUS_TTL_S", DEFAULT_TTL_S),
            default_billing_mode=get("DEFAULT_BILLING_MODE") or DEFAULT_BILLING_MODE,
            status_from_topic=get("STATUS_FROM_TOPIC").lower() in {"1", "true", "yes"},
        )


@dataclass(frozen=True)
class FlowOutcome:
    """What one V1 flow did: the event sent (or not), the mode it saw and the credit call's answer."""

    event_key: str
    event_published: bool
    account_key: str
    billing_mode: str | None = None
    credit_key: str | None = None
    credit: Json | None = None


def _money(value: Decimal | int | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, float | bool):
        raise TypeError("money is a Decimal, an int or a decimal string, never a float")
    return str(Decimal(value).quantize(Decimal("0.01")))


class BillingBridge:
    """V1's adapter to V2 billing (see the module docstring)."""

    def __init__(
        self,
        config: BridgeConfig,
        *,
        http: httpx.AsyncClient | None,
        events: EventPublisher | None,
        status: StatusCache | None,
    ) -> None:
        self.config = config
        self._http = http
        self._events = events
        self.status_cache = status

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, config: BridgeConfig) -> AsyncIterator[BillingBridge]:
        """A bridge with its HTTP client, its event publisher (Kafka when a bootstrap is configured, else
        HTTP) and its status source (the topic when ``status_from_topic``, else HTTP). Disabled (every
        call a no-op answering the defaults) without a base URL and token."""
        if not config.enabled:
            log.info("v2 billing bridge disabled: no base URL or service token")
            yield cls(config, http=None, events=None, status=None)
            return
        async with contextlib.AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=config.base_url,
                    headers={"x-service-token": config.service_token},
                    timeout=config.timeout_s,
                )
            )
            events: EventPublisher = HttpEventPublisher(http)
            if config.kafka_bootstrap:
                kafka = KafkaEventPublisher(config.kafka_bootstrap, timeout_s=config.timeout_s)
                try:
                    await kafka.start()
                except Exception as exc:  # fail-open: V1 keeps going on HTTP
                    log.warning("kafka unavailable; events go over HTTP", extra={"error": repr(exc)[:300]})
                else:
                    stack.push_async_callback(kafka.stop)
                    events = kafka
            source: StatusSource = HttpStatusSource(http)
            if config.status_from_topic and config.kafka_bootstrap:
                topic = TopicStatusSource(config.kafka_bootstrap)
                try:
                    await topic.start()
                except Exception as exc:
                    log.warning(
                        "account-status topic unavailable; status over HTTP", extra={"error": repr(exc)[:300]}
                    )
                else:
                    stack.push_async_callback(topic.stop)
                    source = topic
            cache = StatusCache(source, ttl_s=config.status_ttl_s, default_mode=config.default_billing_mode)
            yield cls(config, http=http, events=events, status=cache)

    # --- status ------------------------------------------------------------------------------------------

    async def account_status(self, key: str, *, force_refresh: bool = False) -> StatusEnvelope:
        """The status envelope of an account key (or id); the fallback when the bridge is disabled."""
        if self.status_cache is None:
            return StatusEnvelope(
                False,
                False,
                "v2 billing bridge disabled",
                None,
                fallback_status(self.config.default_billing_mode),
            )
        return await self.status_cache.lookup(key, force_refresh=force_refresh)

    # --- credits -----------------------------------------------------------------------------------------

    async def reserve(
        self,
        *,
        ref_type: str,
        ref_id: str,
        idempotency_key: str,
        amount: int = 1,
        account_id: str | None = None,
        external_key: str | None = None,
    ) -> Json | None:
        """``POST /v1/billing/credits/reserve``: the reservation JSON, or None (logged) on any failure."""
        body: Json = {
            "ref_type": ref_type,
            "ref_id": ref_id,
            "idempotency_key": idempotency_key,
            "amount": amount,
        }
        return await self._credit_call("reserve", body, account_id, external_key)

    async def consume(
        self,
        *,
        ref_type: str,
        ref_id: str,
        idempotency_key: str,
        account_id: str | None = None,
        external_key: str | None = None,
        reservation_id: str | None = None,
    ) -> Json | None:
        """``POST /v1/billing/credits/consume``: the ledger entry JSON, or None (logged)."""
        body = _settle_body(ref_type, ref_id, idempotency_key, reservation_id)
        return await self._credit_call("consume", body, account_id, external_key)

    async def release(
        self,
        *,
        ref_type: str,
        ref_id: str,
        idempotency_key: str,
        account_id: str | None = None,
        external_key: str | None = None,
        reservation_id: str | None = None,
    ) -> Json | None:
        """``POST /v1/billing/credits/release``: the ledger entry JSON, or None (logged)."""
        body = _settle_body(ref_type, ref_id, idempotency_key, reservation_id)
        return await self._credit_call("release", body, account_id, external_key)

    async def _credit_call(
        self, operation: str, body: Json, account_id: str | None, external_key: str | None
    ) -> Json | None:
        if account_id:
            body["account_id"] = account_id
        if external_key:
            body["external_key"] = external_key
        if self.status_cache is not None:
            # The balance moves (or may have): the next lookup asks V2 again.
            self.status_cache.invalidate(external_key)
            self.status_cache.invalidate(account_id)
        if self._http is None:
            return None
        extra = {"operation": operation, "idempotency_key": body["idempotency_key"]}
        try:
            resp = await self._http.post(f"/v1/billing/credits/{operation}", json=body)
        except Exception as exc:
            log.warning("v2 credit call failed", extra={**extra, "error": repr(exc)[:300]})
            return None
        if resp.status_code >= 400:
            log.warning(
                "v2 credit call refused", extra={**extra, "status": resp.status_code, "body": resp.text[:300]}
            )
            return None
        try:
            answer = resp.json()
        except ValueError:
            log.warning("v2 credit call answered no JSON", extra=extra)
            return None
        return answer if isinstance(answer, dict) else None

    # --- events ------------------------------------------------------------------------------------------

    async def emit(self, event_type: str, *, account_key: str, idempotency_key: str, payload: Json) -> bool:
        """Send one usage event (``source_system`` v1); whether it left. Never raises for V2's sake."""
        if self._events is None:
            return False
        try:
            event = V1UsageEvent(
                event_type=event_type,
                external_account_key=account_key,
                idempotency_key=idempotency_key,
                payload_json=payload,
            )
        except ValueError as exc:
            log.warning(
                "v1 billing event not built",
                extra={"idempotency_key": idempotency_key, "error": str(exc)[:300]},
            )
            return False
        return await self._events.publish(event)

    async def invoice_event(
        self,
        event: str,
        *,
        invoice_id: int | str,
        status: str,
        updated_at: datetime | str,
        amount_due: Decimal | int | str,
        payload: Json,
        payment_id: int | str | None = None,
        partner_id: int | str | None = None,
        client_id: int | str | None = None,
        assignment_id: int | str | None = None,
    ) -> FlowOutcome:
        """An invoice lifecycle event (``invoice_created`` … ``invoice_paid``) under V1's key (V1-04)."""
        account_key = keys.invoice_account_key(
            invoice_id=invoice_id, partner_id=partner_id, client_id=client_id, assignment_id=assignment_id
        )
        idem = keys.invoice_event_key(
            event,
            invoice_id=invoice_id,
            payment_id=payment_id,
            status=status,
            updated_at=updated_at,
            amount_due=amount_due,
        )
        sent = await self.emit(event, account_key=account_key, idempotency_key=idem, payload=payload)
        return FlowOutcome(idem, sent, account_key)

    # --- the commission / deliverable flow (§8.2) ------------------------------------------------------

    async def commission_approved(
        self,
        *,
        commission_id: int | str,
        assignment_id: int | str,
        assignment_code: str,
        fees: Decimal | int | str | None = None,
        partner_id: int | str | None = None,
    ) -> FlowOutcome:
        """``work_accepted``, then a hold of 1 credit when the account's mode is CREDIT."""
        account_key = keys.commission_account_key(assignment_id=assignment_id, partner_id=partner_id)
        event_key = keys.work_accepted_key(commission_id)
        payload = {
            "commission_request_id": str(commission_id),
            "assignment_id": str(assignment_id),
            "assignment_code": assignment_code,
            "fees": _money(fees),
        }
        sent = await self.emit(
            "work_accepted", account_key=account_key, idempotency_key=event_key, payload=payload
        )
        mode = (await self.account_status(account_key)).status.billing_mode
        if mode != "CREDIT":
            return FlowOutcome(event_key, sent, account_key, mode)
        credit_key = keys.credit_reserve_key(commission_id)
        hold = await self.reserve(
            ref_type=COMMISSION_REF,
            ref_id=str(commission_id),
            idempotency_key=credit_key,
            amount=1,
            external_key=account_key,
        )
        return FlowOutcome(event_key, sent, account_key, mode, credit_key, hold)

    async def commission_needs_info(
        self,
        *,
        commission_id: int | str,
        assignment_id: int | str,
        assignment_code: str,
        partner_id: int | str | None = None,
    ) -> FlowOutcome:
        """``commission_cancelled``, then the commission's hold released (a 404 when there is none is
        swallowed, as V1 always did)."""
        account_key = keys.commission_account_key(assignment_id=assignment_id, partner_id=partner_id)
        event_key = keys.commission_cancelled_key(commission_id)
        payload = {
            "commission_request_id": str(commission_id),
            "assignment_id": str(assignment_id),
            "assignment_code": assignment_code,
        }
        sent = await self.emit(
            "commission_cancelled", account_key=account_key, idempotency_key=event_key, payload=payload
        )
        credit_key = keys.credit_release_key(commission_id)
        released = await self.release(
            ref_type=COMMISSION_REF,
            ref_id=str(commission_id),
            idempotency_key=credit_key,
            external_key=account_key,
        )
        return FlowOutcome(event_key, sent, account_key, None, credit_key, released)

    async def deliverable_released(
        self,
        *,
        deliverable_id: int | str,
        assignment_id: int | str,
        assignment_code: str,
        document_id: int | str,
        released_at: datetime | str,
        commission_id: int | str | None = None,
        partner_id: int | str | None = None,
    ) -> FlowOutcome:
        """``deliverables_released``, then, for an assignment that came from a commission, its hold
        consumed."""
        account_key = keys.commission_account_key(assignment_id=assignment_id, partner_id=partner_id)
        event_key = keys.deliverables_released_key(deliverable_id)
        payload = {
            "assignment_id": str(assignment_id),
            "assignment_code": assignment_code,
            "document_id": str(document_id),
            "deliverable_id": str(deliverable_id),
            "released_at": released_at.isoformat() if isinstance(released_at, datetime) else released_at,
        }
        sent = await self.emit(
            "deliverables_released", account_key=account_key, idempotency_key=event_key, payload=payload
        )
        if commission_id is None:
            return FlowOutcome(event_key, sent, account_key)
        credit_key = keys.credit_consume_key(deliverable_id)
        consumed = await self.consume(
            ref_type=COMMISSION_REF,
            ref_id=str(commission_id),
            idempotency_key=credit_key,
            external_key=account_key,
        )
        return FlowOutcome(event_key, sent, account_key, None, credit_key, consumed)


def _settle_body(ref_type: str, ref_id: str, idempotency_key: str, reservation_id: str | None) -> Json:
    """The body of consume and release (§8.2): the hold by reference, or by id when V1 knows it."""
    body: Json = {"ref_type": ref_type, "ref_id": ref_id, "idempotency_key": idempotency_key}
    if reservation_id:
        body["reservation_id"] = reservation_id
    return body
