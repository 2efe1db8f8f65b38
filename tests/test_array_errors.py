"""Bad input to array-level NumPy code raises srcgrad.SrcgradError, never a Numba
traceback, a NumPy error or a wrong gradient.

Same conventions as test_errors.py: every offending line carries the marker
comment `# <- error here` and expected line numbers are computed from it with
inspect. The contract does not fix *when* an error is raised (by
srcgrad.grad(...) or by the first call of the gradient), so every check builds
and calls. Shape errors can only be found when the shapes are known, i.e. at
call time; they must still name the line of the offending operation, not the
`def` line, and must not be the generic "numba compilation" fallback.
"""

import inspect
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import srcgrad
from srcgrad import SrcgradError

MARKER = "# <- error here"
THIS_FILE = os.path.abspath(__file__)


def marker_lines(f):
    lines, start = inspect.getsourcelines(f)
    out = [start + i for i, line in enumerate(lines) if MARKER in line]
    assert out, f"no marker in {f.__name__}"
    return out


def def_line(f):
    return inspect.getsourcelines(f)[1]


def build_and_call(f, args, wrt=0, api=srcgrad.grad):
    """Raise whatever srcgrad raises, at build time or first call."""
    g = api(f, wrt=wrt)
    return g(*args)


def raises_srcgrad_error(f, args, wrt=0, api=srcgrad.grad):
    with pytest.raises(SrcgradError) as info:
        build_and_call(f, args, wrt, api)
    err = info.value
    assert err.construct != "numba compilation", f"{f.__name__}: Numba failure passed through: {err}"
    return err


def assert_points_at_marker(err, f):
    lines = marker_lines(f)
    assert err.lineno in lines, f"{f.__name__}: lineno {err.lineno}, expected one of {lines}: {str(err)!r}"
    assert err.filename is not None and os.path.abspath(err.filename) == THIS_FILE, \
        f"{f.__name__}: filename {err.filename!r}"
    assert f"{os.path.basename(THIS_FILE)}:{err.lineno}" in str(err), str(err)


def _r(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


# --- shape mismatches (known only when the gradient is called) ------------------------

def matvec_mismatch(A, x):
    h = np.tanh(x)
    y = A @ h  # <- error here
    return np.sum(y * y)


def matmul_mismatch(A, B):
    C = np.matmul(A, B)  # <- error here
    return np.sum(C)


def dot_mismatch(u, v):
    s = np.dot(u, v)  # <- error here
    return s * s


def matmat_operator_mismatch(A, B):
    S = A * 2.0
    P = S @ B  # <- error here
    return np.sum(np.exp(P))


def broadcast_vectors_mismatch(x, y):
    r = x * 2.0 + y  # <- error here
    return np.sum(r ** 2)


def bias_wrong_length(X, b):
    Z = X @ np.ones((X.shape[1], X.shape[1]))
    H = np.tanh(Z + b)  # <- error here
    return np.sum(H)


def outer_broadcast_mismatch(x, Y):
    P = x[:, None] * Y  # <- error here
    return np.sum(P)


def rnn_state_mismatch(W, U, h0, xs):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])  # <- error here
    return np.sum(h)


def slice_write_mismatch(x):
    z = np.zeros(x.shape[0] + 2)
    z[1:] = x  # <- error here
    return np.sum(z * z)


def reshape_mismatch(theta):
    W = theta.reshape((2, 3))  # <- error here
    return np.sum(W @ np.ones(3))


SHAPE_CASES = [
    # (function, args, wrt, words of which at least one must appear in the message)
    (matvec_mismatch, (_r(0, 3, 4), _r(1, 3)), ("A", "x"), ("@", "matmul", "shape")),
    (matmul_mismatch, (_r(2, 3, 4), _r(3, 3, 4)), ("A", "B"), ("matmul", "shape")),
    (dot_mismatch, (_r(4, 3), _r(5, 4)), ("u", "v"), ("dot", "shape")),
    (matmat_operator_mismatch, (_r(6, 2, 3), _r(7, 2, 3)), "A", ("@", "matmul", "shape")),
    (broadcast_vectors_mismatch, (_r(8, 3), _r(9, 4)), ("x", "y"), ("broadcast", "shape")),
    (bias_wrong_length, (_r(10, 4, 3), _r(11, 4)), ("X", "b"), ("broadcast", "shape")),
    (outer_broadcast_mismatch, (_r(12, 4), _r(13, 3, 4)), "x", ("broadcast", "shape")),
    (rnn_state_mismatch, (_r(14, 4, 4), _r(15, 4, 2), _r(16, 3), _r(17, 5, 2)), ("W", "U"),
     ("@", "matmul", "shape")),
    (slice_write_mismatch, (_r(18, 4),), "x", ("shape", "slice", "length")),
    (reshape_mismatch, (_r(19, 5),), "theta", ("reshape", "shape", "size")),
]


