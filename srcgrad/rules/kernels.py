"""Compiled helpers that array rules call where Numba's NumPy lacks a form
(keepdims, max/prod/cumsum along an axis) or where a δ must be routed back
(un-broadcasting, arg-max routing, scattering into a δ array).

Every helper is rank-specific (Numba types each call site): the rule table
picks the right one from the static ranks of the operands, so the names carry
the ranks: `ub21` reduces a 2-D δ to a 1-D operand's shape.
"""
import math

import numba
import numpy as np

from ..runtime import jit, reserve  # jit: compiled once per argument type


# --- un-broadcasting: a δ summed back over the axes an operand was stretched on ---

@jit
def ub11(g, shape):
    if g.shape[0] == shape[0]:
        return g
    out = np.empty(1)
    out[0] = sum_all1(g)
    return out


@jit
def ub21(g, shape):
    col = sum_axis0(g)
    if col.shape[0] == shape[0]:
        return col
    out = np.empty(1)
    out[0] = sum_all1(col)
    return out


@jit
def ub22(g, shape):
    if g.shape[0] == shape[0] and g.shape[1] == shape[1]:
        return g
    if shape[0] == g.shape[0]:              # stretched along the rows: one sum per row
        return sum_keep1(g)
    if shape[1] == g.shape[1]:              # stretched down the columns: one sum per column
        return sum_keep0(g)
    out = np.empty(shape)
    out[0, 0] = sum_all2(g)
    return out


# --- elementwise functions NumPy lacks (math.erf on arrays); float64 only, as the rules use them

@numba.vectorize(cache=True)  # compiled on first use: importing this module stays cheap
def tanh_elementwise(x):
    """tanh(x) = -e / (e + 2) with e = expm1(-2|x|), signed like x: exact to
    a few ulp (expm1 keeps small |x| accurate, and never overflows)."""
    e = math.expm1(-2.0 * abs(x))
    return math.copysign(-e / (e + 2.0), x)


@numba.vectorize(cache=True)  # compiled on first use: importing this module stays cheap
def where_elementwise(condition, if_true, if_false):
    """np.where(condition, if_true, if_false) as a ufunc: Numba fuses it with
    the comparison into one loop (its np.where builds the mask, then takes
    ~2 ns per element when a branch is a scalar; this ~0.2 ns)."""
    return if_true if condition else if_false


@numba.vectorize(cache=True)  # compiled on first use: importing this module stays cheap
def erf_elementwise(x):
    return math.erf(x)


@numba.vectorize(cache=True)  # compiled on first use: importing this module stays cheap
def erfc_elementwise(x):
    return math.erfc(x)


# --- broadcasting made explicit (elementwise chains lowered to loops) -------------------------

@jit
def stretch1(x, n):
    if x.shape[0] == n:
        return x
    if x.shape[0] != 1:
        raise ValueError("operands could not be broadcast together")
    return np.full(n, x[0])


@jit
def stretch2(x, n0, n1):
    if x.shape[0] == n0 and x.shape[1] == n1:
        return x
    if (x.shape[0] != n0 and x.shape[0] != 1) or (x.shape[1] != n1 and x.shape[1] != 1):
        raise ValueError("operands could not be broadcast together")
    out = np.empty((n0, n1))
    for i in range(n0):
        for j in range(n1):
            out[i, j] = x[i if x.shape[0] > 1 else 0, j if x.shape[1] > 1 else 0]
    return out


# --- reductions: all elements, or along an axis ----------------------------------------

# Numba's np.sum(x, axis=k) walks the array element by element through a
# generic iterator (~10x slower than these loops), and its np.sum(x) and
# np.max(x) take one element at a time, each step waiting for the last. Along
# a row these keep eight partial sums (or extremes), as NumPy's pairwise
# summation does: independent steps run in parallel, and for rows of up to
# 128 elements a sum's rounding is NumPy's. (Rows are indexed as x[k, j]: a
# view per row, or a reshape, costs more than the sum of a short row; x[None, :]
# is cheap.) The rule table picks the rank-specific kernel.

