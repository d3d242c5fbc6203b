"""Many rows into one table in one statement, with SQLAlchemy's per-row work done once per value.

SQLAlchemy's ``conn.execute(table.insert(), rows)`` builds each row's parameters column by column
and runs every timestamp through its type's bind processor, row after row: at a county's landing
and resolution that was about a third of the time of their inserts (the rest is SQLite's own).
:func:`insert_rows` gives SQLite's ``executemany`` the same values: the statement SQLAlchemy
compiles for these columns, each value processed by the column type's own bind processor, run once
per distinct value (a chunk's rows share their ``received_at``/``seen_at``). The rows are turned
into parameter tuples column by column (``itemgetter``, ``zip``), not value by value in Python.
Other dialects, and a table with a Python-side column default the rows leave out, take
SQLAlchemy's path. :func:`insert_tuples` is the same for rows already given as tuples.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine.interfaces import Dialect

__all__ = ["insert_rows", "insert_tuples"]


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``conn.execute(table.insert(), rows)``: every row has the first row's keys."""
    if not rows:
        return
    names = tuple(rows[0])
    plan = _plan(table, names, conn.dialect)
    if plan is None:
        conn.execute(table.insert(), list(rows))
        return
    sql, order, processors = plan
    get = itemgetter(*order)
    params = list(map(get, rows)) if len(order) > 1 else [(get(row),) for row in rows]
    conn.exec_driver_sql(sql, _processed(params, processors))


def insert_tuples(
    conn: Connection,
    table: Table,
    names: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    memo: dict[str, dict[Any, Any]] | None = None,
) -> None:
    """``conn.execute(table.insert(), [dict(zip(names, row)) for row in rows])``.

    ``memo`` keeps each column's processed values from one call to the next (a source's landing
    chunks share their rows' ``asserted_at`` days); it is emptied when it holds 100,000 of them."""
    if not rows:
        return
    names = tuple(names)
    plan = _plan(table, names, conn.dialect)
    if plan is None:
        conn.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])
        return
    sql, order, processors = plan
    if order != names:
        get = itemgetter(*(names.index(name) for name in order))
        rows = list(map(get, rows)) if len(order) > 1 else [(get(row),) for row in rows]
    conn.exec_driver_sql(sql, _processed(list(rows), processors, order, memo))


@functools.lru_cache(maxsize=64)
def _plan(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...]] | None:
    """(statement, its parameters' column order, each column's bind processor), or ``None`` when
    the insert must take SQLAlchemy's path."""
    left_out = [c for c in table.columns if c.key not in names]
    if dialect.name != "sqlite" or any(c.default is not None for c in left_out):
        return None
    compiled = table.insert().compile(dialect=dialect, column_keys=list(names))
    order = tuple(compiled.positiontup or ())
    if sorted(order) != sorted(names):  # not a plain positional statement: SQLAlchemy's path
        return None
    processors = tuple(table.c[name].type._cached_bind_processor(dialect) for name in order)
    return str(compiled), order, processors


def _processed(
    params: list[tuple[Any, ...]],
    processors: tuple[Callable[[Any], Any] | None, ...],
    order: tuple[str, ...] = (),
    memo: dict[str, dict[Any, Any]] | None = None,
) -> list[tuple[Any, ...]]:
    """``params`` with each column's values run through its processor, once per distinct value."""
    if all(p is None for p in processors):
        return params
    columns: list[Sequence[Any]] = list(zip(*params, strict=True))
    for j, process in enumerate(processors):
        if process is not None:
            done = None
            if memo is not None:
                done = memo.setdefault(order[j], {})
                if len(done) > _MEMO_VALUES:
                    done.clear()
            columns[j] = _once_per_value(process, columns[j], done)
    return list(zip(*columns, strict=True))


_MEMO_VALUES = 100_000


def _once_per_value(
    process: Callable[[Any], Any], values: Sequence[Any], done: dict[Any, Any] | None = None
) -> list[Any]:
    """``[process(v) for v in values]``, ``process`` run once for each distinct hashable value (types'
    processors are pure); ``done`` holds values already processed, and takes the new ones."""
    if done is None:
        done = {}
    try:
        for v in set(values).difference(done):
            done[v] = process(v)
    except TypeError:  # an unhashable value (a JSON column's dict)
        seen: dict[Any, Any] = {}
        out: list[Any] = []
        for v in values:
            try:
                out.append(seen[v])
            except KeyError:
                out.append(seen.setdefault(v, process(v)))
            except TypeError:
                out.append(process(v))
        return out
    return list(map(done.__getitem__, values))
