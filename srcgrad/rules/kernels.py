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

jit = numba.njit(cache=True)


# --- un-broadcasting: a δ summed back over the axes an operand was stretched on ---

@jit
def ub11(g, shape):
    if g.shape[0] == shape[0]:
        return g
    out = np.empty(1)
    out[0] = np.sum(g)
    return out


@jit
def ub21(g, shape):
    col = np.sum(g, axis=0)
    if col.shape[0] == shape[0]:
        return col
    out = np.empty(1)
    out[0] = np.sum(col)
    return out


@jit
def ub22(g, shape):
    if g.shape[0] == shape[0] and g.shape[1] == shape[1]:
        return g
    out = np.zeros(shape)
    rows, cols = shape[0] == g.shape[0], shape[1] == g.shape[1]
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            out[i if rows else 0, j if cols else 0] += g[i, j]
    return out


# --- elementwise functions NumPy lacks (math.erf on arrays) ---------------------------------

@numba.vectorize(["float64(float64)"], cache=True)
def tanh_elementwise(x):
    """tanh(x) = -e / (e + 2) with e = expm1(-2|x|), signed like x: exact to
    a few ulp (expm1 keeps small |x| accurate, and never overflows)."""
    e = math.expm1(-2.0 * abs(x))
    return math.copysign(-e / (e + 2.0), x)


@numba.vectorize(["float64(float64)"], cache=True)
def erf_elementwise(x):
    return math.erf(x)


@numba.vectorize(["float64(float64)"], cache=True)
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


# --- reductions along an axis --------------------------------------------------------

@jit
def sum_keep0(x):
    return np.sum(x, axis=0).reshape((1, x.shape[1]))


@jit
def sum_keep1(x):
    return np.sum(x, axis=1).reshape((x.shape[0], 1))


@jit
def amax_axis(x, axis, sign):
    """max (sign 1) or min (sign -1) of a 2-D array along `axis`."""
    n = x.shape[1 - axis]
    out = np.empty(n)
    for k in range(n):
        best = x[0, k] if axis == 0 else x[k, 0]
        for m in range(1, x.shape[axis]):
            v = x[m, k] if axis == 0 else x[k, m]
            if sign * v > sign * best:
                best = v
        out[k] = best
    return out


@jit
def route_all(g, x, z):
    """δ of max/min over all elements: all of it to the first extreme element."""
    out = np.zeros(x.shape)
    flat = out.reshape(out.size)
    k = 0
    for v in x.flat:
        if v == z:
            flat[k] = g
            break
        k += 1
    return out


@jit
def route_axis(g, x, axis, sign):
    """δ of max/min of a 2-D array along `axis` (g flat, one entry per kept
    index) to the first extreme element of each line."""
    out = np.zeros(x.shape)
    n = x.shape[1 - axis]
    for k in range(n):
        best_m = 0
        best = x[0, k] if axis == 0 else x[k, 0]
        for m in range(1, x.shape[axis]):
            v = x[m, k] if axis == 0 else x[k, m]
            if sign * v > sign * best:
                best, best_m = v, m
        if axis == 0:
            out[best_m, k] = g[k]
        else:
            out[k, best_m] = g[k]
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
    if top + n > tape.shape[0]:
        bigger = np.empty(max(top + n, 2 * tape.shape[0]))
        bigger[:top] = tape[:top]
        tape = bigger
    k = top
    for v in a.flat:
        tape[k] = v
        k += 1
    return tape, top + n


@jit
def pop_array1(tape, top, n0):
    return tape[top - n0:top].copy(), top - n0


@jit
def pop_array2(tape, top, n0, n1):
    n = n0 * n1
    return tape[top - n:top].copy().reshape((n0, n1)), top - n


@jit
def check_same_shape(a, b, what):
    if a.shape != b.shape:
        raise ValueError(what)
