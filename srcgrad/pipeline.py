"""The ordered stages, in one place.

    parse → fence → normalize → typeinfer → activity → tape → reverse → jit

(`calls` belongs to normalize; `loopfuse` and `scalarize` to typeinfer;
`fusion` to tape; `forward_sweep`, `preaccumulate`, `emit`, `inline`,
`registers` and `rules` to reverse.) `build(func, wrt, kinds)` runs them all and returns a `Compiled` pair of
Numba dispatchers plus the generated source. Set SRCGRAD_DUMP_AFTER to a
comma-separated list of stage names (normalize, typeinfer, activity, tape,
reverse) to print what that stage produced.
"""
import copy
import dataclasses
import os
import sys
from dataclasses import dataclass
from functools import lru_cache

from . import (activity, element_loops, fusion, jit, loopfuse, nesting, normalize, parse, scalarize, tangent, tape,
               typeinfer, unsigned)
from .errors import SrcgradError
from .program import Name, Op, Return, walk
from .reverse import Generator
from .typeinfer import is_array

STAGES = ("parse", "fence", "normalize", "typeinfer", "activity", "tape", "reverse", "jit")


@dataclass(frozen=True)
class Compiled:
    name: str
    wrt: tuple
    kinds: tuple
    primal_source: str
    adjoint_source: str
    module_source: str
    primal: object       # numba dispatcher: primal(*args) -> value
    adjoint: object      # numba dispatcher: adjoint(*args, d_out) -> (value, *gradients)
    probe_source: str = ""   # forward sweep returning the tape's size (compiled on request)

    def tape_entries(self, *args):
        """(float64, int64, flag) entries the tape holds after the forward sweep for `args`."""
        module = jit.load(f"{self.name}_probe", jit.module_source(self.name, [self.probe_source]))
        return getattr(module, f"{self.name}_tape_probe")(*args)


def _dump(stage, value):
    wanted = os.environ.get("SRCGRAD_DUMP_AFTER", "")
    if stage in {s.strip() for s in wanted.split(",")}:
        print(f"--- srcgrad after {stage} ---", file=sys.stderr)
        if stage == "normalize":
            for stmt in walk(value.body):
                print("   ", stmt, file=sys.stderr)
        else:
            print(value, file=sys.stderr)


@lru_cache(maxsize=None)
def normalized(func):
    """parse → fence → normalize, once per function (independent of argument
    kinds). `func` may also be a derived program (`Tangent`, `Cotangent`):
    a normalized function srcgrad made from another one, differentiated
    like user code."""
    if isinstance(func, (Tangent, Cotangent)):
        fn, namer = func.normalized()
    else:
        fn, namer = normalize.run(parse.parse(func))
    _dump("normalize", fn)
    return fn, namer


def float_kind(kind):
    """The kind of a tangent or cotangent of a value of this kind."""
    if isinstance(kind, tuple):
        return ("array", kind[1], "float64")
    return "float"


@dataclass(frozen=True)
class Tangent:
    """`func`'s forward-mode program w.r.t. `wrt` for argument `kinds`:
    parameters `func`'s plus one tangent per wrt parameter, returning the
    tangent of the output (see `tangent`)."""
    func: object
    wrt: tuple
    kinds: tuple

    def linearized(self):
        return _linearized(self)

    def normalized(self):
        lin = self.linearized()
        return lin.fn, lin.namer

    def all_kinds(self):
        """Kinds of the tangent program's parameters."""
        fn, _, kinds_in = semantic(self.func, self.wrt, self.kinds)
        return tuple(kinds_in) + tuple(float_kind(kinds_in[fn.params.index(w)]) for w in self.wrt)


@lru_cache(maxsize=None)
def _linearized(source):
    fn, namer, kinds_in = semantic(source.func, source.wrt, source.kinds)
    namer = copy.deepcopy(namer)
    types = typeinfer.run(fn, kinds_in)
    return tangent.run(fn, types, source.wrt, namer)