@jit
def _row_sum(x, k):
    n = x.shape[1]
    r0 = r1 = r2 = r3 = r4 = r5 = r6 = r7 = 0.0
    stop = n - n % 8
    for j in range(0, stop, 8):
        r0 += x[k, j]
        r1 += x[k, j + 1]
        r2 += x[k, j + 2]
        r3 += x[k, j + 3]
        r4 += x[k, j + 4]
        r5 += x[k, j + 5]
        r6 += x[k, j + 6]
        r7 += x[k, j + 7]
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for j in range(stop, n):
        total += x[k, j]
    return total


@jit
def sum_all1(x):
    return _row_sum(x[None, :], 0)


@jit
def sum_all2(x):
    return _row_sum(np.ascontiguousarray(x).reshape((1, x.size)), 0)


@jit
def sum_axis1(x):
    out = np.empty(x.shape[0])
    for k in range(x.shape[0]):
        out[k] = _row_sum(x, k)
    return out


@jit
def sum_axis0(x):
    """Column sums: the rows added one after another (NumPy's order)."""
    out = np.zeros(x.shape[1])
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[j] += x[i, j]
    return out


@jit
def sum_keep0(x):
    return sum_axis0(x).reshape((1, x.shape[1]))


@jit
def sum_keep1(x):
    return sum_axis1(x).reshape((x.shape[0], 1))


@jit
def _row_extreme(x, k, sign):
    """(sign · the largest of sign · x[k, :], whether one is NaN): the max (sign 1)
    or min (sign -1) of a row, as eight running extremes (exact in any order).
    NaNs after the first element are skipped (the flag tells); sign · v is
    exact, signed zeros included."""
    n = x.shape[1]
    b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = sign * x[k, 0]
    nan = False
    stop = n - n % 8
    for j in range(0, stop, 8):
        v0, v1, v2, v3 = sign * x[k, j], sign * x[k, j + 1], sign * x[k, j + 2], sign * x[k, j + 3]
        v4, v5, v6, v7 = sign * x[k, j + 4], sign * x[k, j + 5], sign * x[k, j + 6], sign * x[k, j + 7]
        b0 = max(b0, v0)
        b1 = max(b1, v1)
        b2 = max(b2, v2)
        b3 = max(b3, v3)
        b4 = max(b4, v4)
        b5 = max(b5, v5)
        b6 = max(b6, v6)
        b7 = max(b7, v7)
        nan |= (math.isnan(v0) | math.isnan(v1) | math.isnan(v2) | math.isnan(v3)
                | math.isnan(v4) | math.isnan(v5) | math.isnan(v6) | math.isnan(v7))
    b0 = max(b0, b1)
    b2 = max(b2, b3)
    b4 = max(b4, b5)
    b6 = max(b6, b7)
    b0 = max(b0, b2)
    b4 = max(b4, b6)
    b0 = max(b0, b4)
    for j in range(stop, n):
        v = sign * x[k, j]
        b0 = max(b0, v)
        nan |= math.isnan(v)
    return sign * b0, nan


@jit
def amax_all1(x, sign):
    """np.max (sign 1) or np.min (sign -1) of all elements: NaN if one is NaN, as in NumPy."""
    if x.shape[0] == 0:
        raise ValueError("zero-size array to reduction operation maximum (or minimum) which has no identity")
    best, nan = _row_extreme(x[None, :], 0, sign)
    return np.nan if nan else best


@jit
def amax_all2(x, sign):
    if x.size == 0:
        raise ValueError("zero-size array to reduction operation maximum (or minimum) which has no identity")
    best, nan = _row_extreme(np.ascontiguousarray(x).reshape((1, x.size)), 0, sign)
    return np.nan if nan else best


