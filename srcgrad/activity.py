"""Stage 5: which names carry a δ.

Input: a normalized `Function`, its types and the `wrt` parameters. Output:
the set of active names: those that depend on a `wrt` parameter (varied) and
that the returned value depends on (useful), and that hold floats. Integers,
booleans, flags and indices are never active; nor is anything computed by a
piecewise-constant primitive (floor, int, comparisons).
"""
from .program import Name, Op, Return, SetItem, walk
from .rules import RULES
from .rules.arrays import ARRAY_RULES
from .typeinfer import is_float

# ops through which a δ can flow from output to input (structural ones included)
_FLOWS = {"copy", "float", "getitem", "array_copy", "slice", "dot"}


def _flows(stmt):
    """(output, inputs) pairs along which dependence propagates."""
    if isinstance(stmt, Op):
        if stmt.op == "getitem":
            return stmt.target, [stmt.args[0].id] if isinstance(stmt.args[0], Name) else []
        if stmt.op in ("slice",):
            return stmt.target, [stmt.args[0].id] if isinstance(stmt.args[0], Name) else []
        if stmt.op in _FLOWS or stmt.op in ARRAY_RULES or (stmt.op in RULES and RULES[stmt.op].differentiable):
            return stmt.target, [a.id for a in stmt.args if isinstance(a, Name)]
        return stmt.target, []
    if isinstance(stmt, SetItem):
        return stmt.array, [stmt.value.id] if isinstance(stmt.value, Name) else []
    return None, []


def _edges(fn):
    edges = [_flows(s) for s in walk(fn.body)]
    return [(out, ins) for out, ins in edges if out is not None and ins]


def varied(fn, types, wrt):
    """Float names that depend on a `wrt` parameter (forward mode carries their tangents)."""
    found = {w for w in wrt if is_float(types.get(w))}
    changed = True
    while changed:
        changed = False
        for out, ins in _edges(fn):
            if out not in found and is_float(types.get(out)) and any(i in found for i in ins):
                found.add(out)
                changed = True
    return frozenset(found)


def run(fn, types, wrt):
    edges = _edges(fn)
    varied_names = varied(fn, types, wrt)
    ret = [s for s in fn.body if isinstance(s, Return)][-1]
    useful = {ret.value.id} if isinstance(ret.value, Name) else set()
    changed = True
    while changed:
        changed = False
        for out, ins in edges:
            if out in useful:
                for i in ins:
                    if i not in useful:
                        useful.add(i)
                        changed = True
    return frozenset(n for n in varied_names & useful if is_float(types.get(n)))
