"""The conditions of the contract's rules, each written once and evaluated two ways.

A :class:`Term` is a small expression (columns, literals, comparisons, Kleene logic, a
few string and number functions) that mirrors the part of polars the rules use. It
becomes a polars expression (``to_expr``) to check a table of any size, and Python code
(``compile_check``) to check a handful of rows, where polars' fixed cost per expression
would dominate. Both follow polars' semantics: null propagates through comparisons and
arithmetic, ``&``/``|`` are three-valued, NaN is the largest float and equal to itself,
and a row breaks a rule only where its condition is true (null counts as false).

A value that changes from check to check (the export instant, the known child ids) is a
:func:`param`: it holds its value for ``to_expr`` and is bound afresh by name for compiled
code, so that code is compiled once per process.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import polars as pl


class Term:
    """One node of a condition: an operation and its arguments (terms or constants)."""

    __slots__ = ("args", "op")

    def __init__(self, op: str, *args: Any) -> None:
        self.op = op
        self.args = args

    def __and__(self, other: Term) -> Term:
        return Term("and", self, other)

    def __or__(self, other: Term) -> Term:
        return Term("or", self, other)

    def __invert__(self) -> Term:
        return Term("not", self)

    def __lt__(self, other: Any) -> Term:
        return Term("lt", self, term(other))

    def __gt__(self, other: Any) -> Term:
        return Term("gt", self, term(other))

    def __eq__(self, other: Any) -> Term:  # type: ignore[override]
        """A condition, as polars' ``==`` is (so terms are never compared as values)."""
        return Term("eq", self, term(other))

    __hash__ = object.__hash__

    def __add__(self, other: Any) -> Term:
        return Term("add", self, term(other))

    def __mul__(self, other: Any) -> Term:
        return Term("mul", self, term(other))

    def __repr__(self) -> str:
        args = [repr(arg) for arg in self.args]
        if self.op in {"col", "lit"}:
            return str(self.args[0]) if self.op == "col" else args[0]
        if self.op == "param":
            return f"param({args[0]})"
        if self.op in _SIGNS:
            return f"({args[0]} {_SIGNS[self.op]} {args[1]})" if len(args) > 1 else f"~{args[0]}"
        return f"{args[0]}.{self.op}({', '.join(args[1:])})"

    def is_null(self) -> Term:
        return Term("is_null", self)

    def is_not_null(self) -> Term:
        return Term("is_not_null", self)

    def is_in(self, values: Collection[Any] | Term) -> Term:
        """One of ``values`` (a constant collection, or a :func:`param` holding a Series);
        null stays null."""
        if isinstance(values, Term):
            return Term("is_in_param", self, values)
        return Term("is_in", self, tuple(values))

    def len_bytes(self) -> Term:
        return Term("len_bytes", self)

    def len_chars(self) -> Term:
        return Term("len_chars", self)

    def is_finite(self) -> Term:
        return Term("is_finite", self)

    def fill_null(self, value: bool | int | str) -> Term:
        return Term("fill_null", self, value)

    def as_int64(self) -> Term:
        """An integer column widened to Int64 (before arithmetic that could overflow)."""
        return Term("as_int64", self)


def col(name: str) -> Term:
    return Term("col", name)


def lit(value: Any) -> Term:
    return Term("lit", value)


def param(name: str, value: Any) -> Term:
    """A value bound by name: ``value`` for ``to_expr``, the caller's for compiled code."""
    return Term("param", name, value)


def lookup(values: Sequence[Any], index: Term) -> Term:
    """``values[index]`` per row (null for a null index): an attribute of a row's kind."""
    return Term("lookup", tuple(values), index)


def opaque(expr: pl.Expr) -> Term:
    """A polars expression with no Python form: such a rule is never compiled."""
    return Term("opaque", expr)


def term(value: Any) -> Term:
    return value if isinstance(value, Term) else lit(value)


_SIGNS = {
    "and": "&",
    "or": "|",
    "not": "~",
    "lt": "<",
    "gt": ">",
    "eq": "==",
    "add": "+",
    "mul": "*",
}


# ---- as a polars expression -------------------------------------------------------------
def _is_in_param(x: pl.Expr, values: Term) -> pl.Expr:
    held = values.args[1]
    return x.is_in(held.implode() if isinstance(held, pl.Series) else held)


_EXPR: dict[str, Callable[..., pl.Expr]] = {
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "not": lambda a: ~a,
    "lt": lambda a, b: a < b,
    "gt": lambda a, b: a > b,
    "eq": lambda a, b: a == b,
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "is_null": lambda a: a.is_null(),
    "is_not_null": lambda a: a.is_not_null(),
    "len_bytes": lambda a: a.str.len_bytes(),
    "len_chars": lambda a: a.str.len_chars(),
    "is_finite": lambda a: a.is_finite(),
    "as_int64": lambda a: a.cast(pl.Int64),
}


def to_expr(node: Term) -> pl.Expr:
    """The polars expression of a term, params at the values they hold."""
    op, args = node.op, node.args
    if op == "col":
        return pl.col(args[0])
    if op in {"lit", "param"}:
        return pl.lit(args[-1])
    if op == "opaque":
        expr: pl.Expr = args[0]
        return expr
    if op == "is_in":
        return to_expr(args[0]).is_in(args[1])
    if op == "is_in_param":
        return _is_in_param(to_expr(args[0]), args[1])
    if op == "lookup":
        return pl.lit(pl.Series(list(args[0]))).gather(to_expr(args[1]))
    if op == "fill_null":
        return to_expr(args[0]).fill_null(args[1])
    return _EXPR[op](*(to_expr(arg) for arg in args))
