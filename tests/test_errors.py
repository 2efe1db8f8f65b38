"""Unsupported constructs raise srcgrad.SrcgradError pointing at the right line.

Every offending line in this file carries the marker comment `# <- error here`;
expected line numbers are computed from it with inspect, never hard-coded.
The error may be raised either by srcgrad.grad(...) or by the first call of
the gradient (the contract does not fix when), so each check covers both.
"""

import inspect
import math
import operator
import os

import numpy as np
import pytest

import srcgrad
from corpus.scalars import sigmoid as _other_module_sigmoid

MARKER = "# <- error here"


def marker_lines(*funcs):
    out = []
    for f in funcs:
        lines, start = inspect.getsourcelines(f)
        out += [start + i for i, line in enumerate(lines) if MARKER in line]
    assert out, f"no marker in {[f.__name__ for f in funcs]}"
    return out


def build_and_call(f, args, wrt=0):
    """Raise whatever srcgrad raises, at build time or first call."""
    g = srcgrad.grad(f, wrt=wrt)
    g(*args)


# --- syntactic constructs -------------------------------------------------------

def uses_try(x):
    y = x * 2.0
    try:  # <- error here
        y = y / x
    except ZeroDivisionError:
        y = 0.0
    return y


def uses_with(x):
    y = x * 2.0
    with np.errstate(all="ignore"):  # <- error here
        y = y * x
    return y


def uses_yield(x):
    y = x * 2.0
    yield y  # <- error here


def uses_lambda(x):
    sq = lambda t: t * t  # <- error here  # noqa: E731
    return sq(x)


def uses_nested_def(x):
    y = x + 1.0

    def inner(t):  # <- error here
        return t * t
    return inner(y)


SCALE = 2.0


def uses_global(x):
    global SCALE  # <- error here
    return x * SCALE


def uses_print(x):
    y = x * x
    print(y)  # <- error here
    return y


def uses_list_literal(x):
    y = x * 3.0
    a = [x, y]  # <- error here
    return a[0] + a[1]


def uses_dict_literal(x):
    d = {"a": x}  # <- error here
    return d["a"] * 2.0


def uses_set_literal(x):
    s = {x, 2.0}  # <- error here
    return x * len(s)


def uses_list_comprehension(x):
    y = x * 0.5
    a = [y * i for i in range(3)]  # <- error here
    return a[1]


def uses_dict_comprehension(x):
    d = {i: x * i for i in range(3)}  # <- error here
    return d[1]


def uses_generator_expression(x):
    return x + sum(x * i for i in range(3))  # <- error here


def uses_kwargs(x, **options):  # <- error here
    return x * 2.0


def uses_varargs(x, *rest):  # <- error here
    return x * 2.0


def calls_unknown_math(x):
    y = x + 1.0
    return math.ldexp(y, 2)  # <- error here


def calls_unknown_numpy(x):
    y = x + 1.0
    return np.sinc(y)  # <- error here


def calls_operator_module(x):
    y = x + 1.0
    return operator.mul(y, x)  # <- error here


def calls_other_module_function(x):
    y = x + 1.0
    return _other_module_sigmoid(y)  # <- error here


def returns_tuple(x, y):
    z = x * y
    return z, x + y  # <- error here


def _helper_with_try(t):
    try:  # <- error here
        return t * 2.0
    except ValueError:
        return 0.0


def error_inside_helper(x):
    return _helper_with_try(x) + 1.0


WEIGHTS = np.array([0.5, 2.0])


def indexes_global_array(x):
    return WEIGHTS[1] * x  # <- error here


def returns_tuple_after_loop(x):
    while x < 2.0:
        x = x * 1.5
    return x, x  # <- error here


SYNTAX_CASES = [
    # (function, args, wrt, keyword expected in err.construct or str(err) -- or None)
    (uses_try, (1.5,), 0, "try"),
    (uses_with, (1.5,), 0, "with"),
    (uses_yield, (1.5,), 0, "yield"),
    (uses_lambda, (1.5,), 0, "lambda"),
    (uses_nested_def, (1.5,), 0, None),
    (uses_global, (1.5,), 0, "global"),
    (uses_print, (1.5,), 0, "print"),
    (uses_list_literal, (1.5,), 0, None),
    (uses_dict_literal, (1.5,), 0, None),
    (uses_set_literal, (1.5,), 0, None),
    (uses_list_comprehension, (1.5,), 0, None),
    (uses_dict_comprehension, (1.5,), 0, None),
    (uses_generator_expression, (1.5,), 0, None),
    (uses_kwargs, (1.5,), 0, None),
    (uses_varargs, (1.5,), 0, None),
    (calls_unknown_math, (1.5,), 0, None),
    (calls_unknown_numpy, (1.5,), 0, None),
    (calls_operator_module, (1.5,), 0, None),
    (returns_tuple, (1.5, 0.5), 0, None),
    (indexes_global_array, (1.5,), 0, "global array"),
    (returns_tuple_after_loop, (1.5,), 0, "tuple"),
]


