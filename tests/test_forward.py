"""Forward mode, vector-Jacobian products, Jacobians and Hessians.

References: central finite differences of the plain Python function (float64),
closed forms where known, and srcgrad's own reverse mode (which the corpus
tests check against finite differences): jvp·v must equal ∇f·v, and the
dot-product test ⟨u, J v⟩ = ⟨uᵀJ, v⟩ ties forward and reverse mode together.
"""
import math
import os

import numpy as np
import pytest

import forward_cases as fc
import srcgrad
from corpus import CASES
from fd import copy_args, short_mode

RNG = np.random.default_rng(2026)


def _like(value, rng=RNG):
    return rng.standard_normal(np.shape(value)) if np.ndim(value) else float(rng.standard_normal())


def _fd_jacobian(f, args, k, h=1e-6):
    """Central differences of a vector-valued plain function w.r.t. argument k."""
    args = list(copy_args(args))
    base = np.asarray(f(*copy_args(args)), dtype=float)
    x = np.asarray(args[k], dtype=float)
    J = np.zeros(base.shape + x.shape)
    for idx in np.ndindex(x.shape):
        up, down = list(copy_args(args)), list(copy_args(args))
        step = h * max(1.0, abs(float(x[idx])))
        if x.shape:
            up[k] = x.copy()
            down[k] = x.copy()
            up[k][idx] += step
            down[k][idx] -= step
        else:
            up[k], down[k] = float(x) + step, float(x) - step
        J[(...,) + idx] = (np.asarray(f(*up)) - np.asarray(f(*down))) / (2 * step)
    return J


VECTOR_CASES = [
    (fc.lotka_volterra, (np.array([1.1, 0.4, 0.1, 0.4]), np.array([10.0, 5.0])), ("p", "y0")),
    (fc.softmax, (np.array([0.3, -1.2, 2.0, 0.5]),), ("x",)),
    (fc.layer, (RNG.standard_normal((3, 4)), RNG.standard_normal(4), RNG.standard_normal(4)), ("W", "b")),
    (fc.piecewise, (np.array([0.7, -0.4, 1.3, -2.0, 0.2]), 0.8), ("x", "a")),
    (fc.halve_until, (np.array([0.9, -1.4, 0.6]), 1.7), ("x", "c")),
]
IDS = [f.__name__ for f, _, _ in VECTOR_CASES]


@pytest.fixture(scope="module")
def jacobians():
    """Compile each function's Jacobian in both modes once."""
    return {f.__name__: (srcgrad.jacobian(f, wrt=wrt, mode="fwd"), srcgrad.jacobian(f, wrt=wrt, mode="rev"))
            for f, _, wrt in VECTOR_CASES}


@pytest.mark.parametrize("f, args, wrt", VECTOR_CASES, ids=IDS)
def test_jacobian_both_modes_match_finite_differences(jacobians, f, args, wrt):
    fwd, rev = jacobians[f.__name__]
    params = f.__code__.co_varnames[:f.__code__.co_argcount]
    got_fwd, got_rev = fwd(*copy_args(args)), rev(*copy_args(args))
    for name, jf, jr in zip(wrt, got_fwd, got_rev):
        want = _fd_jacobian(f, args, params.index(name))
        np.testing.assert_allclose(jf, want, rtol=1e-6, atol=1e-8, err_msg=f"{f.__name__} fwd d/d{name}")
        np.testing.assert_allclose(jr, jf, rtol=1e-12, atol=1e-13, err_msg=f"{f.__name__} rev vs fwd d/d{name}")


