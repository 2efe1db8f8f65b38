"""What goes on the tape, and how small: one-byte branch flags, negations
undone instead of taped, and Snapshots (a value pushed once after the last
statement that still sees it, read by the backward steps of all the
statements before). Every gradient is checked against finite differences."""
import math
import re

import numpy as np
import pytest

import srcgrad
from tests.fd import assert_grad_matches_fd


def counted_branches(w, x, n):
    """Which branch runs depends on a counter array the loop changes: the
    backward sweep needs each iteration's branch flag from the tape."""
    seen = np.zeros(3, dtype=np.int64)
    total = 0.0
    for i in range(n):
        b = i % 3
        seen[b] += 1
        if seen[b] % 2 == 1:
            total = total * w + x[i]
        else:
            total = total * 0.5 + w
    return total


def flip_flop(a, n):
    """`x = -x` on a restored float and `signs[k % 2] = -signs[k % 2]` on an
    array element: undone in the backward sweep (negation is exact), not taped."""
    x = a
    signs = np.ones(2)
    total = 0.0
    for k in range(n):
        total = total * a + signs[k % 2] * x * x
        x = -x * 1.5
        x = -x
        if k % 3 == 0:
            signs[k % 2] = -signs[k % 2]
    return total


def picked_products(A, cols):
    """`c` (also the name of a loop index, which is never restored) is read
    by several statements, then rewritten by an inner loop: one Snapshot of
    `c` serves them all, and `A[i, c] * A[i, c]` is recomputed from it
    instead of taped."""
    order = np.zeros(cols.shape[0], dtype=np.int64)
    for c in range(cols.shape[0]):
        order[c] = cols[c]
    total = 0.0
    for i in range(A.shape[0]):
        c = order[i % order.shape[0]]
        t = A[i, c] * A[i, c]
        total += t * t
        for r in range(2):
            c = order[(i + r + 1) % order.shape[0]]
            total += 0.5 * A[i, c] * t
        order[i % order.shape[0]] = order[(i + 1) % order.shape[0]]
    return total


def _picked_products_reference(A, cols):
    """The same sum and its gradient, written out with NumPy."""
    order, grad, total = list(cols), np.zeros_like(A), 0.0
    for i in range(A.shape[0]):
        m = len(order)
        c = order[i % m]
        t = A[i, c] ** 2
        others = [order[(i + r + 1) % m] for r in range(2)]
        total += t * t + sum(0.5 * A[i, o] * t for o in others)
        dt = 2 * t + 0.5 * sum(A[i, o] for o in others)
        grad[i, c] += dt * 2 * A[i, c]
        for o in others:
            grad[i, o] += 0.5 * t
        order[i % m] = order[(i + 1) % m]
    return total, grad


def test_branch_flags_take_one_byte_each():
    x = np.linspace(-1.0, 1.0, 11)
    g = srcgrad.grad(counted_branches, wrt="w")
    size = srcgrad.tape_size(g, 0.7, x, 11)
    assert size.flags == 11 and size.ints == 0
    assert size.nbytes == 8 * size.floats + 11
    src = srcgrad.source(g, 0.7, x, 11)
    assert "1 flag (branch1: a byte each)" in src and "+ 11 flags" in src
    got = g(0.7, x, 11)
    assert_grad_matches_fd(counted_branches, (0.7, x, 11), "w", got)


def test_negation_is_undone_not_taped():
    g = srcgrad.grad(flip_flop, wrt="a")
    src = srcgrad.source(g, 0.6, 12)
    assert src.count("undo the negation: nothing taped") == 2
    size = srcgrad.tape_size(g, 0.6, 12)
    assert size.floats == 2 * 12 + 2         # total and x * 1.5 per step; x and total once
    assert_grad_matches_fd(flip_flop, (0.6, 12), "a", g(0.6, 12))


def test_snapshot_replaces_taped_values():
    rng = np.random.default_rng(3)
    A = rng.uniform(0.5, 1.5, (6, 4))
    cols = np.array([3, 0, 2, 1, 1, 0])
    g = srcgrad.grad(picked_products, wrt="A")
    src = srcgrad.source(g, A, cols)
    assert "c (int64), read by the backward steps before it" in src
    assert re.search(r"t\d+ = A\[i, c\]  # recomputed, not taped", src)
    assert srcgrad.tape_size(g, A, cols).floats == A.shape[0]      # t, for the inner loop
    total, want = _picked_products_reference(A, cols)
    assert srcgrad.value_and_grad(picked_products, wrt="A")(A, cols)[0] == pytest.approx(total, rel=1e-12)
    got = g(A, cols)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert_grad_matches_fd(picked_products, (A, cols), "A", got)


