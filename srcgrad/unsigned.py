"""Stage 9a (the text Numba compiles): unsigned indices, reorderable register sums.

Two rewrites of the generated source, applied to the module Numba compiles
only (`srcgrad.source` shows the code as generated, the same line for line):

- An array index that is a name never negative is passed as `np.uint64(i)`.
  Python reads `a[-1]` as the last element, so Numba compiles every signed
  index as `i if i >= 0 else i + n`: a select per access that hides the
  address pattern from LLVM, whose vectoriser then leaves the loop alone.
  Which names are never negative is proven on the normalized program
  (`nonnegative`): every binding of the name gives a value >= 0 whenever
  the names it reads are >= 0 -- shapes, lengths, constants, `range` loop
  indices from a non-negative start (or, counting down, above a stop >= -1),
  sums and products of such values, `i - c` where i >= c, `% m` with m >= 1.
  Every value such a name holds in the adjoint is one it held in the primal
  (restored from the tape, recomputed, an integer step undone). The tapes'
  positions (`top_f`, ...) are never negative either (`pipeline.build` adds
  them): a push at `tape_f[top_f]` in a loop is then a plain store stream
  (vectorised Euler step over 1000 elements, 200 steps: 0.53 -> 0.36 ms).

- A δ summed in a register through a loop (`registers`: `d_x_sum1 += v`;
  or the δ of a scalar fixed in the loop, `d_t1 += d_t2_e * x_e1` where
  `t1 = -k` multiplies every element, used in the loop by nothing else)
  becomes `d_x_sum1 = radd(d_x_sum1, v)`: an addition LLVM may reassociate,
  so the loop's sum can be split across vector lanes (as NumPy's pairwise
  sum is). With unsigned indices the whole loop then vectorises: GMM d = 64,
  the backward triangle loop, 240 -> 140 ms.
"""
import math
import re

from .program import Const, For, Name, Op, walk
from .typeinfer import is_array

NEG_INF = -math.inf
_SUBSCRIPT = re.compile(r"\b(\w+)\[([^\[\]:]+)\]")
_REGISTER_SUM = re.compile(r"^(\s*)(\w+) ([+-])= (.+?)(\s+#.*)?$")
# how `registers` declares the local it sums a δ element in
_REGISTER_DECLARED = re.compile(r"^\s*(\w+) = 0\.0  # δ of .* summed over the loop in a register$")
_ROUNDS = 30
_FOR = re.compile(r"^(\s*)for (\w+) in ")
_ASSIGNED = re.compile(r"^\s*(\w+)\s*(?:[-+*/%]|//)?= ")


def nonnegative(fn, types):
    """Names of integers that are >= 0 wherever they are bound (see the module doc)."""
    bindings = {}
    for stmt in walk(fn.body):
        if isinstance(stmt, Op) and types.get(stmt.target) == "int":
            bindings.setdefault(stmt.target, []).append(stmt)
        elif isinstance(stmt, For):
            bindings.setdefault(stmt.var, []).append(stmt)
    params = set(fn.params)
    # optimistic start (+inf: no binding seen yet), lowered until nothing changes;
    # a bound still falling after _ROUNDS is dropped to -inf (`i = i - 1` in a loop)
    low = {name: math.inf for name in bindings if name not in params}
    for _ in range(3):
        for _ in range(_ROUNDS):
            changed = _lower(bindings, low, types)
            if not changed:
                break
        else:
            for name in changed:
                low[name] = NEG_INF
            continue
        break
    else:
        return frozenset()
    return frozenset(name for name, bound in low.items() if 0 <= bound < math.inf)


def _lower(bindings, low, types):
    changed = set()
    for name, stmts in bindings.items():
        if name not in low:
            continue
        bound = min(_binding_low(stmt, low, types) for stmt in stmts)
        if bound < low[name]:
            low[name] = bound
            changed.add(name)
    return changed


def _atom_low(atom, low, types):
    if isinstance(atom, Const):
        return atom.value if type(atom.value) is int else NEG_INF
    if isinstance(atom, Name) and types.get(atom.id) == "int":
        return low.get(atom.id, NEG_INF)
    return NEG_INF


def _binding_low(stmt, low, types):
    if isinstance(stmt, For):
        step = stmt.step.value if isinstance(stmt.step, Const) and type(stmt.step.value) is int else None
        if step is not None and step > 0:
            return _atom_low(stmt.start, low, types)
        if step is not None and step < 0:
            return _atom_low(stmt.stop, low, types) + 1
        return NEG_INF
    op, args = stmt.op, stmt.args
    if op in ("shape", "len", "size", "ndim"):
        return 0
    bounds = [_atom_low(a, low, types) for a in args]
    if op == "copy" and len(args) == 1:
        return bounds[0]
    if op == "add" and len(args) == 2:
        return bounds[0] + bounds[1] if NEG_INF not in bounds else NEG_INF
    if op == "sub" and len(args) == 2 and isinstance(args[1], Const) and type(args[1].value) is int:
        return bounds[0] - args[1].value
    if op == "mul" and len(args) == 2 and min(bounds) >= 0:
        return math.inf if math.inf in bounds else bounds[0] * bounds[1]
    if op == "floordiv" and len(args) == 2 and bounds[0] >= 0 and isinstance(args[1], Const) \
            and type(args[1].value) is int and args[1].value > 0:
        return math.inf if bounds[0] == math.inf else bounds[0] // args[1].value
    if op == "mod" and len(args) == 2 and bounds[1] >= 1:
        return 0                    # Python's % takes the divisor's sign
    if op == "max" and args:
        return max(bounds)
    if op == "min" and args:
        return min(bounds)
    return NEG_INF