def _marker_source_func(f):
    return _helper_with_try if f is error_inside_helper else f


@pytest.mark.parametrize("f,args,wrt,keyword", SYNTAX_CASES + [(error_inside_helper, (1.5,), 0, "try")],
                         ids=[c[0].__name__ for c in SYNTAX_CASES] + ["error_inside_helper"])
def test_unsupported_construct_reports_line(f, args, wrt, keyword):
    (expected_line,) = marker_lines(_marker_source_func(f))
    with pytest.raises(srcgrad.SrcgradError) as info:
        build_and_call(f, args, wrt)
    err = info.value
    assert err.lineno == expected_line, (
        f"{f.__name__}: lineno {err.lineno}, expected {expected_line} ({str(err)!r})")
    assert err.filename is not None
    assert os.path.abspath(err.filename) == os.path.abspath(__file__)
    assert f"{os.path.basename(__file__)}:{expected_line}" in str(err)
    assert isinstance(err.construct, str) and err.construct
    assert err.hint is None or isinstance(err.hint, str)
    if keyword is not None:
        assert keyword in (err.construct + " " + str(err)).lower()


def test_function_from_another_module():
    """The contract allows same-module helpers; a plain function from another module
    must either be rejected at the call line or be differentiated correctly."""
    (line,) = marker_lines(calls_other_module_function)
    try:
        got = srcgrad.grad(calls_other_module_function)(1.5)
    except srcgrad.SrcgradError as err:
        assert err.lineno == line
    else:
        s = 1.0 / (1.0 + math.exp(-2.5))
        assert math.isclose(got, s * (1.0 - s), rel_tol=1e-12)


def test_srcgrad_error_is_an_exception():
    assert issubclass(srcgrad.SrcgradError, Exception)


# --- recursion -----------------------------------------------------------------

def rec_direct(x, n):
    if n <= 0:
        return x
    return x * rec_direct(x, n - 1)  # <- error here


def _mut_a(x, n):
    if n <= 0:
        return x
    return _mut_b(x, n - 1) * 2.0  # <- error here


def _mut_b(x, n):
    return _mut_a(x, n - 1) + x  # <- error here


def rec_mutual(x, n):
    y = x * 0.5
    return _mut_a(y, n) + 1.0  # <- error here


def test_direct_recursion():
    (line,) = marker_lines(rec_direct)
    with pytest.raises(srcgrad.SrcgradError) as info:
        build_and_call(rec_direct, (1.5, 3))
    assert info.value.lineno == line


def test_mutual_recursion_via_helpers():
    lines = marker_lines(rec_mutual, _mut_a, _mut_b)
    with pytest.raises(srcgrad.SrcgradError) as info:
        build_and_call(rec_mutual, (1.5, 3))
    assert info.value.lineno in lines, f"lineno {info.value.lineno} not one of the calls {lines}"


# --- type-level errors -----------------------------------------------------------

def returns_array(x):
    y = x.copy()
    for i in range(len(y)):
        y[i] = y[i] * 2.0
    return y  # <- error here


