"""what the audit stage stores for the reports (rules/publish.py): a snapshot per audit, its
agencies' names, its findings with what the reports show of them, and the figures per period

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('made_at', sa.DateTime(), nullable=False),
    sa.Column('stale', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('report_agency',
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['report_snapshot.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('snapshot_id', 'code')
    )
    op.create_table('report_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('received_total', sa.Integer(), nullable=False),
    sa.Column('received_online', sa.Integer(), nullable=False),
    sa.Column('received_offline', sa.Integer(), nullable=False),
    sa.Column('carried_over', sa.Integer(), nullable=False),
    sa.Column('resolved_total', sa.Integer(), nullable=False),
    sa.Column('resolved_early', sa.Integer(), nullable=True),
    sa.Column('resolved_on_time', sa.Integer(), nullable=True),
    sa.Column('resolved_late', sa.Integer(), nullable=True),
    sa.Column('in_progress_total', sa.Integer(), nullable=False),
    sa.Column('in_progress_within', sa.Integer(), nullable=True),
    sa.Column('in_progress_overdue', sa.Integer(), nullable=True),
    sa.Column('on_time_rate', sa.Float(), nullable=True),
    sa.Column('entry_rate', sa.Float(), nullable=True),
    sa.Column('sync_rate', sa.Float(), nullable=True),
    sa.Column('online_payment_rate', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['snapshot_id'], ['report_snapshot.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_figures_snapshot_id'), ['snapshot_id'], unique=False)

    op.create_table('report_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('procedure', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('procedure_name', sa.Text(), nullable=True),
    sa.Column('applicant', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('days_late', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('first_seen', sa.DateTime(), nullable=True),
    sa.Column('fee', sa.BigInteger(), nullable=True),
    sa.Column('exemption_reason', sa.Text(), nullable=True),
    sa.Column('exemption_until', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['snapshot_id'], ['report_snapshot.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_finding_snapshot_id'), ['snapshot_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('report_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_finding_snapshot_id'))

    op.drop_table('report_finding')
    with op.batch_alter_table('report_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_figures_snapshot_id'))

    op.drop_table('report_figures')
    op.drop_table('report_agency')
    op.drop_table('report_snapshot')
