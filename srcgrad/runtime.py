"""The tiny runtime that generated adjoints call (all Numba-compiled).

Tapes are plain NumPy arrays with an integer top; these helpers grow them.
`reserve` runs once before a `for` loop whose pushes are counted, so the
pushes inside need no bounds check; `grow` is the checked push of `while`
loops and straight-line code.
"""
import math

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


@numba.njit(cache=True)
def digamma(x):
    """ψ(x) = Γ'(x)/Γ(x), the derivative of lgamma: shifted up to x ≥ 10 by
    ψ(x) = ψ(x+1) − 1/x, then the asymptotic series (truncation < 1e-16 there);
    x < 0 by reflection ψ(x) = ψ(1−x) − π/tan(πx). Poles (0, −1, …) give inf/nan."""
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    shift = 0.0
    if x < 0.0:
        shift = -math.pi / math.tan(math.pi * x)
        x = 1.0 - x
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    r = 1.0 / (x * x)
    series = r * (1.0 / 12 - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r * (1.0 / 132 - r * (691.0 / 32760))))))
    return shift + acc + math.log(x) - 0.5 / x - series


@numba.njit(cache=True)
def equal_length(n, m, where):
    """The common length of two vectors that `scalarize` keeps in one buffer;
    `where` (the user's file:line) names the statement when they differ."""
    if n != m:
        raise ValueError(where + ": operands could not be broadcast together (a vector made inside a loop "
                         "needs operands of equal length; srcgrad does not broadcast a length-1 one there)")
    return n


@numba.njit(cache=True)
def slice_index(n, i):
    """Where slice bound `i` lands in a vector of length n, as Python slicing
    resolves it: negative counts from the end, then clipped to [0, n]."""
    if i < 0:
        i += n
    return min(max(i, 0), n)
