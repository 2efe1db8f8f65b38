"""Small choices a hand-written adjoint makes: a δ vector written once per
element is allocated empty, not zeroed (`srcgrad.first_writes`); a quotient's
two δ's share one division; a bounds check passed in an enclosing block is not
repeated inside a nested loop; an array difference `x - mu[k]` is recomputed,
not taped, and the δ of an array's square is one pass. Every gradient is
checked against finite differences and, where known, a closed form."""
import math

import numpy as np
import pytest

import srcgrad
from benchmarks import newton
from srcgrad import first_writes
from tests.fd import assert_grad_matches_fd


def sigmoid_mse(w, b, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return np.sum((y - p) ** 2) / X.shape[0]


def epochs_of_sums(w, X, n):
    """The elementwise sum runs once per epoch, nested in a loop: its δ
    vector must add across the epochs (no empty allocation)."""
    total = 0.0
    for _ in range(n):
        total += np.sum(np.tanh(X * w))
    return total


def _data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3))
    return rng.normal(size=3), 0.3, X, rng.uniform(0.0, 1.0, 40)


def test_delta_vector_of_elementwise_sum_is_written_not_accumulated():
    w, b, X, y = _data()
    g = srcgrad.grad(sigmoid_mse, wrt=("w", "b"))
    src = srcgrad.source(g, w, b, X, y)
    assert "np.empty_like(" in src and "every element written below before any is read" in src
    got = g(w, b, X, y)
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    dz = -2.0 * (y - p) * p * (1.0 - p) / X.shape[0]          # closed form
    np.testing.assert_allclose(got[0], X.T @ dz, rtol=1e-12)
    assert math.isclose(got[1], dz.sum(), rel_tol=1e-12)
    assert_grad_matches_fd(sigmoid_mse, (w, b, X, y), ("w", "b"), got)


def test_nested_elementwise_sum_keeps_accumulating():
    rng = np.random.default_rng(8)
    w, X = 0.7, rng.normal(size=25)
    g = srcgrad.grad(epochs_of_sums, wrt=("w", "X"))
    got = g(w, X, 3)
    sech2 = 1.0 - np.tanh(X * w) ** 2
    assert math.isclose(got[0], 3 * np.sum(sech2 * X), rel_tol=1e-12)
    np.testing.assert_allclose(got[1], 3 * sech2 * w, rtol=1e-12)
    assert_grad_matches_fd(epochs_of_sums, (w, X, 3), ("w", "X"), got)


def test_pass_leaves_what_it_cannot_prove():
    base = ["def f_adjoint(x, n, m, d_out):",
            "    x_s = stretch1(x, n)",
            "    d_x_s = np.zeros_like(x_s)"]
    vectors = {"d_x_s": "x_s"}
    whole = base + ["    for i in range(n):", "        d_x_s[i] += 2.0", "    return d_x_s"]
    assert "d_x_s[i] = 2.0" in "\n".join(first_writes.run(whole, vectors))
    reversed_loop = base + ["    for i in range(n - 1, -1, -1):", "        d_x_s[i] += 2.0", "    return d_x_s"]
    assert "np.empty_like(x_s)" in "\n".join(first_writes.run(reversed_loop, vectors))
    cases = {
        "another length": base + ["    for i in range(m):", "        d_x_s[i] += 2.0"],
        "in a branch": base + ["    for i in range(n):", "        if x_s[i] > 0:", "            d_x_s[i] += 2.0"],
        "nested loop": base + ["    for k in range(3):", "        for i in range(n):", "            d_x_s[i] += 2.0"],
        "read in the loop": base + ["    for i in range(n):", "        d_x_s[i] += d_x_s[0]"],
        "used before": base + ["    d_x_s[0] = 1.0", "    for i in range(n):", "        d_x_s[i] += 2.0"],
        "break": base + ["    for i in range(n):", "        d_x_s[i] += 2.0", "        if i > 2:", "            break"],
        "other index": base + ["    for i in range(n):", "        d_x_s[n - 1 - i] += 2.0"],
        "rebound": base + ["    for i in range(n):", "        d_x_s[i] += 2.0", "    x_s = stretch1(x, m)"],
    }
    for what, lines in cases.items():
        assert first_writes.run(lines, vectors) == lines, what


def test_quotient_shares_one_division():
    def ratio(x, y):
        return x / y
    src = srcgrad.source(srcgrad.grad(ratio, wrt=("x", "y")), 1.5, 0.4)
    assert src.count("(1.0 / y)") == 2
    gx, gy = srcgrad.grad(ratio, wrt=("x", "y"))(1.5, 0.4)
    assert math.isclose(gx, 1 / 0.4, rel_tol=1e-15) and math.isclose(gy, -1.5 / 0.4 ** 2, rel_tol=1e-15)


def test_bounds_check_of_enclosing_loop_covers_nested_while():
    """The Newton benchmark: a while loop inside a for loop reads b[i]; the
    check of b (and of t) before the for loop covers it: two checks in all."""
    a, s, b, t, tol = newton.make_args(n=9)
    g = srcgrad.grad(newton.loss, wrt=("a", "s"))
    src = srcgrad.source(g, a, s, b, t, tol)
    assert src.count("raise IndexError") == 2 and "t1 > b.shape[0]" in src and "t1 > t.shape[0]" in src
    assert_grad_matches_fd(newton.loss, (a, s, b, t, tol), ("a", "s"), g(a, s, b, t, tol))
    b = np.linspace(-2.0, 3.0, 9)
    with pytest.raises(srcgrad.SrcgradError, match="index into 'b' is out of range") as info:
        srcgrad.grad(neighbour_out_of_range, wrt="a")(1.3, b, 1e-12)
    assert info.value.lineno == neighbour_out_of_range.__code__.co_firstlineno + 7     # b[i + 1], in the while


def neighbour_out_of_range(a, b, tol):
    """b[i + 1] in the nested while: out of range at the last i, still checked."""
    L = 0.0
    for i in range(b.shape[0]):
        x = b[i]
        k = 0
        while k < 3:
            x = x - 0.1 * (x * a - b[i + 1])
            k += 1
        L += x
    return L


def centred_energy(x, mu):
    """Per component: `xc = x - mu[k]` (rebound each iteration) and `xc * xc`.
    The backward sweep recomputes `x - mu[k]` instead of taping it, and takes
    the δ of the square in one pass."""
    total = 0.0
    for k in range(mu.shape[0]):
        xc = x - mu[k]
        total += np.sum(xc * xc) * (k + 1.0)
    return total


def test_array_difference_is_recomputed_and_square_is_one_pass():
    rng = np.random.default_rng(9)
    x, mu = rng.normal(size=(6, 2)), rng.normal(size=(4, 2))
    g = srcgrad.grad(centred_energy, wrt=("x", "mu"))
    src = srcgrad.source(g, x, mu)
    assert "push_array" not in src and srcgrad.tape_size(g, x, mu).floats == 0
    assert "recomputed, not taped" in src and "square: 2·x·δ" in src
    got = g(x, mu)
    weights = np.arange(1.0, 5.0)
    want_x = sum(2.0 * w * (x - m) for w, m in zip(weights, mu))                   # closed form
    want_mu = np.array([-2.0 * w * (x - m).sum(axis=0) for w, m in zip(weights, mu)])
    np.testing.assert_allclose(got[0], want_x, rtol=1e-12)
    np.testing.assert_allclose(got[1], want_mu, rtol=1e-12)
    assert_grad_matches_fd(centred_energy, (x, mu), ("x", "mu"), got)
