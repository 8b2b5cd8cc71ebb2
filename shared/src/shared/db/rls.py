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
