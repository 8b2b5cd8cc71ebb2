"""All SQL of the evidence service. Never commits (the unit of work does).

Every query names the tenant explicitly even though row-level security already scopes the ``app``
role: consumers run as the ``system`` role, which sees every tenant.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from evidence_service.domain.profiles import SEED_FIELD_DEFS, SEED_PROFILES
from evidence_service.settings import SCHEMA
from shared.timestamps import iso_utc

S = SCHEMA

SEED_VERSION = 1
"""Bump when the seeds of domain.md §4.2 change, so existing tenants get the missing rows."""


def iso(value: Any) -> Any:
    """ISO-8601 UTC with milliseconds (domain.md §0), or the value unchanged."""
    return iso_utc(value) if isinstance(value, datetime) else value


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------------------- serializers


def serialize_document(row: Mapping[str, Any]) -> dict[str, Any]:
    """The full document metadata (``POST /v1/documents``, ``GET /v1/documents/:id``)."""
    return {
        "id": str(row["id"]),
        "original_filename": row["original_filename"],
        "content_type": row["content_type"],
        "size_bytes": int(row["size_bytes"]),
        "sha256": row["sha256"],
        "storage_key": row["storage_key"],
        "status": row["status"],
        "classification": row["classification"],
        "sensitivity": row["sensitivity"],
        "source": row["source"],
        "captured_at": iso(row["captured_at"]),
        "captured_by_employee_id": _str(row["captured_by_employee_id"]),
        "capture": _json(row["capture_json"]) or {},
        "created_by_user_id": _str(row["created_by_user_id"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def document_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``document`` embedded in a serialized evidence item (domain.md §1.6)."""
    return {
        "id": str(row["id"]),
        "original_filename": row["original_filename"],
        "content_type": row["content_type"],
        "size_bytes": int(row["size_bytes"]),
        "status": row["status"],
        "classification": row["classification"],
        "source": row["source"],
        "storage_key": row["storage_key"],
    }


