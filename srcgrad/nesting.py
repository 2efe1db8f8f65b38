"""Derivatives inside differentiated code: `grad` or `jvp` of a user function,
called by another function srcgrad differentiates.

normalize lowers such a call to `derivative` ops (one per output, all of one
call sharing a call id); once the argument kinds are known, `expand` (run by
`pipeline.semantic`) replaces them with the inner derivative *as a program*:

- `jvp(g, wrt)(x…, t…)`: g's tangent program (`tangent`), inlined;
- `grad(g, wrt)(x…)` (mode "rev"): g's reverse sweep written as ops of the
  rule table: g's steps in SSA form, then each step's δ templates, last step
  first (straight-line scalar code: the reverse sweep needs no tape there;
  for g with loops or branches, the same gradient by tangent sweeps, below);
- `grad(g, wrt, mode="fwd")(x…)`: one tangent program per wrt input element,
  seeded with e_i.

The result is ordinary normalized code, so the outer derivative (reverse or
forward mode, any depth) differentiates it like the user's own statements.
"""
import ast
import copy
import dataclasses

from . import activity, typeinfer
from .errors import SrcgradError
from .program import (BreakIf, Const, For, If, Name, Op, Return, SetItem, While, _next_id, control_reads,
                      reads, rewrite_simple, walk, writes)
from .rules import RULES
from .typeinfer import is_array


@dataclasses.dataclass(frozen=True, eq=False)
class Inner:
    """A derivative function the user calls inside differentiated code."""
    kind: str              # "grad" or "jvp"
    func: object           # the function it differentiates
    wrt: tuple
    single: bool           # grad with one wrt parameter: one output, not a tuple
    mode: str = "rev"      # grad: "rev" (reverse sweep as ops) or "fwd" (tangent sweeps)

    @property
    def outputs(self):
        if self.kind == "jvp":
            return 2
        return 1 if self.single else len(self.wrt)

    def params(self):
        import inspect
        return [p for p in inspect.signature(self.func).parameters]


def inner_of(obj):
    """The Inner for a srcgrad derivative function object, else None."""
    gf = getattr(obj, "__srcgrad__", None)
    if gf is not None:
        if gf.with_value:
            return "value_and_grad"
        return Inner("grad", gf.f, tuple(gf.wrt), gf.single, getattr(gf, "mode", "rev"))
    transform = getattr(obj, "__srcgrad_transform__", None)
    if transform is not None:
        if transform.what != "jvp":
            return transform.what
        return Inner("jvp", transform.f, tuple(transform.wrt), transform.single)
    return None


_calls = iter(range(1, 1 << 62))


def lower(normalizer, node, inner, targets):
    """`derivative` ops for a call `node` of `inner`, assigning `targets` (names or None)."""
    label = ast.unparse(node.func)
    if isinstance(inner, str):
        raise normalizer.error(node, f"{inner} of a function, called inside differentiated code",
                               f"nested {inner}", "call grad(...) or jvp(...) there; unpack their results")
    if node.keywords:
        raise normalizer.error(node, f"keyword arguments to {label}", "keyword argument", "pass arguments by position")
    count = len(inner.params()) + (len(inner.wrt) if inner.kind == "jvp" else 0)
    if len(node.args) != count:
        raise normalizer.error(node, f"{label} takes {count} arguments here, got {len(node.args)}", "call",
                               "pass every argument positionally")
    if len(targets) != inner.outputs:
        what = "(value, tangent)" if inner.kind == "jvp" else f"{inner.outputs} gradients"
        raise normalizer.error(node, f"{label} returns {what}: unpack it into {inner.outputs} names",
                               f"nested {inner.kind}", f"write `a, b = {label}(...)`")
    args = tuple(normalizer.expr(a) for a in node.args)
    call = next(_calls)
    out = None
    for k, target in enumerate(targets):
        out = normalizer.op("derivative", args, node, target,
                            static=(("of", inner), ("output", k), ("call", call)))
    return out


def output_type(stmt, arg_types):
    """typeinfer's type of one output of a `derivative` op."""
    static = dict(stmt.static)
    inner, k = static["of"], static["output"]
    params = inner.params()
    kinds = [_float_kind(t) if p in inner.wrt else t for p, t in zip(params, arg_types)]
    if inner.kind == "grad":
        return _float_kind(kinds[params.index(inner.wrt[k])])
    from . import pipeline
    fn, _, kinds_in = pipeline.semantic(inner.func, inner.wrt, tuple(kinds))
    ret = [s for s in fn.body if isinstance(s, Return)][-1].value
    if not isinstance(ret, Name):
        return "float"
    t = typeinfer.infer(fn, kinds_in).get(ret.id)
    return _float_kind(t) if t is not None else None


def _float_kind(t):
    if t is None:
        return None
    return ("array", t[1], "float64") if is_array(t) else "float"


def has_derivatives(fn):
    return any(isinstance(s, Op) and s.op == "derivative" for s in walk(fn.body))


