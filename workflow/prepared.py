"""The write path's fixed statements, compiled once per dialect and run on the driver's own cursor.

SQLAlchemy runs a cached statement at several times the cost of SQLite executing it: an execution
context, parameter processing through the compiled object, a `Result` wrapped round the cursor
(bench/lifecycle.py's profile: about 40% of a transition). The few statements every transition sends
(read the case, compare-and-set it, append the event and its outbox row, cancel and add timers) are
compiled here once per dialect, with the same bind and result processors SQLAlchemy would apply, and
executed on the DBAPI connection of the session's own transaction: the same SQL, the same stored
values, the same transaction and commit, without the per-call machinery.

What this does not do, it refuses at compile time rather than getting wrong: an INSERT that would need
a Python-side column default (SQLAlchemy evaluates those in its execution context, not here), and
statements whose SQL depends on the values (an expanding IN list: write `a = x OR a = y` instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement, Insert, Select
from sqlmodel import Session

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    # Each bound parameter in the order the SQL names it: (name in the SQL, the caller's key, a
    # constant when the statement fixes the value, the bind processor).
    binds: tuple[tuple[str, str, Any, Processor], ...]
    # For SELECTs: each column's name and type, in order (processors come with the first result).
    columns: tuple[tuple[str, Any], ...]


_NO_VALUE = object()


class Prepared:
    """One statement, compiled for each dialect it meets (SQLite and PostgreSQL here)."""

    def __init__(self, statement: ClauseElement, *, keys: Sequence[str] | None = None) -> None:
        # `keys`: for an INSERT whose values come at execution, the columns it is given. Left out, the
        # first call's keys are taken, and every later call must give the same ones.
        self.statement = statement
        self.keys = list(keys) if keys is not None else None
        self._by_dialect: dict[str, _Compiled] = {}
        # Result processors per dialect: some depend on the type the driver reports (PostgreSQL numerics),
        # so they are made from the first result's cursor description.
        self._results: dict[str, tuple[tuple[str, Processor], ...]] = {}

    def _compile(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is not None:
            if self.keys is not None and len(params) != len(self.keys):
                raise ValueError(f"expected exactly the parameters {sorted(self.keys)}, got {sorted(params)}")
            return found
        if self.keys is None and isinstance(self.statement, Insert):
            self.keys = list(params)
        compiled: Any = self.statement.compile(dialect=dialect, column_keys=self.keys)
        prefetch = [c.name for c in (getattr(compiled, "insert_prefetch", None) or [])]
        prefetch += [c.name for c in (getattr(compiled, "update_prefetch", None) or [])]
        if prefetch:
            raise ValueError(f"give every column with a Python-side default: {', '.join(prefetch)}")
        names = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        binds = []
        for name in names:
            bind = by_name[name]
            if bind.expanding:
                raise ValueError(f"expanding parameter {bind.key!r} is not supported here")
            # A value the statement fixes (a literal in a WHERE) is kept; the caller's own must be given.
            given = bind.required or (self.keys is not None and bind.key in self.keys)
            constant = _NO_VALUE if given else bind.value
            if bind.callable is not None:
                raise ValueError(f"callable parameter {bind.key!r} is not supported here")
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            binds.append((name, bind.key, constant, processor))
        columns: list[tuple[str, Any]] = []
        if isinstance(self.statement, Select):
            columns = [(c.name, c.type.dialect_impl(dialect)) for c in self.statement.selected_columns]
        found = _Compiled(compiled.string, compiled.positional, tuple(binds), tuple(columns))
        self._by_dialect[dialect.name] = found
        return found

    def _parameters(self, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = []
        for _name, key, constant, processor in compiled.binds:
            value = params.get(key, constant)
            if value is _NO_VALUE:
                raise KeyError(f"missing parameter {key!r}")
            values.append(processor(value) if processor is not None else value)
        if compiled.positional:
            return tuple(values)
        return {name: v for (name, *_), v in zip(compiled.binds, values, strict=True)}

    def execute(self, session: Session, params: Mapping[str, Any]) -> Any:
        """Run it in the session's transaction; returns the driver's cursor (closed by the caller)."""
        connection = session.connection()
        compiled = self._compile(connection.dialect, params)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(compiled.sql, self._parameters(compiled, params))
        return cursor

    def rowcount(self, session: Session, params: Mapping[str, Any]) -> int:
        cursor = self.execute(session, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def scalar(self, session: Session, params: Mapping[str, Any]) -> Any:
        """The first column of the first row (an INSERT's RETURNING id), or None."""
        cursor = self.execute(session, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else row[0]

    def first(self, session: Session, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row as a mapping of column name to value, processed as SQLAlchemy would."""
        cursor = self.execute(session, params)
        try:
            row = cursor.fetchone()
            if row is None:
                return None
            processors = self._processors(session.connection().dialect, cursor.description)
        finally:
            cursor.close()
        return {
            name: processor(value) if processor is not None else value
            for (name, processor), value in zip(processors, row, strict=True)
        }

    def _processors(self, dialect: Dialect, description: Any) -> tuple[tuple[str, Processor], ...]:
        found = self._results.get(dialect.name)
        if found is None:
            columns = self._by_dialect[dialect.name].columns
            found = tuple(
                (name, impl.result_processor(dialect, described[1]))
                for (name, impl), described in zip(columns, description, strict=True)
            )
            self._results[dialect.name] = found
        return found

    def executemany(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        connection = session.connection()
        compiled = self._compile(connection.dialect, rows[0])
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(compiled.sql, [self._parameters(compiled, r) for r in rows])
        finally:
            cursor.close()
