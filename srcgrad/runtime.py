"""The tiny runtime that generated adjoints call (all Numba-compiled).

Tapes are plain NumPy arrays with an integer top; these helpers grow them.
`reserve` runs once before a `for` loop whose pushes are counted, so the
pushes inside need no bounds check; `grow` is the checked push of `while`
loops and straight-line code.
"""
import numba
import numpy as np


@numba.njit(cache=True)
def reserve(tape, needed):
    """`tape`, or a copy with room for at least `needed` entries."""
    if needed <= tape.shape[0]:
        return tape
    size = max(needed, 2 * tape.shape[0])
    bigger = np.empty(size, dtype=tape.dtype)
    bigger[:tape.shape[0]] = tape
    return bigger


@numba.njit(cache=True)
def grow(tape, top):
    """`tape`, doubled when `top` has reached its end."""
    if top < tape.shape[0]:
        return tape
    return reserve(tape, top + 1)


@numba.njit(cache=True)
def range_len(start, stop, step):
    """len(range(start, stop, step)) in compiled code."""
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // (-step))