@pytest.mark.parametrize("f,args,wrt,words", SHAPE_CASES, ids=[c[0].__name__ for c in SHAPE_CASES])
def test_shape_mismatch_names_the_line(f, args, wrt, words):
    err = raises_srcgrad_error(f, args, wrt)
    assert_points_at_marker(err, f)
    text = (str(err) + " " + (err.construct or "")).lower()
    assert any(w in text for w in words), f"{f.__name__}: none of {words} in {str(err)!r}"
    # bad argument shapes are bad input, not code srcgrad cannot differentiate
    assert "unsupported construct" not in str(err), f"{f.__name__}: {str(err)!r}"


@pytest.mark.parametrize("f,args,wrt,words", SHAPE_CASES[:2] + SHAPE_CASES[4:5],
                         ids=[c[0].__name__ for c in SHAPE_CASES[:2] + SHAPE_CASES[4:5]])
def test_shape_mismatch_value_and_grad(f, args, wrt, words):
    err = raises_srcgrad_error(f, args, wrt, api=srcgrad.value_and_grad)
    assert_points_at_marker(err, f)


def matvec_loss(A, x):
    y = A @ x  # <- error here
    return np.sum(np.tanh(y))


def test_shape_check_survives_a_good_call():
    """The same compiled gradient (same ranks and dtypes) must still check shapes
    after it has run on good ones: a shape is no part of the cache key."""
    g = srcgrad.grad(matvec_loss, wrt=("A", "x"))
    A, x = _r(20, 3, 4), _r(21, 4)
    gA, gx = g(A, x)
    d = 1.0 - np.tanh(A @ x) ** 2
    np.testing.assert_allclose(gA, np.outer(d, x), rtol=1e-12)
    np.testing.assert_allclose(gx, A.T @ d, rtol=1e-12)
    with pytest.raises(SrcgradError) as info:
        g(_r(22, 3, 4), _r(23, 5))
    assert info.value.construct != "numba compilation", str(info.value)
    assert_points_at_marker(info.value, matvec_loss)
    # and it still works afterwards
    gA2, _ = g(A, x)
    np.testing.assert_allclose(gA2, gA, rtol=0, atol=0)


def test_shape_mismatch_in_a_helper_names_the_helper_line():
    err = raises_srcgrad_error(calls_layer_helper, (_r(24, 3, 4), _r(25, 3)), ("W", "x"))
    assert_points_at_marker(err, _layer_helper)


def _layer_helper(W, x):
    return np.tanh(W @ x)  # <- error here


def calls_layer_helper(W, x):
    h = _layer_helper(W, x)
    return np.sum(h * h)


# --- argument kinds: integer arrays to differentiate, 3-D arrays ------------------------

def weighted_energy(weights, X):
    return np.sum((X @ weights) ** 2)


def matrix_energy(coeffs, x):
    return np.sum(np.tanh(coeffs @ x))


def test_int_vector_as_wrt():
    err = raises_srcgrad_error(weighted_energy, (np.arange(3), _r(26, 4, 3)), "weights")
    assert "weights" in str(err), str(err)
    assert "int" in str(err).lower(), str(err)


def test_int_matrix_as_wrt():
    err = raises_srcgrad_error(matrix_energy, (np.arange(6).reshape(2, 3), _r(27, 3)), "coeffs")
    assert "coeffs" in str(err), str(err)
    assert "int" in str(err).lower(), str(err)


def count_weighted(weights, counts):
    return np.sum(counts * weights ** 2)


