"""Nested derivatives: grad/jvp called inside code srcgrad differentiates,
checked against closed forms and central differences, in every mode combination."""

import pytest

import nesting_cases as nc
import srcgrad

POINT = (0.7, 1.3)


def _central(f, args, k, h=1e-6):
    up, down = list(args), list(args)
    up[k] += h
    down[k] -= h
    return (f(*up) - f(*down)) / (2 * h)


@pytest.mark.parametrize("inner", [nc.slope_sum, nc.slope_sum_fwd, nc.slope_sum_jvp],
                         ids=["inner-rev", "inner-fwd", "inner-jvp"])
@pytest.mark.parametrize("outer", ["rev", "fwd", "jvp"])
def test_second_derivatives_through_inner_derivatives(inner, outer):
    want = nc.slope_sum_reference(*POINT)
    assert inner(*POINT) == pytest.approx(nc.slope_sum(*POINT), rel=1e-14)     # same value, any inner mode
    if outer == "jvp":
        got = tuple(srcgrad.jvp(inner, wrt=("x", "y"))(*POINT, *seed)[1] for seed in ((1.0, 0.0), (0.0, 1.0)))
    else:
        got = srcgrad.grad(inner, wrt=("x", "y"), mode=outer)(*POINT)
    assert got == pytest.approx(want, rel=1e-12)


def test_inner_gradients_in_a_loop():
    for w in (0.3, 0.9):
        want = _central(nc.descend, (w,), 0)
        assert srcgrad.grad(nc.descend)(w) == pytest.approx(want, rel=1e-6)
        assert srcgrad.grad(nc.descend, mode="fwd")(w) == pytest.approx(want, rel=1e-6)


def test_three_levels():
    for x in (0.4, 1.1):
        assert srcgrad.grad(nc.third)(x) == pytest.approx(nc.third_reference(x), rel=1e-12)


def test_hessian_of_a_function_equals_grad_of_its_grad():
    h = srcgrad.hessian(nc.cubic, wrt=("x", "y"))(*POINT)
    by_nesting = srcgrad.grad(nc.slope_sum, wrt=("x", "y"))(*POINT)
    assert by_nesting == pytest.approx((h[0][0] + 2 * h[1][0], h[0][1] + 2 * h[1][1]), rel=1e-12)


def test_inner_gradients_of_loops():
    """(An inner reverse-mode grad of code with loops is computed by tangent sweeps: same values.)"""
    for f in (nc.uses_looping_fwd, nc.uses_looping_rev):
        assert srcgrad.grad(f)(1.5) == pytest.approx(1.0 + 4 * 1.5, rel=1e-14)    # d/dx (1 + 2x)x
        assert srcgrad.grad(f, mode="fwd")(1.5) == pytest.approx(1.0 + 4 * 1.5, rel=1e-14)
    with pytest.raises(srcgrad.SrcgradError, match="unpack it into 2 names"):
        srcgrad.grad(nc.unpacks_wrongly)(*POINT)
