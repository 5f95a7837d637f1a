"""what the audit stage stores for the reports: the national index of each report period, per
agency (rules/publish.py)

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_index',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('points_total', sa.Float(), nullable=True),
    sa.Column('max_total', sa.Float(), nullable=False),
    sa.Column('law_on_time_rate', sa.Float(), nullable=True),
    sa.Column('on_time_for_index_late_in_law', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['snapshot_id'], ['report_snapshot.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_index', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_index_snapshot_id'), ['snapshot_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('report_index', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_index_snapshot_id'))

    op.drop_table('report_index')
