"""An array written into part of another (`A[:, k] = v`, `A[k] += v`,
`A[1:3] -= M`) and the δ of an array part read (`d_A[k] += d_row`) go
through the `into_part` kernels (`emit.part_update`) instead of Numba's slice
assignment: the same values and gradients (NumPy's broadcasting included),
and a part of the wrong shape is still a located error."""
import numpy as np
import pytest

import srcgrad
from tests.fd import assert_grad_matches_fd


def columns_rows_blocks(A, v, M, c):
    B = np.zeros((A.shape[0], A.shape[1]))
    for k in range(A.shape[1]):
        B[:, k] = np.tanh(A[:, k] * v)           # 1-D part, set
    for k in range(A.shape[0]):
        B[k] += A[k] * c                         # a row, added to
    B[1:3, :] -= M * M                           # 2-D part, subtracted
    B[:, 1:3] = v[1:3]                           # 1-D value broadcast over the rows of a 2-D part
    B[0, :] += c * v[0:1]                        # a length-1 value broadcast along the row
    return np.sum(B * B) + np.sum(B[2] * A[1])


def _args():
    rng = np.random.default_rng(11)
    return rng.normal(size=(4, 5)), rng.normal(size=4), rng.normal(size=(2, 5)), 0.7


def test_part_writes_value_gradient_and_kernels():
    A, v, M, c = _args()
    vg = srcgrad.value_and_grad(columns_rows_blocks, wrt=("A", "v", "M", "c"))
    src = srcgrad.source(vg, A, v, M, c)
    for call in ("into_part1(B[:, k], ", "into_part1(B[k], ", "PART_ADD)", "into_part2(B[1:3, :], ",
                 "PART_SUB)", "into_part2(B[:, 1:3], ", "[None, :], PART_SET)", "into_part1(B[0, :], "):
        assert call in src, call
    kept = [a.copy() for a in (A, v, M)]
    value, grads = vg(A, v, M, c)
    assert np.isclose(value, columns_rows_blocks(A, v, M, c), rtol=1e-13)    # NumPy's own semantics
    for a, k in zip((A, v, M), kept):
        np.testing.assert_array_equal(a, k)
    assert_grad_matches_fd(columns_rows_blocks, (A, v, M, c), ("A", "v", "M", "c"), grads)


def first_column_set(A, v):
    B = A * 1.0
    B[:, 0] = v
    return np.sum(B * B)


def test_part_of_the_wrong_shape_is_a_located_error():
    A, v, _, _ = _args()
    g = srcgrad.grad(first_column_set, wrt=("A", "v"))
    got = g(A, v)
    np.testing.assert_allclose(got[1], 2 * v, rtol=1e-14)                 # closed forms
    np.testing.assert_allclose(got[0], np.where(np.arange(5) == 0, 0.0, 2 * A), rtol=1e-14)
    with pytest.raises(srcgrad.SrcgradError) as err:
        g(A, np.ones(3))                         # 3 values for a column of 4
    assert "test_part_writes.py" in str(err.value) and "B[:, 0] = v" in str(err.value)
