"""indexes that answer the audit's per-row lookups without reading the rows: a dossier's payments
by date and method (rules.due), a finding's first_seen (rules.audit)

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

INDEXES = (("payment", "ix_payment_dossier_paid", ["dossier_code", "paid_at", "method"]),
           ("finding", "ix_finding_first_seen", ["rule", "subject", "first_seen"]))


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in INDEXES:
        op.drop_index(name, table_name=table)
