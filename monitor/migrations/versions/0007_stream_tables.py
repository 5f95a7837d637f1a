"""the national sync stream (sources.md section 4): its processing steps, result documents,
submitted files and own dossier facts, when each stream last had a batch accepted; a dossier's
NgayTao and NgayCapNhat become optional, since the stream carries neither

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('processing_step',
    sa.Column('identity', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('dossier_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('acted_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('officer', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('officer_title', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('identity')
    )
    with op.batch_alter_table('processing_step', schema=None) as batch_op:
        batch_op.create_index('ix_processing_step_dossier', ['dossier_key', 'status', 'acted_at'], unique=False)

    op.create_table('stream_state',
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('last_batch_at', sa.DateTime(), nullable=False),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )
    op.create_table('result_document',
    sa.Column('dossier_code', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('document_code', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('file_url', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['dossier_code'], ['dossier.code'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dossier_code', 'seq')
    )
    op.create_table('stream_dossier',
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('agency_name', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('paid_online', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('digitised', sa.Boolean(), nullable=False),
    sa.Column('supplements_listed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['code'], ['dossier.code'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('submitted_file',
    sa.Column('dossier_code', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('file_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('component_code', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('digitised', sa.Boolean(), nullable=False),
    sa.Column('reused', sa.Boolean(), nullable=False),
    sa.Column('from_national_store', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_code'], ['dossier.code'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dossier_code', 'seq')
    )
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.alter_column('created_at',
               existing_type=sa.DATETIME(),
               nullable=True)
        batch_op.alter_column('updated_at',
               existing_type=sa.DATETIME(),
               nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.alter_column('updated_at',
               existing_type=sa.DATETIME(),
               nullable=False)
        batch_op.alter_column('created_at',
               existing_type=sa.DATETIME(),
               nullable=False)

    op.drop_table('submitted_file')
    op.drop_table('stream_dossier')
    op.drop_table('result_document')
    op.drop_table('stream_state')
    with op.batch_alter_table('processing_step', schema=None) as batch_op:
        batch_op.drop_index('ix_processing_step_dossier')

    op.drop_table('processing_step')