def test_int_array_as_constant_is_fine():
    """An int array is fine where it is not differentiated (labels, counts)."""
    w = np.array([0.1, -0.2, 0.3])
    counts = np.array([3, 1, 2])
    got = srcgrad.grad(count_weighted, wrt="weights")(w, counts)
    np.testing.assert_allclose(got, 2.0 * counts * w, rtol=1e-12)
    err = raises_srcgrad_error(count_weighted, (w, counts), "counts")
    assert "counts" in str(err), str(err)


def cube_energy(cube):
    return np.sum(cube * cube)


def uses_cube_as_constant(x, cube):
    return np.sum(x * x) * np.sum(cube)


def test_three_d_array_as_wrt():
    err = raises_srcgrad_error(cube_energy, (np.ones((2, 3, 4)),), "cube")
    assert "cube" in str(err), str(err)
    assert "3-d" in str(err).lower() or "3 dimensions" in str(err).lower() or "ndim" in str(err).lower(), str(err)


def test_three_d_array_as_constant():
    err = raises_srcgrad_error(uses_cube_as_constant, (np.ones(3), np.ones((2, 2, 2))), "x")
    assert "cube" in str(err), str(err)


def test_three_d_array_from_an_expression():
    """A rank-3 array built inside the function (x[:, None, None]) is out of the subset too."""
    err = raises_srcgrad_error(makes_rank3, (_r(28, 3), _r(29, 3, 2)), "x")
    assert_points_at_marker(err, makes_rank3)


def makes_rank3(x, A):
    T = x[:, None, None] * A[None, :, :]  # <- error here
    return np.sum(T)


# --- NumPy functions outside the subset ---------------------------------------------

def uses_svd(A):
    B = A * 2.0
    _U, S, _Vt = np.linalg.svd(B)  # <- error here
    return np.sum(S)


def uses_sort(x, w):
    y = np.tanh(x)
    s = np.sort(y)  # <- error here
    return np.sum(s * w)


def uses_fft(x):
    y = x * x
    F = np.fft.fft(y)  # <- error here
    return np.sum(np.abs(F))


def uses_inv(A, b):
    M = A + 3.0
    Minv = np.linalg.inv(M)  # <- error here
    return np.sum(Minv @ b)


def uses_solve(A, b):
    x = np.linalg.solve(A, b)  # <- error here
    return np.sum(x)


def uses_einsum(A, x):
    y = np.einsum("ij,j->i", A, x)  # <- error here
    return np.sum(y)


def uses_median(x):
    y = x * 2.0
    return np.median(y)  # <- error here


def uses_convolve(x, k):
    y = np.convolve(x, k)  # <- error here
    return np.sum(y * y)


def uses_sort_method(x):
    y = x.copy()
    y.sort()  # <- error here
    return np.sum(y * x)


def uses_axis_out_of_range(A):
    s = np.sum(A, axis=2)  # <- error here
    return np.sum(s)


def uses_unknown_reduction_keyword(A):
    s = np.sum(A, axis=0, dtype=np.float32)  # <- error here
    return np.sum(s)


UNSUPPORTED = [
    # (function, args, word that must appear in the message)
    (uses_svd, (_r(30, 3, 3),), "svd"),
    (uses_sort, (_r(31, 4), _r(32, 4)), "sort"),
    (uses_fft, (_r(33, 4),), "fft"),
    (uses_inv, (_r(34, 3, 3), _r(35, 3)), "inv"),
    (uses_solve, (_r(36, 3, 3) + 3.0 * np.eye(3), _r(37, 3)), "solve"),
    (uses_einsum, (_r(38, 3, 2), _r(39, 2)), "einsum"),
    (uses_median, (_r(40, 5),), "median"),
    (uses_convolve, (_r(41, 5), _r(42, 3)), "convolve"),
    (uses_sort_method, (_r(43, 5),), "sort"),
    (uses_axis_out_of_range, (_r(44, 3, 2),), "axis"),
    (uses_unknown_reduction_keyword, (_r(45, 3, 2),), "dtype"),
]


@pytest.mark.parametrize("f,args,word", UNSUPPORTED, ids=[c[0].__name__ for c in UNSUPPORTED])
def test_unsupported_numpy_names_function_and_line(f, args, word):
    err = raises_srcgrad_error(f, args, 0)
    assert_points_at_marker(err, f)
    assert word in (str(err) + " " + (err.construct or "")).lower(), f"{word!r} not in {str(err)!r}"


