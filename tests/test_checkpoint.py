"""Checkpointed loops: grad(f, checkpoint=k) stores a loop's state every k
iterations and reruns one segment at a time in the backward sweep.

Every checkpointed gradient must equal the ordinary (fully taped) gradient to
rounding, and central finite differences; the tape must shrink from ~T to
~T/k + k entries. Loops of every shape the compiler supports are covered:
start/step other than 0/1, a last segment shorter than k, k larger than the
trip count, zero trips, array state, trajectories written in place, names
the loop reads that later code overwrites, nested loops and branches, while
loops inside, several checkpointed loops, loops that break (not segmented).
"""
import math

import numba
import numpy as np
import pytest

import srcgrad
from fd import assert_grad_matches_fd, copy_args
from srcgrad.errors import SrcgradError


def euler_ode(alpha, beta, x0, y0, h, T):
    x, y = x0, y0
    for t in range(T):
        dx = alpha * x - beta * x * y
        dy = beta * x * y - y
        x = x + h * dx
        y = y + h * dy
    return (x - 1.0) ** 2 + y * y


def strided(a, b, n):
    s = a
    for i in range(3, n, 4):
        s = math.sin(s * b) + 0.1 * i * a
    for j in range(n, 0, -3):
        s = s * math.cos(b + 0.01 * j) + a
    return s


def array_rnn(W, U, h0, xs):
    h = h0
    total = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        total = total + np.sum(h * h)
    return total


def trajectory(k, x0, n):
    xs = np.zeros(n + 1)
    xs[0] = x0
    for t in range(n):
        xs[t + 1] = xs[t] + 0.1 * math.sin(k * xs[t])
    return np.sum(xs * xs)


def reads_then_overwritten(a, b, n):
    c = a * b
    s = 0.0
    for i in range(n):
        s = s * 0.9 + math.sin(c * s + i)
    c = c * s              # the loop read c: its rerun must see the old value
    return c + s


def nested_and_branches(w, x, n):
    acc = 0.0
    for i in range(n):
        if acc > 1.0:
            acc = acc * 0.5 + w
        else:
            acc = acc + w * x
        for j in range(3):
            acc = acc + math.tanh(w * acc + j)
        k = 0
        while acc > 2.0 and k < 5:
            acc = acc * 0.7
            k += 1
    return acc * acc


def two_loops(a, n):
    s = a
    for i in range(n):
        s = s + math.sin(s) * a
    p = 1.0
    for i in range(n):
        p = p * (1.0 + 0.01 * s) + a * math.cos(p)
    return p


def breaks_early(a, n):
    s = a
    for i in range(n):
        s = s * 1.1 + a
        if s > 50.0:
            break
    return s * s


CASES = [
    ("ode", euler_ode, (1.1, 0.4, 1.0, 0.5, 1e-2, 500), ("alpha", "beta", "x0", "y0")),
    ("strided", strided, (0.7, 1.3, 40), ("a", "b")),
    ("array-rnn", array_rnn, (np.linspace(-0.3, 0.4, 9).reshape(3, 3), np.linspace(0.2, -0.2, 6).reshape(3, 2),
                              np.array([0.1, -0.2, 0.3]), np.linspace(-1.0, 1.0, 22).reshape(11, 2)),
     ("W", "U", "h0")),
    ("trajectory", trajectory, (1.3, 0.4, 25), ("k", "x0")),
    ("reads-then-overwritten", reads_then_overwritten, (0.8, 0.6, 13), ("a", "b")),
    ("nested-and-branches", nested_and_branches, (0.3, 0.9, 17), ("w", "x")),
    ("two-loops", two_loops, (0.2, 12), "a"),
    ("breaks-early", breaks_early, (1.5, 40), "a"),
]
IDS = [c[0] for c in CASES]
SEGMENTS = [1, 3, "sqrt", 10_000]


def _plain(g):
    return g if isinstance(g, tuple) else (g,)


@pytest.fixture(scope="module")
def reference():
    return {name: _plain(srcgrad.grad(f, wrt=wrt)(*copy_args(args))) for name, f, args, wrt in CASES}


@pytest.mark.parametrize("every", SEGMENTS, ids=str)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_checkpointed_equals_taped_and_fd(case, every, reference):
    name, f, args, wrt = case
    got = _plain(srcgrad.grad(f, wrt=wrt, checkpoint=every)(*copy_args(args)))
    for g, want in zip(got, reference[name]):
        np.testing.assert_allclose(g, want, rtol=1e-11, atol=1e-13)
    assert_grad_matches_fd(f, args, wrt, got if isinstance(wrt, tuple) else got[0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] != "breaks-early"], ids=IDS[:-1])
