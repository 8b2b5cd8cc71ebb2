"""Play V1 against a running V2 stack: a commission accepted → ``work_accepted`` + a hold; its
deliverable released → ``deliverables_released`` + the hold consumed. Exits 1 on any mismatch.

It reads the bridge's settings (``V1_BRIDGE_BASE_URL``, ``V1_BRIDGE_SERVICE_TOKEN``,
``V1_BRIDGE_KAFKA_BOOTSTRAP``, or the dev stack's ``ZENOPS_GATEWAY_URL``, ``ZENOPS_SERVICE_TOKEN``,
``ZENOPS_KAFKA_BOOTSTRAP``) and, only to set up the demo's CREDIT account through the control
plane, ``V1_BRIDGE_STUDIO_ADMIN_TOKEN`` or ``ZENOPS_STUDIO_ADMIN_TOKEN``. ``--account-key`` plays on
an existing CREDIT account instead. Against the dev stack::

    make up && eval "$(make env)" && uv run --frozen python -m v1_bridge.examples.play_v1

Exit status: 0 all as expected, 1 a mismatch (named on stderr), 2 missing settings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from v1_bridge.client import BillingBridge, BridgeConfig
from v1_bridge.keys import normalize_key

DEV_TENANT = "11111111-1111-1111-1111-111111111111"
T = TypeVar("T")


class Mismatch(Exception):
    """What V2 did is not what V1 expects."""


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def check(condition: bool, message: str, seen: object) -> None:
    if not condition:
        raise Mismatch(f"{message}; saw {seen!r}")
    print(f"    ok: {message}", flush=True)


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, within_s: float = 30.0) -> T:
    """Poll ``probe`` until it answers something (V2 applies events asynchronously)."""
    deadline = time.monotonic() + within_s
    while True:
        found = await probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise Mismatch(f"{what} not seen within {within_s:.0f} s")
        await asyncio.sleep(0.25)


async def create_credit_account(studio: httpx.AsyncClient, key: str, tenant: str, credits: int) -> str:
    """A CREDIT account under ``key`` with ``credits`` granted (the studio control plane)."""
    resp = await studio.post(
        "/v1/control/accounts",
        json={
            "tenant_id": tenant,
            "account_type": "external_associate",
            "display_name": f"V1 play {key}",
            "external_key": key,
        },
    )
    if resp.status_code != 201:
        raise Mismatch(f"account create answered {resp.status_code}: {resp.text[:300]}")
    account_id = str(resp.json()["account_id"])
    grant = await studio.post(
        f"/v1/control/accounts/{account_id}/credits/grant",
        json={"amount": credits, "idempotency_key": f"v1-play-seed:{account_id}"},
    )
    if grant.status_code != 201:
        raise Mismatch(f"grant answered {grant.status_code}: {grant.text[:300]}")
    policy = await studio.patch(f"/v1/control/accounts/{account_id}/policy", json={"billing_mode": "credit"})
    if policy.status_code != 200:
        raise Mismatch(f"policy answered {policy.status_code}: {policy.text[:300]}")
    return account_id


async def usage_keys(http: httpx.AsyncClient, account_key: str) -> set[str]:
    """The idempotency keys of the account's V1 usage events on V2's timeline."""
    resp = await http.get("/v1/billing/timeline", params={"external_key": account_key, "limit": 200})
    if resp.status_code != 200:
        return set()
    return {str(i["idempotency_key"]) for i in resp.json() if i.get("source") == "USAGE_V1"}


async def play(
    config: BridgeConfig, *, studio_token: str, tenant: str, account_key: str | None
) -> dict[str, Any]:
    """The V1 story; returns what it observed, raises :class:`Mismatch` on the first surprise."""
    rng = random.SystemRandom()
    partner_id = rng.randrange(10**8, 10**9)
    commission_id, assignment_id, deliverable_id = (rng.randrange(10**8, 10**9) for _ in range(3))
    async with BillingBridge.open(config) as bridge:
        http = httpx.AsyncClient(
            base_url=config.base_url, headers={"x-service-token": config.service_token}, timeout=30
        )
        async with http:
            if account_key is None:
                account_key = normalize_key("external_associate", partner_id)
                step(f"create a CREDIT account {account_key} with 2 credits (control plane)")
                async with httpx.AsyncClient(
                    base_url=config.base_url, headers={"authorization": f"Bearer {studio_token}"}, timeout=30
                ) as studio:
                    await create_credit_account(studio, account_key, tenant, credits=2)
            partner = account_key.rsplit(":", 1)[1]
            before = await bridge.account_status(account_key, force_refresh=True)
            check(before.reachable, "V2 answers the account's status", before.error)
            check(
                before.status.billing_mode == "CREDIT",
                "the account is in CREDIT mode",
                before.status.billing_mode,
            )
            check(before.status.can_use_credits, "credits are available", before.status.credit)
            start = before.status.credit

            step(f"commission {commission_id} approved (assignment {assignment_id})")
            approved = await bridge.commission_approved(
                commission_id=commission_id,
                assignment_id=assignment_id,
                assignment_code=f"A-{assignment_id}",
                fees="1500.00",
                partner_id=partner,
            )
            check(approved.event_published, "work_accepted published", approved)
            hold = approved.credit or {}
            check(
                hold.get("status") == "ACTIVE" and hold.get("amount") == 1,
                "a hold of 1 credit reserved",
                hold,
            )
            held = (await bridge.account_status(account_key)).status.credit
            check(
                (held.reserved, held.available) == (start.reserved + 1, start.available - 1),
                "the status shows it reserved (the reserve invalidated the cached status)",
                held,
            )
            step("the same approval again (a V1 retry): nothing changes twice")
            again = await bridge.commission_approved(
                commission_id=commission_id,
                assignment_id=assignment_id,
                assignment_code=f"A-{assignment_id}",
                fees="1500.00",
                partner_id=partner,
            )
            check((again.credit or {}).get("id") == hold.get("id"), "the same hold answered", again.credit)
            check(
                (await bridge.account_status(account_key)).status.credit == held, "balances unchanged", held
            )

            step(f"deliverable {deliverable_id} released to the partner")
            released = await bridge.deliverable_released(
                deliverable_id=deliverable_id,
                assignment_id=assignment_id,
                assignment_code=f"A-{assignment_id}",
                document_id=deliverable_id,
                released_at=datetime.now(UTC),
                commission_id=commission_id,
                partner_id=partner,
            )
            check(released.event_published, "deliverables_released published", released)
            consumed = released.credit or {}
            check(
                consumed.get("reason") == "consume" and consumed.get("reservationId") == hold.get("id"),
                "the hold consumed",
                consumed,
            )
            after = (await bridge.account_status(account_key)).status.credit
            check(
                (after.wallet, after.reserved, after.available)
                == (start.wallet - 1, start.reserved, start.available - 1),
                "one credit spent, nothing left reserved",
                after,
            )

            step("V2 stored both usage events once (billing's consumer of v1.billing-events.v1)")
            wanted = {approved.event_key, released.event_key}

            async def stored() -> set[str] | None:
                found = await usage_keys(http, account_key or "")
                return found if wanted <= found else None

            keys = await eventually(stored, "the usage events on V2's timeline")
            check(wanted <= keys, "work_accepted and deliverables_released on the timeline", sorted(keys))
    return {
        "account_key": account_key,
        "commission_id": commission_id,
        "deliverable_id": deliverable_id,
        "hold_id": hold.get("id"),
        "ledger_entry_id": consumed.get("id"),
        "events": sorted(wanted),
        "credit_before": start.model_dump(),
        "credit_after": after.model_dump(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m v1_bridge.examples.play_v1", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--account-key", default=None, help="play on this existing CREDIT account (v1:partner:<id>)"
    )
    parser.add_argument("--tenant", default=DEV_TENANT, help="tenant of the account the example creates")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    config = BridgeConfig.from_env(env)
    studio_token = env.get("V1_BRIDGE_STUDIO_ADMIN_TOKEN") or env.get("ZENOPS_STUDIO_ADMIN_TOKEN") or ""
    if not config.enabled or not config.kafka_bootstrap or (args.account_key is None and not studio_token):
        print(
            "play_v1: set V1_BRIDGE_BASE_URL, V1_BRIDGE_SERVICE_TOKEN, V1_BRIDGE_KAFKA_BOOTSTRAP and "
            'V1_BRIDGE_STUDIO_ADMIN_TOKEN (for the dev stack: make up; eval "$(make env)")',
            file=sys.stderr,
        )
        return 2
    try:
        outcome = asyncio.run(
            play(config, studio_token=studio_token, tenant=args.tenant, account_key=args.account_key)
        )
    except Mismatch as exc:
        print(f"MISMATCH: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(outcome, indent=None if args.json else 2))
    print("V1 play: all as expected", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