def sum_sq(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * x[i]
    return s


def uses_constant_array(x, T):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * T[i, 0, 0]
    return s


def _lines_of(f):
    lines, start = inspect.getsourcelines(f)
    return range(start, start + len(lines))


def test_returning_an_array():
    with pytest.raises(srcgrad.SrcgradError) as info:
        build_and_call(returns_array, (np.array([1.0, 2.0, 3.0]),))
    lineno = info.value.lineno
    assert lineno is None or lineno in _lines_of(returns_array)


def test_int_array_as_wrt():
    with pytest.raises(srcgrad.SrcgradError):
        build_and_call(sum_sq, (np.arange(4),))


def test_three_d_array_as_wrt():
    with pytest.raises(srcgrad.SrcgradError):
        build_and_call(sum_sq, (np.ones((2, 2, 2)),))


def test_three_d_array_as_constant():
    with pytest.raises(srcgrad.SrcgradError):
        build_and_call(uses_constant_array, (np.ones(2), np.ones((2, 2, 2))), wrt="x")


@pytest.mark.parametrize("wrt", ["zz", ("x", "nope"), 5, -7], ids=["name", "tuple", "int", "negative"])
def test_wrt_not_a_parameter(wrt):
    with pytest.raises(srcgrad.SrcgradError):
        build_and_call(sum_sq, (np.array([1.0, 2.0]),), wrt=wrt)


# --- constructs at the edge of the subset: either supported correctly or rejected
# --- with the right line, never a silently wrong gradient -----------------------------

def array_alias(x):
    a = x.copy()
    b = a  # <- error here
    for i in range(len(b)):
        b[i] = b[i] * b[i]
    s = 0.0
    for i in range(len(a)):
        s += a[i]
    return s


def element_swap_sort(x, w):
    a = x.copy()
    n = len(a)
    for k in range(n):
        for j in range(n - 1 - k):
            if a[j] > a[j + 1]:
                a[j], a[j + 1] = a[j + 1], a[j]  # <- error here
    s = 0.0
    for i in range(n):
        s += w[i] * a[i]
    return s


def ping_pong_buffers(u0, alpha, steps):
    u = u0.copy()
    un = np.zeros_like(u0)
    n = len(u)
    for t in range(steps):
        for i in range(1, n - 1):
            un[i] = u[i] + alpha * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        un[0] = u[0]
        un[n - 1] = u[n - 1]
        u, un = un, u  # <- error here
    s = 0.0
    for i in range(n):
        s += u[i] * u[i] * (1.0 + 0.1 * i)
    return s


def _edge_grads():
    x = np.array([0.5, -1.0, 2.0, 0.3, 1.2])
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    order = np.argsort(x)
    sort_grad = np.zeros(5)
    sort_grad[order] = w
    return [
        (array_alias, (np.array([0.5, -1.0, 2.0]),), "x", lambda: 2.0 * np.array([0.5, -1.0, 2.0])),
        (element_swap_sort, (x, w), "x", lambda: sort_grad),
        (ping_pong_buffers, (np.array([0.0, 1.0, 0.5, 2.0, -1.0, 0.0]), 0.2, 5), "alpha", None),
    ]


@pytest.mark.parametrize("f,args,wrt,expect", _edge_grads(), ids=lambda v: getattr(v, "__name__", ""))
def test_edge_construct_supported_or_rejected(f, args, wrt, expect):
    from fd import assert_grad_matches_fd, copy_args

    (line,) = marker_lines(f)
    try:
        got = srcgrad.grad(f, wrt=wrt)(*copy_args(args))
    except srcgrad.SrcgradError as err:
        assert err.lineno == line, f"lineno {err.lineno}, expected {line}: {err}"
        return
    assert_grad_matches_fd(f, args, wrt, got)
    if expect is not None:
        np.testing.assert_allclose(got, expect(), rtol=1e-12, atol=1e-14)


def _offset_reads(x, n):
    s = 0.0
    for k in range(n):
        s += x[k + 2] * x[k]      # a computed index: checked before the read
    return s


def test_check_of_an_offset_index():
    g = srcgrad.grad(_offset_reads, wrt="x")
    x = np.arange(1.0, 6.0)
    got = g(x, 3)
    want = np.zeros(5)
    want[2:5] += x[0:3]
    want[0:3] += x[2:5]
    assert np.array_equal(got, want)
    with pytest.raises(srcgrad.SrcgradError, match="out of range") as info:
        g(x, 4)                   # k + 2 reaches 5
    assert info.value.lineno == _offset_reads.__code__.co_firstlineno + 3


def _triangle_reads(x, n):
    s = 0.0
    for j in range(n):
        for r in range(j - 1, n):        # starts at -1 (the last element, as in Python) when j = 0
            s += x[r] * x[j]             # one check before the inner loop covers every r
    return s


def test_check_of_a_loop_from_a_computed_start():
    from fd import assert_grad_matches_fd
    g = srcgrad.grad(_triangle_reads, wrt="x")
    x = np.array([0.5, -1.5, 2.0, 0.25])
    assert_grad_matches_fd(_triangle_reads, (x, 4), "x", g(x, 4))
    with pytest.raises(srcgrad.SrcgradError, match="out of range") as info:
        g(x, 5)                          # r reaches 4
    assert info.value.lineno == _triangle_reads.__code__.co_firstlineno + 4


def _vector_in_loop(A, w):
    s = 0.0
    for k in range(A.shape[0]):
        v = A[k] * w                      # kept in a buffer: lengths must agree
        s += np.sum(v * v) + v[0]
    return s


def test_length_one_vector_in_a_loop_is_reported_at_its_line():
    g = srcgrad.grad(_vector_in_loop, wrt="w")
    A = np.arange(12.0).reshape(3, 4) / 10.0
    w = np.array([0.5, -1.0, 2.0, 0.25])
    from fd import assert_grad_matches_fd
    assert_grad_matches_fd(_vector_in_loop, (A, w), "w", g(A, w))
    with pytest.raises(srcgrad.SrcgradError, match="broadcast") as info:
        g(A, np.ones(1))
    assert f"test_errors.py:{_vector_in_loop.__code__.co_firstlineno + 3}" in str(info.value)