@jit
def amax_axis(x, axis, sign):
    """max (sign 1) or min (sign -1) of a 2-D array along `axis` (NaNs after
    the first element of a line are skipped)."""
    if axis == 0:
        out = sign * x[0]
        for m in range(1, x.shape[0]):
            for k in range(x.shape[1]):
                v = sign * x[m, k]
                out[k] = max(out[k], v)
        return sign * out
    out = np.empty(x.shape[0])
    for k in range(x.shape[0]):
        out[k] = _row_extreme(x, k, sign)[0]
    return out


# --- δ of max/min: to the first element equal to the extreme (z, from the forward sweep) ---
# Each router has an `_add` twin that adds into an existing δ in place: no
# zero array, no extra pass (`arrays.IN_PLACE` names the pairs for the generator).

@jit
def route_all1_add(d, g, x, z):
    """d += δ of max/min over all elements: all of g to the first extreme element."""
    for i in range(x.shape[0]):
        if x[i] == z:
            d[i] += g
            return
    d[0] += g                               # z is NaN: the first element


@jit
def route_all2_add(d, g, x, z):
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if x[i, j] == z:
                d[i, j] += g
                return
    d[0, 0] += g


@jit
def route_all1(g, x, z):
    out = np.zeros(x.shape)
    route_all1_add(out, g, x, z)
    return out


@jit
def route_all2(g, x, z):
    out = np.zeros(x.shape)
    route_all2_add(out, g, x, z)
    return out


@jit
def route_axis_add(d, g, x, z, axis):
    """d += δ of max/min of a 2-D array along `axis`: g[k] (one entry per kept
    index) to the first element of line k equal to its extreme z[k]."""
    if axis == 0:
        for k in range(x.shape[1]):
            best_m = 0
            for m in range(x.shape[0]):
                if x[m, k] == z[k]:
                    best_m = m
                    break
            d[best_m, k] += g[k]
        return
    for k in range(x.shape[0]):
        best_m = 0
        for m in range(x.shape[1]):
            if x[k, m] == z[k]:
                best_m = m
                break
        d[k, best_m] += g[k]


@jit
def route_axis(g, x, z, axis):
    out = np.zeros(x.shape)
    route_axis_add(out, g, x, z, axis)
    return out


@jit
def flat1(a):
    return a


@jit
def flat2(a):
    return np.ascontiguousarray(a).reshape(a.size)


@jit
def prod_axis(x, axis):
    n = x.shape[1 - axis]
    out = np.ones(n)
    for k in range(n):
        for m in range(x.shape[axis]):
            out[k] *= x[m, k] if axis == 0 else x[k, m]
    return out


@jit
def _prod_except(v):
    """out[i] = product of v[j] for j != i (prefix and suffix products: exact with zeros)."""
    n = v.shape[0]
    out = np.empty(n)
    acc = 1.0
    for i in range(n):
        out[i] = acc
        acc *= v[i]
    acc = 1.0
    for i in range(n - 1, -1, -1):
        out[i] *= acc
        acc *= v[i]
    return out


@jit
def prod_vjp_all(g, x):
    flat = np.ascontiguousarray(x).reshape(x.size)
    return (g * _prod_except(flat)).reshape(x.shape)


@jit
def prod_vjp_axis(g, x, axis):
    out = np.empty(x.shape)
    for k in range(x.shape[1 - axis]):
        line = x[:, k].copy() if axis == 0 else x[k, :].copy()
        others = _prod_except(line)
        for m in range(x.shape[axis]):
            if axis == 0:
                out[m, k] = g[k] * others[m]
            else:
                out[k, m] = g[k] * others[m]
    return out


@jit
def cumsum_axis(x, axis):
    out = np.empty(x.shape)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            prev = 0.0
            if axis == 0 and i > 0:
                prev = out[i - 1, j]
            elif axis == 1 and j > 0:
                prev = out[i, j - 1]
            out[i, j] = prev + x[i, j]
    return out


