"""Public API surface: wrt forms, decorators, value_and_grad, source, check_grad,
calling gradients from numba.njit code."""

import ast
import inspect
import math

import numba
import numpy as np
import pytest

import srcgrad
from fd import assert_grad_matches_fd, copy_args


def loss(w, b, x, y):
    z = w * x + b
    return (z - y) ** 2


ARGS = (0.7, -0.2, 1.5, 2.0)


def _loss_grads(w, b, x, y):
    r = 2.0 * (w * x + b - y)
    return {"w": r * x, "b": r, "x": r * w, "y": -r}


EXPECT = _loss_grads(*ARGS)


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14)


# --- wrt forms --------------------------------------------------------------------

def test_wrt_default_is_first_parameter():
    g = srcgrad.grad(loss)
    r = g(*ARGS)
    assert type(r) is float and close(r, EXPECT["w"])


@pytest.mark.parametrize("wrt,name", [(0, "w"), (1, "b"), (3, "y"), ("b", "b"), ("x", "x")])
def test_wrt_single(wrt, name):
    r = srcgrad.grad(loss, wrt=wrt)(*ARGS)
    assert type(r) is float and close(r, EXPECT[name])


@pytest.mark.parametrize("wrt,names", [
    (("w", "b"), ("w", "b")),
    ((0, 1), ("w", "b")),
    ((1, "w"), ("b", "w")),
    (("y", 2, "w"), ("y", "x", "w")),
])
def test_wrt_tuple(wrt, names):
    r = srcgrad.grad(loss, wrt=wrt)(*ARGS)
    assert isinstance(r, tuple) and len(r) == len(names)
    for got, name in zip(r, names):
        assert type(got) is float and close(got, EXPECT[name]), name


def test_gradient_has_same_parameters():
    g = srcgrad.grad(loss, wrt=("w", "b"))
    assert list(inspect.signature(g).parameters) == ["w", "b", "x", "y"]


def test_keyword_arguments():
    g = srcgrad.grad(loss, wrt=("w", "b"))
    gw, gb = g(w=ARGS[0], b=ARGS[1], x=ARGS[2], y=ARGS[3])
    assert close(gw, EXPECT["w"]) and close(gb, EXPECT["b"])


def test_int_scalar_arguments_give_float_gradients():
    g = srcgrad.grad(loss, wrt=("w", "b"))
    r_int = g(1, 0, 2, 3)
    r_float = g(1.0, 0.0, 2.0, 3.0)
    assert all(type(v) is float for v in r_int)
    assert r_int == r_float == (-4.0, -2.0)


# --- decorator forms ----------------------------------------------------------------

def test_bare_decorator():
    from corpus import decorated

    r = decorated.bare_decorated(2.0, 3.0)
    assert type(r) is float and close(r, 12.0)


def test_decorator_with_wrt():
    from corpus import decorated

    w, b, x = 0.4, -0.3, 1.5
    s = 1.0 / (1.0 + math.exp(-(w * x + b)))
    gw, gb = decorated.param_decorated(w, b, x)
    assert close(gw, s * (1 - s) * x) and close(gb, s * (1 - s))


def test_value_and_grad_decorator():
    from corpus import decorated

    v, g = decorated.vg_decorated(1.5)
    assert close(v, 3.375) and close(g, 6.75)


def test_decorator_on_function_defined_in_a_function():
    # indented source (e.g. a function defined inside a test or a notebook cell)
    @srcgrad.grad(wrt="x")
    def local_fn(x, y):
        return x * y + x * x

    assert close(local_fn(3.0, 2.0), 8.0)


# --- value_and_grad -------------------------------------------------------------------

def test_value_and_grad_default():
    v, g = srcgrad.value_and_grad(loss)(*ARGS)
    assert type(v) is float and close(v, loss(*ARGS))
    assert type(g) is float and close(g, EXPECT["w"])


def test_value_and_grad_tuple():
    v, (gw, gb) = srcgrad.value_and_grad(loss, wrt=("w", "b"))(*ARGS)
    assert close(v, loss(*ARGS)) and close(gw, EXPECT["w"]) and close(gb, EXPECT["b"])


# --- array gradients, re-specialisation ------------------------------------------------

def sq_norm_weighted(x, c):
    s = 0.0
    for i in range(len(x)):
        s += c * x[i] * x[i]
    return s


def test_array_gradient_and_respecialisation():
    g = srcgrad.grad(sq_norm_weighted)
    for n in (3, 5):
        x = np.linspace(-1.0, 1.0, n)
        r = g(x, 1.5)
        assert isinstance(r, np.ndarray) and r.dtype == np.float64 and r.shape == (n,)
        np.testing.assert_allclose(r, 3.0 * x, rtol=1e-12)
    # non-wrt constant changes type (int instead of float)
    np.testing.assert_allclose(g(np.ones(2), 2), [4.0, 4.0], rtol=1e-12)


# --- source ------------------------------------------------------------------------------

def _check_source(src):
    assert isinstance(src, str)
    assert "def " in src and "d_" in src
    ast.parse(src)  # valid Python


