"""Row-level-security DDL helpers for service migrations (architecture §6).

A tenant-owned table gets two policies: the ``<svc>_app`` role sees only rows of ``app.tenant_id`` (set
per transaction by the unit of work); the ``<svc>_system`` role gets an explicit cross-tenant policy.
Neither role owns the table, so RLS applies to both without ``FORCE``.
"""

from __future__ import annotations


def tenant_rls_sql(schema: str, table: str, *, tenant_column: str = "tenant_id") -> list[str]:
    """The statements that enable tenant RLS on ``schema.table``."""
    qualified = f"{schema}.{table}"
    tenant_expr = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
    return [
        f"ALTER TABLE {qualified} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY {table}_tenant_isolation ON {qualified} FOR ALL TO {schema}_app "
        f"USING ({tenant_column} = {tenant_expr}) WITH CHECK ({tenant_column} = {tenant_expr})",
        f"CREATE POLICY {table}_system_all ON {qualified} FOR ALL TO {schema}_system "
        "USING (true) WITH CHECK (true)",
    ]


def grants_sql(schema: str) -> list[str]:
    """Grants for the two login roles on everything the owner created in ``schema`` so far."""
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {schema}_app, {schema}_system",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {schema}_app, {schema}_system",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {schema}_app, {schema}_system",
    ]


# --- audience scoping (domain.md §10.3, decision "Hardening (issue 12): audience") -------------------------

#: The audience of the transaction (``app.aud``, set per transaction by the unit of work).
AUD_EXPR = "current_setting('app.aud', true)"
#: The user of the transaction (``app.user_id``), ``NULL`` when none.
USER_EXPR = "NULLIF(current_setting('app.user_id', true), '')::uuid"
#: Staff audiences see every row of their tenant (tenant isolation still applies on top).
STAFF_EXPR = f"{AUD_EXPR} IN ('web', 'studio', 'worker', 'service')"
#: The portal audience.
PORTAL_EXPR = f"{AUD_EXPR} = 'portal'"
#: A work order a portal user may reach: a CHANNEL one its own user created (columns of the row itself).
PORTAL_WORK_ORDER_EXPR = f"source_type = 'CHANNEL' AND created_by_user_id = {USER_EXPR}"
#: Never.
DENY = "false"


def portal_owns_work_order_expr(
    work_orders: str, table: str, *, id_column: str = "id", ref_column: str = "work_order_id"
) -> str:
    """``table``'s row belongs to a work order the portal user may reach.

    ``work_orders`` (qualified) is itself filtered by its RLS policies inside the subquery, so this
    inherits the work-order rule; the outer column is qualified by ``table`` so it never binds to ``w``.
    """
    return f"EXISTS (SELECT 1 FROM {work_orders} w WHERE w.{id_column} = {table}.{ref_column})"


def audience_rls_sql(
    schema: str, table: str, *, portal_read: str = DENY, portal_write: str = DENY
) -> list[str]:
    """Restrictive per-audience policies for the ``<schema>_app`` role on ``schema.table``.

    They are AND-ed with the tenant policy of :func:`tenant_rls_sql`, so tenant isolation is unchanged:
    staff audiences (web, studio, worker, service) keep every row of their tenant; the portal audience
    reads rows matching ``portal_read`` and inserts/updates rows matching ``portal_write``; portal never
    deletes; a transaction without a known audience sees and writes nothing (fail closed). The system
    role is not affected (consumers, relay, service-token and studio control routes).
    """
    qualified = f"{schema}.{table}"
    role = f"{schema}_app"
    read = f"({STAFF_EXPR}) OR ({PORTAL_EXPR} AND ({portal_read}))"
    write = f"({STAFF_EXPR}) OR ({PORTAL_EXPR} AND ({portal_write}))"
    return [
        f"CREATE POLICY {table}_aud_select ON {qualified} AS RESTRICTIVE FOR SELECT TO {role} USING ({read})",
        f"CREATE POLICY {table}_aud_insert ON {qualified} AS RESTRICTIVE FOR INSERT TO {role} "
        f"WITH CHECK ({write})",
        f"CREATE POLICY {table}_aud_update ON {qualified} AS RESTRICTIVE FOR UPDATE TO {role} "
        f"USING ({write}) WITH CHECK ({write})",
        f"CREATE POLICY {table}_aud_delete ON {qualified} AS RESTRICTIVE FOR DELETE TO {role} "
        f"USING ({STAFF_EXPR})",
    ]


def drop_audience_rls_sql(schema: str, table: str) -> list[str]:
    """The inverse of :func:`audience_rls_sql` (migration downgrades)."""
    return [
        f"DROP POLICY IF EXISTS {table}_aud_{op} ON {schema}.{table}"
        for op in ("select", "insert", "update", "delete")
    ]
