"""All SQL of the work-orders service (never commits: the unit of work does)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from workorders_service.settings import SCHEMA

S = SCHEMA

_JSON_COLUMNS = frozenset(
    {
        "current_readiness",
        "acceptance_details",
        "export_bundle",
        "contract_json",
        "derived_json",
        "readiness_json",
        "warnings",
        "errors",
        "items",
        "profile",
        "profile_requirements",
        "linked_field_keys",
        "field_evidence_links",
        "ocr_jobs",
        "checklist",
        "payload",
        "artifacts",
        "releases",
        "latest_derived_json",
    }
)


def _row(mapping: Any) -> dict[str, Any]:
    # asyncpg hands jsonb back as text when no codec is registered; decode here once.
    out = dict(mapping)
    for key, value in out.items():
        if key in _JSON_COLUMNS and isinstance(value, str):
            out[key] = json.loads(value)
    return out


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


class WorkOrderRepository:
    """Work orders, snapshots, rules runs and comments."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, row: Mapping[str, Any]) -> None:
        await self.session.execute(
            text(
                f"INSERT INTO {S}.work_orders (id, tenant_id, source_type, source_ref_id, assignment_id, "
                "report_type, bank_name, bank_type, billing_external_key, created_by_user_id, current_readiness) "
                "VALUES (:id, :tenant_id, :source_type, :source_ref_id, :assignment_id, :report_type, "
                ":bank_name, :bank_type, :billing_external_key, :created_by_user_id, "
                "CAST(:current_readiness AS jsonb))"
            ),
            {**row, "current_readiness": _json(row.get("current_readiness"))},
        )

    async def get(self, work_order_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        lock = " FOR UPDATE" if for_update else ""
        result = await self.session.execute(
            text(f"SELECT * FROM {S}.work_orders WHERE id = :id{lock}"), {"id": work_order_id}
        )
        row = result.mappings().first()
        return _row(row) if row else None

    async def update(self, work_order_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        """Set columns (JSON columns are encoded) and ``updated_at``."""
        sets = []
        params: dict[str, Any] = {"id": work_order_id}
        for key, value in values.items():
            if key in _JSON_COLUMNS:
                sets.append(f"{key} = CAST(:{key} AS jsonb)")
                params[key] = None if value is None else _json(value)
            else:
                sets.append(f"{key} = :{key}")
                params[key] = value
        sets.append("updated_at = now()")
        await self.session.execute(
            text(f"UPDATE {S}.work_orders SET {', '.join(sets)} WHERE id = :id"), params
        )

    async def bump_version(self, work_order_id: uuid.UUID) -> int:
        """Next aggregate version: every event on ``workorders.work-order.v1`` takes one."""
        result = await self.session.execute(
            text(f"UPDATE {S}.work_orders SET version = version + 1 WHERE id = :id RETURNING version"),
            {"id": work_order_id},
        )
        return int(result.scalar_one())

    async def search(
        self,
        *,
        status: str | None,
        report_type: str | None,
        bank_type: str | None,
        template_selector: str | None,
        source_type: str | None,
        search: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        where = ["TRUE"]
        params: dict[str, Any] = {"limit": limit}
        for column, value in (
            ("status", status),
            ("report_type", report_type),
            ("bank_type", bank_type),
            ("template_selector", template_selector),
            ("source_type", source_type),
        ):
            if value is not None:
                where.append(f"w.{column} = :{column}")
                params[column] = value
        if search:
            # Decision 25: a substring of the bank name, or an exact id; non-uuid text only matches names.
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params["pattern"] = f"%{escaped}%"
            clause = "w.bank_name ILIKE :pattern ESCAPE '\\'"
            try:
                params["search_id"] = uuid.UUID(search.strip())
                clause = f"({clause} OR w.id = :search_id)"
            except ValueError:
                pass
            where.append(clause)
        result = await self.session.execute(
            text(
                f"SELECT w.*, s.version AS latest_snapshot_version, s.created_at AS latest_snapshot_created_at, "
                "s.derived_json AS latest_derived_json, "
                "COALESCE(jsonb_array_length(e.items), 0) AS evidence_count, "
                f"(SELECT count(*) FROM {S}.comments c WHERE c.work_order_id = w.id) AS comments_count, "
                "b.payload AS billing_payload, "
                "p.pack_id AS p_pack_id, p.status AS p_status, p.created_source_version AS p_created, "
                "p.failed_source_version AS p_failed "
                f"FROM {S}.work_orders w "
                f"LEFT JOIN LATERAL (SELECT version, created_at, derived_json FROM {S}.contract_snapshots cs "
                "WHERE cs.work_order_id = w.id ORDER BY version DESC LIMIT 1) s ON TRUE "
                f"LEFT JOIN {S}.evidence_projection e ON e.work_order_id = w.id "
                f"LEFT JOIN {S}.billing_projection b ON b.work_order_id = w.id "
                f"LEFT JOIN {S}.pack_projection p ON p.work_order_id = w.id "
                f"WHERE {' AND '.join(where)} ORDER BY w.created_at DESC, w.id DESC LIMIT :limit"
            ),
            params,
        )
        rows = []
        for mapping in result.mappings():
            row = _row(mapping)
            if isinstance(row.get("billing_payload"), str):
                row["billing_payload"] = json.loads(row["billing_payload"])
            rows.append(row)
        return rows

    # --- snapshots and rules runs ----------------------------------------------------------------------

    async def latest_snapshot(self, work_order_id: uuid.UUID) -> dict[str, Any] | None:
        result = await self.session.execute(
            text(
                f"SELECT * FROM {S}.contract_snapshots WHERE work_order_id = :id ORDER BY version DESC LIMIT 1"
            ),
            {"id": work_order_id},
        )
        row = result.mappings().first()
        return _row(row) if row else None

    async def snapshot_by_version(self, work_order_id: uuid.UUID, version: int) -> dict[str, Any] | None:
        result = await self.session.execute(
            text(f"SELECT * FROM {S}.contract_snapshots WHERE work_order_id = :id AND version = :v"),
            {"id": work_order_id, "v": version},
        )
        row = result.mappings().first()
        return _row(row) if row else None

    async def insert_snapshot(self, row: Mapping[str, Any]) -> dict[str, Any]:
        result = await self.session.execute(
            text(
                f"INSERT INTO {S}.contract_snapshots (id, tenant_id, work_order_id, version, contract_json, "
                "derived_json, readiness_json, created_by_user_id) VALUES (:id, :tenant_id, :work_order_id, "
                ":version, CAST(:contract_json AS jsonb), CAST(:derived_json AS jsonb), "
                "CAST(:readiness_json AS jsonb), :created_by_user_id) RETURNING *"
            ),
            {
                **row,
                "contract_json": _json(row["contract_json"]),
                "derived_json": _json(row["derived_json"]),
                "readiness_json": _json(row["readiness_json"]),
            },
        )
        return _row(result.mappings().one())

    async def insert_rules_run(self, row: Mapping[str, Any]) -> None:
        await self.session.execute(
            text(
                f"INSERT INTO {S}.rules_runs (id, tenant_id, work_order_id, input_snapshot_id, "
                "output_snapshot_id, ruleset_version, warnings, errors) VALUES (:id, :tenant_id, "
                ":work_order_id, :input_snapshot_id, :output_snapshot_id, :ruleset_version, "
                "CAST(:warnings AS jsonb), CAST(:errors AS jsonb))"
            ),
            {**row, "warnings": _json(row["warnings"]), "errors": _json(row["errors"])},
        )

    async def rules_runs(self, work_order_id: uuid.UUID, *, limit: int = 10) -> list[dict[str, Any]]:
        result = await self.session.execute(
            text(
                "SELECT r.*, i.version AS input_version, o.version AS output_version "
                f"FROM {S}.rules_runs r JOIN {S}.contract_snapshots i ON i.id = r.input_snapshot_id "
                f"JOIN {S}.contract_snapshots o ON o.id = r.output_snapshot_id "
                "WHERE r.work_order_id = :id ORDER BY r.created_at DESC, o.version DESC LIMIT :limit"
            ),
            {"id": work_order_id, "limit": limit},
        )
        return [_row(m) for m in result.mappings()]

    # --- comments -----------------------------------------------------------------------------------------

    async def insert_comment(
        self,
        *,
        tenant_id: uuid.UUID | str,
        work_order_id: uuid.UUID,
        comment_type: str,
        body: str,
        created_by_user_id: uuid.UUID | None,
        note_id: str | None = None,
        created_at: datetime | None = None,
    ) -> dict[str, Any] | None:
        """Insert one comment; a system note whose ``note_id`` is already there is skipped (``None``)."""
        created = ":created_at" if created_at else "clock_timestamp()"
        result = await self.session.execute(
            text(
                f"INSERT INTO {S}.comments (id, tenant_id, work_order_id, comment_type, body, note_id, "
                f"created_by_user_id, created_at) VALUES (:id, :tenant_id, :work_order_id, :comment_type, "
                f":body, :note_id, :created_by_user_id, {created}) "
                "ON CONFLICT (work_order_id, note_id) DO NOTHING RETURNING *"
            ),
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "work_order_id": work_order_id,
                "comment_type": comment_type,
                "body": body,
                "note_id": note_id,
                "created_by_user_id": created_by_user_id,
                "created_at": created_at,
            },
        )
        row = result.mappings().first()
        return _row(row) if row else None

    async def comments(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        result = await self.session.execute(
            text(f"SELECT * FROM {S}.comments WHERE work_order_id = :id ORDER BY created_at DESC, id DESC"),
            {"id": work_order_id},
        )
        return [_row(m) for m in result.mappings()]


class ProjectionRepository:
    """Local read models of the evidence, billing and pack state (each with its source version)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _one(self, table: str, work_order_id: uuid.UUID) -> dict[str, Any] | None:
        result = await self.session.execute(
            text(f"SELECT * FROM {S}.{table} WHERE work_order_id = :id"), {"id": work_order_id}
        )
        row = result.mappings().first()
        return _row(row) if row else None

    async def evidence(self, work_order_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._one("evidence_projection", work_order_id)

    async def billing(self, work_order_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._one("billing_projection", work_order_id)

    async def pack(self, work_order_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._one("pack_projection", work_order_id)

    async def source_version(self, table: str, work_order_id: uuid.UUID) -> int | None:
        result = await self.session.execute(
            text(f"SELECT source_version FROM {S}.{table} WHERE work_order_id = :id"), {"id": work_order_id}
        )
        value = result.scalar_one_or_none()
        return None if value is None else int(value)

    async def upsert_evidence(self, row: Mapping[str, Any]) -> None:
        json_keys = (
            "items",
            "profile",
            "profile_requirements",
            "linked_field_keys",
            "field_evidence_links",
            "ocr_jobs",
            "checklist",
        )
        params = {**row, **{k: _json(row.get(k)) for k in json_keys}}
        await self.session.execute(
            text(
                f"INSERT INTO {S}.evidence_projection (work_order_id, tenant_id, evidence_version, items, "
                "profile, profile_requirements, linked_field_keys, field_evidence_links, ocr_jobs, checklist, "
                "source_version) VALUES (:work_order_id, :tenant_id, :evidence_version, CAST(:items AS jsonb), "
                "CAST(:profile AS jsonb), CAST(:profile_requirements AS jsonb), "
                "CAST(:linked_field_keys AS jsonb), CAST(:field_evidence_links AS jsonb), "
                "CAST(:ocr_jobs AS jsonb), CAST(:checklist AS jsonb), :source_version) "
                "ON CONFLICT (work_order_id) DO UPDATE SET evidence_version = EXCLUDED.evidence_version, "
                "items = EXCLUDED.items, profile = EXCLUDED.profile, "
                "profile_requirements = EXCLUDED.profile_requirements, "
                "linked_field_keys = EXCLUDED.linked_field_keys, "
                "field_evidence_links = EXCLUDED.field_evidence_links, ocr_jobs = EXCLUDED.ocr_jobs, "
                "checklist = EXCLUDED.checklist, source_version = EXCLUDED.source_version, updated_at = now() "
                f"WHERE {S}.evidence_projection.source_version < EXCLUDED.source_version"
            ),
            params,
        )

    async def upsert_billing(
        self, *, work_order_id: uuid.UUID, tenant_id: str, payload: Mapping[str, Any], source_version: int
    ) -> None:
        await self.session.execute(
            text(
                f"INSERT INTO {S}.billing_projection (work_order_id, tenant_id, payload, source_version) "
                "VALUES (:id, :t, CAST(:p AS jsonb), :v) ON CONFLICT (work_order_id) DO UPDATE SET "
                "payload = EXCLUDED.payload, source_version = EXCLUDED.source_version, updated_at = now() "
                f"WHERE {S}.billing_projection.source_version < EXCLUDED.source_version"
            ),
            {"id": work_order_id, "t": tenant_id, "p": _json(dict(payload)), "v": source_version},
        )

    async def upsert_pack(
        self, *, work_order_id: uuid.UUID, tenant_id: str, source_version: int, values: Mapping[str, Any]
    ) -> None:
        """Insert the row if missing, then set ``values`` (JSON columns encoded) when the event is newer."""
        await self.session.execute(
            text(
                f"INSERT INTO {S}.pack_projection (work_order_id, tenant_id, source_version) "
                "VALUES (:id, :t, 0) ON CONFLICT (work_order_id) DO NOTHING"
            ),
            {"id": work_order_id, "t": tenant_id},
        )
        sets = ["source_version = :v", "updated_at = now()"]
        params: dict[str, Any] = {"id": work_order_id, "v": source_version}
        for key, value in values.items():
            if key in ("artifacts", "releases"):
                sets.append(f"{key} = CAST(:{key} AS jsonb)")
                params[key] = _json(value)
            else:
                sets.append(f"{key} = :{key}")
                params[key] = value
        await self.session.execute(
            text(
                f"UPDATE {S}.pack_projection SET {', '.join(sets)} "
                "WHERE work_order_id = :id AND source_version < :v"
            ),
            params,
        )
