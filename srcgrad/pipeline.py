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
import os
import sys
from dataclasses import dataclass
from functools import lru_cache

from . import activity, fusion, jit, loopfuse, normalize, parse, scalarize, tape, typeinfer
from .errors import SrcgradError
from .program import Return, walk
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
        """(float64, int64) entries the tape holds after the forward sweep for `args`."""
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
    """parse → fence → normalize, once per function (independent of argument kinds)."""
    fn, namer = normalize.run(parse.parse(func))
    _dump("normalize", fn)
    return fn, namer


def semantic(func, wrt, kinds):
    """(normalized function, its namer, argument kinds) with the one rewrite
    that carries meaning for these kinds: a helper updating an array argument
    in place updates the caller's array (the later rewrites only make it faster;
    `explain` runs this program as it is)."""
    fn, namer = normalized(func)
    # an int passed for a wrt parameter is converted to float on entry
    kinds_in = [("float" if p in wrt and k == "int" else k) for p, k in zip(fn.params, kinds)]
    return typeinfer.shared_arguments(fn, typeinfer.infer(fn, kinds_in)), namer, kinds_in


def build(func, wrt, kinds, value=True, checkpoint=None):
    fn, namer, kinds_in = semantic(func, wrt, kinds)
    namer = copy.deepcopy(namer)
    types = typeinfer.run(fn, kinds_in)
    fn = typeinfer.split_array_updates(fn, types, namer)
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
    origin = f"{fn.name} in {os.path.basename(fn.filename)}"
    module_src = jit.module_source(origin, [primal_src, adjoint_src])
    module = jit.load(fn.name, module_src)
    return Compiled(fn.name, tuple(wrt), tuple(kinds), primal_src, adjoint_src, module_src,
                    getattr(module, f"{fn.name}_primal"), getattr(module, f"{fn.name}_adjoint"),
                    gen.tape_probe())