@pytest.mark.parametrize("f, args, wrt", VECTOR_CASES, ids=IDS)
def test_jvp_vjp_dot_product(f, args, wrt):
    """value == f(args); ⟨u, J v⟩ from jvp equals ⟨uᵀJ, v⟩ from vjp."""
    params = f.__code__.co_varnames[:f.__code__.co_argcount]
    tangents = [_like(args[params.index(w)]) for w in wrt]
    value, t_out = srcgrad.jvp(f, wrt=wrt)(*copy_args(args), *tangents)
    np.testing.assert_allclose(value, f(*copy_args(args)), rtol=1e-13, atol=1e-14)
    u = _like(value)
    pulled = srcgrad.vjp(f, wrt=wrt)(*copy_args(args), u)
    lhs = float(np.sum(u * t_out))
    rhs = sum(float(np.sum(p * t)) for p, t in zip(pulled, tangents))
    assert lhs == pytest.approx(rhs, rel=1e-11, abs=1e-12)


def test_jacobian_auto_picks_fewer_sweeps_and_agrees():
    p, y0 = VECTOR_CASES[0][1]
    auto = srcgrad.jacobian(fc.lotka_volterra, wrt="p")          # 4 inputs, 2 outputs: reverse
    transform = auto.__srcgrad_transform__
    J = auto(p, y0)
    assert J.shape == (2, 4)
    assert any(key[0] == "jacrev" for key in transform.compiled) and \
        not any(key[0] == "jacfwd" for key in transform.compiled)
    np.testing.assert_allclose(J, _fd_jacobian(fc.lotka_volterra, (p, y0), 0), rtol=1e-6, atol=1e-8)


def test_jacobian_drivers_do_not_clash_with_parameter_names():
    A = np.arange(12.0).reshape(3, 4)
    want = np.zeros((4, 3, 4))
    want[np.arange(4), 1, np.arange(4)] = 1.0
    for mode in ("fwd", "rev"):
        np.testing.assert_array_equal(srcgrad.jacobian(fc.row_of, wrt="A", mode=mode)(A, 1), want)


def test_jacobian_of_a_scalar_function_is_its_gradient():
    x = np.array([0.3, -0.7, 1.1, 0.4])
    J = srcgrad.jacobian(fc.rosenbrock, mode="fwd")(x)
    np.testing.assert_allclose(J, srcgrad.grad(fc.rosenbrock)(x), rtol=1e-12)


def test_forward_mode_never_mutates_arguments_or_tangents():
    x = np.array([1.0, 2.0, 3.0])
    t = np.array([0.5, -1.0, 2.0])
    x0, t0 = x.copy(), t.copy()
    value, t_out = srcgrad.jvp(fc.writes_its_argument)(x, t)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(t, t0)
    np.testing.assert_allclose(value, [4.0, 4.0, 9.0])
    np.testing.assert_allclose(t_out, [8.0 * 1.0 * 0.5, 2 * 2.0 * -1.0, 2 * 3.0 * 2.0])


def test_results_never_share_memory_with_arguments():
    x, t = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    value, tangent = srcgrad.jvp(_identity)(x, t)
    np.testing.assert_array_equal(tangent, t)
    assert not np.shares_memory(value, x) and not np.shares_memory(tangent, t)


def _identity(x):
    return x


def test_scalar_results_are_python_floats():
    value, tangent = srcgrad.jvp(_scalar)(0.3, 2.0)
    assert type(value) is float and type(tangent) is float
    assert tangent == pytest.approx(2.0 * (math.cos(0.3) + 2 * 0.3), rel=1e-14)


def test_forward_mode_gradients_come_back_as_floats():
    grads = srcgrad.grad(fc.mixed, wrt=("x", "y"), mode="fwd")(np.array([0.4, -1.2, 0.8]), 1.7)
    want = srcgrad.grad(fc.mixed, wrt=("x", "y"))(np.array([0.4, -1.2, 0.8]), 1.7)
    assert type(grads[1]) is float and grads[0].shape == (3,)
    np.testing.assert_allclose(grads[0], want[0], rtol=1e-13)
    assert grads[1] == pytest.approx(want[1], rel=1e-13)


def _scalar(x):
    return math.sin(x) + x * x


