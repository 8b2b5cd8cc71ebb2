"""The V1 step: the legacy system, through its bridge client (clients/v1_bridge), on the demo's CREDIT
account (domain.md §8): it reads the account's status after the CREDIT release, approves a commission
(``work_accepted`` + a hold of 1 credit), releases its deliverable (``deliverables_released`` + the
hold consumed) and finds both usage events on V2's timeline."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from devstack.testing import flows
from devstack.testing.polling import eventually
from scripts.demo.progress import Steps
from v1_bridge import BillingBridge, BridgeConfig, parse_key


@dataclass(frozen=True)
class V1Outcome:
    """What V1 saw: the credit balances before and after its commission, and its usage events."""

    account_key: str
    credit_before: dict[str, Any]
    credit_after: dict[str, Any]
    hold_id: str
    events: list[str]


def _check(condition: bool, message: str, seen: object) -> None:
    if not condition:
        raise flows.FlowError(f"V1: {message}; saw {seen!r}")


async def v1_step(config: BridgeConfig, steps: Steps, account_key: str) -> V1Outcome:
    """V1's commission and deliverable on the CREDIT account ``account_key`` (``v1:partner:<id>``)."""
    partner = parse_key(account_key).ident
    commission, assignment, deliverable = (secrets.randbelow(9 * 10**8) + 10**8 for _ in range(3))
    async with BillingBridge.open(config) as bridge:
        steps.step(f"V1 reads {account_key} through the bridge")
        before = await bridge.account_status(account_key, force_refresh=True)
        _check(before.reachable, "V2 answers the account's status", before.error)
        _check(before.status.billing_mode == "CREDIT", "the account is in CREDIT mode", before.status)
        credit = before.status.credit
        steps.note(
            f"CREDIT: wallet {credit.wallet}, reserved {credit.reserved}, available {credit.available}"
        )

        steps.step(f"V1 approves commission {commission}: work_accepted + a hold of 1 credit")
        approved = await bridge.commission_approved(
            commission_id=commission,
            assignment_id=assignment,
            assignment_code=f"A-{assignment}",
            fees="1500.00",
            partner_id=partner,
        )
        hold = approved.credit or {}
        _check(approved.event_published, "work_accepted published", approved)
        _check(hold.get("status") == "ACTIVE" and hold.get("amount") == 1, "a hold of 1 credit", hold)

        steps.step(f"V1 releases deliverable {deliverable}: deliverables_released + the hold consumed")
        released = await bridge.deliverable_released(
            deliverable_id=deliverable,
            assignment_id=assignment,
            assignment_code=f"A-{assignment}",
            document_id=deliverable,
            released_at=datetime.now(UTC),
            commission_id=commission,
            partner_id=partner,
        )
        consumed = released.credit or {}
        _check(released.event_published, "deliverables_released published", released)
        _check(consumed.get("reservationId") == hold.get("id"), "the hold consumed", consumed)
        after = (await bridge.account_status(account_key, force_refresh=True)).status.credit
        _check(
            (after.wallet, after.reserved) == (credit.wallet - 1, credit.reserved),
            "one credit spent, nothing left reserved",
            after,
        )
        steps.note(f"CREDIT: wallet {after.wallet}, reserved {after.reserved}, available {after.available}")

    steps.step("V2 stored both usage events once (timeline)")
    wanted = {approved.event_key, released.event_key}
    async with httpx.AsyncClient(
        base_url=config.base_url, headers={"x-service-token": config.service_token}, timeout=30
    ) as http:

        async def stored() -> set[str] | None:
            resp = await http.get("/v1/billing/timeline", params={"external_key": account_key, "limit": 200})
            if resp.status_code != 200:
                return None
            keys = {str(i["idempotency_key"]) for i in resp.json() if i.get("source") == "USAGE_V1"}
            return keys if wanted <= keys else None

        await eventually(stored, "V1's usage events on the timeline", within_s=60, every_s=0.3)
    steps.note(f"usage events {sorted(wanted)}")
    return V1Outcome(
        account_key,
        credit.model_dump(),
        after.model_dump(),
        str(hold.get("id")),
        sorted(wanted),
    )
