"""Stage 4: the type of every name, from the kinds of the arguments.

Input: a normalized `Function` and one kind per parameter. Output: a dict
name -> type, where a type is 'bool', 'int', 'float' or
('array', ndim, dtype) with dtype in {'float64', 'int64', 'bool'}.
Scalars join like Numba unifies them (bool < int < float); an array name must
keep one rank and dtype. Also checks that array rebinding `u = v` is a move
(v is never used again), so that it cannot create a hidden alias.
"""
from .errors import SrcgradError
from .program import Const, For, Name, Op, SetItem, While, reads, walk, writes
from .rules import RULES

SCALARS = ("bool", "int", "float")
ARRAY_OPS = {"zeros", "ones", "empty"}
LIKE_OPS = {"zeros_like", "ones_like", "empty_like", "array_copy"}
SHAPE_OF_OPS = {"zeros_shape", "ones_shape", "empty_shape"}       # np.zeros(X.shape)
INT_OPS = ("len", "shape", "size", "ndim")


def is_array(t):
    return isinstance(t, tuple)


def is_float(t):
    return t == "float" or (is_array(t) and t[2] == "float64")


def join(a, b, where):
    if a is None or a == b:
        return b
    if is_array(a) or is_array(b):
        raise _error(where, f"'{where.target}' is both {describe(a)} and {describe(b)}",
                     "give each array its own variable")
    return SCALARS[max(SCALARS.index(a), SCALARS.index(b))]


def describe(t):
    return f"a {t[1]}-D {t[2]} array" if is_array(t) else f"a {t}"


def _error(stmt, message, hint=None, construct="types"):
    return SrcgradError(message, filename=stmt.loc.filename, lineno=stmt.loc.lineno,
                        construct=construct, hint=hint)


def run(fn, kinds):
    """Infer the type of every name of `fn` given parameter kinds."""
    types = dict(zip(fn.params, kinds))
    changed = True
    while changed:
        changed = False
        for stmt in walk(fn.body):
            for name, t in _defines(stmt, types):
                if t is None:
                    continue
                new = join(types.get(name), t, stmt)
                if new != types.get(name):
                    types[name] = new
                    changed = True
    for stmt in walk(fn.body):
        _check(stmt, types)
    _check_moves(fn, types)
    return types


def _atom_type(atom, types):
    if isinstance(atom, Const):
        v = atom.value
        return "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else "float"
    return types.get(atom.id)


def _defines(stmt, types):
    if isinstance(stmt, Op):
        return [(stmt.target, op_type(stmt, types))]
    if isinstance(stmt, For):
        return [(stmt.var, "int")] + ([(stmt.counter, "int")] if stmt.counter else [])
    if isinstance(stmt, While):
        return [(stmt.counter, "int")]
    return []


def op_type(stmt, types):
    """Result type of an Op (None while an input type is still unknown)."""
    op, args = stmt.op, stmt.args
    arg_types = [_atom_type(a, types) for a in args]
    if op == "opaque":
        return "bool"
    if op in INT_OPS:
        return "int"
    if op in ARRAY_OPS:
        return ("array", len(args), stmt.dtype)
    if op in SHAPE_OF_OPS:
        return None if arg_types[0] is None else ("array", arg_types[0][1], stmt.dtype)
    if op in LIKE_OPS:
        return arg_types[0]
    if None in arg_types:
        return None
    if op == "getitem":
        array = arg_types[0]
        if not is_array(array):
            raise _error(stmt, f"'{args[0].id}' is {describe(array)}, not an array", "index arrays only",
                         "indexing")
        if len(args) - 1 != array[1]:
            raise _error(stmt, f"'{args[0].id}' is a {array[1]}-D array indexed with {len(args) - 1} index(es)",
                         "index every axis: A[i, j] (rows as values are not supported yet)", "indexing")
        return {"float64": "float", "int64": "int", "bool": "bool"}[array[2]]
    if op == "copy":
        return arg_types[0]
    rule = RULES[op]
    if any(is_array(t) for t in arg_types):
        raise _error(stmt, f"'{op}' applied to an array: array arithmetic is not supported yet",
                     "write the operation elementwise in a loop", "array arithmetic")
    if rule.result == "float":
        return "float"
    if rule.result == "int":
        return "int"
    joined = "bool"
    for t in arg_types:
        joined = SCALARS[max(SCALARS.index(joined), SCALARS.index(t))]
    return "int" if joined == "bool" else joined


def _check(stmt, types):
    if isinstance(stmt, SetItem):
        t = types.get(stmt.array)
        if not is_array(t):
            raise _error(stmt, f"'{stmt.array}' is {describe(t)}, not an array", construct="indexing")
        if len(stmt.index) != t[1]:
            raise _error(stmt, f"'{stmt.array}' is a {t[1]}-D array assigned with {len(stmt.index)} index(es)",
                         "assign single elements: A[i, j] = v", "indexing")
    if isinstance(stmt, Op) and stmt.op in INT_OPS + tuple(SHAPE_OF_OPS) and not is_array(types.get(stmt.args[0].id)):
        raise _error(stmt, f"'{stmt.args[0].id}' is not an array", construct=stmt.op)


def _check_moves(fn, types):
    """`u = v` for arrays is allowed only when v is a fresh local array that is
    never used after the assignment: then aliasing is unobservable."""
    def visit(block):
        for pos, stmt in enumerate(block):
            if isinstance(stmt, Op) and stmt.op == "copy" and is_array(types.get(stmt.target)) \
                    and isinstance(stmt.args[0], Name):
                _check_move(fn, block, pos, stmt)
            for child in getattr(stmt, "body", None), getattr(stmt, "orelse", None):
                if child:
                    visit(child)
    visit(fn.body)


def _check_move(fn, block, pos, stmt):
    source = stmt.args[0].id
    inside = {s.sid for s in walk(block)}
    used_outside = any(source in reads(s) or (isinstance(s, (Op, SetItem)) and source in writes(s))
                       for s in walk(fn.body) if s.sid not in inside)
    in_block = [s for s in block if source in reads(s) or source in writes(s)]
    first = in_block[0] if in_block else None
    ok = (source not in fn.params and not used_outside and in_block[-1] is stmt
          and isinstance(first, Op) and first.target == source and first.op in ARRAY_OPS | LIKE_OPS | SHAPE_OF_OPS)
    if not ok:
        raise _error(stmt, f"`{stmt.loc.text}` makes two names share one array (an alias)",
                     "copy explicitly, e.g. b = a.copy(), or keep one name per array", "array alias")
