"""Stage 4: the type of every name, from the kinds of the arguments.

Input: a normalized `Function` and one kind per parameter. Output: a dict
name -> type, where a type is 'bool', 'int', 'float' or
('array', ndim, dtype) with dtype in {'float64', 'int64', 'bool'}.
Scalars join like Numba unifies them (bool < int < float); an array name must
keep one rank and dtype. Also checks that array rebinding `u = v` is a move
(v is never used again), so that it cannot create a hidden alias.
"""
import ast
import copy
import dataclasses

from .errors import SrcgradError
from .program import (BreakIf, Const, For, If, Name, Op, Return, SetItem, While, children, reads, rewrite_simple,
                      walk, writes)
from .rules import RULES, arrays

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
    """Infer the type of every name of `fn` given parameter kinds, and check it."""
    types = infer(fn, kinds)
    for stmt in walk(fn.body):
        _check(stmt, types)
    _check_moves(fn, types)
    _check_views(fn, types)
    _check_stale_views(fn, types)
    return types


def infer(fn, kinds):
    """The types alone (no checks)."""
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


def rank(t):
    return t[1] if is_array(t) else 0


def _dtype(t):
    if is_array(t):
        return t[2]
    return {"float": "float64", "int": "int64", "bool": "bool"}[t]


def _typed(rank_, dtype, stmt):
    """A type from a rank and dtype (scalars for rank 0); rejects 3-D+ results."""
    if rank_ > 2:
        raise _error(stmt, f"`{stmt.loc.text}` makes a {rank_}-D array: only 1-D and 2-D arrays are supported",
                     "keep arrays to one or two dimensions", "array rank")
    if rank_ == 0:
        return {"float64": "float", "int64": "int", "bool": "bool"}[dtype]
    return ("array", rank_, dtype)


def _joined_dtype(arg_types):
    order = ("bool", "int64", "float64")
    return order[max(order.index(_dtype(t)) for t in arg_types)]


def op_type(stmt, types):
    """Result type of an Op (None while an input type is still unknown)."""
    op, args = stmt.op, stmt.args
    arg_types = [_atom_type(a, types) for a in args]
    if op == "opaque":
        return _opaque_type(stmt, types)
    if op == "derivative":          # grad/jvp of a user function (nesting.expand replaces it)
        from . import nesting
        return None if None in arg_types else nesting.output_type(stmt, arg_types)
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
    if op == "eye":
        return ("array", 2, "float64")
    if op == "arange":
        return ("array", 1, "float64" if "float" in arg_types else "int64")
    if op == "getitem":
        return _getitem_type(stmt, arg_types)
    if op == "slice":
        return _slice_type(stmt, arg_types)
    if op == "copy":
        return arg_types[0]
    ranks = tuple(rank(t) for t in arg_types)
    try:
        if op == "dot":
            found = arrays.dot_variant(ranks, stmt.static)
        elif any(ranks) or op in arrays.ARRAY_RULES:
            found = arrays.variant(op, ranks, stmt.static)
        else:
            found = None
    except arrays.Unsupported as exc:
        raise _error(stmt, f"`{stmt.loc.text}`: {exc} is not supported",
                     "check the operands' shapes (1-D / 2-D arrays, scalars)", op) from None
    if found is not None:
        if op in ("sum", "cumsum", "amax", "amin", "prod"):
            dtype = "int64" if _dtype(arg_types[0]) == "bool" else _dtype(arg_types[0])
        elif op in arrays.ARRAY_RULES or op == "dot" or RULES[op].result == "float":
            dtype = "float64"
        else:
            dtype = _joined_dtype(arg_types)
        return _typed(found.rank, dtype, stmt)
    rule = RULES[op]
    if rule.result == "float":
        return "float"
    if rule.result == "int":
        return "int"
    joined = "bool"
    for t in arg_types:
        joined = SCALARS[max(SCALARS.index(joined), SCALARS.index(t))]
    return "int" if joined == "bool" else joined