@dataclass(frozen=True)
class Cotangent:
    """`func` with one more parameter, a cotangent u of its output, returning
    the scalar <output, u> (the sum of the elementwise product): its gradient
    is the vector-Jacobian product uᵀJ."""
    func: object
    kinds: tuple

    def output_kind(self):
        fn, _, kinds_in = semantic(self.func, (), self.kinds)
        ret = [s for s in fn.body if isinstance(s, Return)][-1]
        if not hasattr(ret.value, "id"):
            return "float"
        return typeinfer.run(fn, kinds_in).get(ret.value.id, "float")

    def normalized(self):
        fn, namer = normalized(self.func)
        namer = copy.deepcopy(namer)
        out_kind = self.output_kind()
        ret = [s for s in fn.body if isinstance(s, Return)][-1]
        u = namer.fresh("cotangent")
        product = namer.temp()
        body = list(fn.body[:-1]) + [Op(product, "mul", (ret.value, Name(u)), ret.loc)]
        result = product
        if is_array(out_kind):
            result = namer.temp()
            body.append(Op(result, "sum", (Name(product),), ret.loc))
        body.append(Return(Name(result), ret.loc))
        return dataclasses.replace(fn, name=f"{fn.name}_vjp", params=fn.params + (u,), body=tuple(body),
                                   names=frozenset(namer.taken)), namer

    def all_kinds(self):
        return tuple(self.kinds) + (float_kind(self.output_kind()),)


def semantic(func, wrt, kinds):
    """(normalized function, its namer, argument kinds) with the one rewrite
    that carries meaning for these kinds: a helper updating an array argument
    in place updates the caller's array (the later rewrites only make it faster;
    `explain` runs this program as it is)."""
    fn, namer = normalized(func)
    # an int passed for a wrt parameter is converted to float on entry
    kinds_in = [("float" if p in wrt and k == "int" else k) for p, k in zip(fn.params, kinds)]
    fn = typeinfer.shared_arguments(fn, typeinfer.infer(fn, kinds_in))
    if nesting.has_derivatives(fn):      # grad/jvp of another function inside: its derivative program
        namer = copy.deepcopy(namer)
        fn = nesting.expand(fn, typeinfer.infer(fn, kinds_in), namer)
    return fn, namer, kinds_in


def build(func, wrt, kinds, value=True, checkpoint=None):
    fn, namer, kinds_in = semantic(func, wrt, kinds)
    namer = copy.deepcopy(namer)
    types = typeinfer.run(fn, kinds_in)
    fn = typeinfer.split_array_updates(fn, types, namer)
    fn = typeinfer.array_squares(fn, types)
    fn = loopfuse.run(fn, types, namer)
    fn, _ = scalarize.run(fn, types, namer)
    fn = fusion.hoist_independent(fn)
    _dump("typeinfer", types)
    ret = [s for s in fn.body if isinstance(s, Return)][-1]
    ret_type = types.get(ret.value.id) if hasattr(ret.value, "id") else "float"
    if is_array(ret_type):
        raise SrcgradError(f"{fn.name} returns {typeinfer.describe(ret_type)}; a gradient needs one scalar output",
                           filename=ret.loc.filename, lineno=ret.loc.lineno, construct="non-scalar output",
                           hint="return a float, e.g. the sum of squares of the array")
    active = activity.run(fn, types, wrt)
    _dump("activity", sorted(active))
    plan = tape.run(fn, types, active, frozenset(namer.temps))
    _dump("tape", plan.needs)
    gen = Generator(fn, types, active, plan, wrt, kinds, namer, want_value=value, checkpoint=checkpoint)
    primal_src, adjoint_src = gen.primal(), gen.adjoint()
    _dump("reverse", adjoint_src)
    scalar_deltas = frozenset(namer.d(n) for n, t in types.items() if t == "float")
    module_src = numba_module([primal_src, adjoint_src], fn, types, namer, gen, scalar_deltas)
    module = jit.load(fn.name, module_src)
    return Compiled(fn.name, tuple(wrt), tuple(kinds), primal_src, adjoint_src, module_src,
                    getattr(module, f"{fn.name}_primal"), getattr(module, f"{fn.name}_adjoint"),
                    gen.tape_probe())


def numba_module(sources, fn, types, namer, gen, scalar_deltas=frozenset()):
    """The module Numba compiles: `sources` line for line, with unsigned indices and
    reorderable register sums (`unsigned`) and whole-array elementwise statements as
    element loops (`element_loops`); scalar_deltas: the δ's of float scalars."""
    # a tape's position is never negative: it starts at 0, pushes add, pops take back what they added
    nonneg = unsigned.nonnegative(fn, types) | {top for _, top in gen.tape.values()}
    arrays = unsigned.array_names(types, namer.d) | {tape for tape, _ in gen.tape.values()}
    shapes = element_loops.shapes(fn, types, namer.d)
    origin = f"{fn.name} in {os.path.basename(fn.filename)}"
    return jit.module_source(origin, [element_loops.run(unsigned.run(src, nonneg, arrays, scalar_deltas), *shapes)
                                      for src in sources])


