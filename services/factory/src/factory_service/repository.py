"""All SQL of the factory service. Never commits: the unit of work does."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from factory_service.settings import SCHEMA
from shared.timestamps import iso_utc

S = SCHEMA

_JSON_COLUMNS = frozenset(
    {
        "export_bundle_json",
        "state",
        "warnings",
        "context_snapshot",
        "metadata_json",
        "request_payload",
    }
)

_PACK_COLUMNS = (
    "id, tenant_id, work_order_id, assignment_id, template_key, report_family, version, render_generation, "
    "snapshot_version, status, warnings, context_snapshot, export_bundle_hash, failure_code, failure_reason, "
    "created_by_user_id, generated_at, superseded_at, created_at, updated_at"
)
_ARTIFACT_COLUMNS = (
    "id, report_pack_id, kind, filename, storage_ref, blob_key, mime_type, size_bytes, checksum_sha256, "
    "metadata_json, created_at, updated_at"
)
_JOB_COLUMNS = (
    "id, tenant_id, report_pack_id, work_order_id, assignment_id, template_key, report_family, "
    "idempotency_key, status, attempts, max_attempts, error_code, error_message, worker_trace, "
    "request_payload, warnings, requested_by_user_id, queued_at, started_at, finished_at, created_at, updated_at"
)
_RELEASE_COLUMNS = (
    "id, tenant_id AS org_id, work_order_id, report_pack_id, released_by_user_id, released_at, "
    "billing_mode_at_release, billing_gate_result, override_requested, override_reason, idempotency_key, "
    "error_code, prior_release_id, decision_id, decision_hash, metadata_json, created_at, updated_at"
)
_WO_COLUMNS = (
    "work_order_id, tenant_id, assignment_id, report_type, bank_type, bank_name, value_slab, "
    "template_selector, status, render_generation, snapshot_version, readiness_score, "
    "export_bundle AS export_bundle_json, export_bundle_hash, source_version, created_at, updated_at, "
    "source_type, created_by_user_id"
)


def iso(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds (domain.md §0)."""
    return iso_utc(value)


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, uuid.UUID):
            out[key] = str(value)
        elif isinstance(value, datetime):
            out[key] = iso(value)
        elif key in _JSON_COLUMNS and isinstance(value, str):
            out[key] = json.loads(value)
        else:
            out[key] = value
    return out


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


