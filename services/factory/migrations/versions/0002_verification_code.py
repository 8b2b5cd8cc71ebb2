"""Factory: a verification code per report pack, unique across tenants (issue 21 item 4), and the
internal QA cover sheet and the report's PDF as artifact kinds (issue 21 items 1, 5).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"

S = "factory"


def upgrade() -> None:
    # Packs built before this revision have no code (their DOCX prints none).
    op.execute(f"ALTER TABLE {S}.report_packs ADD COLUMN verification_code TEXT")
    op.execute(
        f"CREATE UNIQUE INDEX report_packs_verification_code_idx ON {S}.report_packs (verification_code) "
        "WHERE verification_code IS NOT NULL"
    )
    op.execute(f"ALTER TABLE {S}.report_pack_artifacts DROP CONSTRAINT report_pack_artifacts_kind_check")
    op.execute(
        f"ALTER TABLE {S}.report_pack_artifacts ADD CONSTRAINT report_pack_artifacts_kind_check "
        "CHECK (kind IN ('docx', 'debug_json', 'evidence_pack', 'qa_cover_sheet', 'pdf'))"
    )


def downgrade() -> None:
    op.execute(f"DELETE FROM {S}.report_pack_artifacts WHERE kind IN ('qa_cover_sheet', 'pdf')")
    op.execute(f"ALTER TABLE {S}.report_pack_artifacts DROP CONSTRAINT report_pack_artifacts_kind_check")
    op.execute(
        f"ALTER TABLE {S}.report_pack_artifacts ADD CONSTRAINT report_pack_artifacts_kind_check "
        "CHECK (kind IN ('docx', 'debug_json', 'evidence_pack'))"
    )
    op.execute(f"DROP INDEX IF EXISTS {S}.report_packs_verification_code_idx")
    op.execute(f"ALTER TABLE {S}.report_packs DROP COLUMN IF EXISTS verification_code")
