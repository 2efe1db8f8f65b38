"""Workload 4: gradient of a small MLP classifier's loss on one minibatch.

    h      = tanh(X W1 + b1)                      X: (256, 64), W1: (64, 128), b1: (128,)
    logits = h W2 + b2                            W2: (128, 10), b2: (10,)
    loss   = -1/B sum_ik Y_ik log softmax(logits)_ik   (max-subtracted, Y one-hot (256, 10))

float64, batch B = 256, 9_610 parameters; gradient w.r.t. (W1, b1, W2, b2).
This is the array-program home ground of the tape-based tools: the work is in
three matrix products per direction, and the per-element ops are fused or not.

Tools timed (single-threaded, float64):

* ``hand``     -- the reference: an expert ``@numba.njit`` adjoint (``hand_value_and_grad``):
  BLAS matrix products (``@`` on contiguous arrays), element-wise work in fused
  loops written in place (tanh over the pre-activation, softmax row by row
  over the logits, tanh' over dH), no temporaries beyond H, dlogits, dH and
  the gradients.  It also computes the loss (negligible work); the tool
  times ``hand_grad``, which returns the gradients only, like the others.
* ``primal``   -- ``numba.njit`` of the forward loss (``mlp_loss_numba``: ``mlp_loss``
  with the row max as a loop, since Numba's ``np.max`` takes no ``axis``).
* ``srcgrad``  -- ``srcgrad.grad(mlp_loss, wrt=("W1", "b1", "W2", "b2"))`` from Python;
  skipped while srcgrad rejects array operations.
* ``autograd`` -- ``autograd.grad`` of ``mlp_loss`` on ``autograd.numpy``.
* ``torch``    -- PyTorch eager, ``torch.log_softmax``, ``torch.autograd.grad``.
* ``jax``      -- ``jax.jit(jax.grad(...))`` with ``jax.nn.log_softmax``.

``mlp-relu`` is the same net with a ReLU hidden layer (``mlp_relu_loss``, hand adjoint
``hand_relu_grad``: the ReLU and its mask applied in place, the mask fused with db1's sum).
``benchmarks.mlp_epoch`` times a whole SGD epoch built on these gradients.
``python -m benchmarks.mlp --check`` verifies the hand adjoint against central
finite differences (on a smaller network) and the Numba primal against ``mlp_loss``.
"""

from __future__ import annotations

import numba
import numpy as np

from . import tools
from .check import fd_check
from .fd import central_fd
from .harness import build_tools

B, D_IN, D_H, D_OUT = 256, 64, 128, 10
WRT = ("W1", "b1", "W2", "b2")
WRT_INDICES = (0, 1, 2, 3)


def mlp_loss(W1, b1, W2, b2, X, Y):
    """Mean softmax cross-entropy of a tanh MLP -- the function being differentiated (Y one-hot)."""
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    m = np.max(logits, axis=1, keepdims=True)
    z = logits - m
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


@numba.njit(cache=True)
def _softmax_ce_numba(h, W2, b2, Y):
    """The loss from the hidden layer on, in Numba's subset (``np.max`` has no ``axis`` there)."""
    logits = h @ W2 + b2
    n = logits.shape[0]
    m = np.empty((n, 1))
    for i in range(n):
        m[i, 0] = np.max(logits[i])
    z = logits - m
    logp = z - np.log(np.sum(np.exp(z), axis=1)).reshape((n, 1))
    return -np.sum(Y * logp) / n


@numba.njit(cache=True)
def mlp_loss_numba(W1, b1, W2, b2, X, Y):
    """``mlp_loss`` in Numba's subset: the primal."""
    return _softmax_ce_numba(np.tanh(X @ W1 + b1), W2, b2, Y)


@numba.njit(cache=True)
def _softmax_ce_delta(G, b2, Y):
    """Hand adjoint of the output: ``G`` holds h W2; adds b2 and overwrites it, row by row, with
    dL/dlogits = (softmax * sum_k Y_ik - Y) / n; returns the loss."""
    n, nc = G.shape
    inv_n = 1.0 / n
    e = np.empty(nc)
    loss = 0.0
    for i in range(n):
        m = -np.inf
        for k in range(nc):
            G[i, k] += b2[k]
            m = max(m, G[i, k])
        s = 0.0
        for k in range(nc):
            e[k] = np.exp(G[i, k] - m)
            s += e[k]
        log_s = np.log(s)
        inv_s = 1.0 / s
        y_sum = 0.0
        for k in range(nc):
            loss -= Y[i, k] * ((G[i, k] - m) - log_s)
            y_sum += Y[i, k]
        for k in range(nc):
            G[i, k] = (e[k] * inv_s * y_sum - Y[i, k]) * inv_n
    return loss * inv_n