def _getitem_type(stmt, arg_types):
    array, index = arg_types[0], arg_types[1:]
    name = stmt.args[0].id if isinstance(stmt.args[0], Name) else "the array"
    if not is_array(array):
        raise _error(stmt, f"'{name}' is {describe(array)}, not an array", "index arrays only", "indexing")
    fancy = [t for t in index if is_array(t)]
    if fancy:
        if any(t[2] != "int64" or t[1] != 1 for t in fancy) or len(fancy) != len(index) or len(index) > 2:
            raise _error(stmt, f"`{stmt.loc.text}`: index arrays must be 1-D integer arrays, one per axis or one "
                         "for the rows", "index with x[idx] or A[rows, cols]", "fancy indexing")
        if len(index) == 2 and array[1] != 2:
            raise _error(stmt, f"'{name}' is 1-D, indexed with two arrays", construct="fancy indexing")
        return ("array", array[1] if len(index) == 1 else 1, array[2])
    if len(index) > array[1]:
        raise _error(stmt, f"'{name}' is a {array[1]}-D array indexed with {len(index)} indices",
                     "index each axis once", "indexing")
    return _typed(array[1] - len(index), array[2], stmt)


def _slice_type(stmt, arg_types):
    array = arg_types[0]
    name = stmt.args[0].id if isinstance(stmt.args[0], Name) else "the array"
    if not is_array(array):
        raise _error(stmt, f"'{name}' is {describe(array)}, not an array", "slice arrays only", "slicing")
    if any(is_array(t) for t in arg_types[1:]):
        raise _error(stmt, "slices mixed with index arrays", "index with slices and integers only", "slicing")
    consumed = sum(1 for part in stmt.static if part != "n")
    if consumed > array[1]:
        raise _error(stmt, f"'{name}' is a {array[1]}-D array sliced with {consumed} indices",
                     "index each axis once", "slicing")
    kept = sum(1 for part in stmt.static if part != "i") + array[1] - consumed
    return _typed(kept, array[2], stmt)


def _opaque_type(stmt, types):
    """A comparison of arrays is a boolean mask; anything else a bool."""
    def rank_of(node):
        if isinstance(node, ast.Name):
            t = types.get(node.id)
            return rank(t) if t is not None else 0
        if isinstance(node, ast.Compare):
            return max(rank_of(n) for n in [node.left] + node.comparators)
        if isinstance(node, ast.BinOp):
            return max(rank_of(node.left), rank_of(node.right))
        if isinstance(node, ast.UnaryOp):
            return rank_of(node.operand)
        if isinstance(node, ast.BoolOp) and any(rank_of(v) for v in node.values):
            raise _error(stmt, "`and`/`or`/`not` of arrays", "combine masks with & and | (or np.where)",
                         "boolean array logic")
        return 0
    r = rank_of(stmt.raw)
    return ("array", r, "bool") if r else "bool"


def _check(stmt, types):
    if isinstance(stmt, SetItem):
        t = types.get(stmt.array)
        if not is_array(t):
            raise _error(stmt, f"'{stmt.array}' is {describe(t)}, not an array", construct="indexing")
        consumed = len(stmt.index) if stmt.spec is None else sum(1 for p in stmt.spec if p != "n")
        if consumed > t[1] or (stmt.spec and "n" in stmt.spec):
            raise _error(stmt, f"'{stmt.array}' is a {t[1]}-D array assigned with {consumed} index(es)",
                         "index each axis at most once", "indexing")
        if any(is_array(_atom_type(i, types)) for i in stmt.index):
            raise _error(stmt, "assignment through an index array", "assign in a loop over the indices",
                         "fancy indexing")
        value = _atom_type(stmt.value, types)
        if is_array(value) and stmt.spec is None and consumed == t[1]:
            raise _error(stmt, f"an array assigned to one element of '{stmt.array}'", construct="indexing")
    if isinstance(stmt, Op) and stmt.op in INT_OPS + tuple(SHAPE_OF_OPS) and not is_array(types.get(stmt.args[0].id)):
        raise _error(stmt, f"'{stmt.args[0].id}' is not an array", construct=stmt.op)
    if isinstance(stmt, If) and is_array(types.get(stmt.flag)):
        raise _error(stmt, "the condition is an array (its truth value is ambiguous)",
                     "reduce it first: np.all(...) / np.any(...), or use np.where", "array condition")


VIEW_OPS = {"slice", "getitem", "transpose", "reshape"}


def view_names(fn, types):
    """Names bound to a view of another array (a slice, a row, a transpose)."""
    return {s.target for s in walk(fn.body)
            if isinstance(s, Op) and s.op in VIEW_OPS and is_array(types.get(s.target))}


def mutated_arrays(fn, types):
    """Arrays changed in place: written by element or slice, or updated by
    `a += ...` (which Python applies to the array object itself)."""
    out = {s.array for s in walk(fn.body) if isinstance(s, SetItem)}
    return out | {s.target for s in walk(fn.body) if in_place(s, types)}


