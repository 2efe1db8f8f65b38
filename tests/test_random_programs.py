"""Hypothesis-generated random programs: srcgrad gradient vs central FD.

Programs are built as source text over parameters x, y, z (floats) and v (a
float array of length 4), written to a module file (srcgrad needs real source
via inspect) and imported.  Kinds:
  * straight-line code (new temporaries, overwritten parameters, aug-assignments),
  * if/elif/else on data-dependent conditions, min/max/abs kinks,
  * for loops (range with 1-3 args, nested, break/continue) overwriting
    accumulators, local array elements and slices (`u[j:] += v[j:] * e`), while loops with bounded,
    data-dependent trip counts.
Every condition / kink argument is wrapped in a probe in a second copy of the
program; points within 1e-3 of any branch boundary are rejected (assume), as
are points where the FD reference itself is unstable.

Shrinking is off by default (each example costs a numba compile); set
SRCGRAD_SHRINK=1 to get minimal failing programs, and SRCGRAD_RANDOM_LOOPS=N
to try N loop programs instead of 16 (a longer hunt).
"""

import importlib.util
import itertools
import os
import sys

import numpy as np
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st

import srcgrad
from fd import assert_grad_matches_fd, compare, fd_gradient, short_mode

PROBE = "__M__"
MARGIN = 1e-3
PARAMS = ("x", "y", "z")
WRT = ("x", "y", "z", "v")
CONSTS = ("0.5", "1.25", "2.0", "(-0.75)", "0.3")
UNARY = (
    "math.sin({a})", "math.cos({a})", "math.tanh({a})", "np.arctan({a})", "np.sin({a})",
    "math.sqrt(1.0 + {a} * {a})", "math.log(1.0 + {a} * {a})", "math.exp(-0.5 * {a} * {a})",
    "math.log1p({a} * {a})", "math.atan2({a}, 1.5)", "np.tanh({a})", "(-{a})", "({a}) ** 2",
)
BOUNDED = ("math.sin({a})", "math.tanh({a})", "np.arctan({a})", "math.cos({a})",
           "math.exp(-0.5 * {a} * {a})")
BINARY = ("({a} + {b})", "({a} - {b})", "({a} * {b})", "({a} / (1.5 + {b} * {b}))",
          "math.hypot({a}, 0.5 + {b} * {b})")
KINKS = (  # probed: the gap between the winner and the runner-up (|a| for abs)
    "__MAX__({a}, {b})",
    "__MIN__({a}, 0.3)",
    "__ABS__({a})",
    "__MAX__({a}, {b}, 0.1)",
    "__MIN__({a}, {b}, (-0.3))",
)
# placeholder -> (text in the real program, text in the probed program)
TOKENS = {"__MAX__": ("max", "_pmax"), "__MIN__": ("min", "_pmin"), "__ABS__": ("abs", "_pabs"),
          PROBE: ("", "_m")}


def render(src, probe=False):
    for token, (real, probed) in TOKENS.items():
        src = src.replace(token, probed if probe else real)
    return src

_SHRINK = os.environ.get("SRCGRAD_SHRINK") == "1"
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if _SHRINK else [])