class FactoryRepository:
    """Queries over the factory schema, inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        row = (await self.session.execute(text(sql), dict(params))).mappings().first()
        return _plain(dict(row)) if row else None

    async def _all(self, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = (await self.session.execute(text(sql), dict(params))).mappings().all()
        return [_plain(dict(r)) for r in rows]

    async def lock(self, name: str) -> None:
        """A transaction-scoped advisory lock that serializes decisions on one name."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{S}|{name}"}
        )

    # ---------------------------------------------------------------------------------- work orders

    async def upsert_work_order(
        self, work_order_id: str, tenant_id: str, fields: Mapping[str, Any], source_version: int
    ) -> None:
        """Insert the projection row or update the given columns; older versions never overwrite."""
        columns = dict(fields)
        if "export_bundle" in columns:
            columns["export_bundle"] = _json(columns["export_bundle"])
        names = sorted(columns)
        values = ", ".join(f"CAST(:{n} AS jsonb)" if n == "export_bundle" else f":{n}" for n in names)
        updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names)
        sql = (
            f"INSERT INTO {S}.work_orders (work_order_id, tenant_id, source_version"
            f"{''.join(', ' + n for n in names)}) VALUES (:wo, :tenant, :v{', ' + values if names else ''}) "
            f"ON CONFLICT (work_order_id) DO UPDATE SET source_version = EXCLUDED.source_version, "
            f"updated_at = now(){', ' + updates if names else ''} "
            f"WHERE {S}.work_orders.source_version < EXCLUDED.source_version"
        )
        params = {"wo": uuid.UUID(work_order_id), "tenant": uuid.UUID(tenant_id), "v": source_version}
        params.update(columns)
        await self.session.execute(text(sql), params)

    async def note_work_order_version(self, work_order_id: str, source_version: int) -> None:
        """Record that a workorders envelope of ``source_version`` was applied, whatever its type, so
        an ``x-zenops-after`` token naming it is reached (issue 12: ``readiness_changed``, which factory
        has no handler for, used to leave every later read of the client waiting 5 s)."""
        try:
            wo = uuid.UUID(work_order_id)
        except ValueError:
            return
        await self.session.execute(
            text(
                f"UPDATE {S}.work_orders SET source_version = :v, updated_at = now() "
                "WHERE work_order_id = :wo AND source_version < :v"
            ),
            {"wo": wo, "v": source_version},
        )

    async def get_work_order(self, work_order_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._one(
            f"SELECT {_WO_COLUMNS} FROM {S}.work_orders WHERE work_order_id = :wo", {"wo": work_order_id}
        )

    async def work_order_version(self, work_order_id: str) -> int | None:
        row = (
            await self.session.execute(
                text(f"SELECT source_version FROM {S}.work_orders WHERE work_order_id = :wo"),
                {"wo": uuid.UUID(work_order_id)},
            )
        ).scalar_one_or_none()
        return int(row) if row is not None else None

    # ------------------------------------------------------------------------------------- billing

    async def upsert_billing(
        self, work_order_id: str, tenant_id: str, state: Mapping[str, Any], source_version: int
    ) -> None:
        await self.session.execute(
            text(
                f"INSERT INTO {S}.work_order_billing (work_order_id, tenant_id, state, source_version) "
                "VALUES (:wo, :tenant, CAST(:state AS jsonb), :v) ON CONFLICT (work_order_id) DO UPDATE SET "
                "state = EXCLUDED.state, source_version = EXCLUDED.source_version, updated_at = now() "
                f"WHERE {S}.work_order_billing.source_version < EXCLUDED.source_version"
            ),
            {
                "wo": uuid.UUID(work_order_id),
                "tenant": uuid.UUID(tenant_id),
                "state": _json(state),
                "v": source_version,
            },
        )

    async def get_billing(self, work_order_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._one(
            f"SELECT state, source_version FROM {S}.work_order_billing WHERE work_order_id = :wo",
            {"wo": work_order_id},
        )

    async def billing_version(self, work_order_id: str) -> int | None:
        row = (
            await self.session.execute(
                text(f"SELECT source_version FROM {S}.work_order_billing WHERE work_order_id = :wo"),
                {"wo": uuid.UUID(work_order_id)},
            )
        ).scalar_one_or_none()
        return int(row) if row is not None else None

    # ------------------------------------------------------------------------ pack-state versions

    async def bump_pack_state(self, work_order_id: uuid.UUID, tenant_id: uuid.UUID) -> int:
        """The next aggregate version of what factory publishes about ``work_order_id``."""
        version = (
            await self.session.execute(
                text(
                    f"INSERT INTO {S}.pack_state_versions (work_order_id, tenant_id, version) "
                    "VALUES (:wo, :tenant, 1) ON CONFLICT (work_order_id) DO UPDATE "
                    f"SET version = {S}.pack_state_versions.version + 1 RETURNING version"
                ),
                {"wo": work_order_id, "tenant": tenant_id},
            )
        ).scalar_one()
        return int(version)

    async def pack_state_version(self, work_order_id: str) -> int | None:
        row = (
            await self.session.execute(
                text(f"SELECT version FROM {S}.pack_state_versions WHERE work_order_id = :wo"),
                {"wo": uuid.UUID(work_order_id)},
            )
        ).scalar_one_or_none()
        return int(row) if row is not None else None

    # --------------------------------------------------------------------------------------- packs

    async def pack_for_generation(
        self, work_order_id: uuid.UUID, render_generation: int
    ) -> dict[str, Any] | None:
        return await self._one(
            f"SELECT {_PACK_COLUMNS} FROM {S}.report_packs "
            "WHERE work_order_id = :wo AND render_generation = :g",
            {"wo": work_order_id, "g": render_generation},
        )

    async def live_pack(self, work_order_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        """The pack linked to the work order now (not superseded), if any."""
        lock = " FOR UPDATE" if for_update else ""
        return await self._one(
            f"SELECT {_PACK_COLUMNS} FROM {S}.report_packs "
            f"WHERE work_order_id = :wo AND status <> 'superseded'{lock}",
            {"wo": work_order_id},
        )

    async def latest_pack(self, work_order_id: uuid.UUID) -> dict[str, Any] | None:
        """The live pack, else the newest superseded one (the pack view shows history after a reopen)."""
        return await self._one(
            f"SELECT {_PACK_COLUMNS} FROM {S}.report_packs WHERE work_order_id = :wo "
            "ORDER BY (status <> 'superseded') DESC, render_generation DESC, created_at DESC LIMIT 1",
            {"wo": work_order_id},
        )

    async def get_pack(self, pack_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self._one(
            f"SELECT {_PACK_COLUMNS} FROM {S}.report_packs WHERE id = :id{lock}", {"id": pack_id}
        )

    async def pack_export_bundle(self, pack_id: uuid.UUID) -> bytes | None:
        """The frozen export-bundle bytes of a pack (decision 24)."""
        row = (
            await self.session.execute(
                text(f"SELECT export_bundle FROM {S}.report_packs WHERE id = :id"), {"id": pack_id}
            )
        ).scalar_one_or_none()
        return bytes(row) if row is not None else None

    async def next_pack_version(self, work_order_id: uuid.UUID, template_key: str) -> int:
        """Versions count per work order + template key (decision 27)."""
        current = (
            await self.session.execute(
                text(
                    f"SELECT COALESCE(MAX(version), 0) FROM {S}.report_packs "
                    "WHERE work_order_id = :wo AND template_key = :k"
                ),
                {"wo": work_order_id, "k": template_key},
            )
        ).scalar_one()
        return int(current) + 1

    async def insert_pack(self, row: Mapping[str, Any]) -> None:
        params = dict(row)
        params["warnings"] = _json(params["warnings"])
        params["context_snapshot"] = _json(params["context_snapshot"])
        await self.session.execute(
            text(
                f"INSERT INTO {S}.report_packs (id, tenant_id, work_order_id, assignment_id, template_key, "
                "report_family, version, render_generation, snapshot_version, status, warnings, context_snapshot, "
                "export_bundle, export_bundle_hash, failure_code, failure_reason, created_by_user_id) VALUES "
                "(:id, :tenant_id, :work_order_id, :assignment_id, :template_key, :report_family, :version, "
                ":render_generation, :snapshot_version, :status, CAST(:warnings AS jsonb), "
                "CAST(:context_snapshot AS jsonb), :export_bundle, :export_bundle_hash, :failure_code, "
                ":failure_reason, :created_by_user_id)"
            ),
            params,
        )

    async def set_pack_status(
        self,
        pack_id: uuid.UUID,
        status: str,
        *,
        failure_code: str | None = None,
        failure_reason: str | None = None,
    ) -> None:
        await self.session.execute(
            text(
                f"UPDATE {S}.report_packs SET status = :s, updated_at = now(), "
                "generated_at = CASE WHEN :s = 'generated' THEN now() ELSE generated_at END, "
                "superseded_at = CASE WHEN :s = 'superseded' THEN now() ELSE superseded_at END, "
                "failure_code = COALESCE(:fc, failure_code), failure_reason = COALESCE(:fr, failure_reason) "
                "WHERE id = :id"
            ),
            {"id": pack_id, "s": status, "fc": failure_code, "fr": failure_reason},
        )

    # ----------------------------------------------------------------------------------- artifacts

    async def insert_artifact(self, row: Mapping[str, Any]) -> bool:
        """Insert unless the pack already has an artifact of that kind; True when inserted."""
        params = dict(row)
        params["metadata_json"] = _json(params["metadata_json"])
        inserted = await self.session.execute(
            text(
                f"INSERT INTO {S}.report_pack_artifacts (id, tenant_id, report_pack_id, kind, filename, "
                "storage_ref, blob_key, mime_type, size_bytes, checksum_sha256, metadata_json) VALUES "
                "(:id, :tenant_id, :report_pack_id, :kind, :filename, :storage_ref, :blob_key, :mime_type, "
                ":size_bytes, :checksum_sha256, CAST(:metadata_json AS jsonb)) "
                "ON CONFLICT (report_pack_id, kind) DO NOTHING RETURNING 1"
            ),
            params,
        )
        return inserted.first() is not None

    async def artifacts_of(self, pack_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self._all(
            f"SELECT {_ARTIFACT_COLUMNS} FROM {S}.report_pack_artifacts WHERE report_pack_id = :p "
            "ORDER BY created_at, kind",
            {"p": pack_id},
        )

    async def get_artifact(self, artifact_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._one(
            f"SELECT {_ARTIFACT_COLUMNS} FROM {S}.report_pack_artifacts WHERE id = :id", {"id": artifact_id}
        )

    # ---------------------------------------------------------------------------------------- jobs

    async def insert_job(self, row: Mapping[str, Any]) -> None:
        params = dict(row)
        params["request_payload"] = _json(params["request_payload"])
        params["warnings"] = _json(params["warnings"])
        await self.session.execute(
            text(
                f"INSERT INTO {S}.report_generation_jobs (id, tenant_id, report_pack_id, work_order_id, "
                "assignment_id, template_key, report_family, idempotency_key, status, max_attempts, "
                "request_payload, warnings, requested_by_user_id, queued_at) VALUES (:id, :tenant_id, "
                ":report_pack_id, :work_order_id, :assignment_id, :template_key, :report_family, "
                ":idempotency_key, 'queued', :max_attempts, CAST(:request_payload AS jsonb), "
                "CAST(:warnings AS jsonb), :requested_by_user_id, now())"
            ),
            params,
        )

    async def job_by_key(self, tenant_id: uuid.UUID, key: str) -> dict[str, Any] | None:
        return await self._one(
            f"SELECT {_JOB_COLUMNS} FROM {S}.report_generation_jobs WHERE tenant_id = :t AND idempotency_key = :k",
            {"t": tenant_id, "k": key},
        )

    async def job_of_pack(self, pack_id: uuid.UUID) -> dict[str, Any] | None:
        return await self._one(
            f"SELECT {_JOB_COLUMNS} FROM {S}.report_generation_jobs WHERE report_pack_id = :p", {"p": pack_id}
        )

    async def get_job(self, job_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self._one(
            f"SELECT {_JOB_COLUMNS} FROM {S}.report_generation_jobs WHERE id = :id{lock}", {"id": job_id}
        )

    async def start_attempt(self, job_id: uuid.UUID, worker_trace: str | None) -> None:
        """processing, attempts + 1, first start time, error cleared (domain.md §5.4)."""
        await self.session.execute(
            text(
                f"UPDATE {S}.report_generation_jobs SET status = 'processing', attempts = attempts + 1, "
                "started_at = COALESCE(started_at, now()), worker_trace = :trace, error_code = NULL, "
                "error_message = NULL, updated_at = now() WHERE id = :id"
            ),
            {"id": job_id, "trace": worker_trace},
        )

    async def set_job_status(
        self,
        job_id: uuid.UUID,
        status: str,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        finished: bool = False,
    ) -> None:
        await self.session.execute(
            text(
                f"UPDATE {S}.report_generation_jobs SET status = :s, error_code = :ec, error_message = :em, "
                "finished_at = CASE WHEN :fin THEN now() ELSE finished_at END, updated_at = now() WHERE id = :id"
            ),
            {"id": job_id, "s": status, "ec": error_code, "em": error_message, "fin": finished},
        )

    # ------------------------------------------------------------------------------------ releases

    async def release_by_key(self, tenant_id: uuid.UUID, key: str) -> dict[str, Any] | None:
        return await self._one(
            f"SELECT {_RELEASE_COLUMNS} FROM {S}.deliverable_releases WHERE tenant_id = :t AND idempotency_key = :k",
            {"t": tenant_id, "k": key},
        )

    async def get_release(self, release_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self._one(
            f"SELECT {_RELEASE_COLUMNS} FROM {S}.deliverable_releases WHERE id = :id{lock}",
            {"id": release_id},
        )

    async def releases_of_work_order(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        """Newest first (domain.md §5.3)."""
        return await self._all(
            f"SELECT {_RELEASE_COLUMNS} FROM {S}.deliverable_releases WHERE work_order_id = :wo "
            "ORDER BY created_at DESC, id DESC",
            {"wo": work_order_id},
        )

    async def releases_of_pack(self, pack_id: uuid.UUID) -> list[dict[str, Any]]:
        """Oldest first: the order of the evidence pack's ``releases.json``."""
        return await self._all(
            f"SELECT {_RELEASE_COLUMNS} FROM {S}.deliverable_releases WHERE report_pack_id = :p "
            "ORDER BY created_at, id",
            {"p": pack_id},
        )

    async def release_in_state(
        self, work_order_id: uuid.UUID, pack_id: uuid.UUID, results: tuple[str, ...]
    ) -> dict[str, Any] | None:
        """The oldest original (not a link to a prior success) release of the pack in ``results``."""
        return await self._one(
            f"SELECT {_RELEASE_COLUMNS} FROM {S}.deliverable_releases WHERE work_order_id = :wo "
            "AND report_pack_id = :p AND prior_release_id IS NULL AND billing_gate_result = ANY(:r) "
            "ORDER BY created_at, id LIMIT 1",
            {"wo": work_order_id, "p": pack_id, "r": list(results)},
        )

    async def insert_release(self, row: Mapping[str, Any]) -> None:
        params = dict(row)
        params["metadata_json"] = _json(params["metadata_json"])
        await self.session.execute(
            text(
                f"INSERT INTO {S}.deliverable_releases (id, tenant_id, work_order_id, report_pack_id, "
                "released_by_user_id, idempotency_key, override_requested, override_reason, "
                "billing_mode_at_release, billing_gate_result, prior_release_id, metadata_json, released_at) "
                "VALUES (:id, :tenant_id, :work_order_id, :report_pack_id, :released_by_user_id, "
                ":idempotency_key, :override_requested, :override_reason, :billing_mode_at_release, "
                ":billing_gate_result, :prior_release_id, CAST(:metadata_json AS jsonb), :released_at)"
            ),
            params,
        )

    async def decide_release(
        self,
        release_id: uuid.UUID,
        *,
        result: str,
        mode: str | None,
        error_code: str | None,
        decision_id: str,
        decision_hash: str,
        metadata: Mapping[str, Any],
    ) -> None:
        """Record billing's outcome; only a PENDING release changes (duplicates change nothing)."""
        await self.session.execute(
            text(
                f"UPDATE {S}.deliverable_releases SET billing_gate_result = :r, "
                "billing_mode_at_release = COALESCE(:m, billing_mode_at_release), error_code = :ec, "
                "decision_id = :d, decision_hash = :h, metadata_json = metadata_json || CAST(:meta AS jsonb), "
                "released_at = now(), updated_at = now() WHERE id = :id AND billing_gate_result = 'PENDING'"
            ),
            {
                "id": release_id,
                "r": result,
                "m": mode,
                "ec": error_code,
                "d": decision_id,
                "h": decision_hash,
                "meta": _json(metadata),
            },
        )

    async def gate_results(self, work_order_id: uuid.UUID) -> list[str]:
        rows = await self.session.execute(
            text(f"SELECT billing_gate_result FROM {S}.deliverable_releases WHERE work_order_id = :wo"),
            {"wo": work_order_id},
        )
        return [str(r[0]) for r in rows]

    # --------------------------------------------------------------------------------------- audit

    async def audit(
        self,
        *,
        tenant_id: uuid.UUID,
        work_order_id: uuid.UUID,
        pack_id: uuid.UUID | None,
        entity_type: str,
        entity_id: str,
        action: str,
        actor_user_id: uuid.UUID | None,
        metadata: Mapping[str, Any],
    ) -> None:
        """Append one audit row (the table is append-only for the service roles)."""
        await self.session.execute(
            text(
                f"INSERT INTO {S}.report_audit_logs (tenant_id, work_order_id, report_pack_id, entity_type, "
                "entity_id, action, actor_user_id, metadata_json) VALUES (:t, :wo, :p, :et, :eid, :a, :u, "
                "CAST(:m AS jsonb))"
            ),
            {
                "t": tenant_id,
                "wo": work_order_id,
                "p": pack_id,
                "et": entity_type,
                "eid": entity_id,
                "a": action,
                "u": actor_user_id,
                "m": _json(metadata),
            },
        )

    async def audit_of_work_order(self, work_order_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self._all(
            "SELECT id, work_order_id, report_pack_id, entity_type, entity_id, action, actor_user_id, "
            f"metadata_json, created_at FROM {S}.report_audit_logs WHERE work_order_id = :wo ORDER BY id",
            {"wo": work_order_id},
        )