def in_place(stmt, types):
    return isinstance(stmt, Op) and ("inplace", True) in stmt.static and is_array(types.get(stmt.target))


def _check_views(fn, types):
    """Writing into a view would change the array it views: Python semantics
    that the adjoint does not model, so it is rejected."""
    views = view_names(fn, types)
    for stmt in walk(fn.body):
        if in_place(stmt, types) and stmt.target in views:
            raise _error(stmt, f"'{stmt.target}' is a view (a slice, row or transpose) of another array and is "
                         "updated in place here", f"write {stmt.target} = {stmt.target} + ... (a new array), or "
                         "take a copy first", "write into a view")
        if isinstance(stmt, SetItem) and stmt.array in views:
            raise _error(stmt, f"'{stmt.array}' is a view (a slice, row or transpose) of another array and is "
                         "written here", f"write into the original array, or take a copy: "
                         f"{stmt.array} = ....copy()", "write into a view")


def _check_stale_views(fn, types):
    """`row = B[0]; B[0] = v; … row …`: in Python the view sees the write; the
    generated code keeps values, so such a read is rejected (at the write)."""
    order = list(walk(fn.body))
    pos = {s.sid: k for k, s in enumerate(order)}
    loops = {}

    def enclosing(block, outer):
        for stmt in block:
            loops[stmt.sid] = outer
            if isinstance(stmt, (For, While)):
                enclosing(stmt.body, outer + (stmt.sid,))
            for child in (getattr(stmt, "body", None), getattr(stmt, "orelse", None)):
                if child and not isinstance(stmt, (For, While)):
                    enclosing(child, outer)
    enclosing(fn.body, ())
    block_of = {s.sid: id(block) for block in _blocks(fn.body) for s in block}
    for view in order:
        if not (isinstance(view, Op) and view.op in VIEW_OPS and is_array(types.get(view.target))):
            continue
        base, name = view.args[0].id, view.target
        # `h = state[0]; h = np.tanh(h); state[0] = h`: a rebinding in the view's
        # own block, after it, runs between the view and any later write
        killed = min((pos[s.sid] for s in order if isinstance(s, Op) and s.target == name and s is not view
                      and block_of[s.sid] == block_of[view.sid] and pos[s.sid] > pos[view.sid]),
                     default=len(order))
        writes_ = [s for s in order if ((isinstance(s, SetItem) and s.array == base) or
                   (in_place(s, types) and s.target == base)) and pos[s.sid] < killed]
        reads_ = [s for s in order if name in reads(s) and s is not view]
        for write in writes_:
            for read in reads_:
                later = pos[read.sid] > pos[write.sid] > pos[view.sid]
                common = set(loops[write.sid]) & set(loops[read.sid]) - set(loops[view.sid])
                if later or (common and pos[read.sid] < pos[write.sid]):
                    raise _error(write, f"'{base}' is written while '{name}' (a view of it, line "
                                 f"{view.loc.lineno}) is read later: the view would see the change",
                                 f"take a copy: {name} = {view.loc.text.split('=', 1)[-1].strip()}.copy()",
                                 "stale view")


def _blocks(block):
    """Every statement list of the function: the body and each nested block."""
    yield block
    for stmt in block:
        for child in children(stmt):
            yield from _blocks(child)


def _check_moves(fn, types):
    """`u = v` for arrays is allowed only when v is a fresh local array that is
    never used after the assignment: then aliasing is unobservable."""
    def visit(block):
        for pos, stmt in enumerate(block):
            if isinstance(stmt, Op) and stmt.op == "copy" and is_array(types.get(stmt.target)) \
                    and isinstance(stmt.args[0], Name):
                _check_move(fn, block, pos, stmt, types)
            for child in getattr(stmt, "body", None), getattr(stmt, "orelse", None):
                if child:
                    visit(child)
    visit(fn.body)


def _check_move(fn, block, pos, stmt, types):
    source = stmt.args[0].id
    inside = {s.sid for s in walk(block)}
    used_outside = any(source in reads(s) or (isinstance(s, (Op, SetItem)) and source in writes(s))
                       for s in walk(fn.body) if s.sid not in inside)
    in_block = [s for s in block if source in reads(s) or source in writes(s)]
    first = in_block[0] if in_block else None
    mutated = mutated_arrays(fn, types)
    if source not in mutated and stmt.target not in mutated:
        return          # neither array is ever written in place: sharing one is unobservable
    if _rebound_before_change(block, pos, stmt, types):
        return
    ok = (source not in fn.params and not used_outside and in_block[-1] is stmt
          and isinstance(first, Op) and first.target == source and first.op not in VIEW_OPS | {"copy"})
    if not ok:
        raise _error(stmt, f"`{stmt.loc.text}` makes two names share one array (an alias)",
                     "copy explicitly, e.g. b = a.copy(), or keep one name per array", "array alias")


