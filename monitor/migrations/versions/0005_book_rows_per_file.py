"""tracking-book rows keyed per file: unique on (source, file, code_key), so two files that list
the same code each keep their row; book_file.path and book_row.file hold the path relative to
the glob's root, so the files already read are forgotten and read again once

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# PostgreSQL's own name for an unnamed unique constraint; SQLite's copy of the table is given the
# same name, so one migration serves both stores.
NAMES = {"uq": "%(table_name)s_%(column_0_N_name)s_key"}
OLD = ("book_row_source_code_key_key", ["source", "code_key"])
NEW = ("book_row_source_file_code_key_key", ["source", "file", "code_key"])


def upgrade() -> None:
    # The stored paths were absolute: forgotten, rather than reported gone by the next sync,
    # which reads every file again and prunes the rows of files the glob does not list (a row
    # keyed by a bare file name that is not the file's path now among them).
    op.execute("DELETE FROM book_file")
    _swap(OLD, NEW)


def downgrade() -> None:
    # The older key holds one row per code: keep each code's first row.
    op.execute("DELETE FROM book_row WHERE id NOT IN (SELECT min(id) FROM book_row GROUP BY source, code_key)")
    op.execute("DELETE FROM book_file")
    _swap(NEW, OLD)


def _swap(old: tuple[str, list[str]], new: tuple[str, list[str]]) -> None:
    with op.batch_alter_table('book_row', naming_convention=NAMES) as batch_op:
        batch_op.drop_constraint(old[0], type_='unique')
        batch_op.create_unique_constraint(*new)