def test_determinant_by_minors_tape():
    """The GradBench det formulation (an explicit recursion stack, a linked
    list of columns): cofactors exact, and the tape a fraction of what one
    value per statement would take."""
    from benchmarks.gradbench.evals.det import determinant
    A = np.random.default_rng(5).uniform(-1.0, 1.0, (6, 6))
    g = srcgrad.grad(determinant, wrt="A")
    np.testing.assert_allclose(g(A), np.linalg.det(A) * np.linalg.inv(A).T, rtol=1e-9, atol=1e-12)
    size = srcgrad.tape_size(g, A)
    leaves = math.factorial(6)
    assert size.nbytes < 50 * leaves, size     # 102 bytes a leaf with int64 flags, t9, t22, sign taped


def gated_state(w, x):
    """The gate `o` is read by the backward steps of two statements: its
    value is recomputed (from the taped exp) once per backward iteration, not
    once per statement."""
    h = 0.0
    total = 0.0
    for t in range(x.shape[0]):
        o = 1.0 / (1.0 + math.exp(-w * x[t] - h))
        h = o * math.tanh(h + x[t])
        total += o * h
    return total


def test_a_recomputed_value_is_recomputed_once_per_step():
    x = np.linspace(-1.0, 1.0, 9)
    g = srcgrad.grad(gated_state, wrt="w")
    src = srcgrad.source(g, 0.8, x)
    backward = src[src.index("# backward sweep"):]
    assert len(re.findall(r"\bo = 1\.0 / t\d+  # recomputed, not taped", backward)) == 1, backward
    assert_grad_matches_fd(gated_state, (0.8, x), "w", g(0.8, x))


def heat_steps(u0, kappa, dt, nsteps, target):
    """Explicit 1-D heat equation: each step copies the field, updates the
    inner cells from their neighbours in the old field, and moves the copy
    into `u` (`u = new`: the array is shared, as Python does, not copied)."""
    n = len(u0)
    u = u0
    for s in range(nsteps):
        new = u.copy()
        for i in range(1, n - 1):
            new[i] = u[i] + dt * kappa[i] * (u[i - 1] - 2 * u[i] + u[i + 1])
        u = new
    return np.sum((u - target) ** 2)


def _heat_args(n=12, nsteps=7):
    rng = np.random.default_rng(3)
    return (rng.standard_normal(n), 0.5 + rng.random(n), 0.2, nsteps, rng.standard_normal(n))


def test_a_field_rebound_each_step_is_restored_once_per_step():
    """The cells read from `u` (three per cell and step) are recomputed from
    `u` restored once per step: the tape holds n floats per step (the field
    before each step), not one per element read."""
    args = _heat_args()
    n, nsteps = len(args[0]), args[3]
    g = srcgrad.grad(heat_steps, wrt=("u0", "kappa"))
    assert_grad_matches_fd(heat_steps, args, ("u0", "kappa"), g(*args))
    size = srcgrad.tape_size(g, *args)
    assert size.floats == nsteps * n
    text = srcgrad.source(g, *args)
    assert "u = new  # the same array" in text
    # popped as views of the tape: the backward sweep pushes nothing over them
    assert re.search(r"u = tape_f\[top_f:top_f \+ tape_i\[top_i\]\]  # restore", text), text


def test_a_moved_array_is_copied_unless_nothing_writes_it_while_shared():
    """`b = a` with `a` written in place after an unconditional rebinding
    to a new array, before `b = a`, in the same loop body: the array is
    shared (no copy per step). `v = z` with `z` written in place at the top
    of the loop (no fresh rebinding before): copied. The values are
    Python's either way."""
    def moved(x, flag):
        b = x * 1.0
        for k in range(3):
            a = b.copy()
            a[0] = a[0] * x[1]
            b = a
        return np.sum(b * x)

    def read_then_rebound(x, flag):
        z = x * 1.0
        total = 0.0
        for k in range(3):
            z[k] = z[k] * x[1]
            v = z
            total += np.sum(v * x)
            v = v * 2.0
            total += np.sum(v)
        return total
    x = np.array([0.5, -1.5, 2.0])
    for f, shared in ((moved, True), (read_then_rebound, False)):
        g = srcgrad.value_and_grad(f, wrt="x")
        for flag in (1, -1):
            value, grad = g(x, flag)
            assert value == pytest.approx(f(x.copy(), flag), rel=1e-12)
            assert_grad_matches_fd(f, (x, flag), "x", grad)
        assert bool(re.search(r"(b = a|v = z)  # the same array", srcgrad.source(g, x, 1))) == shared