@numba.njit(cache=True)
def _output_backward(H, G, W2):
    """(dW2, db2, dL/dH) from G = dL/dlogits."""
    db2 = np.zeros(G.shape[1])
    for i in range(G.shape[0]):
        for k in range(G.shape[1]):
            db2[k] += G[i, k]
    return H.T @ G, db2, G @ W2.T


@numba.njit(cache=True)
def hand_value_and_grad(W1, b1, W2, b2, X, Y):
    """Hand-written adjoint of ``mlp_loss``: ``(loss, dW1, db1, dW2, db2)``."""
    n = X.shape[0]
    nh = W1.shape[1]
    # forward: H = tanh(X W1 + b1), in place over the pre-activation
    H = X @ W1
    for i in range(n):
        for j in range(nh):
            H[i, j] = np.tanh(H[i, j] + b1[j])
    # logits, then (row by row) the loss and dL/dlogits = (softmax * sum_k Y_ik - Y) / n, in place
    G = H @ W2
    loss = _softmax_ce_delta(G, b2, Y)
    dW2, db2, dA = _output_backward(H, G, W2)
    # backward through tanh (dH in place) and the hidden layer
    db1 = np.zeros(nh)
    for i in range(n):
        for j in range(nh):
            d = dA[i, j] * (1.0 - H[i, j] * H[i, j])
            dA[i, j] = d
            db1[j] += d
    dW1 = X.T @ dA
    return loss, dW1, db1, dW2, db2


@numba.njit(cache=True)
def hand_grad(W1, b1, W2, b2, X, Y):
    """The hand adjoint without the loss: ``(dW1, db1, dW2, db2)``, like ``srcgrad.grad``."""
    _, dW1, db1, dW2, db2 = hand_value_and_grad(W1, b1, W2, b2, X, Y)
    return dW1, db1, dW2, db2


def mlp_relu_loss(W1, b1, W2, b2, X, Y):
    """``mlp_loss`` with a ReLU hidden layer (the ``mlp-relu`` row)."""
    h = np.maximum(X @ W1 + b1, 0.0)
    logits = h @ W2 + b2
    m = np.max(logits, axis=1, keepdims=True)
    z = logits - m
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


@numba.njit(cache=True)
def mlp_relu_loss_numba(W1, b1, W2, b2, X, Y):
    """``mlp_relu_loss`` in Numba's subset: the primal."""
    return _softmax_ce_numba(np.maximum(X @ W1 + b1, 0.0), W2, b2, Y)


@numba.njit(cache=True)
def hand_relu_grad(W1, b1, W2, b2, X, Y):
    """Hand-written adjoint of ``mlp_relu_loss``: ``(dW1, db1, dW2, db2)``, written like
    ``hand_value_and_grad`` (the ReLU applied in place, its mask fused with db1's sum).
    δ passes where the pre-activation is >= 0, as ``np.maximum(a, 0.0)`` routes a tie."""
    n = X.shape[0]
    nh = W1.shape[1]
    A = X @ W1
    for i in range(n):
        for j in range(nh):
            A[i, j] += b1[j]
    H = np.empty((n, nh))
    for i in range(n):
        for j in range(nh):
            H[i, j] = max(A[i, j], 0.0)
    G = H @ W2
    _softmax_ce_delta(G, b2, Y)
    dW2, db2, dA = _output_backward(H, G, W2)
    db1 = np.zeros(nh)
    for i in range(n):
        for j in range(nh):
            d = dA[i, j] if A[i, j] >= 0.0 else 0.0
            dA[i, j] = d
            db1[j] += d
    dW1 = X.T @ dA
    return dW1, db1, dW2, db2


def make_params(rng, d_in=D_IN, d_h=D_H, d_out=D_OUT):
    """Scaled-normal weights, small random biases (W1, b1, W2, b2)."""
    return (rng.standard_normal((d_in, d_h)) / np.sqrt(d_in), 0.1 * rng.standard_normal(d_h),
            rng.standard_normal((d_h, d_out)) / np.sqrt(d_h), 0.1 * rng.standard_normal(d_out))


def make_data(rng, n, d_in=D_IN, d_out=D_OUT):
    """Synthetic classification data: X standard normal, labels of a noisy random linear teacher."""
    X = rng.standard_normal((n, d_in))
    teacher = rng.standard_normal((d_in, d_out))
    labels = np.argmax(X @ teacher + 2.0 * rng.standard_normal((n, d_out)), axis=1)
    return X, np.eye(d_out)[labels]


