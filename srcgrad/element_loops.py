"""Stage 9b (the text Numba compiles): whole-array elementwise statements as element loops.

Numba compiles an array expression (`d_t2 = where_elementwise(t2 >= 0.0, d_h,
0.0)`, `t2 = t1 + b1`, `d_z += d_t3 * t2`) into one loop that allows NumPy
broadcasting with a test per operand and axis (`if shape[k] > 1`). In a small
function LLVM splits that loop into one version per outcome and vectorises
the plain one; in a generated adjoint of dozens of statements it does not
(its budget for such splitting is spent): a ReLU MLP's backward mask
(256x128) took 36 us inline, 9-12 us as a loop or in a function of its own
(which costs ~0.2 s of compile per statement). So each such statement
becomes the loop a hand-written adjoint has, its operands first stretched
to the broadcast shape as `loopfuse` does (`stretch` returns the array
itself when its shape already fits, and raises NumPy's error when it cannot
be broadcast):

    ew_n0 = t1.shape[0]
    ew_n1 = t1.shape[1]
    ew_n1 = ew_n1 if b1.shape[0] == 1 else b1.shape[0]
    ew_s = stretch2(t1, ew_n0, ew_n1)
    ew_s2 = stretch1(b1, ew_n1)
    t2 = np.empty((ew_n0, ew_n1))
    for ew_i in range(ew_n0):
        for ew_j in range(ew_n1):
            t2[np.uint64(ew_i), np.uint64(ew_j)] = ew_s[np.uint64(ew_i), np.uint64(ew_j)] + ew_s2[np.uint64(ew_j)]

The same operations on the same values: results are bit-identical; no array
expression is left to compile (cold compile unchanged, ReLU MLP probe).
`srcgrad.source` shows the statements as generated. An operand known to
have one row or column (`loopfuse.unit_axes`: keepdims reductions) is read
at 0 along it. A statement qualifies when its right-hand side is built from
names, numbers, operators and NumPy ufuncs (or the `*_elementwise` kernels)
only, reads a float64 array name directly and no other kind of array, and,
in place (`+=`), writes a float64 array of the result's rank (`d_new +=
d_u` alone stays as it is: measured no faster as a loop). Inside other
statements, `ubXY(v, x.shape)` (an array of x's shape) is bound to a name
first, and an elementwise argument of any other call is computed by such
loops into a name bound before the call.
"""
import ast
import re

import numpy as np

from .loopfuse import binding_counts, unit_axes
from .typeinfer import is_array
from .unsigned import split_comment

_STATEMENT = re.compile(r"^(\s*)(\w+) (=|\+=|-=|\*=) (.+?)\s*$")
_INDENT = "    "


def shapes(fn, types, delta):
    """({float64 array name: rank}, {array name: axes of one element}, all
    array names): program names and their δ's (a δ has its value's shape)."""
    ranks, arrays = {}, set()
    for name, t in types.items():
        if is_array(t):
            arrays |= {name, delta(name)}
            if t[2] == "float64":
                ranks[name] = ranks[delta(name)] = t[1]
    units = dict(unit_axes(fn, types, binding_counts(fn)))
    units.update({delta(name): axes for name, axes in list(units.items())})
    return ranks, units, frozenset(arrays)


def run(source, ranks, units, arrays):
    """`source` with each qualifying statement in element loops (module doc)."""
    words = set(re.findall(r"\w+", source))
    rewrite = _Rewrite(dict(ranks), dict(units), arrays, words)
    out = []
    for line in source.split("\n"):
        code, _, _ = split_comment(line)
        match = _STATEMENT.match(code)
        out.extend((rewrite.statement(match, line) if match else None) or [line])
    return "\n".join(out)


class _Rewrite:
    def __init__(self, ranks, units, arrays, words):
        self.ranks, self.units, self.arrays, self.words = ranks, units, arrays, words
        self.index = [self.fresh("ew_i"), self.fresh("ew_j")]

    def fresh(self, base):
        name, k = base, 1
        while name in self.words:
            k += 1
            name = f"{base}{k}"
        self.words.add(name)
        return name

    def statement(self, match, line):
        """The lines replacing `line` (target op expr), or None to keep it."""
        pad, target, op, expr = match.groups()
        try:
            tree = ast.parse(expr, mode="eval").body
        except SyntaxError:
            return None
        before = []
        hoist = _Hoist(self, before, tree)
        tree = hoist.visit(tree)
        loops = self.loops(target, op, tree)
        if loops is None and not hoist.looped:     # nothing gained: the statement as it was
            return None
        if loops is None:
            loops = [f"{target} {op} {ast.unparse(tree)}"]
        return [pad + b for b in before + loops]

    def loops(self, target, op, tree):
        """Lines (unindented) computing `target op tree` in element loops, None
        if it does not qualify."""
        operands = _array_operands(tree, self.ranks, self.arrays)
        if not operands:
            return None
        ranks, units = self.ranks, self.units
        rank = max(ranks[name] for name in operands)
        if target not in ranks or ranks[target] != rank:
            return None
        body, dims = [], []
        for axis in range(rank):
            if op != "=":                  # in place: the target's shape, the operands stretched to it
                dims.append(f"{target}.shape[{axis}]")
                continue
            sizes = [f"{name}.shape[{k}]" for name in operands
                     for k in [axis - rank + ranks[name]] if k >= 0 and k not in units.get(name, ())]
            dim = self.fresh(f"ew_n{axis}")
            body.append(f"{dim} = {sizes[0] if sizes else '1'}")
            for size in sizes[1:]:          # NumPy's broadcast: a length-1 axis takes the other's length
                body.append(f"{dim} = {dim} if {size} == 1 else {size}")
            dims.append(dim)
        stretched = {}
        for name in operands:
            if name == target:
                continue
            mine = dims[rank - ranks[name]:]
            sizes = ["1" if k in units.get(name, ()) else d for k, d in enumerate(mine)]
            stretched[name] = self.fresh("ew_s")
            body.append(f"{stretched[name]} = stretch{ranks[name]}({name}, {', '.join(sizes)})")
        loop_index = self.index[2 - rank:]
        element = _Elements(stretched, ranks, units, loop_index, target).visit(_copy(tree))
        reads_target = any(isinstance(n, ast.Name) and n.id == target for n in ast.walk(tree))
        into = self.fresh("ew_out") if op == "=" and reads_target else target
        if op == "=":
            body.append(f"{into} = np.empty(({', '.join(dims)}{',' if rank == 1 else ''}))")
        for depth, (name, dim) in enumerate(zip(loop_index, dims)):
            body.append(_INDENT * depth + f"for {name} in range({dim}):")
        at = ", ".join(f"np.uint64({name})" for name in loop_index)
        body.append(_INDENT * rank + f"{into}[{at}] {op} {ast.unparse(element)}")
        if into != target:
            body.append(f"{target} = {into}")
        return body