@jit
def rcumsum1(g):
    """δ of a cumulative sum: the suffix sums of δ."""
    out = np.empty(g.shape[0])
    acc = 0.0
    for i in range(g.shape[0] - 1, -1, -1):
        acc += g[i]
        out[i] = acc
    return out


@jit
def rcumsum_axis(g, axis):
    out = np.empty(g.shape)
    for i in range(g.shape[0] - 1, -1, -1):
        for j in range(g.shape[1] - 1, -1, -1):
            nxt = 0.0
            if axis == 0 and i < g.shape[0] - 1:
                nxt = out[i + 1, j]
            elif axis == 1 and j < g.shape[1] - 1:
                nxt = out[i, j + 1]
            out[i, j] = nxt + g[i, j]
    return out


@jit
def reshape_to(a, shape):
    return np.ascontiguousarray(a).reshape(shape)


# --- integer-array indexing: gather forward, scatter-add backward -------------------------

@jit
def gather2(a, rows, cols):
    """a[rows, cols] for 1-D integer arrays (NumPy's paired fancy indexing)."""
    out = np.empty(rows.shape[0])
    for k in range(rows.shape[0]):
        out[k] = a[rows[k], cols[k]]
    return out


@jit
def scatter2(d, rows, cols, g):
    for k in range(rows.shape[0]):
        d[rows[k], cols[k]] += g[k]


@jit
def scatter1(d, idx, g):
    for k in range(idx.shape[0]):
        d[idx[k]] += g[k]


# --- tape of arrays: old contents pushed flat, popped with their shape ---------------------

@jit
def push_array(tape, top, a):
    """Append a's elements to the float tape; returns (tape, new top)."""
    n = a.size
    tape = reserve(tape, top + n)
    k = top
    for v in a.flat:        # (not a slice assignment: Numba's compiles in ~2 s, for its error messages)
        tape[k] = v
        k += 1
    return tape, top + n


@jit
def push_array_into(tape, top, a):
    """Append a's elements to the float tape, which has room (checked by the
    caller: inside a loop a tape does not grow, `tape_retry`); returns the new top."""
    k = top
    for v in a.flat:
        tape[k] = v
        k += 1
    return k


@jit
def check_same_shape(a, b, what):
    if a.shape != b.shape:
        raise ValueError(what)



# --- an array written into part of another: `A[:, k] = v`, `d_A[k] += d_v` ----------------
# Numba compiles its own slice assignment with a formatted shape-mismatch
# message (str of each dimension, joined): about 2 s in every fresh process,
# for a check these loops make with a fixed message. `dest` is the part (a
# view: basic indexing); `src` broadcasts to it as NumPy's assignment does.
# `mode` is one of these constants (the call inlined, LLVM drops the other branches).

PART_SET, PART_ADD, PART_SUB = 0, 1, 2


@jit
def into_part1(dest, src, mode):
    """dest = src, += src or -= src; dest and src 1-D (src of dest's length or 1)."""
    n, m = dest.shape[0], src.shape[0]
    if m != n and m != 1:
        raise ValueError("could not broadcast the value into the part of the array written")
    if m != n:
        v = src[0]
        for i in range(n):
            dest[i] = v if mode == PART_SET else (dest[i] + v if mode == PART_ADD else dest[i] - v)
    elif mode == PART_SET:
        for i in range(n):
            dest[i] = src[i]
    elif mode == PART_ADD:
        for i in range(n):
            dest[i] += src[i]
    else:
        for i in range(n):
            dest[i] -= src[i]


@jit
def into_part2(dest, src, mode):
    """The same for a 2-D dest and src (each dimension dest's or 1)."""
    n0, n1 = dest.shape
    if (src.shape[0] != n0 and src.shape[0] != 1) or (src.shape[1] != n1 and src.shape[1] != 1):
        raise ValueError("could not broadcast the value into the part of the array written")
    for i in range(n0):
        into_part1(dest[i], src[i if src.shape[0] == n0 else 0], mode)