def test_source_of_gradient_after_call():
    g = srcgrad.grad(loss, wrt=("w", "b"))
    g(*ARGS)
    _check_source(srcgrad.source(g))


def test_source_with_example_args():
    g = srcgrad.grad(loss, wrt=("w", "b"))
    _check_source(srcgrad.source(g, *ARGS))


def test_source_of_plain_function():
    _check_source(srcgrad.source(loss, *ARGS, wrt=("w", "b")))
    _check_source(srcgrad.source(sq_norm_weighted, np.ones(3), 2.0, wrt="x"))


def test_source_without_example_args():
    _check_source(srcgrad.source(sq_norm_weighted, wrt="x"))


# --- check_grad ---------------------------------------------------------------------------

def test_check_grad_scalar():
    res = srcgrad.check_grad(loss, *ARGS, wrt=("w", "b"))
    assert res.ok
    assert set(res.errors) == {"w", "b"}
    assert res.max_error < 1e-5
    assert res.max_error == max(res.errors.values())
    text = str(res)
    assert isinstance(text, str) and "w" in text and "b" in text


def test_check_grad_arrays():
    from corpus.arrays import _A34, matvec

    res = srcgrad.check_grad(matvec, _A34.copy(), np.array([1.0, -0.5, 0.25, 2.0]), wrt=("A", "x"))
    assert res.ok and res.max_error < 1e-5 and set(res.errors) == {"A", "x"}


def test_check_grad_default_wrt():
    res = srcgrad.check_grad(loss, *ARGS)
    assert res.ok and set(res.errors) == {"w"}


# --- calling the gradient from numba.njit code ---------------------------------------------

def test_gradient_callable_from_njit_loop():
    g = srcgrad.grad(loss, wrt=("w", "b"))

    @numba.njit
    def descend(w, b, x, y, lr, steps):
        for _ in range(steps):
            dw, db = g(w, b, x, y)
            w -= lr * dw
            b -= lr * db
        return w, b

    w, b = 0.0, 0.0
    for _ in range(25):
        dw, db = g(w, b, 1.5, 2.0)
        w -= 0.05 * dw
        b -= 0.05 * db
    wj, bj = descend(0.0, 0.0, 1.5, 2.0, 0.05, 25)
    assert math.isclose(wj, w, rel_tol=1e-12) and math.isclose(bj, b, rel_tol=1e-12)
    assert abs(wj * 1.5 + bj - 2.0) < abs(0.0 - 2.0)  # it actually descended


def linreg(X, y, w, b):
    n, d = X.shape
    s = 0.0
    for i in range(n):
        p = b
        for j in range(d):
            p += X[i, j] * w[j]
        s += (p - y[i]) ** 2
    return s / n


def test_array_gradient_callable_from_njit_loop():
    g = srcgrad.grad(linreg, wrt=("w", "b"))
    X = np.array([[1.0, 0.5], [0.3, -1.0], [2.0, 0.1], [-0.5, 0.7]])
    y = np.array([1.0, -0.5, 2.0, 0.3])

    @numba.njit
    def fit(X, y, w, b, lr, steps):
        w = w.copy()
        for _ in range(steps):
            gw, gb = g(X, y, w, b)
            for j in range(w.shape[0]):
                w[j] -= lr * gw[j]
            b -= lr * gb
        return w, b

    w = np.zeros(2)
    b = 0.0
    for _ in range(20):
        gw, gb = g(X, y, w, b)
        w = w - 0.1 * gw
        b -= 0.1 * gb
    wj, bj = fit(X, y, np.zeros(2), 0.0, 0.1, 20)
    np.testing.assert_allclose(wj, w, rtol=1e-12, atol=1e-14)
    assert math.isclose(bj, b, rel_tol=1e-12, abs_tol=1e-14)
    assert linreg(X, y, wj, bj) < linreg(X, y, np.zeros(2), 0.0)


def test_value_and_grad_sanity_against_fd():
    vg = srcgrad.value_and_grad(linreg, wrt=("w", "b"))
    X = np.array([[1.0, 0.5], [0.3, -1.0], [2.0, 0.1]])
    args = (X, np.array([1.0, -0.5, 2.0]), np.array([0.2, -0.3]), 0.1)
    v, grads = vg(*copy_args(args))
    assert math.isclose(v, linreg(*copy_args(args)), rel_tol=1e-12)
    assert_grad_matches_fd(linreg, args, ("w", "b"), grads)


def test_numpy_scalar_inputs():
    g = srcgrad.grad(loss, wrt=("w", "b"))
    r = g(*(np.float64(a) for a in ARGS))
    assert all(type(v) is float for v in r)
    assert close(r[0], EXPECT["w"]) and close(r[1], EXPECT["b"])


def test_value_and_grad_callable_from_njit():
    vg = srcgrad.value_and_grad(loss, wrt=("w", "b"))

    @numba.njit
    def call(w, b, x, y):
        v, (gw, gb) = vg(w, b, x, y)
        return v, gw, gb

    v, gw, gb = call(*ARGS)
    assert close(v, loss(*ARGS)) and close(gw, EXPECT["w"]) and close(gb, EXPECT["b"])