def _rebound_before_change(block, pos, stmt, types):
    """`v = z; t = v * c; v = t; v += 1`: the alias is only read, then the
    name is bound to a new array before anything changes in place."""
    names = {stmt.target, stmt.args[0].id}
    for later in block[pos + 1:]:
        if not isinstance(later, Op):
            return False
        if in_place(later, types) and later.target in names:
            return False
        if later.target == stmt.target:
            return True
        if later.target == stmt.args[0].id:
            return False
    return False


def split_array_updates(fn, types, namer):
    """`h += b` on an array (kept by normalize as the in-place `h = h + b`)
    becomes `t = h + b; h = t`: a new binding, so that broadcasting may change
    h's shape and the adjoint still knows the old one."""
    def split(s):
        if isinstance(s, Op) and is_array(types.get(s.target)) and s.args and s.args[0] == Name(s.target):
            temp = namer.temp()
            types[temp] = types[s.target]
            return [dataclasses.replace(s, target=temp), Op(s.target, "copy", (Name(temp),), s.loc)]
        return [s]
    return dataclasses.replace(fn, body=rewrite_simple(fn.body, split))


def array_squares(fn, types):
    """`a * a` on an array becomes `square(a)`: its δ is one pass, 2·a·δ,
    where the product's two δ's (one per operand, then added: the split)
    would be three passes over the array and a temporary. (Scalars keep the
    product: LLVM merges the two δ's, and `explain` shows the split.)"""
    def square(s):
        if isinstance(s, Op) and s.op == "mul" and len(s.args) == 2 and isinstance(s.args[0], Name) \
                and s.args[0] == s.args[1] and is_array(types.get(s.target)) and not s.static:
            return [dataclasses.replace(s, op="square", args=(s.args[0],))]
        return [s]
    return dataclasses.replace(fn, body=rewrite_simple(fn.body, square))


def shared_arguments(fn, types):
    """A helper's array parameter that the helper only updates in place
    (`y += a * x`, `y[i] = …`) is, as in Python, the caller's array: its
    copy-on-entry is dropped and the helper's name replaced by the caller's.
    Returns the function unchanged when there is no such parameter."""
    renames = {}
    for stmt in walk(fn.body):
        if isinstance(stmt, Op) and ("argument", True) in stmt.static and is_array(types.get(stmt.target)) \
                and isinstance(stmt.args[0], Name):
            others = [s for s in walk(fn.body) if isinstance(s, Op) and s.target == stmt.target and s is not stmt]
            if others and all(("inplace", True) in s.static for s in others):
                renames[stmt.target] = stmt.args[0].id
    if not renames:
        return fn

    def atom(a):
        return Name(renames[a.id]) if isinstance(a, Name) and a.id in renames else a

    def raw(expr):
        if expr is None:
            return None
        expr = copy.deepcopy(expr)
        for node in ast.walk(expr):
            if isinstance(node, ast.Name) and node.id in renames:
                node.id = renames[node.id]
        return expr

    def block(stmts):
        out = []
        for s in stmts:
            if isinstance(s, Op):
                if s.target in renames and ("argument", True) in s.static:
                    continue
                s = dataclasses.replace(s, target=renames.get(s.target, s.target),
                                        args=tuple(atom(a) for a in s.args), raw=raw(s.raw))
            elif isinstance(s, SetItem):
                s = dataclasses.replace(s, array=renames.get(s.array, s.array), value=atom(s.value),
                                        index=tuple(atom(i) for i in s.index))
            elif isinstance(s, If):
                s = dataclasses.replace(s, body=block(s.body), orelse=block(s.orelse))
            elif isinstance(s, For):
                s = dataclasses.replace(s, start=atom(s.start), stop=atom(s.stop), step=atom(s.step),
                                        body=block(s.body))
            elif isinstance(s, While):
                s = dataclasses.replace(s, cond=raw(s.cond), body=block(s.body))
            elif isinstance(s, BreakIf):
                s = dataclasses.replace(s, cond=raw(s.cond))
            elif isinstance(s, Return):
                s = dataclasses.replace(s, value=atom(s.value))
            out.append(s)
        return tuple(out)
    return dataclasses.replace(fn, body=block(fn.body))