def test_sparse_jacobian_by_colouring_matches_the_dense_one():
    n = 9
    x, a = np.linspace(-1.0, 1.3, n), np.array([0.7, -0.4])
    px, pa = fc.neighbours_pattern(n)
    sparse = srcgrad.jacobian(fc.neighbours, wrt=("x", "a"), sparsity=(px, pa))(x, a)
    dense_x, dense_a = srcgrad.jacobian(fc.neighbours, wrt=("x", "a"), mode="fwd")(x, a)
    assert sparse.shape == (n, n + 2) and sparse.colors == 4       # 3 for the band, 1 for both of a (no shared row)
    np.testing.assert_allclose(sparse.toarray(), np.hstack([dense_x, dense_a]), rtol=1e-15)
    assert list(np.diff(sparse.indptr)) == [int(r) for r in np.hstack([px, pa]).sum(axis=1)]
    np.testing.assert_allclose(dense_x, _fd_jacobian(fc.neighbours, (x, a), 0), rtol=1e-6, atol=1e-8)
    single = srcgrad.jacobian(fc.neighbours, wrt="x", sparsity=px)(x, a)
    np.testing.assert_allclose(single.toarray(), dense_x, rtol=1e-15)
    detecting = srcgrad.jacobian(fc.neighbours, wrt=("x", "a"), sparsity="detect")
    x0 = x.copy()
    x0[4] = 0.0                            # ∂out[3]/∂x[4] = x[3] + ..., ∂out[5]/∂x[4] = x[5]: not zero;
    for args in ((x0, a), (x, a)):         # ∂out[4]/∂x[4] = x[3] + 3 x[4]^2 stays found though x[4] = 0 at first
        found = detecting(*args)
        # (one entry fewer than the pattern given above: ∂out[8]/∂a[0] = sin(0), zero for every x)
        assert found.colors == 4 and found.indices.shape[0] == sparse.indices.shape[0] - 1
        np.testing.assert_allclose(found.toarray(), srcgrad.jacobian(fc.neighbours, wrt=("x", "a"), sparsity=(px, pa))(
            *args).toarray(), rtol=1e-15)
    with pytest.raises(srcgrad.SrcgradError, match="pattern of shape"):
        srcgrad.jacobian(fc.neighbours, wrt="x", sparsity=px[:, :4])(x, a)


# -- Hessians ------------------------------------------------------------------------------------------

def test_hessian_closed_forms():
    x = np.array([0.3, -0.7, 1.1, 0.4, 0.9])
    np.testing.assert_allclose(srcgrad.hessian(fc.rosenbrock)(x), fc.rosenbrock_hessian(x), rtol=1e-12, atol=1e-10)
    A = RNG.standard_normal((4, 4))
    y = RNG.standard_normal(4)
    want = A + A.T + np.diag(0.01 * np.exp(0.1 * y))
    np.testing.assert_allclose(srcgrad.hessian(fc.quadratic_form, wrt="x")(y, A), want, rtol=1e-12, atol=1e-13)


def test_hessian_diagonal_and_hvp_agree_with_the_full_hessian():
    x = np.array([0.3, -0.7, 1.1, 0.4, 0.9])
    H = fc.rosenbrock_hessian(x)
    np.testing.assert_allclose(srcgrad.hessian(fc.rosenbrock, diagonal=True)(x), np.diag(H), rtol=1e-12)
    v = _like(x)
    np.testing.assert_allclose(srcgrad.hvp(fc.rosenbrock)(x, v), H @ v, rtol=1e-12, atol=1e-10)


def test_hessian_blocks_of_two_arguments():
    x, y = np.array([0.4, -1.2, 0.8]), 1.7
    (hxx, hxy), (hyx, hyy) = srcgrad.hessian(fc.mixed, wrt=("x", "y"))(x, y)
    np.testing.assert_allclose(hxx, 2.0 * y * np.eye(3), rtol=1e-14)
    want_xy = 2.0 * x + np.array([1.0 / y, 0.0, 0.0])
    np.testing.assert_allclose(hxy, want_xy, rtol=1e-13)
    np.testing.assert_allclose(hyx, want_xy, rtol=1e-13)
    assert hyy == pytest.approx(-x[0] / y ** 2, rel=1e-13)


