"""What Numba compiles: array indices proven non-negative passed unsigned
(no negative-index wraparound: loops LLVM can vectorise), register sums
reassociable. The proof (`unsigned.nonnegative`) and the rewrite are checked
on their own; the programs keep Python's values (a negative index still
wraps) and their gradients match finite differences."""
import re

import numpy as np
import pytest

import srcgrad
from srcgrad import unsigned
from srcgrad.program import For, Op, walk
from tests.fd import assert_grad_matches_fd


def indexed(x, order, w, shift):
    n = x.shape[0]
    total = 0.0
    idx = n // 2
    for i in range(n):
        total += w * x[i - 1] * x[i]            # i - 1 is -1 at i = 0: the last element, as in Python
        k = order[i]                            # an element of an int array: its sign is not known
        total += x[k] * x[idx % n]
        idx += 1
    for j in range(n - 1, 0, -1):
        total += x[j] * x[j - 1] + x[shift]     # shift: an argument, maybe negative
    return total


def _args():
    x = np.array([0.3, -1.2, 0.8, 2.0, -0.5])
    return x, np.array([4, -1, 0, -5, 2]), 0.7, -2


def _normalized():
    from srcgrad import pipeline, typeinfer
    kinds = [("array", 1, "float64"), ("array", 1, "int64"), "float", "int"]
    fn, namer, kinds = pipeline.semantic(indexed, ("x", "w"), kinds)
    types = typeinfer.run(fn, kinds)
    return fn, types


def test_nonnegative_names_are_proven_from_their_bindings():
    fn, types = _normalized()
    proven = unsigned.nonnegative(fn, types)
    loops = {s.var: s for s in walk(fn.body) if isinstance(s, For)}
    assert {"i", "j", "idx", "n"} <= proven
    assert "shift" not in proven and "k" not in proven
    # the temporaries `i - 1` (>= -1) and `j - 1` (>= 0 from j >= 1)
    minus_one = {s.target: s.args[0].id for s in walk(fn.body)
                 if isinstance(s, Op) and s.op == "sub" and getattr(s.args[0], "id", None) in loops}
    assert {t for t, v in minus_one.items() if v == "i"}.isdisjoint(proven)
    assert {t for t, v in minus_one.items() if v == "j"} <= proven


def test_negative_indices_keep_python_semantics():
    args = _args()
    g = srcgrad.value_and_grad(indexed, wrt=("x", "w"))
    value, grads = g(*args)
    assert value == pytest.approx(indexed(*args), rel=1e-13)
    assert_grad_matches_fd(indexed, args, ("x", "w"), grads)


def test_rewrite_touches_varying_indices_and_register_sums_only():
    source = "\n".join([
        "for j in range(n - 1, -1, -1):",
        "    s1 = 0.0",
        "    d_v_sum1 = 0.0  # δ of d_v[j] summed over the loop in a register",
        "    for r in range(n):",
        "        t = a[j] * a[r]  # a[r]: r varies here, j does not",
        "        d_v_sum1 -= t * b[r, j]",
        "        shape_r = a.shape[0]",
        "    d_v[j] += d_v_sum1",
        "x = a[j]",
        "for r in range(n):",
        "    d_w_sum1 -= a[r]  # not declared by `registers`: a name of the user's, left alone",
    ])
    out = unsigned.run(source, frozenset({"j", "r", "n"}), frozenset({"a", "b", "d_v"})).split("\n")
    assert out[4] == "        t = a[j] * a[np.uint64(r)]  # a[r]: r varies here, j does not"
    assert out[5] == "        d_v_sum1 = radd(d_v_sum1, -(t * b[np.uint64(r), j]))  "
    assert out[6] == "        shape_r = a.shape[0]"
    assert out[7] == "    d_v[np.uint64(j)] += d_v_sum1"
    assert out[8] == "x = a[j]"                           # outside any loop: nothing to vectorise
    assert out[10] == "    d_w_sum1 -= a[np.uint64(r)]  # not declared by `registers`: a name of the user's, left alone"


def test_compiled_module_has_the_rewrite_and_the_shown_source_does_not():
    from benchmarks.gmm import WRT, gmm_objective, make_args
    args = make_args(3, 2, n=20)
    g = srcgrad.grad(gmm_objective, wrt=WRT)
    g(*args)
    shown = srcgrad.source(g, *args)
    assert "np.uint64" not in shown and "radd" not in shown
    compiled = g.__srcgrad__.get(g.__srcgrad__.convert(args)[1]).module_source
    assert re.search(r"d_icf\[k, np\.uint64\(idx\)\] \+= ", compiled)
    assert re.search(r"d_xc_sum\d+ = radd\(d_xc_sum\d+, ", compiled)
    assert len(compiled.split("\n")) >= len(shown.split("\n"))


def damped_steps(x0, v0, k, dt, steps):
    """Vectorised time steps: `-k` multiplies every element, so its δ is a sum over the elements."""
    x = x0
    v = v0
    for s in range(steps):
        a = -k * x - 0.1 * v * np.abs(v)
        x = x + dt * v
        v = v + dt * a
    return np.sum(x * x)


def test_the_delta_of_a_scalar_fixed_in_a_loop_is_a_reorderable_sum():
    args = (np.array([0.4, -1.2, 0.9, 2.0, -0.3]), np.array([0.1, 0.5, -0.7, 0.2, 1.1]), 0.7, 0.05, 6)
    g = srcgrad.grad(damped_steps, wrt=("x0", "v0", "k"))
    assert_grad_matches_fd(damped_steps, args, ("x0", "v0", "k"), g(*args))
    compiled = g.__srcgrad__.get(g.__srcgrad__.convert(args)[1]).module_source
    assert re.search(r"(d_t\d+) = radd\(\1, \(d_t\d+_e \* x_e\d*\)\)", compiled)