# --- writes through views --------------------------------------------------------------------
# In NumPy `r = A[0]` is a view: `r[1] = ...` writes into A. The subset rejects writes
# through a name bound to a basic-slice view (reading such a name is fine). The error may
# point at the write or at the binding it goes through, so both lines carry the marker.

def write_into_row_view(A, x):
    r = A[0]  # <- error here
    r[1] = 2.0  # <- error here
    return np.sum(A @ x)


def write_into_copied_row_view(A, x):
    B = A.copy()
    r = B[0]  # <- error here
    r[1] = 2.0 * r[0]  # <- error here
    return np.sum(np.tanh(B @ x))


def write_into_column_view(A, x):
    B = A * 1.0
    c = B[:, 1]  # <- error here
    c[0] = x[0] * x[1]  # <- error here
    return np.sum(B * B)


def write_into_tail_view(x):
    u = x * 2.0
    tail = u[1:]  # <- error here
    tail[0] = 0.0  # <- error here
    return np.sum(u * x)


def augmented_update_of_view(A, x):
    B = A.copy()
    r = B[1]  # <- error here
    r += x  # <- error here
    return np.sum(B ** 2)


def full_slice_write_into_view(A, x):
    B = A.copy()
    r = B[1]  # <- error here
    r[:] = np.tanh(x)  # <- error here
    return np.sum(B * A)


VIEW_WRITES = [
    (write_into_row_view, (_r(46, 2, 3), _r(47, 3)), "A"),
    (write_into_copied_row_view, (_r(48, 2, 3), _r(49, 3)), ("A", "x")),
    (write_into_column_view, (_r(50, 3, 3), _r(51, 3)), ("A", "x")),
    (write_into_tail_view, (_r(52, 4),), "x"),
    (augmented_update_of_view, (_r(53, 3, 3), _r(54, 3)), ("A", "x")),
    (full_slice_write_into_view, (_r(55, 3, 3), _r(56, 3)), ("A", "x")),
]


@pytest.mark.parametrize("f,args,wrt", VIEW_WRITES, ids=[c[0].__name__ for c in VIEW_WRITES])
def test_write_through_view_is_rejected(f, args, wrt):
    err = raises_srcgrad_error(f, args, wrt)
    assert_points_at_marker(err, f)
    assert err.construct, str(err)


def reads_through_row_view(A, x):
    r = A[0]
    c = A[:, 1]
    return np.sum(r * x) + np.sum(c * c)


