"""What Numba compiles: whole-array elementwise statements as element loops
where the operands' shapes agree when they run (NumPy's broadcasting
otherwise, in the array expression as generated). The rewrite is checked on
text; the programs' gradients match finite differences whichever branch
runs, and are bit-identical to the array expressions'."""
import numpy as np
import pytest

import srcgrad
from srcgrad import element_loops
from tests.fd import assert_grad_matches_fd


def relu_softmax(W1, b1, W2, b2, X, Y):
    h = np.maximum(X @ W1 + b1, 0.0)
    logits = h @ W2 + b2
    m = np.max(logits, axis=1, keepdims=True)
    z = logits - m
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0] + 0.1 * np.sum(np.tanh(h) * h)


def scaled(A, s, v):
    # s: (n, 1) or (n, k), v: (k,) or (1,) -- the shapes decide at run time which branch runs
    B = A * s + v
    C = np.sin(B) * A - B / (1.0 + A * A)
    return np.sum(C * C) + np.sum(np.exp(-B) * s)


def _mlp_args(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((7, 4))
    Y = np.eye(3)[rng.integers(0, 3, 7)]
    return (0.5 * rng.standard_normal((4, 5)), 0.1 * rng.standard_normal(5),
            0.5 * rng.standard_normal((5, 3)), 0.1 * rng.standard_normal(3), X, Y)


def test_mlp_gradient_matches_fd():
    args = _mlp_args()
    wrt = ("W1", "b1", "W2", "b2")
    grads = srcgrad.grad(relu_softmax, wrt=wrt)(*args)
    assert_grad_matches_fd(relu_softmax, args, wrt, grads)


@pytest.mark.parametrize("a_shape, s_shape, v_shape", [
    ((6, 4), (6, 4), (4,)), ((6, 4), (6, 1), (4,)), ((6, 4), (6, 4), (1,)), ((6, 4), (1, 4), (1,)),
    ((1, 4), (6, 4), (4,)), ((6, 1), (1, 4), (1,)), ((0, 4), (0, 1), (4,)), ((1, 4), (0, 4), (1,))])
def test_broadcast_shapes_match_fd(a_shape, s_shape, v_shape):
    # each operand stretched to the broadcast shape: the arrays themselves where they fit, copies where
    # a length-1 axis meets a longer one, empty where one is 0 (NumPy's rule)
    rng = np.random.default_rng(1)
    args = (rng.standard_normal(a_shape), rng.standard_normal(s_shape), rng.standard_normal(v_shape))
    value, grads = srcgrad.value_and_grad(scaled, wrt=("A", "s", "v"))(*args)
    assert value == pytest.approx(scaled(*args), rel=1e-12, abs=1e-12)
    assert [g.shape for g in grads] == [a_shape, s_shape, v_shape]
    if all(a.size for a in args):
        assert_grad_matches_fd(scaled, args, ("A", "s", "v"), grads)
    else:
        assert all(not np.any(g) for g in grads)


def test_shapes_that_do_not_broadcast_are_numpys_error():
    args = (np.ones((6, 4)), np.ones((5, 4)), np.ones(4))
    with pytest.raises((ValueError, srcgrad.SrcgradError)) as info:
        srcgrad.grad(scaled, wrt=("A", "s", "v"))(*args)
    assert "broadcast" in str(info.value) or "shape" in str(info.value)


def test_loops_give_the_array_expressions_bits(monkeypatch):
    args = _mlp_args(2)
    wrt = ("W1", "b1", "W2", "b2")
    looped = srcgrad.value_and_grad(relu_softmax, wrt=wrt)
    value, grads = looped(*args)
    module = looped.__srcgrad__.compiled[next(iter(looped.__srcgrad__.compiled))].module_source
    assert "for ew_j in range(" in module
    monkeypatch.setattr(element_loops, "run", lambda source, *rest: source)
    plain = srcgrad.value_and_grad(relu_softmax, wrt=wrt)
    plain_value, plain_grads = plain(*args)
    plain_module = plain.__srcgrad__.compiled[next(iter(plain.__srcgrad__.compiled))].module_source
    assert "ew_j" not in plain_module
    assert value == plain_value
    for a, b in zip(grads, plain_grads):
        assert np.array_equal(a, b)


RANKS = {"a": 2, "b": 1, "c": 2, "d_a": 2, "m": 2, "x": 1}
UNITS = {"m": frozenset({1})}
ARRAYS = frozenset(RANKS) | {"k"}          # k: an int array


def _run(line):
    return element_loops.run(line, RANKS, UNITS, ARRAYS).split("\n")


def test_bias_add_broadcasts_by_stretching_then_loops():
    out = _run("    c = a + b  # sum")
    assert out == [
        "    ew_n0 = a.shape[0]",
        "    ew_n1 = a.shape[1]",
        "    ew_n1 = ew_n1 if b.shape[0] == 1 else b.shape[0]",      # NumPy's rule for a length-1 axis
        "    ew_s = stretch2(a, ew_n0, ew_n1)",                       # (the array itself when it fits)
        "    ew_s2 = stretch1(b, ew_n1)",
        "    c = np.empty((ew_n0, ew_n1))",
        "    for ew_i in range(ew_n0):",
        "        for ew_j in range(ew_n1):",
        "            c[np.uint64(ew_i), np.uint64(ew_j)] = ew_s[np.uint64(ew_i), np.uint64(ew_j)] + ew_s2[np.uint64(ew_j)]",
    ]


def test_single_column_operand_is_read_at_zero():
    out = _run("c = a - m")
    assert "ew_s2 = stretch2(m, ew_n0, 1)" in out
    assert out[-1].endswith("= ew_s[np.uint64(ew_i), np.uint64(ew_j)] - ew_s2[np.uint64(ew_i), 0]")


def test_in_place_update_stretches_to_the_target_and_ternary_is_an_if():
    out = _run("d_a += where_elementwise(a >= 0.0, c, 0.0)")
    assert sorted(out[:2]) == ["ew_s = stretch2(c, d_a.shape[0], d_a.shape[1])",
                               "ew_s2 = stretch2(a, d_a.shape[0], d_a.shape[1])"]
    assert out[2] == "for ew_i in range(d_a.shape[0]):"
    assert out[4].strip() == "d_a[np.uint64(ew_i), np.uint64(ew_j)] += ew_s[np.uint64(ew_i), np.uint64(ew_j)] " \
                             "if ew_s2[np.uint64(ew_i), np.uint64(ew_j)] >= 0.0 else 0.0"


def test_a_bare_name_is_left_alone():
    assert _run("d_a += c") == ["d_a += c"]        # one operand: Numba's own loop measured as fast
    assert _run("d_a = c") == ["d_a = c"]          # a binding: the same array, not a copy


def test_a_statement_reading_its_target_writes_a_fresh_array():
    out = _run("x = np.exp(x) * 2.0")
    assert out[1] == "ew_out = np.empty((ew_n0,))"
    assert out[-2].strip() == "ew_out[np.uint64(ew_j)] = np.exp(x[np.uint64(ew_j)]) * 2.0"
    assert out[-1] == "x = ew_out"


def test_unbroadcast_inside_is_bound_before_and_argument_loops_feed_calls():
    out = _run("d_a += ub22(c, m.shape) * a")
    assert out[0] == "ew_a = ub22(c, m.shape)"
    assert out[1] == "ew_s = stretch2(ew_a, d_a.shape[0], 1)"       # m's single column
    assert "ew_s[np.uint64(ew_i), 0] * ew_s2[np.uint64(ew_i), np.uint64(ew_j)]" in out[-1]
    out = _run("d_a += -ub22(a * c, m.shape) * a")      # the unbroadcast's own argument looped first
    assert "ew_a2 = ub22(ew_a, m.shape)" in out
    assert "ew_a[np.uint64(ew_i), np.uint64(ew_j)] = ew_s[np.uint64(ew_i), np.uint64(ew_j)] * " \
           "ew_s2[np.uint64(ew_i), np.uint64(ew_j)]" in "\n".join(out)
    out = _run("x = ub21(a * c, x.shape)")
    assert out[-1] == "x = ub21(ew_a, x.shape)"
    assert "ew_a[np.uint64(ew_i), np.uint64(ew_j)] = ew_s[np.uint64(ew_i), np.uint64(ew_j)] * " \
           "ew_s2[np.uint64(ew_i), np.uint64(ew_j)]" in "\n".join(out)


@pytest.mark.parametrize("line", [
    "c = a @ a",                    # a product: BLAS
    "c = a.T * 2.0",                # a view
    "c = a[0] * b",                 # a subscript
    "c = np.where(k > 0, a, 0.0)",  # an int array; np.where is no ufunc
    "c = a * k",
    "s = t * 2.0",                  # scalars
    "c = ub22(a, c.shape)",         # a call alone
    "d_a += push_array(a * 2.0)",   # no ub atom; (push_array's argument is looped, the call stays)
])
def test_left_alone_or_only_arguments(line):
    out = _run(line)
    if line.startswith("d_a += push"):
        assert out[-1] == "d_a += push_array(ew_a)"
    else:
        assert out == [line]


def test_fresh_names_avoid_the_programs():
    out = element_loops.run("ew_i = 1\nc = a * 2.0", RANKS, UNITS, ARRAYS).split("\n")
    assert "for ew_i2 in range(ew_n0):" in out
