"""what a report compares with: a finding of the snapshot carried forward from the history while
its rule is skipped (report_finding.checked_at), and the findings resolved since the last report
(report_finding.resolved_at, status resolved)

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('report_finding', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('report_finding', schema=None) as batch_op:
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('checked_at')
