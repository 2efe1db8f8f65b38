"""The logistic sigmoid as users write it, `1 / (1 + exp(-x))`, is one primitive
(normalize): its δ is the lecture's σ(1−σ)·δ, read from the output alone, so the
tape keeps σ and the backward sweep neither divides nor needs exp(-x). Spellings
that are not exactly that pattern keep their step-by-step rules."""
import math

import numpy as np

import srcgrad
from tests.fd import assert_grad_matches_fd


def gates(w, x):
    """Scalar loop: `1.0 / (1.0 + math.exp(-...))`, and `1 / (math.exp(-...) + 1)` (int ones, sum swapped)."""
    total = 0.0
    for i in range(x.shape[0]):
        total += 1.0 / (1.0 + math.exp(-w * x[i])) * x[i]
        total += 1 / (math.exp(-(w + x[i])) + 1)
    return total


def layer(W, b, X, y):
    """Array form: `1.0 / (1.0 + np.exp(-z))` on a matrix."""
    s = 1.0 / (1.0 + np.exp(-(X @ W + b)))
    return np.sum((s - y) ** 2)


def not_a_sigmoid(w, x):
    """Near misses: no negation, a numerator of 2: ordinary quotient rules."""
    total = 0.0
    for i in range(x.shape[0]):
        total += 1.0 / (1.0 + math.exp(w * x[i])) + 2.0 / (1.0 + math.exp(-w * x[i]))
    return total


def test_scalar_spellings_are_one_primitive():
    x = np.array([0.3, -1.2, 2.0, 0.7])
    g = srcgrad.grad(gates, wrt=("w", "x"))
    src = srcgrad.source(g, 0.8, x)
    assert src.count("# sigmoid' = σ(1−σ) (the output)") == 2
    assert "reciprocal" not in src and "exp' = exp" not in src
    assert_grad_matches_fd(gates, (0.8, x), ("w", "x"), g(0.8, x))
    # closed form of d/dw: Σ σ'(w x_i) x_i² + σ'(w + x_i), σ' = σ(1−σ)
    sig = 1.0 / (1.0 + np.exp(-0.8 * x))
    sig2 = 1.0 / (1.0 + np.exp(-(0.8 + x)))
    want = np.sum(sig * (1 - sig) * x * x) + np.sum(sig2 * (1 - sig2))
    assert np.isclose(g(0.8, x)[0], want, rtol=1e-13)
    # far in the tail exp(-x) overflows to inf: σ = 0 and so is its δ (not inf·0 = NaN)
    dw, dx = g(800.0, np.array([-2.0, 1.0]))
    assert np.isfinite(dw) and np.all(np.isfinite(dx))


def test_array_sigmoid_and_near_misses():
    rng = np.random.default_rng(5)
    W, b, X, y = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(6, 3)), rng.uniform(size=(6, 2))
    g = srcgrad.grad(layer, wrt=("W", "b"))
    assert "sigmoid' = σ(1−σ)" in srcgrad.source(g, W, b, X, y)
    assert_grad_matches_fd(layer, (W, b, X, y), ("W", "b"), g(W, b, X, y))
    x = np.array([0.3, -1.2, 2.0])
    h = srcgrad.grad(not_a_sigmoid, wrt=("w", "x"))
    assert "sigmoid'" not in srcgrad.source(h, 0.5, x)
    assert_grad_matches_fd(not_a_sigmoid, (0.5, x), ("w", "x"), h(0.5, x))
