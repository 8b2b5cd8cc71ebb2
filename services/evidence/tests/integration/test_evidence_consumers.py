"""Evidence handlers and consumers against the real database and broker (issue 6).

EVI-02 (adapted to real OCR: a job without a document ends DONE with ``NO_DOCUMENT``), EVI-03 (a DONE
job is not redone) and duplicate deliveries of work-order events (nothing changes twice).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.launcher import StackInfo
from devstack.testing.fixtures import TEST_TENANT
from devstack.testing.messaging import RawEvent, publish
from devstack.testing.polling import eventually
from evidence_service.handlers.process_ocr_job import OcrEngineSettings, ProcessOcrJob, process_ocr_job
from evidence_service.records import NewOcrJob
from evidence_service.repositories import OcrJobRepository
from shared.blobstore import BlobStore
from shared.contracts.topics import WORKORDERS_WORK_ORDER
from shared.db.database import Database, Role
from shared.db.uow import SqlUnitOfWork
from shared.messaging.envelope import Envelope
from shared.messaging.outbox import OutboxWriter

pytestmark = pytest.mark.stack


@pytest.fixture
async def db(stack: StackInfo) -> AsyncIterator[Database]:
    env = stack.env("evidence")
    database = Database(env["ZENOPS_DB_APP_URL"], env["ZENOPS_DB_SYSTEM_URL"], pool_size=2)
    yield database
    await database.dispose()


async def _work_order_with_item(gateway: httpx.AsyncClient) -> tuple[str, str]:
    created = await gateway.post(
        "/v1/repogen/work-orders",
        json={"source_type": "TENANT", "report_type": "VALUATION", "bank_name": "SBI", "bank_type": "SBI"},
    )
    wo_id = created.json()["work_order_id"]
    linked = await gateway.post(
        f"/v1/repogen/work-orders/{wo_id}/evidence/link",
        json={"items": [{"evidence_type": "PHOTO", "file_ref": "demo://p.jpg"}]},
    )
    assert linked.status_code == 201, linked.text
    return wo_id, linked.json()["evidence_items"][0]["id"]


class TestOcrProcessor:
    async def test_evi02_and_evi03(self, gateway: httpx.AsyncClient, stack: StackInfo, db: Database) -> None:
        wo_id, item_id = await _work_order_with_item(gateway)
        job_id = uuid.uuid4()
        # The job row is written without its event, so only this test runs it.
        async with SqlUnitOfWork(db, OutboxWriter("evidence"), role=Role.SYSTEM) as uow:
            await uow.repo(OcrJobRepository).add(
                uuid.UUID(TEST_TENANT), NewOcrJob(job_id, uuid.UUID(wo_id), uuid.UUID(item_id), None)
            )
            await uow.commit()
        command = ProcessOcrJob(TEST_TENANT, job_id, wo_id, item_id, request_id="req-ocr-1")
        engine = OcrEngineSettings(BlobStore(Path(stack.env("evidence")["ZENOPS_BLOB_DIR"])), timeout_s=30)

        async def run() -> bool:
            async with SqlUnitOfWork(db, OutboxWriter("evidence"), role=Role.SYSTEM) as uow:
                processed = await process_ocr_job(uow, command, engine=engine)
                await uow.commit()
            return processed

        async def job_row() -> tuple[asyncpg.Record, int]:
            conn = await asyncpg.connect(stack.admin_dsn)
            try:
                row = await conn.fetchrow("SELECT * FROM evidence.ocr_jobs WHERE id = $1", job_id)
                version = await conn.fetchval(
                    "SELECT evidence_version FROM evidence.work_orders WHERE work_order_id = $1",
                    uuid.UUID(wo_id),
                )
            finally:
                await conn.close()
            assert row is not None
            return row, version

        first = await run()
        (done, version_after_first) = await job_row()
        second = await run()
        (again, version_after_second) = await job_row()

        assert first is True
        assert done["status"] == "DONE"
        assert done["worker_trace"] == "req-ocr-1"
        result = json.loads(done["result_json"])
        assert result["note"] == "NO_DOCUMENT"
        assert (result["extracted_text"], result["detected_fields"]) == ("", [])
        assert result["request_id"] == "req-ocr-1"
        assert second is False  # EVI-03: no update
        assert again["finished_at"] == done["finished_at"]
        assert version_after_second == version_after_first


class TestDuplicateDeliveries:
    async def test_redelivered_created_event_changes_nothing(
        self, gateway: httpx.AsyncClient, stack: StackInfo, producer: AIOKafkaProducer
    ) -> None:
        wo_id, _ = await _work_order_with_item(gateway)
        conn = await asyncpg.connect(stack.admin_dsn)
        try:
            created = await conn.fetchval(
                "SELECT envelope::text FROM workorders.outbox WHERE key = $1 ORDER BY id LIMIT 1", wo_id
            )
            before = await conn.fetchval("SELECT count(*) FROM evidence.outbox WHERE key = $1", wo_id)
        finally:
            await conn.close()
        original = Envelope.model_validate_json(created)
        replayed = original.model_copy(update={"message_id": str(uuid.uuid4())})
        for envelope in (original, replayed):
            await publish(producer, envelope, topic=WORKORDERS_WORK_ORDER)
        await publish(
            producer, RawEvent(WORKORDERS_WORK_ORDER, "marker_for_test", {}), aggregate_id=wo_id, version=50
        )

        conn = await asyncpg.connect(stack.admin_dsn)
        try:

            async def _marker_seen() -> int | None:
                version: int | None = await conn.fetchval(
                    "SELECT source_version FROM evidence.work_orders WHERE work_order_id = $1",
                    uuid.UUID(wo_id),
                )
                return version if version == 50 else None

            seen = await eventually(_marker_seen, "the marker event to be consumed", within_s=60, every_s=0.2)
            after = await conn.fetchval("SELECT count(*) FROM evidence.outbox WHERE key = $1", wo_id)
            outcomes = await conn.fetch(
                "SELECT outcome FROM evidence.inbox WHERE message_id = ANY($1::uuid[]) ORDER BY outcome",
                [original.message_id, replayed.message_id],
            )
        finally:
            await conn.close()
        assert seen == 50, "the marker event was not consumed"
        assert after == before
        # The same message id is found in the inbox; a re-sent copy with a new id is stale by version.
        assert [r["outcome"] for r in outcomes] == ["applied", "stale"]
