"""Drive the factory through the real broker: publish the events other services would publish.

The workorders and billing sides are built concurrently, so these helpers publish ``created``,
``ready_for_render``, ``reopened``, ``work_order_billing`` and ``gate_decided`` themselves, to the same
contracts, with a real producer; the factory's own consumers, worker and relay do the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.launcher import StackInfo
from devstack.testing.data import COMPLETE_READINESS, SBI_WORK_ORDER
from devstack.testing.fixtures import TEST_TENANT, TEST_USER, make_token
from devstack.testing.gateway import eventually
from devstack.testing.messaging import publish as send
from shared.blobstore import BlobStore
from shared.contracts.base import Event
from shared.contracts.billing import GateDecided, GateResult, WorkOrderBilling
from shared.contracts.workorders import ReadyForRender, WorkOrderCreated, WorkOrderReopened, WorkOrderView
from shared.messaging.envelope import Envelope
from shared.stable_json import stable_sha256
from shared.timestamps import utc_now_iso


def export_bundle(work_order_id: str, snapshot_version: int, photos: list[str]) -> dict[str, Any]:
    """An SBI < 5 Cr bundle (domain.md §1.9) with computed values and photo evidence by sha256."""
    manifest = [
        {
            "id": f"item-{i}",
            "evidence_type": "PHOTO",
            "doc_type": "OTHER",
            "annexure_order": i,
            "classification": "site_photo",
            "sensitivity": "internal",
            "source": "mobile_camera",
            "document_id": f"doc-{i}",
            "file_ref": None,
            "captured_by_employee_id": None,
            "captured_at": None,
            "tags": {"category": "exterior"},
            "created_at": "2026-02-24T10:00:00.000Z",
            "document": {
                "id": f"doc-{i}",
                "original_filename": f"photo-{i}.png",
                "content_type": "image/png",
                "size_bytes": 100,
                "status": "ACTIVE",
                "classification": "site_photo",
                "source": "mobile_camera",
                "storage_key": sha,
                "sha256": sha,
            },
            "annexure_hint": {
                "label": "Exterior",
                "category": "exterior",
                "sort_order": i,
                "group_hint": None,
            },
        }
        for i, sha in enumerate(photos, start=1)
    ]
    return {
        "work_order_id": work_order_id,
        "snapshot_version": snapshot_version,
        "contract_json": {
            "meta": {"report_type": "VALUATION", "bank_type": "SBI", "template_selector": "SBI_FORMAT_A"},
            "party": {"bank_name": "State Bank of India", "borrower_name": "Asha Rao"},
            "property": {"address": "Factory demo site", "land_area": {"value": 1200, "unit": "sqft"}},
            "computed_values": {"FMV": 3500000, "realizable_value": 3325000, "distress_value": 2800000},
            "manual_fields": {"justification_text": "Demo justification placeholder"},
            "audit": {"created_at": "2026-02-24T10:00:00.000Z"},
        },
        "derived_json": {
            "value_slab": "LT_5CR",
            "template_selector": "SBI_FORMAT_A",
            "computed_values": {"FMV": 3500000, "realizable_value": 3325000, "distress_value": 2800000},
            "standardized": {"area": {"land_area_sqm": 111.48}, "rates": {"market_rate_per_sqm": 19375.02}},
            "warnings": [],
        },
        "readiness_json": COMPLETE_READINESS,
        "annexure_defaults": {"min_images_per_page": 2, "max_images_per_page": 4},
        "evidence_manifest": manifest,
    }


class FactoryKit:
    """Publishes foreign events, reads the factory schema, and calls the gateway as different callers."""

    def __init__(
        self,
        stack: StackInfo,
        make_png: Callable[[tuple[int, int], tuple[int, int, int]], bytes],
        producer: AIOKafkaProducer,
    ) -> None:
        self.stack = stack
        self.make_png = make_png
        self.blobs = BlobStore(stack.blob_dir)
        self.producer = producer
        self.versions: dict[str, int] = {}
        self.run = uuid.uuid4().hex[:8]

    def key(self, name: str) -> str:
        """A release idempotency key unique to this test (keys are per tenant and the stack persists)."""
        return f"{name}-{self.run}"

    # ------------------------------------------------------------------------------ publishing

    async def publish(
        self,
        event: Event,
        *,
        key: str,
        version: int,
        tenant_id: str = TEST_TENANT,
        message_id: str | None = None,
    ) -> Envelope:
        """``event`` about aggregate ``key`` on its topic, as the producing service's relay would."""
        return await send(
            self.producer,
            event,
            aggregate_id=key,
            version=version,
            tenant_id=tenant_id,
            message_id=message_id,
        )

    async def resend(self, topic: str, envelope: Envelope) -> None:
        """Deliver the very same message again (a redelivery: same message id)."""
        await send(self.producer, envelope, topic=topic)

    def next_version(self, key: str) -> int:
        self.versions[key] = self.versions.get(key, 0) + 1
        return self.versions[key]

    async def created(self, work_order_id: str) -> None:
        view = WorkOrderView(
            # the demo SBI work order, but over a CHANNEL by the test user, so its portal token may
            # download the deliverables
            **{**SBI_WORK_ORDER, "source_type": "CHANNEL"},
            created_by_user_id=TEST_USER,
            id=work_order_id,
            org_id=TEST_TENANT,
            value_slab="UNKNOWN",
            template_selector="UNKNOWN",
            status="DRAFT",
            created_at=utc_now_iso(),
            updated_at=utc_now_iso(),
        )
        await self.publish(
            WorkOrderCreated(work_order=view), key=work_order_id, version=self.next_version(work_order_id)
        )

    def ready_event(
        self,
        work_order_id: str,
        *,
        snapshot_version: int = 2,
        render_generation: int = 1,
        bad_hash: bool = False,
    ) -> ReadyForRender:
        photos = [self.blobs.put(self.make_png((64, 48), (200, 30 * i, 40))) for i in range(1, 3)]
        bundle = export_bundle(work_order_id, snapshot_version, photos)
        return ReadyForRender(
            work_order_id=work_order_id,
            export_bundle=bundle,
            export_bundle_hash="0" * 64 if bad_hash else stable_sha256(bundle),
            snapshot_version=snapshot_version,
            template_selector="SBI_FORMAT_A",
            value_slab="LT_5CR",
            report_type="VALUATION",
            bank_type="SBI",
            render_generation=render_generation,
            readiness_score=100,
        )

    async def ready(self, work_order_id: str, **kwargs: Any) -> Envelope:
        event = self.ready_event(work_order_id, **kwargs)
        return await self.publish(event, key=work_order_id, version=self.next_version(work_order_id))

    async def reopened(self, work_order_id: str, render_generation: int) -> None:
        event = WorkOrderReopened(
            work_order_id=work_order_id, note="fix the address", render_generation=render_generation
        )
        await self.publish(event, key=work_order_id, version=self.next_version(work_order_id))

    async def billing(self, work_order_id: str, **state: Any) -> None:
        key = f"billing:{work_order_id}"
        event = WorkOrderBilling(work_order_id=work_order_id, **state)
        await self.publish(event, key=work_order_id, version=self.next_version(key))

    async def gate(
        self, work_order_id: str, release: dict[str, Any], result: GateResult, **extra: Any
    ) -> Envelope:
        key = f"billing:{work_order_id}"
        event = GateDecided(
            decision_id=str(uuid.uuid4()),
            release_id=release["id"],
            work_order_id=work_order_id,
            idempotency_key=release["idempotency_key"],
            mode=extra.pop("mode", "POSTPAID"),
            result=result,
            decision_hash=uuid.uuid4().hex * 2,
            **extra,
        )
        return await self.publish(event, key=work_order_id, version=self.next_version(key))

    async def wait_consumed(self, message_id: str) -> None:
        """Until the factory's consumer has stored its inbox row for ``message_id``."""

        async def check() -> bool | None:
            rows = await self.fetch(
                "SELECT 1 FROM factory.inbox WHERE message_id = $1", uuid.UUID(message_id)
            )
            return True if rows else None

        await eventually(check, "the inbox row of the message", within_s=60)

    # ---------------------------------------------------------------------------------- reading

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.stack.admin_dsn)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def release_count(self, work_order_id: str) -> int:
        """How many release rows the work order has, read straight from the table."""
        rows = await self.fetch(
            "SELECT 1 FROM factory.deliverable_releases WHERE work_order_id = $1", uuid.UUID(work_order_id)
        )
        return len(rows)

    async def packs(self, work_order_id: str) -> list[asyncpg.Record]:
        return await self.fetch(
            "SELECT * FROM factory.report_packs WHERE work_order_id = $1 ORDER BY version",
            uuid.UUID(work_order_id),
        )

    async def job(self, pack_id: uuid.UUID) -> asyncpg.Record | None:
        rows = await self.fetch(
            "SELECT * FROM factory.report_generation_jobs WHERE report_pack_id = $1", pack_id
        )
        return rows[0] if rows else None

    async def wait_generated(self, work_order_id: str, *, version: int = 1) -> asyncpg.Record:
        async def check() -> asyncpg.Record | None:
            for pack in await self.packs(work_order_id):
                if pack["version"] == version and pack["status"] == "generated":
                    return pack
            return None

        return await eventually(check, f"pack v{version} to be generated", within_s=90)

    async def wait_pending_release(self, work_order_id: str, key: str) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            rows = await self.fetch(
                "SELECT id::text, idempotency_key FROM factory.deliverable_releases "
                "WHERE work_order_id = $1 AND idempotency_key = $2",
                uuid.UUID(work_order_id),
                key,
            )
            return dict(rows[0]) if rows else None

        return await eventually(check, "the pending release", within_s=30)

    async def audit_actions(self, work_order_id: str) -> list[str]:
        """The work order's audit actions, oldest first."""
        rows = await self.fetch(
            "SELECT action FROM factory.report_audit_logs WHERE work_order_id = $1 ORDER BY id",
            uuid.UUID(work_order_id),
        )
        return [r["action"] for r in rows]

    async def outbox_types(self, work_order_id: str) -> list[str]:
        rows = await self.fetch(
            "SELECT envelope->>'type' AS t FROM factory.outbox WHERE key = $1 ORDER BY id", work_order_id
        )
        return [r["t"] for r in rows]

    async def pending_release(
        self,
        work_order_id: str,
        pack_id: uuid.UUID,
        key: str,
        *,
        override: bool = False,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """A PENDING release written straight to the table, so no ``release_requested`` reaches billing's
        real decider: the test alone decides its outcome with ``gate_decided``."""
        rows = await self.fetch(
            "INSERT INTO factory.deliverable_releases (id, tenant_id, work_order_id, report_pack_id, idempotency_key, "
            "override_requested, override_reason, billing_gate_result) VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING') "
            "RETURNING id::text, idempotency_key",
            uuid.uuid4(),
            uuid.UUID(TEST_TENANT),
            uuid.UUID(work_order_id),
            pack_id,
            key,
            override,
            reason,
        )
        return dict(rows[0])

    async def wait_decided(self, release_id: str) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            rows = await self.fetch(
                "SELECT billing_gate_result, billing_mode_at_release, metadata_json, error_code "
                "FROM factory.deliverable_releases WHERE id = $1",
                uuid.UUID(release_id),
            )
            return dict(rows[0]) if rows and rows[0]["billing_gate_result"] != "PENDING" else None

        return await eventually(check, "the inbox row of the message", within_s=60)

    # ------------------------------------------------------------------------------------- HTTP

    def client(self, **token: Any) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {make_token(self.stack, **token)}"}
        return httpx.AsyncClient(base_url=self.stack.urls["gateway"], headers=headers, timeout=60)

    async def generated_work_order(self) -> tuple[str, asyncpg.Record]:
        """A work order whose pack v1 is generated (published created + ready_for_render)."""
        work_order_id = str(uuid.uuid4())
        await self.created(work_order_id)
        await self.ready(work_order_id)
        return work_order_id, await self.wait_generated(work_order_id)

    async def release(
        self, client: httpx.AsyncClient, work_order_id: str, body: dict[str, Any], *, wait: int = 15000
    ) -> httpx.Response:
        return await client.post(
            f"/v1/repogen/work-orders/{work_order_id}/release-deliverables", params={"wait": wait}, json=body
        )


@pytest.fixture
def kit(
    stack: StackInfo,
    make_png: Callable[[tuple[int, int], tuple[int, int, int]], bytes],
    producer: AIOKafkaProducer,
) -> FactoryKit:
    """The factory tests' kit, publishing through the shared producer."""
    return FactoryKit(stack, make_png, producer)
