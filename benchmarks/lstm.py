"""Workloads: gradient of an LSTM cell's loss over a sequence of T = 1000 steps.

One LSTM layer (hidden size H = 4, input size D = 3, PyTorch's gate layout:
the four gates' weights stacked row-wise, gate order i, f, g, o) with a linear
readout, trained on a scalar target per step::

    z_t = Wx x_t + Wh h_{t-1} + b                      (4H,)
    i, f, o = sigmoid(z_t[i/f/o rows]),  g = tanh(z_t[g rows])
    c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)   (h_0 = c_0 = 0)
    loss = 1/T sum_t (v . h_t + c - y_t)^2

gradient w.r.t. (Wx, Wh, b, v, c): 4H(D + H + 1) + H + 1 = 133 parameters.
The module exports two workloads with the same loss and gradient:

* ``lstm``       -- the primal written with NumPy array operations per step
  (two mat-vecs, gate slices, element-wise sigmoid / tanh), as a NumPy user
  writes it.  Every step allocates a dozen 4- to 16-element arrays.
* ``lstm-loops`` -- the same cell written as a C programmer would: loops over
  the hidden units and the weight rows, state in preallocated arrays.

Tools timed (single-threaded, float64), for both workloads:

* ``srcgrad``  -- ``srcgrad.grad(<that primal>, wrt=("Wx", "Wh", "b", "v", "c"))`` from Python.
* ``hand``     -- the reference: a hand-written ``@numba.njit`` adjoint with
  explicit loops and no allocation per step (gates, cell states and hidden
  states stored for all T steps on the way forward, one reverse loop).
* ``primal``   -- ``numba.njit`` of that workload's primal.
* ``fd``       -- central finite differences of the Numba primal (266 primal calls).
* ``autograd`` -- ``autograd.grad`` of the array form on ``autograd.numpy``.
* ``torch``    -- PyTorch eager: the array form on tensors (a Python loop over the steps).
* ``jax``      -- ``jax.jit(jax.grad(...))`` of a ``lax.scan`` of the array-form step.

The peers run the array form in both workloads: it is their idiom (the
loops form would record ~10^5 scalar operations per gradient in autograd and
PyTorch).  With ``--quick`` autograd and PyTorch run T_SLOW = 100 steps and
their times are scaled by T / T_SLOW = 10 (cost linear in T; flagged in the table).

``python -m benchmarks.lstm --check`` verifies the hand adjoint against central
finite differences and the two primals against each other.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from . import tools
from .check import fd_check, max_rel_error
from .fd import central_fd
from .harness import build_tools

T, D, H = 1000, 3, 4
T_SLOW = 100  # steps for autograd / PyTorch with --quick (see "slow_tools")
WRT = ("Wx", "Wh", "b", "v", "c")
WRT_INDICES = (0, 1, 2, 3, 4)
# FD step: at 1e-6 round-off in the loss reaches ~1e-5 relative on the smallest (~6e-6) components
FD_EPS = 1e-5


def loss(Wx, Wh, b, v, c, X, y):
    """LSTM + linear readout, mean squared error; NumPy array operations per step."""
    n = X.shape[0]
    nh = v.shape[0]
    h = np.zeros(nh)
    cell = np.zeros(nh)
    L = 0.0
    for t in range(n):
        z = Wx @ X[t] + Wh @ h + b
        i = 1.0 / (1.0 + np.exp(-z[:nh]))
        f = 1.0 / (1.0 + np.exp(-z[nh:2 * nh]))
        g = np.tanh(z[2 * nh:3 * nh])
        o = 1.0 / (1.0 + np.exp(-z[3 * nh:]))
        cell = f * cell + i * g
        h = o * np.tanh(cell)
        e = np.dot(v, h) + c - y[t]
        L += e * e
    return L / n


def loss_loops(Wx, Wh, b, v, c, X, y):
    """The same loss with scalar loops over the hidden units (state in preallocated arrays)."""
    n, d = X.shape
    nh = v.shape[0]
    h = np.zeros(nh)
    cell = np.zeros(nh)
    z = np.zeros(4 * nh)
    L = 0.0
    for t in range(n):
        for k in range(4 * nh):
            s = b[k]
            for j in range(d):
                s += Wx[k, j] * X[t, j]
            for j in range(nh):
                s += Wh[k, j] * h[j]
            z[k] = s
        e = c - y[t]
        for k in range(nh):
            i = 1.0 / (1.0 + math.exp(-z[k]))
            f = 1.0 / (1.0 + math.exp(-z[nh + k]))
            g = math.tanh(z[2 * nh + k])
            o = 1.0 / (1.0 + math.exp(-z[3 * nh + k]))
            cell[k] = f * cell[k] + i * g
            h[k] = o * math.tanh(cell[k])
            e += v[k] * h[k]
        L += e * e
    return L / n


primal_numba = numba.njit(cache=True)(loss)
primal_loops_numba = numba.njit(cache=True)(loss_loops)


@numba.njit(cache=True)
def hand_grad(Wx, Wh, b, v, c, X, y):
    """Hand-written adjoint of ``loss``: (dWx, dWh, db, dv, dc).  No allocation inside the loops."""
    n, d = X.shape
    nh = v.shape[0]
    # forward: gates (post-activation, i f g o), cell states, tanh(cell), hidden states, errors
    gates = np.empty((n, 4 * nh))
    cells = np.zeros((n + 1, nh))   # row t + 1 is c_t; row 0 is c_0 = 0
    hs = np.zeros((n + 1, nh))      # likewise for h
    tcs = np.empty((n, nh))
    errs = np.empty(n)
    for t in range(n):
        for k in range(4 * nh):
            s = b[k]
            for j in range(d):
                s += Wx[k, j] * X[t, j]
            for j in range(nh):
                s += Wh[k, j] * hs[t, j]
            if 2 * nh <= k < 3 * nh:
                gates[t, k] = math.tanh(s)
            else:
                gates[t, k] = 1.0 / (1.0 + math.exp(-s))
        e = c - y[t]
        for k in range(nh):
            cell = gates[t, nh + k] * cells[t, k] + gates[t, k] * gates[t, 2 * nh + k]
            cells[t + 1, k] = cell
            tc = math.tanh(cell)
            tcs[t, k] = tc
            hk = gates[t, 3 * nh + k] * tc
            hs[t + 1, k] = hk
            e += v[k] * hk
        errs[t] = e
    # backward: dh, dcell carried from step t + 1; dz is the gate pre-activations' adjoint
    dWx = np.zeros((4 * nh, d))
    dWh = np.zeros((4 * nh, nh))
    db = np.zeros(4 * nh)
    dv = np.zeros(nh)
    dc = 0.0
    dh = np.zeros(nh)
    dcell = np.zeros(nh)
    dz = np.empty(4 * nh)
    scale = 2.0 / n
    for t in range(n - 1, -1, -1):
        ge = scale * errs[t]
        dc += ge
        for k in range(nh):
            dv[k] += ge * hs[t + 1, k]
            dhk = dh[k] + ge * v[k]
            i = gates[t, k]
            f = gates[t, nh + k]
            g = gates[t, 2 * nh + k]
            o = gates[t, 3 * nh + k]
            tc = tcs[t, k]
            dct = dcell[k] + dhk * o * (1.0 - tc * tc)
            dz[k] = dct * g * i * (1.0 - i)
            dz[nh + k] = dct * cells[t, k] * f * (1.0 - f)
            dz[2 * nh + k] = dct * i * (1.0 - g * g)
            dz[3 * nh + k] = dhk * tc * o * (1.0 - o)
            dcell[k] = dct * f
        for j in range(nh):
            dh[j] = 0.0
        for k in range(4 * nh):
            dzk = dz[k]
            db[k] += dzk
            for j in range(d):
                dWx[k, j] += dzk * X[t, j]
            for j in range(nh):
                dWh[k, j] += dzk * hs[t, j]
                dh[j] += dzk * Wh[k, j]
    return dWx, dWh, db, dv, dc


def make_args(n=T, d=D, nh=H, seed=0):
    """Small random weights (forget-gate bias +1), Gaussian inputs, a target with memory."""
    rng = np.random.default_rng(seed)
    Wx = 0.5 * rng.standard_normal((4 * nh, d)) / math.sqrt(d)
    Wh = 0.5 * rng.standard_normal((4 * nh, nh)) / math.sqrt(nh)
    b = 0.1 * rng.standard_normal(4 * nh)
    b[nh:2 * nh] += 1.0
    v = rng.standard_normal(nh) / math.sqrt(nh)
    X = rng.standard_normal((n, d))
    y = np.tanh(np.convolve(X[:, 0], np.full(5, 0.4))[:n] - 0.5 * X[:, 1])  # depends on 5 past inputs
    return Wx, Wh, b, v, 0.1, X, y


def make_array_loss(xp):
    """``loss`` on a tool's namespace (``xp.exp``, ``xp.tanh``, ``xp.dot``, ``@``): autograd, PyTorch."""
    def loss_xp(Wx, Wh, b, v, c, X, y):
        n = X.shape[0]
        nh = v.shape[0]
        h = xp.zeros(nh, dtype=X.dtype)
        cell = xp.zeros(nh, dtype=X.dtype)
        L = 0.0
        for t in range(n):
            z = Wx @ X[t] + Wh @ h + b
            i = 1.0 / (1.0 + xp.exp(-z[:nh]))
            f = 1.0 / (1.0 + xp.exp(-z[nh:2 * nh]))
            g = xp.tanh(z[2 * nh:3 * nh])
            o = 1.0 / (1.0 + xp.exp(-z[3 * nh:]))
            cell = f * cell + i * g
            h = o * xp.tanh(cell)
            e = xp.dot(v, h) + c - y[t]
            L = L + e * e
        return L / n
    return loss_xp