def array_names(types, delta):
    """The arrays of the program and their δ's (`delta(name)`): the subscripts to rewrite."""
    arrays = {name for name, t in types.items() if is_array(t)}
    return frozenset(arrays | {delta(name) for name in arrays})


def run(source, nonneg, arrays, scalar_deltas=frozenset()):
    """`source` with unsigned indices and reorderable register sums (see the
    module doc); scalar_deltas: the δ's of float scalars (summed in loops)."""
    lines = source.split("\n")
    owner = _innermost_loops(lines)
    varying = _varying_in_innermost_loop(lines, owner)
    registers = {m.group(1) for m in map(_REGISTER_DECLARED.match, lines) if m}
    sums = _scalar_delta_sums(lines, owner, scalar_deltas)
    out = []
    for k, (line, names) in enumerate(zip(lines, varying)):
        code, hash_, comment = split_comment(line)
        unsigned = nonneg & names
        if unsigned:
            code = _SUBSCRIPT.sub(lambda m: _unsigned(m, unsigned, arrays), code)
        match = _REGISTER_SUM.match(code)
        if match and (match.group(2) in registers or k in sums):
            pad, name, sign, value, _ = match.groups()
            code = f"{pad}{name} = radd({name}, {'-' if sign == '-' else ''}({value.strip()}))  "
        out.append(code + hash_ + comment)
    return "\n".join(out)


def _innermost_loops(lines):
    """For each line, the index of the header of its innermost enclosing
    `for` loop, or None."""
    loops = []                      # (indent, header index) of the open for loops
    owner = []
    for line in lines:
        code = split_comment(line)[0]
        if code.strip():
            indent = len(code) - len(code.lstrip())
            while loops and indent <= loops[-1][0]:
                loops.pop()
        owner.append(loops[-1][1] if loops else None)
        header = _FOR.match(code)
        if header:
            loops.append((len(header.group(1)), len(owner) - 1))
    return owner


def _scalar_delta_sums(lines, owner, scalar_deltas):
    """Lines `d_x += term` (or -=) adding to a scalar δ inside a loop whose
    lines (its own, not those of loops nested in it) use d_x only so: the
    δ of a value fixed in the loop (`-k` in `a = -k * x` over the elements),
    summed over the iterations; any order of the terms will do."""
    candidates = {}
    for k, line in enumerate(lines):
        match = _REGISTER_SUM.match(split_comment(line)[0])
        if owner[k] is not None and match and match.group(2) in scalar_deltas \
                and not re.search(rf"\b{match.group(2)}\b", match.group(4)):
            candidates.setdefault((owner[k], match.group(2)), []).append(k)
    out = set()
    for (loop, name), ks in candidates.items():
        word = re.compile(rf"\b{re.escape(name)}\b")
        uses = [k for k, line in enumerate(lines) if owner[k] == loop and word.search(split_comment(line)[0])]
        if uses == ks:
            out.update(ks)
    return out


def _varying_in_innermost_loop(lines, owner):
    """For each line, the names its innermost enclosing `for` loop changes
    (the loop index, names assigned in its body): only those indices gain by
    being unsigned. (An index fixed in the loop keeps its sign: its negative-
    index select is hoisted out anyway, and an unsigned one measured slower,
    the vectoriser then keeping its load in the loop.)"""
    changed = {}
    for k, loop in enumerate(owner):
        if loop is not None:
            assigned = _ASSIGNED.match(split_comment(lines[k])[0])
            if assigned:
                changed.setdefault(loop, set()).add(assigned.group(1))
    for k, line in enumerate(lines):
        header = _FOR.match(split_comment(line)[0])
        if header:
            changed.setdefault(k, set()).add(header.group(2))
    return [changed.get(loop, set()) if loop is not None else set() for loop in owner]


def _unsigned(match, nonneg, arrays):
    base, index = match.group(1), match.group(2)
    if base not in arrays:
        return match.group(0)
    parts = [p.strip() for p in index.split(",")]
    if not any(p in nonneg for p in parts):
        return match.group(0)
    return f"{base}[{', '.join(f'np.uint64({p})' if p in nonneg else p for p in parts)}]"


def split_comment(line):
    """(code, '#' or '', comment) -- a '#' inside a string literal is not a comment."""
    quote = None
    for k, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:k], "#", line[k + 1:]
    return line, "", ""