def test_second_derivative_of_lgamma_is_trigamma():
    d2 = srcgrad.hessian(_lgamma)(2.5)
    assert d2 == pytest.approx(0.4903577561002349, rel=1e-13)      # ψ'(2.5)


def _lgamma(x):
    return math.lgamma(x)


# -- the corpus: jvp·v = ∇f·v and H·v = d/dh ∇f(x + h v) --------------------------------------------------

def _corpus_selection():
    seen, chosen = set(), []
    for c in CASES:
        if c.func not in seen:
            seen.add(c.func)
            chosen.append(c)
    if os.environ.get("SRCGRAD_FORWARD_ALL"):
        return chosen
    # (each case compiles one more program (jvp) or two (hvp): every 18th corpus function in CI, every
    # 36th with --short; SRCGRAD_FORWARD_ALL=1 runs them all: all 219 functions passed both tests)
    return chosen[::36] if short_mode() else chosen[::18]


CORPUS = _corpus_selection()
# (Hessians compile the largest programs: those of the smaller functions)
HESSIAN_CORPUS = [c for c in CORPUS if len(c.func.__code__.co_code) < 400] \
    if not os.environ.get("SRCGRAD_FORWARD_ALL") else CORPUS


def _directions(c):
    params = c.func.__code__.co_varnames[:c.func.__code__.co_argcount]
    rng = np.random.default_rng(len(c.id))
    return params, [_like(c.args[params.index(w)], rng) for w in c.wrt_tuple]


@pytest.mark.parametrize("c", CORPUS, ids=[c.id for c in CORPUS])
def test_corpus_jvp_matches_the_gradient(c):
    params, tangents = _directions(c)
    grads = srcgrad.grad(c.func, wrt=c.wrt_tuple)(*copy_args(c.args))
    value, t_out = srcgrad.jvp(c.func, wrt=c.wrt_tuple)(*copy_args(c.args), *tangents)
    assert value == pytest.approx(c.func(*copy_args(c.args)), rel=1e-10, abs=1e-12)
    want = sum(float(np.sum(np.asarray(g) * t)) for g, t in zip(grads, tangents))
    assert t_out == pytest.approx(want, rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("c", HESSIAN_CORPUS, ids=[c.id for c in HESSIAN_CORPUS])
def test_corpus_hvp_matches_differences_of_the_gradient(c):
    params, vectors = _directions(c)
    g = srcgrad.grad(c.func, wrt=c.wrt_tuple)
    got = srcgrad.hvp(c.func, wrt=c.wrt_tuple)(*copy_args(c.args), *vectors)
    h = 1e-5

    def moved(sign):
        args = list(copy_args(c.args))
        for w, v in zip(c.wrt_tuple, vectors):
            k = params.index(w)
            args[k] = args[k] + sign * h * v
        return g(*args)
    for name, hv, up, down in zip(c.wrt_tuple, got, moved(1), moved(-1)):
        np.testing.assert_allclose(hv, (np.asarray(up) - np.asarray(down)) / (2 * h), rtol=1e-4, atol=1e-6,
                                   err_msg=f"{c.id}: H·v for {name}")


# -- errors ----------------------------------------------------------------------------------------------

def test_bad_calls_get_clear_errors():
    x = np.array([0.3, -0.7, 1.1])
    with pytest.raises(srcgrad.SrcgradError, match="tangent of 'x' has shape"):
        srcgrad.jvp(fc.rosenbrock)(x, np.ones(2))
    with pytest.raises(srcgrad.SrcgradError, match="takes 2 arguments"):
        srcgrad.jvp(fc.rosenbrock)(x)
    with pytest.raises(srcgrad.SrcgradError, match="a Hessian needs one scalar output"):
        srcgrad.hessian(fc.softmax)(x)
    with pytest.raises(srcgrad.SrcgradError, match="mode"):
        srcgrad.jacobian(fc.softmax, mode="sideways")
    with pytest.raises(srcgrad.SrcgradError, match="cotangent has shape"):
        srcgrad.vjp(fc.softmax)(x, np.ones(4))
