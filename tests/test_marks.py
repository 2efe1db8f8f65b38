"""custom_rule, nondifferentiable and stop_gradient, honoured by reverse mode,
forward mode and second derivatives."""
import math

import numpy as np
import pytest

import marks_cases as mc
import srcgrad


def _central(f, args, k, h=1e-6):
    up, down = list(args), list(args)
    up[k] += h
    down[k] -= h
    return (f(*up) - f(*down)) / (2 * h)


def test_custom_rule_in_reverse_forward_and_second_order():
    args = (0.7, 1.3)
    grads = srcgrad.grad(mc.uses_softplus, wrt=("w", "x"))(*args)
    for k, g in enumerate(grads):
        assert g == pytest.approx(_central(mc.uses_softplus, args, k), rel=1e-7)
    value, tangent = srcgrad.jvp(mc.uses_softplus, wrt=("w", "x"))(*args, 0.4, -0.3)
    assert value == pytest.approx(mc.uses_softplus(*args), rel=1e-15)
    assert tangent == pytest.approx(0.4 * grads[0] - 0.3 * grads[1], rel=1e-12)
    # d²/dw² of w·softplus(w x) = 2x σ(wx) + w x² σ(wx)(1 − σ(wx)): the rule's δ differentiated again
    w, x = args
    s = 1.0 / (1.0 + math.exp(-w * x))
    assert srcgrad.hessian(mc.uses_softplus, wrt="w")(*args) == pytest.approx(2 * x * s + w * x * x * s * (1 - s),
                                                                              rel=1e-12)


def test_custom_rule_with_its_own_tangent():
    grads = srcgrad.grad(mc.uses_capped, wrt=("x", "c"))(0.5, 1.0)
    assert grads == pytest.approx((3 * 0.25, 0.0), rel=1e-15)          # x³ inside the cap
    jvp = srcgrad.jvp(mc.uses_capped, wrt=("x", "c"))
    assert jvp(0.5, 1.0, 1.0, 0.0) == pytest.approx((0.125, 0.75), rel=1e-15)
    assert jvp(1.5, 1.0, 0.0, 1.0) == pytest.approx((1.5, 1.5), rel=1e-15)      # c·x above it: d/dc = x


def test_the_users_rule_is_the_one_used():
    assert srcgrad.grad(mc.uses_wrong)(2.0) == 4.0
    assert srcgrad.jvp(mc.uses_wrong)(2.0, 1.0) == (6.0, 4.0)


def test_nondifferentiable_helper_is_a_constant():
    for x in (1.0, -0.6, 2.5):
        assert srcgrad.grad(mc.descent)(x) == pytest.approx(mc.descent_reference(x), rel=1e-13)
        assert srcgrad.jvp(mc.descent)(x, 1.0)[1] == pytest.approx(mc.descent_reference(x), rel=1e-13)


def test_stop_gradient_in_both_modes_and_on_arrays():
    x, y, v = 2.0, 3.0, np.array([0.5, -1.0, 2.0])
    # a = c1·x with c1 = x·y constant; b = Σ(c2)·y with c2 = v·x constant
    want = (x * y, float(np.sum(v * x)))
    assert srcgrad.grad(mc.stopped, wrt=("x", "y"))(x, y, v) == pytest.approx(want, rel=1e-15)
    assert srcgrad.jvp(mc.stopped, wrt=("x", "y"))(x, y, v, 1.0, 0.0)[1] == pytest.approx(want[0], rel=1e-15)
    gv = srcgrad.grad(mc.stopped, wrt="v")(x, y, v)
    np.testing.assert_array_equal(gv, np.zeros(3))
    assert srcgrad.hessian(mc.stopped, wrt=("x", "y"))(x, y, v) == ((0.0, 0.0), (0.0, 0.0))
    assert srcgrad.stop_gradient(v) is v        # plain Python: x itself


def test_bad_rules_are_refused_where_they_are_written():
    rule = srcgrad.custom_rule(mc.softplus.func)
    with pytest.raises(srcgrad.SrcgradError, match="takes"):
        rule.defvjp(lambda d, z, x: d)
    with pytest.raises(srcgrad.SrcgradError, match="single `return`"):
        rule.defvjp(_two_statements)
    with pytest.raises(srcgrad.SrcgradError, match="calls helper"):
        rule.defvjp(_calls_a_helper)
    with pytest.raises(srcgrad.SrcgradError, match="no vjp"):
        srcgrad.grad(_uses_rule_without_vjp)(1.0)


def _two_statements(d_z, z, x):
    y = d_z * z
    return y


def helper(x):
    return x


def _calls_a_helper(d_z, z, x):
    return d_z * helper(x)


@srcgrad.custom_rule
def _no_vjp(x):
    return x


def _uses_rule_without_vjp(x):
    return _no_vjp(x) * x
