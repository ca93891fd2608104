"""Map expressions: parsed once per stream, checked against the stream's properties, evaluated
per record with simpleeval under singer-sdk's rules (the same names, the same functions).

Stricter than singer-sdk on purpose: an expression that names a property the stream lacks is a
config error at the stream's SCHEMA (singer-sdk fails on the first record, or never, when the
name is only in a branch), because a typo must never leave personal data unmasked. The common
shapes (`email`, `md5(email)`, `hmac_sha256(email)`, a constant) skip the interpreter: the
result is the one simpleeval gives, computed without walking the tree for every record.

Decimal arithmetic is exact: an expression with an operator or a call is evaluated first with
enough digits for any sum, difference or product of the values (Python's default context keeps
28 significant digits, and rounded `d + 1` on a DECIMAL(65,30) value); only a result no number
of digits holds (`x / 3`) is evaluated again as before, to 28 digits.
"""

from __future__ import annotations

import ast
import decimal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import simpleeval
from tapwell.singer.errors import ConfigError

from .functions import HASHES

Record = dict[str, Any]

# the names singer-sdk gives every expression besides the record's properties and functions
BUILTIN_NAMES = frozenset(
    {"_", "record", "config", "self", "__stream_name__", "__original_stream_name__"}
)


# Digits enough for the sum or product of any two values a SQL source holds (DECIMAL(65,30) squared
# has 130); a result that needs more, or is inexact at any length, is computed again in the
# default context (28 digits), as it always was.
EXACT = decimal.Context(
    prec=1000,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, decimal.Inexact],
)


class MapFailure(Exception):
    """An expression failed on one record. Carries the property and the expression, and only the
    exception's type: its message may quote the value (personal data)."""

    def __init__(self, prop: str | None, text: str, exc: BaseException) -> None:
        self.prop, self.text, self.kind = prop, text, type(exc).__name__
        super().__init__(f"expression {text!r} failed ({self.kind})")


class _Evaluator(simpleeval.EvalWithCompoundTypes):
    """simpleeval as singer-sdk configures it: the per-node scan for module objects is skipped
    (records are JSON values and cannot carry one; modules are behind ModuleWrapper)."""

    def _check_disallowed_items(self, item: Any) -> None:
        return


@dataclass
class Expression:
    """One expression of a stream map, ready to run on a record."""

    text: str
    evaluate: Callable[[Record], Any]
    # set when the result is a hash of the mapped property's own value (`email:
    # hmac_sha256(email)`): the function of that value alone, for the in-place edit (rewrite.py)
    of_own_value: Callable[[Any], Any] | None = None
    # set when the expression is only a property (`email`, `record['a "b"']`): its name, whose
    # schema the mapped property keeps (maps._type_of's `existing`)
    names: str | None = None


@dataclass
class Scope:
    """What an expression of one stream may name."""

    stream: str  # the stream's name in the tap's messages
    alias: str
    properties: frozenset[str]
    config: dict[str, Any]
    functions: dict[str, Any]


def parse(text: str, where: str) -> ast.Expr:
    """The expression's tree, or a config error naming where it is."""
    try:
        node = ast.parse(text.strip()).body[0]
    except (SyntaxError, IndexError) as exc:
        raise ConfigError(
            f"{where}: expression {text!r} is not valid: {exc.msg if isinstance(exc, SyntaxError) else 'empty'}"
        ) from None
    if not isinstance(node, ast.Expr):
        raise ConfigError(f"{where}: {text!r} is a statement, not an expression")
    return node


def unknown_names(tree: ast.AST, scope: Scope, prop: str | None) -> list[str]:
    """Properties the expression names that the stream lacks (by name, as record['x'] or
    _['x'], or as `self` for a new property)."""
    bound = {
        n.id
        for c in ast.walk(tree)
        if isinstance(c, ast.comprehension)
        for n in ast.walk(c.target)
        if isinstance(n, ast.Name)
    }
    bound |= {a.arg for f in ast.walk(tree) if isinstance(f, ast.Lambda) for a in f.args.args}
    missing: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            name = node.id
            if name == "self" and (prop is None or prop not in scope.properties):
                missing.append(f"self (the property {prop!r} is new)" if prop else "self")
            elif not (
                name in scope.properties
                or name in scope.functions
                or name in BUILTIN_NAMES
                or name in bound
            ):
                missing.append(name)
        else:
            named = subscripted_name(node)
            if named is not None and named not in scope.properties:
                missing.append(named)
    return list(dict.fromkeys(missing))