def make_args(n=B, d_in=D_IN, d_h=D_H, d_out=D_OUT, seed=0):
    """(W1, b1, W2, b2, X, Y) for one minibatch."""
    rng = np.random.default_rng(seed)
    return make_params(rng, d_in, d_h, d_out) + make_data(rng, n, d_in, d_out)


def make_autograd_loss(anp, relu=False):
    """``mlp_loss`` (``mlp_relu_loss``) verbatim on ``autograd.numpy``."""
    def loss(W1, b1, W2, b2, X, Y):
        h = anp.maximum(X @ W1 + b1, 0.0) if relu else anp.tanh(X @ W1 + b1)
        logits = h @ W2 + b2
        m = anp.max(logits, axis=1, keepdims=True)
        z = logits - m
        logp = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
        return -anp.sum(Y * logp) / X.shape[0]
    return loss


def make_torch_loss(torch, relu=False):
    """PyTorch idiom: ``torch.log_softmax`` (stable, fused); ``torch.relu`` for the ReLU net."""
    def loss(W1, b1, W2, b2, X, Y):
        h = torch.relu(X @ W1 + b1) if relu else torch.tanh(X @ W1 + b1)
        logp = torch.log_softmax(h @ W2 + b2, dim=1)
        return -(Y * logp).sum() / X.shape[0]
    return loss


def make_jax_loss(jnp, relu=False):
    """JAX idiom: ``jax.nn.log_softmax``; ``jnp.maximum(a, 0.0)`` for the ReLU net."""
    import jax

    def loss(W1, b1, W2, b2, X, Y):
        h = jnp.maximum(X @ W1 + b1, 0.0) if relu else jnp.tanh(X @ W1 + b1)
        logp = jax.nn.log_softmax(h @ W2 + b2, axis=1)
        return -jnp.sum(Y * logp) / X.shape[0]
    return loss


def workload(quick: bool, relu: bool = False) -> dict:
    """The one-minibatch MLP gradient (sizes do not depend on ``quick``: it is cheap already);
    ``relu``: the ReLU net (row ``mlp-relu``)."""
    args = make_args()
    loss, primal, hand = (mlp_relu_loss, mlp_relu_loss_numba, hand_relu_grad) if relu else \
        (mlp_loss, mlp_loss_numba, hand_grad)

    def peer(make):
        return lambda module: make(module, relu=relu)
    builders = {
        "srcgrad": tools.srcgrad_grad(loss, WRT, args, skip_if_unsupported=True),
        "hand": tools.call(hand, args),
        "primal": tools.call(primal, args),
        "fd": central_fd(primal, args, WRT_INDICES),     # skipped: 9,610 inputs
        "autograd": tools.autograd_grad(peer(make_autograd_loss), WRT_INDICES, args),
        "torch": tools.torch_grad(peer(make_torch_loss), WRT_INDICES, args),
        "jax": tools.jax_grad(peer(make_jax_loss), WRT_INDICES, args),
    }
    built, skipped, failed = build_tools(builders)
    n_params = D_IN * D_H + D_H + D_H * D_OUT + D_OUT
    return {"name": "mlp-relu" if relu else "mlp",
            "description": f"MLP {D_IN}-{D_H}-{D_OUT}, {'ReLU' if relu else 'tanh'}, softmax cross-entropy, "
                           f"batch {B}, float64, {n_params} parameters; grad wrt (W1, b1, W2, b2) of one minibatch",
            "tools": built, "skipped": skipped, "failed": failed,
            "reference": "hand", "primal": "primal", "rtol": 1e-8}


def workloads(quick: bool) -> list:
    """The tanh net (``mlp``) and the ReLU net (``mlp-relu``)."""
    return [workload(quick), workload(quick, relu=True)]


def self_check() -> bool:
    """Numba primal vs ``mlp_loss``; hand adjoint vs central differences on a 16-sample 8-12-5 net."""
    args = make_args(n=16, d_in=8, d_h=12, d_out=5)
    value_ok = abs(hand_value_and_grad(*args)[0] - mlp_loss(*args)) <= 1e-13 * abs(mlp_loss(*args))
    print(f"mlp: hand loss == mlp_loss: {'OK' if value_ok else 'FAIL'}")
    # eps 1e-5: at 1e-6 round-off in the loss dominates the smallest (~5e-5) gradient components
    tanh_ok = fd_check("mlp", mlp_loss, mlp_loss_numba, hand_grad, args, wrt=WRT_INDICES, eps=1e-5)
    relu_ok = fd_check("mlp-relu", mlp_relu_loss, mlp_relu_loss_numba, hand_relu_grad, args, wrt=WRT_INDICES,
                       eps=1e-5)
    return tanh_ok and relu_ok and value_ok


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    sys.exit(main(sys.argv[1:], workloads=["benchmarks.mlp"]))
