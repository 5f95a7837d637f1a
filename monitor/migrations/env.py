"""Alembic environment: the engine comes from monitor.db (config.attributes["engine"])."""
from alembic import context
from sqlmodel import SQLModel

from monitor import models  # noqa: F401  (registers the tables)

# APScheduler keeps its job store in the same database and manages that table itself.
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in FOREIGN_TABLES)


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # SQLite cannot alter a column: a migration rebuilds the table and drops the old one,
            # and with foreign keys on, that drop would delete the rows of its children.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=SQLModel.metadata,
                          include_object=include_object, render_as_batch=True,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


run_migrations_online()