def subscripted_name(node: ast.AST) -> str | None:
    """The property `record['name']` or `_['name']` reads, else None."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("_", "record")
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    ):
        return node.slice.value
    return None


def compile_expression(text: str, scope: Scope, prop: str | None, where: str) -> Expression:
    """Check `text` against the stream and return its evaluator."""
    tree = parse(text, where)
    missing = unknown_names(tree, scope, prop)
    called = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    if unknown_calls := [name for name in missing if name in called]:
        raise ConfigError(
            f"{where}: expression {text!r} calls {', '.join(map(repr, unknown_calls))}, which is "
            f"not a function an expression may call (those are: {', '.join(sorted(scope.functions))}); "
            "fix the name"
        )
    if missing:
        known = ", ".join(sorted(scope.properties)) or "none"
        raise ConfigError(
            f"{where}: expression {text!r} names {', '.join(map(repr, missing))}, which stream "
            f"{scope.stream!r} does not have (its properties: {known}); fix the name"
        )
    slow = _interpreted(text, tree, scope, prop)
    fast = _fast_path(tree.value, scope, prop, slow, text)
    node = tree.value
    names = node.id if isinstance(node, ast.Name) else subscripted_name(node)
    return Expression(
        text,
        fast or slow,
        _own_value_hash(node, scope, prop),
        names if names in scope.properties else None,
    )


def _own_value_hash(node: ast.expr, scope: Scope, prop: str | None) -> Callable[[Any], Any] | None:
    """The hash function when the expression is `hash(prop)` or `hash(self)` on the mapped
    property itself."""
    if (
        prop is not None
        and isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in HASHES
        and node.func.id not in scope.properties
        and len(node.args) == 1
        and not node.keywords
        and _property_of(node.args[0], scope, prop) == prop
    ):
        func: Callable[[Any], Any] = scope.functions[node.func.id]
        return func
    return None


def _interpreted(
    text: str, tree: ast.Expr, scope: Scope, prop: str | None
) -> Callable[[Record], Any]:
    evaluator = _Evaluator(functions=scope.functions)
    computes = any(isinstance(n, ast.BinOp | ast.Call) for n in ast.walk(tree))

    def evaluate(record: Record) -> Any:
        names = record.copy()
        names["_"] = record
        names["record"] = record
        names["config"] = scope.config
        names["__stream_name__"] = scope.alias
        names["__original_stream_name__"] = scope.stream
        if prop is not None and prop in record:
            names["self"] = record[prop]
        evaluator.names = names
        try:
            if computes:  # setcontext, not localcontext: a third of the cost per record
                prior = decimal.getcontext()
                decimal.setcontext(EXACT)
                try:
                    return evaluator.eval(text, previously_parsed=tree)
                except decimal.Inexact:
                    pass  # no exact result: the default context's 28 digits, as before
                finally:
                    decimal.setcontext(prior)
            return evaluator.eval(text, previously_parsed=tree)
        except Exception as exc:  # anything an expression raises is this record's failure
            raise MapFailure(prop, text, exc) from None

    return evaluate


def _fast_path(
    node: ast.expr,
    scope: Scope,
    prop: str | None,
    slow: Callable[[Record], Any],
    text: str,
) -> Callable[[Record], Any] | None:
    """A direct function for `name`, `hash(name)` and constants; None for anything else. A
    record without the property goes the slow way, which fails as singer-sdk does."""
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda record: value
    source = _property_of(node, scope, prop)
    if source is not None:

        def get(record: Record) -> Any:
            try:
                return record[source]
            except KeyError:
                return slow(record)

        return get
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in HASHES
        and node.func.id not in scope.properties
        and len(node.args) == 1
        and not node.keywords
    ):
        arg = _property_of(node.args[0], scope, prop)
        if arg is None:
            return None
        func = scope.functions[node.func.id]

        def hashed(record: Record) -> Any:
            try:
                value = record[arg]
            except KeyError:
                return slow(record)
            try:
                return func(value)
            except Exception as exc:  # as the interpreter would report it
                raise MapFailure(prop, text, exc) from None

        return hashed
    return None


def _property_of(node: ast.expr, scope: Scope, prop: str | None) -> str | None:
    """The record key a bare name reads: a property, or `self` (the mapped property)."""
    if not isinstance(node, ast.Name):
        return None
    if node.id == "self" and prop is not None and prop in scope.properties:
        return prop
    if node.id in scope.properties:
        return node.id
    return None