def _copy(tree):
    return ast.parse(ast.unparse(tree), mode="eval").body


class _Hoist(ast.NodeTransformer):
    """Inside a statement: `ubXY(v, x.shape)` (an array of x's shape) becomes
    a name bound just before, so the expression around it can run by
    element; an elementwise argument of any other call is computed by
    element loops into a name bound before the call."""

    def __init__(self, rewrite, before, top):
        self.rewrite, self.before, self.top = rewrite, before, top
        self.looped = False             # an argument computed by element loops

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if _elementwise_call(node):
            return node
        r = self.rewrite
        for k, arg in enumerate(node.args):
            operands = _array_operands(arg, r.ranks, r.arrays) if not isinstance(arg, ast.Name) else []
            if operands:
                temp = r.fresh("ew_a")
                r.ranks[temp] = max(r.ranks[name] for name in operands)
                loops = r.loops(temp, "=", arg)
                if loops is None:
                    del r.ranks[temp]
                    continue
                self.before.extend(loops)
                self.looped = True
                node.args[k] = ast.Name(temp, ast.Load())
        if node is not self.top and isinstance(func, ast.Name) and re.fullmatch(r"ub\d\d", func.id) \
                and len(node.args) == 2 \
                and isinstance(node.args[1], ast.Attribute) and node.args[1].attr == "shape" \
                and isinstance(node.args[1].value, ast.Name) and node.args[1].value.id in r.ranks:
            shape_of = node.args[1].value.id
            temp = r.fresh("ew_a")
            r.ranks[temp] = r.ranks[shape_of]
            if r.units.get(shape_of):
                r.units[temp] = r.units[shape_of]
            self.before.append(f"{temp} = {ast.unparse(node)}")
            return ast.Name(temp, ast.Load())
        return node


def _array_operands(tree, ranks, arrays):
    """The float64 array names an elementwise expression reads, or [] if it
    is not one (see the module doc)."""
    names, direct = [], False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in arrays and node.id not in ranks:
                return []                   # an int or bool array: not handled here
            if node.id in ranks and node.id not in names:
                names.append(node.id)
        elif isinstance(node, ast.Call):
            if not _elementwise_call(node) or node.keywords:
                return []
            direct = direct or any(_is_array_name(a, ranks) for a in node.args)
        elif isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.MatMult):
                return []
            direct = direct or any(_is_array_name(o, ranks) for o in (node.left, node.right))
        elif isinstance(node, ast.UnaryOp):
            direct = direct or _is_array_name(node.operand, ranks)
        elif isinstance(node, ast.Compare):
            direct = direct or any(_is_array_name(o, ranks) for o in [node.left] + node.comparators)
        elif isinstance(node, ast.Attribute):
            if not (isinstance(node.value, ast.Name) and node.value.id == "np"):
                return []                   # x.T, x.shape: not an element of x
        elif not isinstance(node, (ast.Constant, ast.Load, ast.operator, ast.unaryop, ast.cmpop, ast.IfExp,
                                   ast.expr_context)):
            return []
    return names if direct else []


def _is_array_name(node, ranks):
    return isinstance(node, ast.Name) and node.id in ranks


def _elementwise_call(node):
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np":
        return isinstance(getattr(np, func.attr, None), np.ufunc)
    return isinstance(func, ast.Name) and func.id.endswith("_elementwise")


class _Elements(ast.NodeTransformer):
    """Each array read at the loop's element, through its stretched name (at
    0 along a single-element axis; a 1-D operand of a 2-D loop by the column
    index); where_elementwise on elements as a conditional expression."""

    def __init__(self, stretched, ranks, units, index, target):
        self.stretched, self.ranks, self.units, self.index, self.target = stretched, ranks, units, index, target

    def visit_Name(self, node):
        if node.id not in self.stretched and node.id != self.target:
            return node
        rank = self.ranks[node.id]
        mine = self.index[len(self.index) - rank:]
        units = self.units.get(node.id, ()) if node.id != self.target else ()
        parts = ["0" if axis in units else f"np.uint64({name})" for axis, name in enumerate(mine)]
        return ast.parse(f"{self.stretched.get(node.id, node.id)}[{', '.join(parts)}]", mode="eval").body

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "where_elementwise" and len(node.args) == 3:
            return ast.IfExp(node.args[0], node.args[1], node.args[2])
        return node
