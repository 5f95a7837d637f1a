"""The few SQL date functions that SQLite and PostgreSQL spell differently.

Stored times are naive local date-times. PostgreSQL keeps timestamps and dates. SQLite keeps
them as text in SQLAlchemy's one fixed layout, `YYYY-MM-DD HH:MM:SS.ffffff` (dates
`YYYY-MM-DD`), so its helpers cut that text with `substr()`: over a million rows that is several
times cheaper than parsing it again with `date()` or `strftime()`. Every rule writes its
queries with these helpers and runs unchanged on both stores.
"""
from __future__ import annotations

import operator
from datetime import date, datetime, time
from functools import reduce

from sqlalchemy import (
    ColumnElement, Connection, Date, Integer, String, Table, case, cast, false, func, literal, text, true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class date_of(FunctionElement):
    """The date of a date-time column: date(x)."""
    type = Date()
    inherit_cache = True
    name = "date_of"


@compiles(date_of)
def _date_of(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(date_of, "sqlite")
def _date_of_sqlite(element, compiler, **kw):
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


class seconds_of_day(FunctionElement):
    """Whole seconds since midnight of a date-time: compared to the second, as rules.md says."""
    type = Integer()
    inherit_cache = True
    name = "seconds_of_day"


@compiles(seconds_of_day)
def _seconds_of_day(element, compiler, **kw):
    x = compiler.process(element.clauses, **kw)
    return f"CAST(FLOOR(date_part('epoch', CAST({x} AS TIME))) AS INTEGER)"


@compiles(seconds_of_day, "sqlite")
def _seconds_of_day_sqlite(element, compiler, **kw):
    x = compiler.process(element.clauses, **kw)
    return f"(substr({x}, 12, 2) * 3600 + substr({x}, 15, 2) * 60 + substr({x}, 18, 2))"


class scanned(FunctionElement):
    """A column compared as it is, with no index used for the comparison. An audit wants nearly
    every dossier: SQLite, not knowing that, would walk the index and fetch each row through it,
    where one pass over the table is several times faster. (`+x` is SQLite's way to say so.)"""
    inherit_cache = True
    name = "scanned"

    @property
    def type(self):
        return self.clauses.clauses[0].type


@compiles(scanned)
def _scanned(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(scanned, "sqlite")
def _scanned_sqlite(element, compiler, **kw):
    return f"+{compiler.process(element.clauses, **kw)}"


class epoch(FunctionElement):
    """Whole seconds from 1970-01-01 00:00:00 to a naive date-time or a date (read as if UTC:
    only differences and comparisons between such values mean anything)."""
    type = Integer()
    inherit_cache = True
    name = "epoch"


@compiles(epoch)
def _epoch(element, compiler, **kw):
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


def epoch_of(moment: datetime) -> int:
    """What `epoch` gives for a constant (T), computed in Python."""
    return int((moment - datetime(1970, 1, 1)).total_seconds())


class days_after(FunctionElement):
    """days_after(day, n): the date n calendar days after a date."""
    type = Date()
    inherit_cache = True
    name = "days_after"


@compiles(days_after)
def _days_after(element, compiler, **kw):
    day, n = (compiler.process(c, **kw) for c in element.clauses)
    return f"({day} + CAST({n} AS INTEGER))"


@compiles(days_after, "sqlite")
def _days_after_sqlite(element, compiler, **kw):
    day, n = (compiler.process(c, **kw) for c in element.clauses)
    return f"date({day}, '+' || CAST({n} AS INTEGER) || ' days')"


class day_text(FunctionElement):
    """A date or date-time as text, dd/mm/yyyy, for the detail of a finding."""
    type = String()
    inherit_cache = True
    name = "day_text"


@compiles(day_text)
def _day_text(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'DD/MM/YYYY')"


@compiles(day_text, "sqlite")
def _day_text_sqlite(element, compiler, **kw):
    x = compiler.process(element.clauses, **kw)
    return f"(substr({x}, 9, 2) || '/' || substr({x}, 6, 2) || '/' || substr({x}, 1, 4))"


class moment_text(FunctionElement):
    """A date-time as text, dd/mm/yyyy HH:MM, for the detail of a finding."""
    type = String()
    inherit_cache = True
    name = "moment_text"


@compiles(moment_text)
def _moment_text(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'DD/MM/YYYY HH24:MI')"


@compiles(moment_text, "sqlite")
def _moment_text_sqlite(element, compiler, **kw):
    x = compiler.process(element.clauses, **kw)
    return f"(substr({x}, 9, 2) || '/' || substr({x}, 6, 2) || '/' || substr({x}, 1, 4) || ' ' || substr({x}, 12, 5))"


def text_of(*pieces) -> ColumnElement:
    """Pieces of text joined in SQL (||): literal strings as they are, expressions as text, a
    missing value as "?"."""
    def piece(value):
        if isinstance(value, str):
            return literal(value, String)
        return func.coalesce(cast(value, String), "?")
    return reduce(operator.add, (piece(p) for p in pieces))


def flag(condition: ColumnElement) -> ColumnElement:
    """A condition as a boolean value that is never NULL (false when the condition is unknown)."""
    return case((condition, true()), else_=false())


def ceiling(value: ColumnElement) -> ColumnElement:
    """The smallest integer >= a positive number. (SQLite truncates a CAST to integer and
    PostgreSQL rounds it; this is right on both.)"""
    whole = cast(value, Integer)
    return case((whole < value, whole + 1), else_=whole)


def seconds(at: time) -> int:
    return at.hour * 3600 + at.minute * 60 + at.second


def end_of(day: date) -> datetime:
    """The last second of a day: "as of the end of `to`", "in force to the end of its expiry"."""
    return datetime.combine(day, time(23, 59, 59))


def create_scratch(connection: Connection, table: Table) -> None:
    """Create a per-audit temporary table, replacing one a pooled connection may still hold."""
    drop_scratch(connection, table)
    table.create(connection)


def drop_scratch(connection: Connection, *tables: Table) -> None:
    # Named in the temporary schema, so that a real table of the same name is never touched.
    schema = "temp" if connection.dialect.name == "sqlite" else "pg_temp"
    for table in tables:
        connection.execute(text(f"DROP TABLE IF EXISTS {schema}.{table.name}"))


class text_list(FunctionElement):
    """text_list(value, separator): the values joined by the separator, as an aggregate. Used as a
    window over a whole partition with an ORDER BY (`.over(..., rows=(None, None))`), it joins them
    in that order on both stores: SQLite's group_concat (whose ORDER BY inside the call needs 3.44)
    takes a window's rows in the window's order, as PostgreSQL's string_agg does."""
    type = String()
    inherit_cache = True
    name = "text_list"


@compiles(text_list)
def _text_list(element, compiler, **kw):
    return f"string_agg({compiler.process(element.clauses, **kw)})"


@compiles(text_list, "sqlite")
def _text_list_sqlite(element, compiler, **kw):
    return f"group_concat({compiler.process(element.clauses, **kw)})"