def test_loops_are_segmented(case):
    name, f, args, wrt = case
    src = srcgrad.source(srcgrad.grad(f, wrt=wrt, checkpoint=3), *args)
    assert "checkpointed loop at line" in src
    assert "rerun this segment from its snapshot" in src


def test_loop_that_breaks_is_taped_as_usual():
    src = srcgrad.source(srcgrad.grad(breaks_early, wrt="a", checkpoint=3), 1.5, 40)
    assert "checkpointed" not in src


def _tape_entries(g, *args):
    return sum(srcgrad.tape_size(g, *args))


def test_tape_shrinks_to_sqrt():
    args = (1.1, 0.4, 1.0, 0.5, 1e-4, 40_000)
    wrt = ("alpha", "beta", "x0", "y0")
    full = _tape_entries(srcgrad.grad(euler_ode, wrt=wrt), *args)
    sqrt = _tape_entries(srcgrad.grad(euler_ode, wrt=wrt, checkpoint="sqrt"), *args)
    assert full >= 2 * 40_000          # x and y every step
    # 200 snapshots of (x, y) + one segment of 200 steps' pushes, plus a few
    assert sqrt <= 4 * 200 + 16, sqrt


def test_zero_trips():
    g = srcgrad.grad(euler_ode, wrt=("alpha", "x0"), checkpoint=4)
    d_alpha, d_x0 = g(1.1, 0.4, 1.0, 0.5, 1e-2, 0)
    assert d_alpha == 0.0 and d_x0 == 2.0 * (1.0 - 1.0)


def test_value_and_grad_and_numba_caller():
    vg = srcgrad.value_and_grad(euler_ode, wrt=("alpha", "beta"), checkpoint=7)
    args = (1.1, 0.4, 1.0, 0.5, 1e-2, 123)
    value, (d_alpha, d_beta) = vg(*args)
    assert value == pytest.approx(euler_ode(*args), rel=1e-13)
    g = srcgrad.grad(euler_ode, wrt=("alpha", "beta"), checkpoint=7)

    @numba.njit
    def descend(alpha, beta, steps):
        for _ in range(steps):
            da, db = g(alpha, beta, 1.0, 0.5, 1e-2, 123)
            alpha -= 0.01 * da
            beta -= 0.01 * db
        return alpha, beta

    a1, b1 = descend(1.1, 0.4, 1)
    assert a1 == pytest.approx(1.1 - 0.01 * d_alpha, rel=1e-12)
    assert b1 == pytest.approx(0.4 - 0.01 * d_beta, rel=1e-12)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "log", True])
def test_bad_checkpoint_option(bad):
    with pytest.raises(SrcgradError, match="checkpoint") as info:
        srcgrad.grad(euler_ode, wrt="alpha", checkpoint=bad)
    assert info.value.lineno == euler_ode.__code__.co_firstlineno
    assert info.value.filename.endswith("test_checkpoint.py")


def _has_top_level_for(func):
    import ast
    import inspect
    import textwrap
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    return any(isinstance(s, ast.For) for s in tree.body[0].body)


def _corpus_loops():
    from corpus import CASES
    seen, out = set(), []
    for c in CASES:
        if c.func not in seen and _has_top_level_for(c.func):
            seen.add(c.func)
            out.append(c)
    return out


CORPUS_LOOPS = _corpus_loops()


@pytest.mark.parametrize("c", CORPUS_LOOPS, ids=[c.id for c in CORPUS_LOOPS])
def test_corpus_loops_checkpointed(c):
    """Every corpus function with a top-level loop, in segments of 2 iterations
    (many segments, a short last one): the gradient still matches finite differences."""
    got = srcgrad.grad(c.func, wrt=c.wrt, checkpoint=2)(*copy_args(c.args))
    assert_grad_matches_fd(c.func, c.args, c.wrt, got, rtol=c.fd_rtol, atol=c.fd_atol)


def test_tape_size_is_what_source_reports():
    args = (1.1, 0.4, 1.0, 0.5, 1e-2, 300)
    g = srcgrad.grad(euler_ode, wrt=("alpha", "beta"))
    size = srcgrad.tape_size(g, *args)
    assert size == (2 * 300 + 2, 0, 0)      # x and y before each step's update, and before the first
    assert size.nbytes == 8 * (2 * 300 + 2)
    assert f"{size.floats} float64 + 0 int64 entries = {size.nbytes / 1024:.1f} KiB" in srcgrad.source(g, *args)
    assert srcgrad.tape_size(euler_ode, *args, wrt=("alpha", "beta")) == size