@dataclass(frozen=True)
class CompiledJvp:
    name: str
    source: str            # the generated jvp function
    module_source: str
    jvp: object            # numba dispatcher: jvp(*args, *tangents) -> (value, tangent of the output)
    value_kind: object     # kind of the output


class _ForwardOnly(Generator):
    """Emits a program as one function without tape, returning `returns`
    (the jvp's value and tangent; the value alone for `value_source`)."""

    def __init__(self, name, returns, comment, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name, self.returns, self.comment = name, returns, comment

    def primal(self):
        from .emit import Code, atom_text
        self.last_line = None
        code = Code()
        with code.block(f"def {self.name}({', '.join(self.fn.params)}):"):
            if self.comment:
                code.comment(self.comment)
            self.prologue(code, adjoint=False)
            bind_nested_names(self, code)
            self.forward(self.fn.body, code, taping=False)
            code.line(f"return {', '.join(atom_text(a) for a in self.returns)}")
        return self.finished(code)


def bind_nested_names(gen, code):
    """Names read (in program text) before their first assignment, which a
    later statement of the same loop makes (`if t > 0: s += u[0]` … `u = …`),
    get a placeholder of their type on entry: Numba rejects them otherwise."""
    from .program import control_reads, reads, walk as walk_, writes as writes_
    assigned, early = set(gen.fn.params), []
    for stmt in walk_(gen.fn.body):
        for name in list(reads(stmt)) + list(control_reads(stmt)):
            if name not in assigned and name not in early:
                early.append(name)
        if not hasattr(stmt, "body"):
            assigned |= writes_(stmt)
        elif hasattr(stmt, "var"):
            assigned.add(stmt.var)
    for name in early:
        t = gen.types.get(name)
        if is_array(t):
            shape = "0" if t[1] == 1 else "(0, 0)"
            dtype = "" if t[2] == "float64" else f", dtype=np.{t[2] if t[2] != 'bool' else 'bool_'}"
            code.line(f"{name} = np.empty({shape}{dtype})", "read in the loop before the loop assigns it")
        elif t in ("float", "int", "bool"):
            code.line(f"{name} = {dict(float='0.0', int='0', bool='False')[t]}",
                      "read in the loop before the loop assigns it")


def build_jvp(func, wrt, kinds):
    """The compiled forward mode of `func` w.r.t. `wrt` for argument `kinds`."""
    source = Tangent(func, tuple(wrt), tuple(kinds))
    lin = source.linearized()
    all_kinds = source.all_kinds()
    fn, namer = lin.fn, copy.deepcopy(lin.namer)
    fn = typeinfer.shared_arguments(fn, typeinfer.infer(fn, all_kinds))
    types = typeinfer.run(fn, all_kinds)
    _dump("typeinfer", types)
    plan = tape.run(fn, types, frozenset(), frozenset(namer.temps))
    gen = _ForwardOnly(fn.name, [lin.value, gen_return(fn)], "forward mode: each step, then its tangent "
                       "t_z = Σ ∂g/∂x · t_x", fn, types, frozenset(), plan, (), all_kinds, namer)
    text = gen.primal()
    _dump("reverse", text)
    module_src = numba_module([text], fn, types, namer, gen)
    module = jit.load(fn.name, module_src)
    value = lin.value
    value_kind = types.get(value.id, "float") if hasattr(value, "id") else "float"
    return CompiledJvp(fn.name, text, module_src, getattr(module, fn.name), value_kind)


def value_source(func, kinds):
    """(source, name) of `func`'s primal alone, as a function named `<name>_value`."""
    fn, namer, kinds_in = semantic(func, (), kinds)
    namer = copy.deepcopy(namer)
    types = typeinfer.run(fn, kinds_in)
    plan = tape.run(fn, types, frozenset(), frozenset(namer.temps))
    gen = _ForwardOnly(f"{fn.name}_value", [gen_return(fn)], "", fn, types, frozenset(), plan, (), kinds_in, namer)
    return gen.primal(), f"{fn.name}_value"


def gen_return(fn):
    """The atom a normalized function returns."""
    return [s for s in fn.body if isinstance(s, Return)][-1].value