def expand(fn, types, namer):
    """Replace the `derivative` ops of `fn` by the inner derivative programs."""
    done = {}

    def inline(s):
        if not (isinstance(s, Op) and s.op == "derivative"):
            return [s]
        static = dict(s.static)
        call = static["call"]
        out = []
        if call not in done:
            outputs, body = _program(static["of"], s, types, namer)
            out += body
            done[call] = outputs
        out.append(Op(s.target, "copy", (done[call][static["output"]],), s.loc))
        return out

    return dataclasses.replace(fn, body=rewrite_simple(fn.body, inline), names=frozenset(namer.taken))


def _arg_kind(atom, types):
    if isinstance(atom, Const):
        return "bool" if isinstance(atom.value, bool) else "int" if isinstance(atom.value, int) else "float"
    return types.get(atom.id)


def _program(inner, stmt, types, namer):
    """(output atoms, statements) computing all outputs of one derivative call."""
    from . import pipeline
    params = inner.params()
    args = stmt.args
    kinds = tuple(_arg_kind(a, types) for a in args)
    callee_kinds = kinds[:len(params)]
    prefix = f"{inner.func.__name__}_{inner.kind}"
    if inner.kind == "jvp":
        lin = pipeline.Tangent(inner.func, inner.wrt, callee_kinds).linearized()
        ret = [s for s in lin.fn.body if isinstance(s, Return)][-1].value
        return _inline(lin.fn.params, lin.fn.body, [lin.value, ret], args, namer, prefix, kinds, stmt.loc)
    if inner.mode == "fwd":
        return _forward_gradient(inner, callee_kinds, args, namer, prefix, stmt)
    fn, _, kinds_in = pipeline.semantic(inner.func, inner.wrt, callee_kinds)
    fn_types = typeinfer.run(fn, kinds_in)
    reason = _not_straight_line(fn, fn_types)
    if reason:
        # srcgrad writes an inner reverse sweep as plain operations for straight-line scalar code only
        # (loops would need the tape as a program); the same gradient comes from tangent sweeps
        params = inner.params()
        if any(is_array(callee_kinds[params.index(w)]) for w in inner.wrt):
            raise SrcgradError(f"grad of {inner.func.__name__} is called inside differentiated code, and {reason}: "
                               "srcgrad writes an inner reverse sweep as plain operations only for straight-line "
                               "scalar code, and computes other inner gradients by forward sweeps, which need "
                               "scalar wrt parameters", filename=stmt.loc.filename, lineno=stmt.loc.lineno,
                               construct="nested reverse mode",
                               hint="pass the array's components as scalars, or use jvp with your own seeds")
        return _forward_gradient(inner, callee_kinds, args, namer, prefix, stmt)
    body, outputs = _reverse_sweep(fn, fn_types, inner.wrt, namer, stmt)
    return _inline(fn.params, tuple(body), outputs, args, namer, prefix, callee_kinds, stmt.loc)


def _forward_gradient(inner, kinds, args, namer, prefix, stmt):
    """The gradient by tangent sweeps: one per scalar wrt parameter."""
    from . import pipeline
    params = inner.params()
    lin = pipeline.Tangent(inner.func, inner.wrt, kinds).linearized()
    ret = [s for s in lin.fn.body if isinstance(s, Return)][-1].value
    outputs, body = [], []
    for w in inner.wrt:
        if is_array(kinds[params.index(w)]):
            raise SrcgradError(f"grad(..., mode=\"fwd\") of {inner.func.__name__} inside differentiated code needs "
                               f"scalar wrt parameters ('{w}' is an array)", filename=stmt.loc.filename,
                               lineno=stmt.loc.lineno, construct="nested forward mode",
                               hint="pass the components as scalars, or use jvp with your own seeds")
        seeds = [Const(1.0 if v == w else 0.0) for v in inner.wrt]
        (_, tangent), part = _inline(lin.fn.params, lin.fn.body, [lin.value, ret], tuple(args) + tuple(seeds),
                                     namer, prefix, tuple(kinds) + ("float",) * len(seeds), stmt.loc)
        outputs.append(tangent)
        body += part
    return outputs, body


def _not_straight_line(fn, types):
    for s in fn.body:
        if not isinstance(s, (Op, Return)):
            return f"it has a {type(s).__name__.lower()} statement at line {s.loc.lineno}"
    for name, t in types.items():
        if is_array(t):
            return f"'{name}' is an array"
    return None


class _Shim:
    """What `tangent._Lowering` asks of its linearizer, for scalar δ templates."""

    def __init__(self, namer):
        self.namer = namer

    def rank(self, atom):
        return 0