def test_reading_through_a_view_is_fine():
    A, x = _r(57, 3, 3), _r(58, 3)
    gA, gx = srcgrad.grad(reads_through_row_view, wrt=("A", "x"))(A, x)
    want = np.zeros_like(A)
    want[0] += x
    want[:, 1] += 2.0 * A[:, 1]
    np.testing.assert_allclose(gA, want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(gx, A[0], rtol=1e-12)


# --- the differentiated function must return a scalar -----------------------------------

def returns_activation(W, x):
    z = W @ x
    return np.tanh(z)  # <- error here


def returns_column_sums(A):
    B = A * A
    return np.sum(B, axis=0)  # <- error here


def returns_matvec(A, x):
    return A @ x  # <- error here


def returns_row_means(A):
    return A.mean(axis=1)  # <- error here


def returns_keepdims_total(A):
    return np.sum(A * A, keepdims=True)  # <- error here


RETURNS_ARRAY = [
    (returns_activation, (_r(59, 2, 3), _r(60, 3)), "W"),
    (returns_column_sums, (_r(61, 2, 3),), "A"),
    (returns_matvec, (_r(62, 2, 3), _r(63, 3)), ("A", "x")),
    (returns_row_means, (_r(64, 2, 3),), "A"),
    (returns_keepdims_total, (_r(65, 2, 3),), "A"),
]


@pytest.mark.parametrize("f,args,wrt", RETURNS_ARRAY, ids=[c[0].__name__ for c in RETURNS_ARRAY])
def test_returning_an_array_is_rejected(f, args, wrt):
    err = raises_srcgrad_error(f, args, wrt)
    assert_points_at_marker(err, f)
    assert "scalar" in (str(err) + " " + (err.construct or "")).lower(), str(err)


# --- constructs at the edge of the subset: supported correctly or rejected at the line ---
# (never a silently wrong gradient)

def fancy_index_gather(x, idx):
    y = x[idx]  # <- error here
    return np.sum(y * y)


def boolean_mask(x):
    y = x[x > 0.0]  # <- error here
    return np.sum(y ** 3)


def step_slices(x):
    even = x[::2]  # <- error here
    odd = x[1::2]  # <- error here
    return np.sum(even * odd)


def reversed_slice(x, w):
    r = x[::-1]  # <- error here
    return np.sum(r * w * x)


def block_slices(A):
    D = A[1:, :-1] - A[:-1, 1:]  # <- error here
    return np.sum(D * D)


def float_arange(x):
    k = np.arange(1.0, x.shape[0] + 1.0)  # <- error here
    return np.sum(k * x * x)


def eye_constant(A):
    n = A.shape[0]
    R = A @ A.T - np.eye(n)  # <- error here
    return np.sum(R * R)


def diff_function(x):
    d = np.diff(x)  # <- error here
    return np.sum(d * d)


def square_and_power(x, p):
    return np.sum(np.square(x) + np.abs(x) ** p)  # <- error here


def scalar_index_of_reduction(A, x):
    m = np.max(A @ x, axis=0, keepdims=True)  # <- error here
    return m[0] * 2.0


def stale_row_view(A, v):
    B = A * 2.0
    row = B[0]
    B[0] = v  # <- error here
    return np.sum(row * row)


def stale_tail_view(x):
    B = x * 2.0
    tail = B[1:]
    B[1] = 0.0  # <- error here
    return np.sum(tail * x[1:])


def view_bound_before_loop_writes(W, x):
    H = np.zeros((3, x.shape[0]))
    first = H[0]
    for t in range(3):
        H[t] = np.tanh(W @ x + t)  # <- error here
    return np.sum(first * x)


def _edge_cases():
    x5 = np.array([0.5, -1.2, 2.0, 0.3, -0.7, 1.1])
    A = np.array([[0.5, -1.0, 0.2], [1.5, 0.4, -0.6], [-0.2, 0.8, 1.1]])
    k = np.arange(1.0, 7.0)
    return [
        (fancy_index_gather, (x5, np.array([0, 2, 2, 5])), "x",
         lambda x, idx: np.bincount(idx, weights=2.0 * x[idx], minlength=len(x))),
        (boolean_mask, (x5,), "x", lambda x: np.where(x > 0.0, 3.0 * x ** 2, 0.0)),
        (step_slices, (x5,), "x", lambda x: np.array([x[1], x[0], x[3], x[2], x[5], x[4]])),
        (reversed_slice, (x5, np.arange(6.0)), "x", lambda x, w: x[::-1] * (w + w[::-1])),
        (block_slices, (A,), "A", None),
        (float_arange, (x5,), "x", lambda x: 2.0 * k * x),
        (eye_constant, (A,), "A", lambda A: 4.0 * (A @ A.T - np.eye(3)) @ A),
        (diff_function, (x5,), "x", None),
        (square_and_power, (x5, 3.0), ("x", "p"), None),
        (scalar_index_of_reduction, (A, np.array([0.3, -0.5, 0.9])), ("A", "x"), None),
        # a view bound *before* its base is written sees the write (NumPy semantics)
        (stale_row_view, (A, np.array([0.3, -0.5, 0.9])), ("A", "v"), None),
        (stale_tail_view, (x5,), "x", None),
        (view_bound_before_loop_writes, (A, np.array([0.3, -0.5, 0.9])), ("W", "x"), None),
    ]


EDGE = _edge_cases()


@pytest.mark.parametrize("f,args,wrt,expect", EDGE, ids=[c[0].__name__ for c in EDGE])
def test_edge_construct_supported_or_rejected(f, args, wrt, expect):
    from fd import assert_grad_matches_fd, copy_args

    try:
        got = srcgrad.grad(f, wrt=wrt)(*copy_args(args))
    except SrcgradError as err:
        assert err.construct != "numba compilation", f"{f.__name__}: Numba failure passed through: {err}"
        assert_points_at_marker(err, f)
        return
    assert_grad_matches_fd(f, args, wrt, got)
    if expect is not None:
        np.testing.assert_allclose(got, expect(*copy_args(args)), rtol=1e-12, atol=1e-14)


# --- integer indices out of range (also inside slice subscripts) ------------------------------
# NumPy raises IndexError; srcgrad must raise SrcgradError at the line, never read or write
# outside the array. A missing bounds check can crash the interpreter (segfault), so each case
# runs in a subprocess and a crash is reported as a failure instead of killing the test run.

def row_index_read(A, i):
    return np.sum(A[i] ** 2)  # <- error here


def column_index_read(A, j):
    c = A[:, j]  # <- error here
    return np.sum(c * c)


def row_tail_read(A, i):
    return np.sum(A[i, 1:] ** 2)  # <- error here


def column_write(A, j):
    B = A * 2.0
    B[:, j] = 1.0  # <- error here
    return np.sum(B * A)


def row_slice_write(A, i):
    B = A * 2.0
    B[i, :] = A[0]  # <- error here
    return np.sum(B ** 2)


def label_index(W, X, labels):
    L = 0.0
    for i in range(X.shape[0]):
        row = X[i] @ W
        L -= row[labels[i]]  # <- error here
    return L


def neighbour_read(A, shift):
    total = 0.0
    for i in range(1, A.shape[0]):
        total += A[i, 0] * A[i + 1, 1]  # <- error here
    return total


_OOB_A = "np.arange(6.0).reshape(3, 2) * 0.5 - 1.2"
OUT_OF_RANGE = [
    (row_index_read, f"({_OOB_A}, 3)", "A"),
    (column_index_read, f"({_OOB_A}, 2)", "A"),
    (column_index_read, f"({_OOB_A}, -3)", "A"),
    (row_tail_read, f"({_OOB_A}, 3)", "A"),
    (column_write, f"({_OOB_A}, 2)", "A"),
    (column_write, f"({_OOB_A}, -3)", "A"),
    (row_slice_write, f"({_OOB_A}, -4)", "A"),
    (label_index, f"({_OOB_A}, np.ones((4, 3)), np.array([0, 1, 2, 1]))", "W"),
    (neighbour_read, f"({_OOB_A}, 1)", "A"),       # i + 1 reaches 3 (one check before the loop)
]


def _run_isolated(f, args_src, wrt):
    """grad(f)(*args) in a fresh interpreter; what it raised, as a dict."""
    tests_dir = os.path.dirname(THIS_FILE)
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{tests_dir!r}, {os.path.dirname(tests_dir)!r}]\n"
        "import numpy as np\nimport srcgrad\nimport test_array_errors as m\n"
        f"f = m.{f.__name__}\nargs = {args_src}\n"
        "try:\n"
        f"    srcgrad.grad(f, wrt={wrt!r})(*args)\n"
        "    out = {'raised': None}\n"
        "except srcgrad.SrcgradError as e:\n"
        "    out = {'raised': 'SrcgradError', 'lineno': e.lineno, 'filename': e.filename,\n"
        "           'construct': e.construct, 'text': str(e)}\n"
        "except Exception as e:\n"
        "    out = {'raised': type(e).__name__, 'text': str(e)[:500]}\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, (f"{f.__name__}{args_src}: the interpreter died with status {proc.returncode} "
                                  f"(-11: segfault, an unchecked index)\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("f,args_src,wrt", OUT_OF_RANGE,
                         ids=[f"{c[0].__name__}-{k}" for k, c in enumerate(OUT_OF_RANGE)])
def test_index_out_of_range(f, args_src, wrt):
    out = _run_isolated(f, args_src, wrt)
    assert out["raised"] == "SrcgradError", f"{f.__name__}{args_src}: expected SrcgradError, got {out}"
    assert out["construct"] != "numba compilation", out["text"]
    lines = marker_lines(f)
    assert out["lineno"] in lines, f"lineno {out['lineno']}, expected {lines}: {out['text']}"
    assert out["filename"] is not None and os.path.abspath(out["filename"]) == THIS_FILE, \
        f"filename {out['filename']!r} is not this file's path"
    assert "range" in out["text"].lower() or "bound" in out["text"].lower(), out["text"]
