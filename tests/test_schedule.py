"""The fused schedule (forward and backward of each iteration together) is
chosen exactly when iterations only add to sums, and gives the same gradients
as central differences."""
import numpy as np
import pytest

import srcgrad
from fd import assert_grad_matches_fd
from schedule import fused

RNG = np.random.default_rng(3)
X = RNG.standard_normal((7, 3))
y = RNG.uniform(size=7)
x = RNG.standard_normal(6)

CASES = [
    (fused.mean_sq, (RNG.standard_normal(3), 0.2, X, y), ("w", "b"), True),
    (fused.mean_len, (0.7, x), ("w",), True),
    (fused.log_of_sum, (0.3, x), ("w",), False),
    (fused.carried, (0.4, x), ("w",), False),
    (fused.branchy, (0.9, -0.1, x), ("w", "b"), True),
    (fused.before_and_after, (0.6, x), ("w",), True),
    (fused.sum_read_by_while, (0.6, np.abs(x)), ("w",), False),
    (fused.restored_sum, (1.0, 2.0, np.array([0.1, 0.2, 0.3, 0.4])), ("x", "y", "v"), True),
]
MARK = "each one's forward and backward sweep run together"


@pytest.mark.parametrize("f, args, wrt, expect_fused", CASES, ids=[c[0].__name__ for c in CASES])
def test_fused_schedule_choice_and_gradient(f, args, wrt, expect_fused):
    g = srcgrad.grad(f, wrt=wrt)
    grads = g(*args)
    assert (MARK in srcgrad.source(g, *args)) == expect_fused
    assert_grad_matches_fd(f, args, wrt, grads)
    value, _ = srcgrad.value_and_grad(f, wrt=wrt)(*args)
    assert value == pytest.approx(f(*args), rel=1e-12)


from schedule import carried  # noqa: E402

JACOBIAN = "the step's Jacobian applied to the entering δ's"
CARRIED = [
    (carried.euler_lv, (1.1, 0.4, 1.5, 0.8, 0.01, 40), ("alpha", "beta", "x0", "y0")),
    (carried.pendulum, (0.9, 0.1, 9.81, 0.01, 50), ("theta0", "omega0", "g")),
    (carried.driven, (0.7, RNG.standard_normal(12), 12), ("a", "u")),
    (carried.halving, (0.6,), ("a",)),
]


@pytest.mark.parametrize("f, args, wrt", CARRIED, ids=[c[0].__name__ for c in CARRIED])
def test_carried_state_loops_are_preaccumulated(f, args, wrt):
    g = srcgrad.grad(f, wrt=wrt)
    assert JACOBIAN in srcgrad.source(g, *args)
    assert_grad_matches_fd(f, args, wrt, g(*args))