def _reverse_sweep(fn, types, wrt, namer, stmt):
    """Straight-line scalar code and its reverse sweep as ops: (body, δ of each wrt parameter)."""
    from .tangent import _Lowering, _substitute
    from .emit import fold
    active = activity.run(fn, types, wrt)
    namer.taken |= set(fn.params)    # (the parameters keep their names until inlined: no temporary takes one)
    version = {}                     # name -> its current SSA name

    def read(atom):
        return Name(version.get(atom.id, atom.id)) if isinstance(atom, Name) else atom
    forward, steps = [], []
    for s in fn.body:
        if isinstance(s, Return):
            ret = read(s.value)
            continue
        args = tuple(read(a) for a in s.args)
        raw = None
        if s.raw is not None:
            raw = _rename_raw(s.raw, {n: Name(v) for n, v in version.items()})
        # (every step a new name of the outer namer: SSA, and no clash with the δ temporaries made below)
        target = namer.fresh(f"{s.target}_v", numbered=True)
        version[s.target] = target
        new = dataclasses.replace(s, target=target, args=args, raw=raw, sid=_next_id())
        forward.append(new)
        steps.append((s, new))
    delta = {}
    shim = _Shim(namer)
    backward = []

    def add(name, atom, lower):
        if name in delta:
            delta[name] = lower.op("add", (delta[name], atom))
        else:
            delta[name] = atom
    if isinstance(ret, Name):
        delta[ret.id] = Const(1.0)
    for original, s in reversed(steps):
        d_z = delta.get(s.target)
        if d_z is None or original.target not in active:
            continue
        lower = _Lowering(shim, s)
        if s.op in ("copy", "float"):
            if isinstance(s.args[0], Name) and original.args[0].id in active:
                add(s.args[0].id, d_z, lower)
        elif s.op in RULES and RULES[s.op].differentiable:
            rule = RULES[s.op]
            mapping = {"z": Name(s.target), "d_z": d_z, **dict(zip(rule.inputs, s.args))}
            for template, arg, orig in zip(rule.vjp, s.args, original.args):
                if not (isinstance(arg, Name) and orig.id in active) or \
                        (isinstance(template, ast.Constant) and template.value == 0):
                    continue
                add(arg.id, lower.expr(fold(_substitute(template, mapping))), lower)
        backward += lower.out
    outputs = [delta.get(w, Const(0.0)) for w in wrt]
    return forward + backward, outputs


def _inline(params, body, outputs, args, namer, prefix, kinds, loc):
    """The statements of a program inlined with its parameters bound to `args`:
    every name renamed `<prefix>N_<name>`, every statement a new one."""
    body = [s for s in body if not isinstance(s, Return)]
    assigned = set()
    for s in walk(body):
        assigned |= writes(s)
    tag = namer.fresh(prefix, numbered=True)
    mapping, entry = {}, []
    names = set()
    for s in walk(body):
        names |= writes(s) | set(reads(s)) | set(control_reads(s))
    for p, a, kind in zip(params, args, kinds):
        if p in assigned:            # the program assigns its parameter: a copy of the caller's value
            mapping[p] = Name(namer.fresh(f"{tag}_{p}"))
            entry.append(Op(mapping[p].id, "array_copy" if is_array(kind) else "copy", (a,), loc))
        else:
            mapping[p] = a
    for n in sorted(names):
        if n not in mapping:
            mapping[n] = Name(namer.fresh(f"{tag}_{n}"))
    renamed = _rename_block(body, mapping)
    out = [mapping.get(o.id, o) if isinstance(o, Name) else o for o in outputs]
    return out, entry + renamed


def _rename_raw(expr, mapping):
    expr = copy.deepcopy(expr)

    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            atom = mapping.get(node.id)
            if atom is None:
                return node
            return ast.Name(atom.id, ast.Load()) if isinstance(atom, Name) else ast.Constant(atom.value)
    return Sub().visit(expr)


def _rename_block(stmts, mapping):
    def atom(a):
        return mapping.get(a.id, a) if isinstance(a, Name) else a

    def name(n):
        found = mapping.get(n, Name(n))
        return found.id

    out = []
    for s in stmts:
        if isinstance(s, Op):
            s = dataclasses.replace(s, target=name(s.target), args=tuple(atom(a) for a in s.args),
                                    raw=_rename_raw(s.raw, mapping) if s.raw is not None else None, sid=_next_id())
        elif isinstance(s, SetItem):
            s = dataclasses.replace(s, array=name(s.array), index=tuple(atom(i) for i in s.index),
                                    value=atom(s.value), sid=_next_id())
        elif isinstance(s, If):
            s = dataclasses.replace(s, flag=name(s.flag), body=tuple(_rename_block(s.body, mapping)),
                                    orelse=tuple(_rename_block(s.orelse, mapping)), sid=_next_id())
        elif isinstance(s, For):
            s = dataclasses.replace(s, var=name(s.var), start=atom(s.start), stop=atom(s.stop), step=atom(s.step),
                                    counter=name(s.counter) if s.counter else None,
                                    body=tuple(_rename_block(s.body, mapping)), sid=_next_id())
        elif isinstance(s, While):
            s = dataclasses.replace(s, cond=_rename_raw(s.cond, mapping), counter=name(s.counter),
                                    body=tuple(_rename_block(s.body, mapping)), sid=_next_id())
        elif isinstance(s, BreakIf):
            s = dataclasses.replace(s, cond=_rename_raw(s.cond, mapping), sid=_next_id())
        out.append(s)
    return out
