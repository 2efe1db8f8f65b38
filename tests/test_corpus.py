"""srcgrad on the corpus of plain numeric functions (tests/corpus/).

For every registered case:
  * gradient matches central finite differences of the plain Python function;
  * gradient matches the closed form (bit-for-bit where the case says exact);
  * value_and_grad's value equals f(*args) and its gradient equals grad's;
  * inputs are never mutated (by grad or value_and_grad);
  * gradient types: Python float for scalars, float64 arrays of the argument's shape.
"""

import numpy as np
import pytest

import srcgrad
from corpus import CASES, FUNCTIONS
from fd import as_tuple, assert_grad_matches_fd, assert_grads_close, copy_args, short_mode

if short_mode():  # one case per function: same number of compiles, fewer points
    _seen = set()
    SELECTED = [c for c in CASES if not (c.func in _seen or _seen.add(c.func))]
else:
    SELECTED = list(CASES)

WITH_EXPECT = [c for c in SELECTED if c.expect is not None]

# Build each gradient once per (function, wrt): numba compiles are the expensive part.
_GRAD = {}
_VG = {}


def grad_of(c):
    key = (c.func, c.wrt)
    if key not in _GRAD:
        _GRAD[key] = srcgrad.grad(c.func, wrt=c.wrt)
    return _GRAD[key]


def vg_of(c):
    key = (c.func, c.wrt)
    if key not in _VG:
        _VG[key] = srcgrad.value_and_grad(c.func, wrt=c.wrt)
    return _VG[key]


def _ids(cases):
    return [c.id for c in cases]


def test_corpus_size():
    assert len(FUNCTIONS) >= 45
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("c", SELECTED, ids=_ids(SELECTED))
def test_grad_matches_fd(c):
    args = copy_args(c.args)
    got = grad_of(c)(*args)
    assert_grad_matches_fd(c.func, c.args, c.wrt, got, rtol=c.fd_rtol, atol=c.fd_atol)


@pytest.mark.parametrize("c", WITH_EXPECT, ids=_ids(WITH_EXPECT))
def test_grad_matches_closed_form(c):
    got = as_tuple(grad_of(c)(*copy_args(c.args)), c.single)
    want = as_tuple(c.expect(*copy_args(c.args)), c.single)
    assert len(got) == len(want) == len(c.wrt_tuple)
    if c.exact:
        for name, g, w in zip(c.wrt_tuple, got, want):
            assert np.array_equal(np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64)), \
                f"{c.id}: d/d{name} = {g!r}, expected exactly {w!r}"
    else:
        assert_grads_close(got, want, c.wrt_tuple, rtol=c.rtol, atol=1e-12)


@pytest.mark.parametrize("c", SELECTED, ids=_ids(SELECTED))
def test_value_and_grad(c):
    want_value = c.func(*copy_args(c.args))
    value, grads = vg_of(c)(*copy_args(c.args))
    assert isinstance(value, float), f"value has type {type(value).__name__}"
    np.testing.assert_allclose(value, want_value, rtol=1e-10, atol=1e-12)
    got = as_tuple(grads, c.single)
    ref = as_tuple(grad_of(c)(*copy_args(c.args)), c.single)
    assert len(got) == len(ref)
    for name, a, b in zip(c.wrt_tuple, got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"{c.id}: d/d{name}")


def _assert_same_args(before, after, where):
    assert len(before) == len(after)
    for i, (a, b) in enumerate(zip(before, after)):
        if isinstance(a, np.ndarray):
            assert isinstance(b, np.ndarray)
            assert a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b), f"{where} mutated argument #{i}: {a!r} -> {b!r}"
        else:
            assert a == b and type(a) is type(b), f"{where} changed argument #{i}"


@pytest.mark.parametrize("c", SELECTED, ids=_ids(SELECTED))
def test_inputs_not_mutated(c):
    pristine = copy_args(c.args)
    args = copy_args(c.args)
    grad_of(c)(*args)
    _assert_same_args(pristine, args, "grad")
    args = copy_args(c.args)
    vg_of(c)(*args)
    _assert_same_args(pristine, args, "value_and_grad")


@pytest.mark.parametrize("c", SELECTED, ids=_ids(SELECTED))
def test_gradient_types_and_shapes(c):
    res = grad_of(c)(*copy_args(c.args))
    if c.single:
        assert not isinstance(res, tuple), "single wrt must return a bare gradient, not a tuple"
    else:
        assert isinstance(res, tuple) and len(res) == len(c.wrt_tuple)
    params = list(c.func.__code__.co_varnames[:c.func.__code__.co_argcount])
    for name, g in zip(c.wrt_tuple, as_tuple(res, c.single)):
        arg = c.args[params.index(name)]
        if isinstance(arg, np.ndarray):
            assert isinstance(g, np.ndarray), f"d/d{name}: {type(g).__name__}, expected ndarray"
            assert g.dtype == np.float64, f"d/d{name}: dtype {g.dtype}"
            assert g.shape == arg.shape, f"d/d{name}: shape {g.shape} != {arg.shape}"
        else:
            assert type(g) is float, f"d/d{name}: {type(g).__name__}, expected Python float"


def test_array_gradients_are_fresh():
    """Returned gradient arrays must not alias each other or the inputs."""
    c = next(c for c in CASES if c.func.__name__ == "matvec")
    args = copy_args(c.args)
    gA1, gx1 = grad_of(c)(*args)
    assert not np.shares_memory(gA1, args[0]) and not np.shares_memory(gx1, args[1])
    keep = gA1.copy()
    gA1[...] = 0.0
    gA2, _ = grad_of(c)(*copy_args(c.args))
    assert np.array_equal(gA2, keep)
