"""Rule conditions (:mod:`features.contract.terms`) compiled to one Python loop over rows.

Each term becomes a Python expression with polars' semantics (see ``terms``); a table's
conditions become one function answering whether any row breaks any of them. It is the
check sized for a few rows (one child's case history): polars spends tens of microseconds
per expression per call however few the rows, Python a fraction of one per row.

The generated source holds no value of the data or of the deployment: constants and
params are read from tuples by position, so compiling is safe whatever they contain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from features.contract.terms import Term


class NotCompilableError(Exception):
    """A condition with a part that has no Python form (an opaque polars expression)."""


@dataclass(frozen=True)
class Columns:
    """What the compiled code may assume of the table: the columns never null (masks)
    and the float columns (whose comparisons follow polars' NaN ordering)."""

    non_null: frozenset[str] = frozenset()
    floats: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Check:
    """A table's conditions compiled: ``broken`` is True when any row breaks any rule."""

    columns: tuple[str, ...]  # the columns read, in the order the code takes them
    params: tuple[str, ...]
    source: str
    constants: tuple[Any, ...]  # read by the source by position
    function: Callable[[list[Sequence[Any]], list[Any]], bool]

    def broken(self, values: Mapping[str, Sequence[Any]], params: Mapping[str, Any]) -> bool:
        """``values``: each column read, as a Python list; ``params``: by name."""
        columns = [values[name] for name in self.columns]
        return self.function(columns, [params[name] for name in self.params])


def compile_check(conditions: Sequence[Term], columns: Columns) -> Check:
    """One function over the rows for all ``conditions`` (NotCompilableError if one has
    no Python form)."""
    compiler = _Compiler(columns)
    tests = [compiler.code(condition).text for condition in conditions]
    reads = list(compiler.reads.values())
    if not reads:
        raise NotCompilableError("no column is read")
    lines = ["def _check(_columns, _params):"]
    if compiler.constants:
        lines.append(f"    {''.join(f'k{i}, ' for i in range(len(compiler.constants)))}= _K")
    if compiler.params:
        lines.append(f"    {''.join(f'{name}, ' for name in compiler.params.values())}= _params")
    lines += [
        f"    for ({''.join(f'{name}, ' for name in reads)}) in zip(*_columns):",
        f"        if {' or '.join(tests) or 'False'}:",
        "            return True",
        "    return False",
    ]
    source = "\n".join(lines)
    constants = tuple(compiler.constants)
    namespace: dict[str, Any] = {"_K": constants, **_HELPERS}
    exec(compile(source, "<contract rules>", "exec"), namespace)
    function = namespace["_check"]
    return Check(tuple(compiler.reads), tuple(compiler.params), source, constants, function)


# ---- polars' semantics where Python's differ --------------------------------------------
def _total(value: Any) -> tuple[int, Any]:
    """Polars orders NaN after every other float and equal to itself."""
    return (1, 0.0) if value != value else (0, value)  # noqa: PLR0124 (NaN test)


def _float_lt(a: Any, b: Any) -> bool:
    return _total(a) < _total(b)


def _float_gt(a: Any, b: Any) -> bool:
    return _total(a) > _total(b)


def _float_eq(a: Any, b: Any) -> bool:
    return _total(a) == _total(b)


_HELPERS = {
    "_float_lt": _float_lt,
    "_float_gt": _float_gt,
    "_float_eq": _float_eq,
    "_is_finite": math.isfinite,
}
_COMPARE = {"lt": "<", "gt": ">", "eq": "=="}


@dataclass(frozen=True)
class _Code:
    text: str
    nullable: bool
    floaty: bool = False


class _Compiler:
    def __init__(self, columns: Columns) -> None:
        self.columns = columns
        self.constants: list[Any] = []
        self.reads: dict[str, str] = {}  # column -> its variable
        self.params: dict[str, str] = {}  # param -> its variable
        self.temps = 0

    def code(self, node: Term) -> _Code:
        method: Callable[..., _Code] | None = getattr(self, f"_{node.op}", None)
        if method is None:
            raise NotCompilableError(f"no Python form for {node.op!r}")
        return method(*node.args)

    def constant(self, value: Any) -> str:
        self.constants.append(value)
        return f"k{len(self.constants) - 1}"

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def unary(self, x: Term, template: str, floaty: bool = False) -> _Code:
        """``template`` ({} for the value) applied where the value is not null, else null."""
        inner = self.code(x)
        if not inner.nullable:
            return _Code(template.format(inner.text), False, floaty)
        t = self.temp()
        text = f"(None if ({t} := {inner.text}) is None else {template.format(t)})"
        return _Code(text, True, floaty)

    def binary(self, x: _Code, y: _Code, template: str, floaty: bool = False) -> _Code:
        """``template`` ({0}, {1} the values) where neither is null, else null."""
        guards, values = [], []
        for code in (x, y):
            if code.nullable:
                t = self.temp()
                guards.append(f"({t} := {code.text}) is None")
                values.append(t)
            else:
                values.append(code.text)
        body = template.format(*values)
        if not guards:
            return _Code(f"({body})", False, floaty)
        return _Code(f"(None if {' or '.join(guards)} else {body})", True, floaty)

    def arithmetic(self, a: Term, b: Term, sign: str) -> _Code:
        x, y = self.code(a), self.code(b)
        return self.binary(x, y, "{0} " + sign + " {1}", x.floaty or y.floaty)

    def compare(self, op: str, a: Term, b: Term) -> _Code:
        x, y = self.code(a), self.code(b)
        if x.floaty or y.floaty:
            return self.binary(x, y, f"_float_{op}({{0}}, {{1}})")
        return self.binary(x, y, f"{{0}} {_COMPARE[op]} {{1}}")

    # ---- values
    def _col(self, name: str) -> _Code:
        variable = self.reads.setdefault(name, f"c{len(self.reads)}")
        return _Code(variable, name not in self.columns.non_null, name in self.columns.floats)

    def _lit(self, value: Any) -> _Code:
        return _Code(self.constant(value), value is None, isinstance(value, float))

    def _param(self, name: str, _value: Any) -> _Code:
        return _Code(self.params.setdefault(name, f"p{len(self.params)}"), False)

    def _lookup(self, values: tuple[Any, ...], index: Term) -> _Code:
        table = self.constant(values)
        floaty = any(isinstance(value, float) for value in values)
        found = self.unary(index, table + "[{}]", floaty=floaty)
        return _Code(found.text, found.nullable or None in values, floaty)

    def _as_int64(self, x: Term) -> _Code:
        return self.code(x)

    def _add(self, a: Term, b: Term) -> _Code:
        return self.arithmetic(a, b, "+")

    def _mul(self, a: Term, b: Term) -> _Code:
        return self.arithmetic(a, b, "*")

    def _len_bytes(self, x: Term) -> _Code:
        return self.unary(x, "(len({0}) if {0}.isascii() else len({0}.encode()))")

    def _len_chars(self, x: Term) -> _Code:
        return self.unary(x, "len({})")

    # ---- booleans
    def _is_null(self, x: Term) -> _Code:
        return _Code(f"({self.code(x).text} is None)", False)

    def _is_not_null(self, x: Term) -> _Code:
        return _Code(f"({self.code(x).text} is not None)", False)

    def _is_in(self, x: Term, values: tuple[Any, ...]) -> _Code:
        return self.unary(x, "({} in " + self.constant(frozenset(values)) + ")")

    def _is_in_param(self, x: Term, values: Term) -> _Code:
        return self.unary(x, "({} in " + self.code(values).text + ")")

    def _is_finite(self, x: Term) -> _Code:
        return self.unary(x, "_is_finite({})")

    def _fill_null(self, x: Term, value: Any) -> _Code:
        inner = self.code(x)
        if not inner.nullable:
            return inner
        t = self.temp()
        text = f"({self.constant(value)} if ({t} := {inner.text}) is None else {t})"
        return _Code(text, value is None, inner.floaty)

    def _not(self, x: Term) -> _Code:
        return self.unary(x, "(not {})")

    def _and(self, a: Term, b: Term) -> _Code:
        x, y = self.code(a), self.code(b)
        if not x.nullable and not y.nullable:
            return _Code(f"({x.text} and {y.text})", False)
        if not x.nullable:
            return _Code(f"({y.text} if {x.text} else False)", True)
        if not y.nullable:
            return _Code(f"({x.text} if {y.text} else False)", True)
        s, t = self.temp(), self.temp()
        text = (
            f"(False if ({s} := {x.text}) is False or ({t} := {y.text}) is False else {s} and {t})"
        )
        return _Code(text, True)

    def _or(self, a: Term, b: Term) -> _Code:
        x, y = self.code(a), self.code(b)
        if not x.nullable and not y.nullable:
            return _Code(f"({x.text} or {y.text})", False)
        if not x.nullable:
            return _Code(f"(True if {x.text} else {y.text})", True)
        if not y.nullable:
            return _Code(f"(True if {y.text} else {x.text})", True)
        s, t = self.temp(), self.temp()
        text = (
            f"(True if ({s} := {x.text}) is True or ({t} := {y.text}) is True "
            f"else (None if {s} is None or {t} is None else False))"
        )
        return _Code(text, True)

    def _lt(self, a: Term, b: Term) -> _Code:
        return self.compare("lt", a, b)

    def _gt(self, a: Term, b: Term) -> _Code:
        return self.compare("gt", a, b)

    def _eq(self, a: Term, b: Term) -> _Code:
        return self.compare("eq", a, b)
