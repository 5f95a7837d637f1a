"""where dossiers get stuck: process.step_late summed per agency and department for each snapshot
(report_department), for the reports

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_department',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('department', sa.Text(), nullable=False),
    sa.Column('late_steps', sa.Integer(), nullable=False),
    sa.Column('overrun_days', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['report_snapshot.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_department', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_department_snapshot_id'), ['snapshot_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('report_department', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_department_snapshot_id'))

    op.drop_table('report_department')