def _settings(n):
    return settings(max_examples=max(3, n // 3) if short_mode() else n, deadline=None,
                    phases=_PHASES, derandomize=bool(os.environ.get("CI")),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


class _Gen:
    def __init__(self, draw, branches, loops):
        self.draw = draw
        self.branches = branches
        self.loops = loops
        self.lines = []
        self.scalars = list(PARAMS)
        self.ntemp = 0
        self.nwhile = 0
        self.has_u = False

    def pick(self, options):
        return self.draw(st.sampled_from(list(options)))

    def chance(self, k):  # True with probability 1/k
        return self.draw(st.integers(0, k - 1)) == 0

    def leaf(self, loopvar):
        opts = self.scalars + list(CONSTS) + ["v[0]", "v[3]"]
        if loopvar:
            opts += [f"v[{loopvar}]", f"float({loopvar})"] + ([f"u[{loopvar}]"] if self.has_u else [])
        return self.pick(opts)

    def expr(self, depth, loopvar=None):
        if depth <= 0 or self.chance(4):
            return self.leaf(loopvar)
        kind = self.pick(["u", "b", "b"] + (["k"] if self.branches else []))
        a = self.expr(depth - 1, loopvar)
        if kind == "u":
            return self.pick(UNARY).format(a=a)
        b = self.expr(depth - 1, loopvar)
        if kind == "k" and b == a:
            b = "0.1"  # a kink at a - a = 0 would always be rejected
        return self.pick(BINARY if kind == "b" else KINKS).format(a=a, b=b)

    def bounded(self, loopvar):
        return self.pick(BOUNDED).format(a=self.expr(2, loopvar))

    def emit(self, indent, text):
        self.lines.append("    " * indent + text)

    def cond(self, loopvar):
        e = self.expr(2, loopvar)
        c = self.pick(CONSTS)
        op = self.pick([">", "<", ">=", "<="])
        return f"{PROBE}(({e}) - {c}) {op} 0.0"

    def simple(self, indent, loopvar):
        kinds = ["over", "aug"] + (["new"] if indent == 1 else []) + (["uw"] if loopvar and self.has_u else [])
        kind = self.pick(kinds)
        if kind == "new":
            name = f"t{self.ntemp}"
            self.ntemp += 1
            self.emit(indent, f"{name} = {self.expr(3, loopvar)}")
            self.scalars.append(name)
        elif kind == "over":
            target = self.pick(self.scalars)
            if loopvar:  # keep loop-carried values bounded
                rhs = self.pick([f"0.8 * {target} + 0.5 * {{e}}", "{e}"]).format(e=self.bounded(loopvar))
            else:
                rhs = self.expr(3, loopvar)
            self.emit(indent, f"{target} = {rhs}")
        elif kind == "aug":
            target = self.pick(self.scalars)
            op = self.pick(["+=", "-=", "*=", "/="])
            e = self.expr(2, loopvar)
            if op == "*=":
                e = f"(0.5 + 0.25 * math.tanh({e}))"
            elif op == "/=":
                e = f"(1.5 + math.sin({e}))"
            self.emit(indent, f"{target} {op} {e}")
        elif self.chance(3):  # local array slice write, its length changing with the loop variable
            e = self.bounded(loopvar)
            self.emit(indent, self.pick([f"u[{loopvar}:] += v[{loopvar}:] * {e}",
                                         f"u[:{loopvar}] = 0.5 * u[:{loopvar}] + {e}",
                                         f"u[{loopvar}:] *= (0.5 + 0.25 * {e})"]))
        else:  # local array element write
            op = self.pick(["=", "+=", "*="])
            e = self.bounded(loopvar)
            if op == "*=":
                e = f"(0.5 + 0.25 * {e})"
            self.emit(indent, f"u[{loopvar}] {op} {e}")

    def block(self, indent, loopvar, budget, n):
        for _ in range(n):
            self.stmt(indent, loopvar, budget)

    def stmt(self, indent, loopvar, budget):
        kinds = ["s", "s"]
        if self.branches and budget > 0:
            kinds += ["if"]
        if self.loops and budget > 0:
            kinds += ["for", "for"] + (["while"] if indent == 1 else [])
        if self.loops and loopvar:
            kinds += ["brk"]
        kind = self.pick(kinds)
        if kind == "s":
            self.simple(indent, loopvar)
        elif kind == "if":
            self.emit(indent, f"if {self.cond(loopvar)}:")
            self.block(indent + 1, loopvar, budget - 1, self.draw(st.integers(1, 2)))
            if self.chance(2):
                self.emit(indent, f"elif {self.cond(loopvar)}:")
                self.block(indent + 1, loopvar, budget - 1, 1)
            if self.chance(2):
                self.emit(indent, "else:")
                self.block(indent + 1, loopvar, budget - 1, self.draw(st.integers(1, 2)))
        elif kind == "for":
            var = "i" if loopvar is None else "j"
            rng = self.pick(["range(4)", "range(len(v))", "range(3, -1, -1)", "range(1, 4, 2)",
                             "range(v.shape[0] - 1, 0, -2)", "range(2, 4)"])
            self.emit(indent, f"for {var} in {rng}:")
            self.block(indent + 1, var, budget - 1, self.draw(st.integers(1, 2)))
        elif kind == "while":
            k = f"k{self.nwhile}"
            self.nwhile += 1
            acc = self.pick(self.scalars)
            limit = self.pick(["1.0", "2.5", "4.0"])
            trips = self.draw(st.integers(1, 6))
            self.emit(indent, f"{k} = 0")
            self.emit(indent, f"while {k} < {trips} and {PROBE}({acc} - {limit}) < 0.0:")
            self.emit(indent + 1, f"{acc} = {acc} + 0.3 + 0.25 * {self.bounded(None)}")
            if self.chance(2):
                self.simple(indent + 1, None)
            self.emit(indent + 1, f"{k} += 1")
        else:
            word = self.pick(["break", "continue"])
            self.emit(indent, f"if {self.cond(loopvar)}:")
            if self.chance(2):
                self.simple(indent + 1, loopvar)
            self.emit(indent + 1, word)


@st.composite
def programs(draw, branches=False, loops=False):
    gen = _Gen(draw, branches, loops)
    if loops and draw(st.booleans()):
        gen.emit(1, "u = " + gen.pick(["v.copy()", "np.zeros(4)", "np.zeros_like(v)", "np.ones(len(v))"]))
        gen.has_u = True
    gen.block(1, None, 2, draw(st.integers(2, 5)))
    terms = [f"{c} * {s}" for c, s in zip(itertools.cycle(["1.0", "0.5", "(-0.3)", "0.7"]), gen.scalars)]
    if gen.has_u:
        terms += ["0.3 * u[1]", "0.2 * u[3]"]
    terms.append("0.1 * v[2]")
    gen.emit(1, "return " + " + ".join(terms))
    body = "\n".join(gen.lines)
    return f"import math\nimport numpy as np\n\n\ndef f(x, y, z, v):\n{body}\n"


points = st.tuples(
    st.floats(-1.5, 1.5), st.floats(-1.5, 1.5), st.floats(-1.5, 1.5),
    st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4).map(lambda l: np.array(l, dtype=np.float64)),
)

_counter = itertools.count()


def _load(src, directory, probe):
    name = f"_srcgrad_rand_{os.getpid()}_{next(_counter)}"
    path = directory / f"{name}.py"
    path.write_text(render(src, probe))
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _check(src, args, directory):
    note(render(src))
    note(f"args = {args!r}")
    probe = _load(src, directory, probe=True)
    margins = []

    def _m(d):
        margins.append(abs(d))
        return d

    def _gap(vals):       # how far the winner is from a tie (max: the two largest)
        s = sorted(vals)
        margins.append(s[-1] - s[-2])

    def _pmax(*vals):
        _gap(vals)
        return max(vals)

    def _pmin(*vals):
        _gap([-v for v in vals])     # (min: the two smallest; `min(v, 2.0, -0.3)` at v = -0.3 is a tie)
        return min(vals)

    def _pabs(a):
        margins.append(abs(a))
        return abs(a)

    probe._m, probe._pmax, probe._pmin, probe._pabs = _m, _pmax, _pmin, _pabs
    try:
        value = probe.f(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    except (ValueError, OverflowError, ZeroDivisionError):
        assume(False)     # the program itself fails here (e.g. sin of an overflowed value)
    assume(np.isfinite(value) and abs(value) < 1e4)
    assume(not margins or min(margins) > MARGIN)

    plain = _load(src, directory, probe=False).f
    # the FD reference itself must be stable (two step sizes agree)
    g1, _ = fd_gradient(plain, args, WRT, rel_step=1e-6)
    g2, _ = fd_gradient(plain, args, WRT, rel_step=1e-5)
    assume(all(compare(n, a, b, 1e-6, 1e-8) is None for n, a, b in zip(WRT, g1, g2)))

    g = srcgrad.grad(plain, wrt=WRT)
    grads = g(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    try:
        assert_grad_matches_fd(plain, args, WRT, grads)
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- program ---\n{render(src)}") from None


@_settings(12)
@given(src=programs(), args=points)
def test_straight_line_programs(src, args, tmp_path_factory):
    _check(src, args, tmp_path_factory.mktemp("randprog"))


@_settings(12)
@given(src=programs(branches=True), args=points)
def test_branching_programs(src, args, tmp_path_factory):
    _check(src, args, tmp_path_factory.mktemp("randprog"))


@_settings(int(os.environ.get('SRCGRAD_RANDOM_LOOPS', 16)))
@given(src=programs(branches=True, loops=True), args=points)
def test_loop_programs(src, args, tmp_path_factory):
    _check(src, args, tmp_path_factory.mktemp("randprog"))
