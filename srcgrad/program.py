"""The intermediate representation passed between pipeline stages.

After `normalize`, a function is a tree of these frozen statements, in
administrative normal form: every `Op` applies one primitive to atoms (a
`Name` or a `Const`), so each one is a step x_{k+1} = g_k(x_k) of the
lecture's computational graph. Control flow is structured (`If`, `For`,
`While`); `break`, `continue` and early `return` have been turned into flags,
guards and `BreakIf`, so the only `Return` is the last statement.
"""
import ast
import dataclasses
from dataclasses import dataclass, field
from itertools import count
from typing import Optional, Union

_ids = count(1)


def _next_id():
    return next(_ids)


@dataclass(frozen=True)
class Loc:
    """Where a statement came from: the file, absolute line and its text."""
    filename: str
    lineno: int
    text: str


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Const:
    value: Union[int, float, bool]


Atom = Union[Name, Const]


@dataclass(frozen=True, eq=False)
class Op:
    """target = op(*args). `raw` holds the expression of an 'opaque' op
    (comparisons, boolean logic): inactive, forward-only, never differentiated."""
    target: str
    op: str
    args: tuple
    loc: Loc
    raw: Optional[ast.expr] = None
    dtype: str = "float64"
    static: tuple = ()       # non-atom arguments: (("axis", 0), ("keepdims", True)) or a slice spec
    sid: int = field(default_factory=_next_id)


@dataclass(frozen=True, eq=False)
class SetItem:
    """array[index] = value (mode 'set'), += value ('add') or -= value ('sub').
    With a slice `spec` (see `slice_text`), index holds the atoms the spec consumes."""
    array: str
    index: tuple
    value: Atom
    mode: str
    loc: Loc
    spec: Optional[tuple] = None
    sid: int = field(default_factory=_next_id)


@dataclass(frozen=True, eq=False)
class If:
    flag: str
    body: tuple
    orelse: tuple
    loc: Loc
    sid: int = field(default_factory=_next_id)


@dataclass(frozen=True, eq=False)
class For:
    """for var in range(start, stop, step); `counter` counts executed
    iterations when the loop can exit early (break / return)."""
    var: str
    start: Atom
    stop: Atom
    step: Atom
    body: tuple
    loc: Loc
    counter: Optional[str] = None
    sid: int = field(default_factory=_next_id)


@dataclass(frozen=True, eq=False)
class While:
    """while cond: body — `counter` records the data-dependent trip count."""
    cond: ast.expr
    body: tuple
    loc: Loc
    counter: str
    sid: int = field(default_factory=_next_id)


@dataclass(frozen=True, eq=False)
class BreakIf:
    """Forward-only `if cond: break` closing a loop body that can exit early."""
    cond: ast.expr
    loc: Loc
    sid: int = field(default_factory=_next_id)


@dataclass(frozen=True, eq=False)
class Return:
    value: Atom
    loc: Loc
    sid: int = field(default_factory=_next_id)


@dataclass(frozen=True)
class Function:
    """A normalized function: parameters, body and bookkeeping for emission."""
    name: str
    params: tuple
    body: tuple
    filename: str
    lineno: int
    source: str
    names: frozenset  # every name the body uses (for collision-free naming)
    # buffers of `scalarize` written whole before any read in each iteration of
    # their top-level loop: nothing flows between iterations through them
    local_buffers: frozenset = frozenset()


def children(stmt):
    """The nested blocks of a structured statement."""
    if isinstance(stmt, If):
        return (stmt.body, stmt.orelse)
    if isinstance(stmt, (For, While)):
        return (stmt.body,)
    return ()


def rewrite_simple(block, rewrite):
    """`block` with every simple statement s (not if/for/while) replaced by the
    statements rewrite(s) returns, nested blocks included (a tuple)."""
    out = []
    for s in block:
        if isinstance(s, If):
            out.append(dataclasses.replace(s, body=rewrite_simple(s.body, rewrite),
                                           orelse=rewrite_simple(s.orelse, rewrite)))
        elif isinstance(s, (For, While)):
            out.append(dataclasses.replace(s, body=rewrite_simple(s.body, rewrite)))
        else:
            out.extend(rewrite(s))
    return tuple(out)


def walk(block):
    """Every statement in a block, depth first, in program order."""
    for stmt in block:
        yield stmt
        for child in children(stmt):
            yield from walk(child)


def atom_names(atoms):
    return [a.id for a in atoms if isinstance(a, Name)]


def raw_names(expr):
    return sorted({n.id for n in ast.walk(expr) if isinstance(n, ast.Name)})


def reads(stmt):
    """Names a simple statement reads (arrays included)."""
    if isinstance(stmt, Op):
        if stmt.raw is not None:
            return raw_names(stmt.raw)
        return atom_names(stmt.args)
    if isinstance(stmt, SetItem):
        return [stmt.array] + atom_names(stmt.index) + atom_names((stmt.value,))
    if isinstance(stmt, Return):
        return atom_names((stmt.value,))
    return []


def control_reads(stmt):
    """Names a structured statement itself reads to decide what runs: an if's
    flag, a for loop's bounds, a while's or BreakIf's condition."""
    if isinstance(stmt, If):
        return [stmt.flag]
    if isinstance(stmt, For):
        return atom_names((stmt.start, stmt.stop, stmt.step))
    if isinstance(stmt, (While, BreakIf)):
        return raw_names(stmt.cond)
    return []


def writes(stmt):
    """Names a statement (with everything nested in it) may assign."""
    if isinstance(stmt, Op):
        return {stmt.target}
    if isinstance(stmt, SetItem):
        return {stmt.array}
    out = set()
    if isinstance(stmt, For):
        out.add(stmt.var)
        if stmt.counter:
            out.add(stmt.counter)
    if isinstance(stmt, While):
        out.add(stmt.counter)
    for child in children(stmt):
        for s in child:
            out |= writes(s)
    return out
