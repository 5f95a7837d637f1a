"""finding: fillfactor 50 on PostgreSQL, so that the nightly rewrite of every open finding is
a HOT update (see monitor.models.Finding)

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Pages written from now on keep half their room; VACUUM FULL would rewrite the old ones.
        op.execute("ALTER TABLE finding SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE finding RESET (fillfactor)")