def make_jax_loss(jnp):
    """JAX idiom: ``lax.scan`` of the array-form step carrying (h, cell) over (x_t, y_t)."""
    from jax import lax

    def loss_jax(Wx, Wh, b, v, c, X, y):
        nh = v.shape[0]

        def step(state, xy):
            h, cell = state
            z = Wx @ xy[0] + Wh @ h + b
            i = 1.0 / (1.0 + jnp.exp(-z[:nh]))
            f = 1.0 / (1.0 + jnp.exp(-z[nh:2 * nh]))
            g = jnp.tanh(z[2 * nh:3 * nh])
            o = 1.0 / (1.0 + jnp.exp(-z[3 * nh:]))
            cell = f * cell + i * g
            h = o * jnp.tanh(cell)
            e = jnp.dot(v, h) + c - xy[1]
            return (h, cell), e * e
        zeros = jnp.zeros(nh, X.dtype)
        _, sq = lax.scan(step, (zeros, zeros), (X, y))
        return jnp.sum(sq) / X.shape[0]
    return loss_jax


def _workload(name, primal, primal_numba_fn, form, quick):
    args = make_args()
    slow_args = make_args(n=T_SLOW) if quick else args
    builders = {
        "srcgrad": tools.srcgrad_grad(primal, WRT, args),
        "hand": tools.call(hand_grad, args),
        "primal": tools.call(primal_numba_fn, args),
        "fd": central_fd(primal_numba_fn, args, WRT_INDICES, eps=FD_EPS),
        "autograd": tools.autograd_grad(make_array_loss, WRT_INDICES, slow_args),
        "torch": tools.torch_grad(make_array_loss, WRT_INDICES, slow_args),
        "jax": tools.jax_grad(make_jax_loss, WRT_INDICES, args),
    }
    built, skipped, failed = build_tools(builders)
    slow_tools = {}
    if quick:
        factor = T / T_SLOW
        slow_tools = {tool: {"factor": factor, "reference": lambda: hand_grad(*slow_args),
                             "note": f"timed at T={T_SLOW}, x{factor:g} (cost linear in T)"}
                      for tool in ("autograd", "torch") if tool in built}
    n_params = 4 * H * (D + H + 1) + H + 1
    return {"name": name,
            "description": f"LSTM cell H={H}, D={D}, T={T} steps, {form}, linear readout MSE; "
                           f"grad wrt (Wx, Wh, b, v, c), {n_params} parameters",
            "tools": built, "skipped": skipped, "failed": failed,
            "reference": "hand", "primal": "primal", "rtol": 1e-9,
            "slow_tools": slow_tools, "tool_rtol": {"fd": 1e-5}, "loop": True}


