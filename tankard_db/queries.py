"""Hot queries compiled once: a queryset built and compiled to SQL the first time, then run again
with new values, its columns converted as the ORM converts them.

Building and compiling a queryset costs more than running it: on SQLite, the game's load with its
resent-frame check compiles in about 0.7 ms and runs in 0.05 ms. A turn runs the same few queries
every time, so those are compiled once per database and process (docs/benchmarks.md, "LLM: time
to first token"). Everything else uses the ORM as usual.

A query is declared with a function that builds it from its parameters, and the parameters' types.
The first run builds it once with stand-in values of those types, compiles it, and notes where each
stand-in went among the SQL's parameters (as the database takes it: a UUID may go as its hex text).
Later runs put the real values in those places. The built queryset must select plain columns
(`values_list`), so that its rows need only the ORM's converters.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections
from django.db.models import QuerySet

_STAND_INS: dict[type, Callable[[int], object]] = {
    uuid.UUID: lambda n: uuid.UUID(int=0x7A4E_0000_0000_4000_8000_0000_0000_0000 + n),
    str: lambda n: f"\x00stand-in-{n}\x00",
    int: lambda n: 8_675_309_000 + n,
}

# How a value of each type may appear among a compiled query's parameters.
_FORMS: dict[type, tuple[Callable[[object], object], ...]] = {
    uuid.UUID: (lambda v: v, lambda v: v.hex, str),
    str: (lambda v: v,),
    int: (lambda v: v,),
}


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple  # per SQL parameter: ("value", name, form) or ("fixed", value)
    columns: tuple  # the selected expressions, for the converters
    query: object  # the compiled Query (for a compiler on another connection)


class CompiledQuery:
    """`build(**params) -> QuerySet` (a `values_list`), compiled once per database alias and kind
    (a test may point an alias at another kind of database)."""

    def __init__(self, build: Callable[..., QuerySet], **types: type) -> None:
        unknown = [t for t in types.values() if t not in _STAND_INS]
        if unknown:
            raise TypeError(f"no stand-in for {unknown}")
        self._build = build
        self._types = types
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._lock = threading.Lock()

    def rows(self, *, using: str = "default", **values) -> list[tuple]:
        """The query's rows for these values, converted as the ORM would convert them."""
        connection = connections[using]
        compiled = self._compiled.get((using, connection.vendor)) or self._compile(using, connection.vendor)
        params = [self._param(spec, values) for spec in compiled.params]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            raw = cursor.fetchall()
        compiler = compiled.query.get_compiler(connection=connection)
        converters = compiler.get_converters(compiled.columns)
        return [tuple(row) for row in compiler.apply_converters(raw, converters)] if converters else [tuple(r) for r in raw]

    def _param(self, spec: tuple, values: dict) -> object:
        if spec[0] == "fixed":
            return spec[1]
        _, name, form = spec
        value = values[name]
        kind = self._types[name]
        if not isinstance(value, kind):  # e.g. a game id given as text; a bad one raises ValueError
            value = uuid.UUID(str(value)) if kind is uuid.UUID else kind(value)
        return form(value)

    def _compile(self, using: str, vendor: str) -> _Compiled:
        with self._lock:
            if (using, vendor) in self._compiled:
                return self._compiled[(using, vendor)]
            stand_ins = {name: _STAND_INS[kind](i) for i, (name, kind) in enumerate(self._types.items())}
            queryset = self._build(**stand_ins).using(using)
            compiler = queryset.query.get_compiler(using=using)
            sql, raw_params = compiler.as_sql()
            specs = tuple(self._spec(p, stand_ins) for p in raw_params)
            found = {spec[1] for spec in specs if spec[0] == "value"}
            if found != set(stand_ins):
                raise ValueError(f"parameters {sorted(set(stand_ins) - found)} did not reach the SQL as given")
            columns = tuple(col for col, _, _ in compiler.select[:compiler.col_count])
            compiled = _Compiled(sql=sql, params=specs, columns=columns, query=queryset.query)
            self._compiled[(using, vendor)] = compiled
            return compiled

    def _spec(self, param: object, stand_ins: dict) -> tuple:
        for name, stand_in in stand_ins.items():
            for form in _FORMS[self._types[name]]:
                if type(param) is type(form(stand_in)) and param == form(stand_in):
                    return ("value", name, form)
        return ("fixed", param)