def serialize_item(row: Mapping[str, Any], document: Mapping[str, Any] | None) -> dict[str, Any]:
    """A serialized evidence item (domain.md §1.6)."""
    return {
        "id": str(row["id"]),
        "evidence_type": row["evidence_type"],
        "doc_type": row["doc_type"],
        "classification": row["classification"],
        "sensitivity": row["sensitivity"],
        "source": row["source"],
        "document_id": _str(row["document_id"]),
        "file_ref": row["file_ref"],
        "captured_by_employee_id": _str(row["captured_by_employee_id"]),
        "captured_at": iso(row["captured_at"]),
        "annexure_order": row["annexure_order"],
        "tags": _json(row["tags"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "document": document_summary(document) if document is not None else None,
    }


def serialize_link(row: Mapping[str, Any]) -> dict[str, Any]:
    """A field-evidence link (domain.md §1.8) plus the snapshot version it was made on (decision 6)."""
    return {
        "id": str(row["id"]),
        "snapshot_id": _str(row["snapshot_id"]),
        "snapshot_version": row["snapshot_version"],
        "field_key": row["field_key"],
        "evidence_item_id": str(row["evidence_item_id"]),
        "confidence": row["confidence"],
        "note": row["note"],
        "created_by_user_id": _str(row["created_by_user_id"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def serialize_job(row: Mapping[str, Any]) -> dict[str, Any]:
    """An OCR job (domain.md §4.8)."""
    return {
        "id": str(row["id"]),
        "org_id": str(row["tenant_id"]),
        "work_order_id": str(row["work_order_id"]),
        "evidence_item_id": str(row["evidence_item_id"]),
        "status": row["status"],
        "requested_at": iso(row["requested_at"]),
        "finished_at": iso(row["finished_at"]),
        "result_json": _json(row["result_json"]),
        "error": row["error"],
        "created_by_user_id": _str(row["created_by_user_id"]),
        "worker_trace": row["worker_trace"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def serialize_profile_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """An evidence-profile item (domain.md §4.4)."""
    return {
        "id": str(row["id"]),
        "evidence_type": row["evidence_type"],
        "doc_type": row["doc_type"],
        "min_count": row["min_count"],
        "is_required": row["is_required"],
        "tags_json": _json(row["tags_json"]),
        "order_hint": row["order_hint"],
        "label": row["label"],
        "field_key_hint": row["field_key_hint"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def serialize_profile(row: Mapping[str, Any]) -> dict[str, Any]:
    """An evidence profile without items (domain.md §4.4)."""
    return {
        "id": str(row["id"]),
        "org_id": str(row["tenant_id"]),
        "report_type": row["report_type"],
        "bank_type": row["bank_type"],
        "value_slab": row["value_slab"],
        "name": row["name"],
        "is_default": row["is_default"],
        "metadata_json": _json(row["metadata_json"]) or {},
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "items_count": int(row.get("items_count") or 0),
    }


def serialize_field_def(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "field_key": row["field_key"],
        "label": row["label"],
        "data_type": row["data_type"],
        "required_by_default": row["required_by_default"],
        "unit": row["unit"],
        "metadata_json": _json(row["metadata_json"]) or {},
    }


_ITEM_ORDER = "annexure_order ASC NULLS LAST, created_at ASC, id ASC"


class EvidenceRepository:
    """SQL over the evidence schema for one tenant."""

    def __init__(self, session: AsyncSession, tenant_id: str | uuid.UUID) -> None:
        self.session = session
        self.tenant_id = uuid.UUID(str(tenant_id))

    async def _rows(self, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        result = await self.session.execute(text(sql), {"tenant": self.tenant_id, **params})
        return [dict(row) for row in result.mappings().all()]

    async def _row(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        rows = await self._rows(sql, params)
        return rows[0] if rows else None

    # ----------------------------------------------------------------------------------- documents

    async def insert_document(self, row: Mapping[str, Any]) -> dict[str, Any]:
        inserted = await self._row(
            f"INSERT INTO {S}.documents (id, tenant_id, original_filename, content_type, "
            "declared_content_type, size_bytes, sha256, storage_key, classification, sensitivity, source, "
            "captured_at, captured_by_employee_id, capture_json, created_by_user_id) VALUES (:id, :tenant, "
            ":original_filename, :content_type, :declared_content_type, :size_bytes, :sha256, :storage_key, "
            ":classification, :sensitivity, :source, :captured_at, :captured_by_employee_id, "
            "CAST(:capture_json AS jsonb), :created_by_user_id) RETURNING *",
            {**row, "capture_json": json.dumps(row.get("capture_json") or {})},
        )
        assert inserted is not None
        return inserted

    async def get_document(self, document_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._row(
            f"SELECT * FROM {S}.documents WHERE id = :id AND tenant_id = :tenant AND deleted_at IS NULL",
            {"id": document_id},
        )

    async def documents_by_ids(self, ids: Iterable[uuid.UUID]) -> dict[str, dict[str, Any]]:
        wanted = list({str(i) for i in ids})
        if not wanted:
            return {}
        rows = await self._rows(
            f"SELECT * FROM {S}.documents WHERE tenant_id = :tenant AND deleted_at IS NULL "
            "AND id = ANY(CAST(:ids AS uuid[]))",
            {"ids": wanted},
        )
        return {str(row["id"]): row for row in rows}

    # ------------------------------------------------------------------------- work-order projection

    async def work_order(
        self, work_order_id: uuid.UUID, *, for_update: bool = False
    ) -> dict[str, Any] | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self._row(
            f"SELECT * FROM {S}.work_orders WHERE work_order_id = :id AND tenant_id = :tenant{lock}",
            {"id": work_order_id},
        )

    async def insert_work_order(self, row: Mapping[str, Any]) -> bool:
        inserted = await self._row(
            f"INSERT INTO {S}.work_orders (work_order_id, tenant_id, report_type, bank_type, bank_name, "
            "value_slab, template_selector, status, source_version) VALUES (:id, :tenant, :report_type, "
            ":bank_type, :bank_name, :value_slab, :template_selector, :status, :source_version) "
            "ON CONFLICT (work_order_id) DO NOTHING RETURNING 1 AS inserted",
            row,
        )
        return inserted is not None

    async def update_work_order(self, work_order_id: uuid.UUID, **values: Any) -> None:
        """Set projection columns (json columns are serialized here)."""
        sets = []
        params: dict[str, Any] = {"id": work_order_id}
        for column, value in values.items():
            if column in {"latest_contract", "rule_warnings"}:
                sets.append(f"{column} = CAST(:{column} AS jsonb)")
                params[column] = _dumps(value)
            else:
                sets.append(f"{column} = :{column}")
                params[column] = value
        await self.session.execute(
            text(
                f"UPDATE {S}.work_orders SET {', '.join(sets)}, updated_at = now() "
                "WHERE work_order_id = :id AND tenant_id = :tenant"
            ),
            {"tenant": self.tenant_id, **params},
        )

    async def bump_evidence_version(self, work_order_id: uuid.UUID) -> int:
        row = await self._row(
            f"UPDATE {S}.work_orders SET evidence_version = evidence_version + 1, updated_at = now() "
            "WHERE work_order_id = :id AND tenant_id = :tenant RETURNING evidence_version",
            {"id": work_order_id},
        )
        assert row is not None
        return int(row["evidence_version"])

    async def record_snapshot(self, work_order_id: uuid.UUID, snapshot_id: uuid.UUID, version: int) -> None:
        await self.session.execute(
            text(
                f"INSERT INTO {S}.work_order_snapshots (snapshot_id, tenant_id, work_order_id, version) "
                "VALUES (:sid, :tenant, :wo, :v) ON CONFLICT DO NOTHING"
            ),
            {"sid": snapshot_id, "tenant": self.tenant_id, "wo": work_order_id, "v": version},
        )

    async def snapshot_version(self, work_order_id: uuid.UUID, snapshot_id: uuid.UUID) -> int | None:
        row = await self._row(
            f"SELECT version FROM {S}.work_order_snapshots WHERE snapshot_id = :sid AND work_order_id = :wo "
            "AND tenant_id = :tenant",
            {"sid": snapshot_id, "wo": work_order_id},
        )
        return None if row is None else int(row["version"])

    # ------------------------------------------------------------------------- seeds and profiles

    async def ensure_defaults(self) -> None:
        """Create the seeded field defs and profiles of domain.md §4.2 for this tenant, once.

        Idempotent and safe under concurrency: a transaction-scoped advisory lock per tenant serializes
        seeding, unique constraints + ON CONFLICT make every insert repeatable, and items are inserted
        only into a profile that has none.
        """
        marker = await self._row(f"SELECT seed_version FROM {S}.seeded_tenants WHERE tenant_id = :tenant", {})
        if marker is not None and int(marker["seed_version"]) >= SEED_VERSION:
            return
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"{S}|seed|{self.tenant_id}"},
        )
        for field in SEED_FIELD_DEFS:
            await self.session.execute(
                text(
                    f"INSERT INTO {S}.field_defs (id, tenant_id, field_key, label, data_type, "
                    "required_by_default, unit, metadata_json) VALUES (:id, :tenant, :key, :label, :dt, :req, "
                    ":unit, CAST(:meta AS jsonb)) ON CONFLICT (tenant_id, field_key) DO NOTHING"
                ),
                {
                    "id": uuid.uuid4(),
                    "tenant": self.tenant_id,
                    "key": field["field_key"],
                    "label": field["label"],
                    "dt": field["data_type"],
                    "req": field["required_by_default"],
                    "unit": field["unit"],
                    "meta": json.dumps(field["metadata_json"]),
                },
            )
        for seed in SEED_PROFILES:
            await self.session.execute(
                text(
                    f"INSERT INTO {S}.evidence_profiles (id, tenant_id, report_type, bank_type, value_slab, "
                    "name, is_default, metadata_json) VALUES (:id, :tenant, :rt, :bt, :vs, :name, :dflt, "
                    "CAST(:meta AS jsonb)) ON CONFLICT (tenant_id, report_type, bank_type, value_slab, name) "
                    "DO NOTHING"
                ),
                {
                    "id": uuid.uuid4(),
                    "tenant": self.tenant_id,
                    "rt": seed["report_type"],
                    "bt": seed["bank_type"],
                    "vs": seed["value_slab"],
                    "name": seed["name"],
                    "dflt": seed["is_default"],
                    "meta": json.dumps(seed["metadata_json"]),
                },
            )
            profile = await self._row(
                f"SELECT p.id, (SELECT count(*) FROM {S}.evidence_profile_items i WHERE i.profile_id = p.id) "
                f"AS n FROM {S}.evidence_profiles p WHERE p.tenant_id = :tenant AND p.report_type = :rt AND "
                "p.bank_type = :bt AND p.value_slab = :vs AND p.name = :name",
                {
                    "rt": seed["report_type"],
                    "bt": seed["bank_type"],
                    "vs": seed["value_slab"],
                    "name": seed["name"],
                },
            )
            assert profile is not None
            if int(profile["n"]) > 0:
                continue
            for position, item in enumerate(seed["items"]):
                await self.session.execute(
                    text(
                        f"INSERT INTO {S}.evidence_profile_items (id, tenant_id, profile_id, evidence_type, "
                        "doc_type, min_count, is_required, tags_json, order_hint, label, field_key_hint, "
                        "seed_position, created_at, updated_at) VALUES (:id, :tenant, :pid, :et, :dt, :min, "
                        ":req, CAST(:tags AS jsonb), :order, :label, :hint, :pos, clock_timestamp(), "
                        "clock_timestamp()) ON CONFLICT (profile_id, seed_position) DO NOTHING"
                    ),
                    {
                        "id": uuid.uuid4(),
                        "tenant": self.tenant_id,
                        "pid": profile["id"],
                        "et": item["evidence_type"],
                        "dt": item["doc_type"],
                        "min": item["min_count"],
                        "req": item["is_required"],
                        "tags": _dumps(item["tags_json"]),
                        "order": item["order_hint"],
                        "label": item["label"],
                        "hint": item["field_key_hint"],
                        "pos": position,
                    },
                )
        await self.session.execute(
            text(
                f"INSERT INTO {S}.seeded_tenants (tenant_id, seed_version) VALUES (:tenant, :v) "
                "ON CONFLICT (tenant_id) DO UPDATE SET seed_version = EXCLUDED.seed_version, seeded_at = now()"
            ),
            {"tenant": self.tenant_id, "v": SEED_VERSION},
        )

    async def profiles(self, report_type: str | None = None) -> list[dict[str, Any]]:
        """Profiles of the tenant (optionally of one report type): default first, then name."""
        where = " AND p.report_type = :rt" if report_type else ""
        return await self._rows(
            f"SELECT p.*, (SELECT count(*) FROM {S}.evidence_profile_items i WHERE i.profile_id = p.id) "
            f"AS items_count FROM {S}.evidence_profiles p WHERE p.tenant_id = :tenant{where} "
            "ORDER BY p.is_default DESC, p.name ASC, p.created_at ASC, p.id ASC",
            {"rt": report_type} if report_type else {},
        )

    async def profile(self, profile_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._row(
            f"SELECT p.*, (SELECT count(*) FROM {S}.evidence_profile_items i WHERE i.profile_id = p.id) "
            f"AS items_count FROM {S}.evidence_profiles p WHERE p.id = :id AND p.tenant_id = :tenant",
            {"id": profile_id},
        )

    async def profile_items(self, profile_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self._rows(
            f"SELECT * FROM {S}.evidence_profile_items WHERE profile_id = :pid AND tenant_id = :tenant "
            "ORDER BY order_hint ASC NULLS LAST, id ASC",
            {"pid": profile_id},
        )

    async def field_defs(self) -> list[dict[str, Any]]:
        return await self._rows(
            f"SELECT * FROM {S}.field_defs WHERE tenant_id = :tenant "
            "ORDER BY required_by_default DESC, field_key ASC",
            {},
        )

    # ------------------------------------------------------------------------------ evidence items

    async def items(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        """Evidence items of a work order in the order of domain.md §1.6."""
        return await self._rows(
            f"SELECT * FROM {S}.evidence_items WHERE work_order_id = :wo AND tenant_id = :tenant "
            f"ORDER BY {_ITEM_ORDER}",
            {"wo": work_order_id},
        )

    async def item(self, work_order_id: uuid.UUID, item_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._row(
            f"SELECT * FROM {S}.evidence_items WHERE id = :id AND work_order_id = :wo AND tenant_id = :tenant",
            {"id": item_id, "wo": work_order_id},
        )

    async def insert_item(self, work_order_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        # clock_timestamp(): items linked in one request keep their request order (created_at breaks ties).
        await self.session.execute(
            text(
                f"INSERT INTO {S}.evidence_items (id, tenant_id, work_order_id, evidence_type, doc_type, "
                "classification, sensitivity, source, document_id, file_ref, captured_by_employee_id, "
                "captured_at, annexure_order, tags, created_at, updated_at) VALUES (:id, :tenant, :wo, "
                ":evidence_type, :doc_type, :classification, :sensitivity, :source, :document_id, :file_ref, "
                ":captured_by_employee_id, :captured_at, :annexure_order, CAST(:tags AS jsonb), "
                "clock_timestamp(), clock_timestamp())"
            ),
            {**values, "tags": _dumps(values.get("tags")), "tenant": self.tenant_id, "wo": work_order_id},
        )

    async def update_item(self, item_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        await self.session.execute(
            text(
                f"UPDATE {S}.evidence_items SET evidence_type = :evidence_type, doc_type = :doc_type, "
                "classification = :classification, sensitivity = :sensitivity, source = :source, "
                "document_id = :document_id, file_ref = :file_ref, "
                "captured_by_employee_id = :captured_by_employee_id, captured_at = :captured_at, "
                "annexure_order = :annexure_order, tags = CAST(:tags AS jsonb), updated_at = clock_timestamp() "
                "WHERE id = :id AND tenant_id = :tenant"
            ),
            {**values, "tags": _dumps(values.get("tags")), "tenant": self.tenant_id, "id": item_id},
        )

    async def set_annexure_order(self, item_id: uuid.UUID, order: int) -> None:
        await self.session.execute(
            text(
                f"UPDATE {S}.evidence_items SET annexure_order = :o, updated_at = clock_timestamp() "
                "WHERE id = :id AND tenant_id = :tenant"
            ),
            {"o": order, "id": item_id, "tenant": self.tenant_id},
        )

    # ------------------------------------------------------------------------- field-evidence links

    async def links(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        """All links of the work order, newest first (decision 6: they survive new snapshots)."""
        return await self._rows(
            f"SELECT * FROM {S}.field_evidence_links WHERE work_order_id = :wo AND tenant_id = :tenant "
            "ORDER BY created_at DESC, id DESC",
            {"wo": work_order_id},
        )

    async def link(self, work_order_id: uuid.UUID, link_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._row(
            f"SELECT * FROM {S}.field_evidence_links WHERE id = :id AND work_order_id = :wo "
            "AND tenant_id = :tenant",
            {"id": link_id, "wo": work_order_id},
        )

    async def link_by_key(
        self, work_order_id: uuid.UUID, field_key: str, evidence_item_id: uuid.UUID
    ) -> dict[str, Any] | None:
        return await self._row(
            f"SELECT * FROM {S}.field_evidence_links WHERE work_order_id = :wo AND field_key = :fk "
            "AND evidence_item_id = :ev AND tenant_id = :tenant",
            {"wo": work_order_id, "fk": field_key, "ev": evidence_item_id},
        )

    async def insert_link(self, work_order_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        await self.session.execute(
            text(
                f"INSERT INTO {S}.field_evidence_links (id, tenant_id, work_order_id, field_key, "
                "evidence_item_id, snapshot_id, snapshot_version, confidence, note, created_by_user_id, "
                "created_at, updated_at) VALUES (:id, :tenant, :wo, :field_key, :evidence_item_id, "
                ":snapshot_id, :snapshot_version, :confidence, :note, :created_by_user_id, clock_timestamp(), "
                "clock_timestamp())"
            ),
            {**values, "tenant": self.tenant_id, "wo": work_order_id},
        )

    async def update_link(self, link_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        await self.session.execute(
            text(
                f"UPDATE {S}.field_evidence_links SET field_key = :field_key, evidence_item_id = :evidence_item_id, "
                "snapshot_id = :snapshot_id, snapshot_version = :snapshot_version, confidence = :confidence, "
                "note = :note, updated_at = clock_timestamp() WHERE id = :id AND tenant_id = :tenant"
            ),
            {**values, "id": link_id, "tenant": self.tenant_id},
        )

    async def delete_link(self, link_id: uuid.UUID) -> None:
        await self.session.execute(
            text(f"DELETE FROM {S}.field_evidence_links WHERE id = :id AND tenant_id = :tenant"),
            {"id": link_id, "tenant": self.tenant_id},
        )

    # ------------------------------------------------------------------------------------ OCR jobs

    async def insert_job(self, values: Mapping[str, Any]) -> dict[str, Any]:
        row = await self._row(
            f"INSERT INTO {S}.ocr_jobs (id, tenant_id, work_order_id, evidence_item_id, status, "
            "created_by_user_id, worker_trace) VALUES (:id, :tenant, :wo, :ev, 'QUEUED', :user, :trace) "
            "RETURNING *",
            values,
        )
        assert row is not None
        return row

    async def job(self, job_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self._row(
            f"SELECT * FROM {S}.ocr_jobs WHERE id = :id AND tenant_id = :tenant{lock}", {"id": job_id}
        )

    async def jobs(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        """OCR jobs of a work order, newest first (domain.md §1.8)."""
        return await self._rows(
            f"SELECT * FROM {S}.ocr_jobs WHERE work_order_id = :wo AND tenant_id = :tenant "
            "ORDER BY created_at DESC, id DESC",
            {"wo": work_order_id},
        )

    async def finish_job(
        self,
        job_id: uuid.UUID,
        *,
        status: str,
        result: Mapping[str, Any] | None,
        error: str | None,
        trace: str | None,
    ) -> None:
        await self.session.execute(
            text(
                f"UPDATE {S}.ocr_jobs SET status = :status, finished_at = now(), result_json = CAST(:r AS jsonb), "
                "error = :error, worker_trace = :trace, updated_at = now() WHERE id = :id AND tenant_id = :tenant"
            ),
            {
                "status": status,
                "r": _dumps(dict(result) if result is not None else None),
                "error": error,
                "trace": trace,
                "id": job_id,
                "tenant": self.tenant_id,
            },
        )


async def source_version(session: AsyncSession, work_order_id: str) -> int | None:
    """The workorders version the projection of ``work_order_id`` reflects (RLS scopes the caller)."""
    try:
        wo = uuid.UUID(work_order_id)
    except ValueError:
        return None
    value = (
        await session.execute(
            text(f"SELECT source_version FROM {S}.work_orders WHERE work_order_id = :id"), {"id": wo}
        )
    ).scalar_one_or_none()
    return None if value is None else int(value)


def evidence_for_rules(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The plain dicts readiness and the checklist match on (id, type, doc type, tags)."""
    return [
        {
            "id": str(item["id"]),
            "evidence_type": item["evidence_type"],
            "doc_type": item["doc_type"],
            "tags": _json(item["tags"]),
            "annexure_order": item["annexure_order"],
            "created_at": item["created_at"],
        }
        for item in items
    ]