def workloads(quick: bool) -> list:
    """Both forms: ``lstm`` (NumPy array ops per step) and ``lstm-loops`` (scalar loops)."""
    return [_workload("lstm", loss, primal_numba, "NumPy array ops per step", quick),
            _workload("lstm-loops", loss_loops, primal_loops_numba, "scalar loops over hidden units", quick)]


def workload(quick: bool) -> dict:
    """The array-form workload alone (``workloads`` gives both)."""
    return workloads(quick)[0]


def self_check() -> bool:
    """Both primals agree; hand adjoint vs central differences on a 200-step sequence."""
    args = make_args(n=200)
    same = abs(loss_loops(*args) - loss(*args)) <= 1e-13 * abs(loss(*args))
    same_nb = max_rel_error(primal_loops_numba(*args), primal_numba(*args)) <= 1e-13
    print(f"lstm: loss_loops == loss (Python, Numba): {'OK' if same and same_nb else 'FAIL'}")
    ok = fd_check("lstm", loss, primal_numba, hand_grad, args, wrt=WRT_INDICES, eps=FD_EPS)
    ok_loops = fd_check("lstm-loops", loss_loops, primal_loops_numba, hand_grad, args, wrt=WRT_INDICES,
                        eps=FD_EPS)
    return same and same_nb and ok and ok_loops


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    sys.exit(main(sys.argv[1:], workloads=["benchmarks.lstm"]))
