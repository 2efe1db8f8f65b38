"""Workload 5: one training epoch of minibatch SGD on the MLP of ``benchmarks.mlp``.

8_192 synthetic samples = 32 minibatches of 256, learning rate 0.1; per batch
one gradient of ``mlp.mlp_loss`` and the update ``W -= lr * dW`` for each of
W1, b1, W2, b2.  Every call starts from the same initial parameters (copied
inside the timed call) and returns the parameters after the epoch; the harness
checks those against the hand-adjoint epoch (the "gradient" compared is the
trained parameters).

Tools timed (single-threaded, float64):

* ``hand``     -- the reference: one ``@numba.njit`` function looping over the
  batches and calling the hand adjoint ``mlp.hand_grad`` inside Numba.
* ``srcgrad``  -- the same ``@numba.njit`` loop (same factory) calling
  ``srcgrad.grad(mlp_loss, wrt=("W1", "b1", "W2", "b2"))`` inside Numba;
  skipped while srcgrad rejects array operations.
* ``primal``   -- ``@numba.njit`` loop evaluating the forward loss of every batch
  (no gradient, no update): the cost floor of one pass over the data.
* ``torch``    -- PyTorch eager, the textbook loop: forward, ``loss.backward()``,
  ``p -= lr * p.grad`` under ``torch.no_grad()``, ``p.grad = None``.
* ``jax``      -- a ``jax.jit`` -compiled SGD step (``jax.grad`` + update) called
  from a Python loop over pre-split batches.
* ``autograd`` -- ``autograd.grad`` per batch, NumPy update, Python loop.
"""

from __future__ import annotations

import numba
import numpy as np

from . import mlp, tools
from .harness import build_tools

N_SAMPLES = 8_192
BATCH = mlp.B
N_BATCHES = N_SAMPLES // BATCH
LR = 0.1


def make_args(n_batches=N_BATCHES, batch=BATCH, seed=1):
    """``(params, Xs, Ys)``: initial (W1, b1, W2, b2) and the data split into (n_batches, batch, .) arrays."""
    rng = np.random.default_rng(seed)
    params = mlp.make_params(rng)
    X, Y = mlp.make_data(rng, n_batches * batch)
    return params, X.reshape(n_batches, batch, -1), Y.reshape(n_batches, batch, -1)


def make_njit_epoch(grad):
    """``@njit`` SGD epoch calling ``grad(W1, b1, W2, b2, Xb, Yb) -> (dW1, db1, dW2, db2)``.

    ``grad`` must be callable from Numba (an ``@njit`` function or a srcgrad
    gradient); ``Xs[k]`` of a C-contiguous 3-D array is a C-contiguous batch.
    """
    @numba.njit
    def epoch(W1, b1, W2, b2, Xs, Ys, lr):
        W1 = W1.copy()
        b1 = b1.copy()
        W2 = W2.copy()
        b2 = b2.copy()
        for k in range(Xs.shape[0]):
            dW1, db1, dW2, db2 = grad(W1, b1, W2, b2, Xs[k], Ys[k])
            W1 -= lr * dW1
            b1 -= lr * db1
            W2 -= lr * dW2
            b2 -= lr * db2
        return W1, b1, W2, b2
    return epoch


@numba.njit(cache=True)
def forward_epoch(W1, b1, W2, b2, Xs, Ys):
    """The primal: sum of the forward losses of all batches (no gradient, no update)."""
    total = 0.0
    for k in range(Xs.shape[0]):
        total += mlp.mlp_loss_numba(W1, b1, W2, b2, Xs[k], Ys[k])
    return total


def srcgrad_epoch(params, Xs, Ys):
    def build():
        g = tools.import_srcgrad_grad(mlp.mlp_loss, mlp.WRT, skip_if_unsupported=True)
        epoch = make_njit_epoch(g)
        return tools.skip_unsupported(lambda: epoch(*params, Xs, Ys, LR),
                                      probe=lambda: g(*params, Xs[0], Ys[0]))
    return build


def hand_epoch(params, Xs, Ys):
    def build():
        epoch = make_njit_epoch(mlp.hand_grad)
        return lambda: epoch(*params, Xs, Ys, LR)
    return build


def torch_epoch(params, Xs, Ys):
    def build():
        torch = tools.import_torch()
        loss = mlp.make_torch_loss(torch)
        init = [torch.from_numpy(p) for p in params]
        ps = [p.clone().requires_grad_(True) for p in init]
        Xt, Yt = torch.from_numpy(Xs), torch.from_numpy(Ys)

        def run():
            with torch.no_grad():
                for p, p0 in zip(ps, init):
                    p.copy_(p0)
            for k in range(Xt.shape[0]):
                L = loss(*ps, Xt[k], Yt[k])
                L.backward()
                with torch.no_grad():
                    for p in ps:
                        p -= LR * p.grad
                        p.grad = None
            return tuple(p.detach().numpy().copy() for p in ps)
        return run
    return build


def jax_epoch(params, Xs, Ys):
    def build():
        jax, jnp = tools.import_jax()
        grad = jax.grad(mlp.make_jax_loss(jnp), argnums=mlp.WRT_INDICES)

        @jax.jit
        def step(ps, Xb, Yb):
            return tuple(p - LR * g for p, g in zip(ps, grad(*ps, Xb, Yb)))

        init = tuple(jnp.asarray(p) for p in params)
        batches = [(jnp.asarray(Xb), jnp.asarray(Yb)) for Xb, Yb in zip(Xs, Ys)]

        def run():
            ps = init
            for Xb, Yb in batches:
                ps = step(ps, Xb, Yb)
            return jax.block_until_ready(ps)
        return run
    return build


def autograd_epoch(params, Xs, Ys):
    def build():
        autograd, anp = tools.import_autograd()
        grad = autograd.grad(mlp.make_autograd_loss(anp), argnum=mlp.WRT_INDICES)

        def run():
            ps = params
            for Xb, Yb in zip(Xs, Ys):
                ps = tuple(p - LR * g for p, g in zip(ps, grad(*ps, Xb, Yb)))
            return ps
        return run
    return build


def workload(quick: bool) -> dict:
    """One SGD epoch per call (sizes do not depend on ``quick``: one epoch is ~10 ms)."""
    params, Xs, Ys = make_args()
    builders = {
        "srcgrad": srcgrad_epoch(params, Xs, Ys),
        "hand": hand_epoch(params, Xs, Ys),
        "primal": tools.call(forward_epoch, params + (Xs, Ys)),
        "autograd": autograd_epoch(params, Xs, Ys),
        "torch": torch_epoch(params, Xs, Ys),
        "jax": jax_epoch(params, Xs, Ys),
    }
    built, skipped, failed = build_tools(builders)
    return {"name": "mlp-epoch",
            "description": f"one SGD epoch (lr {LR}) of the mlp workload's MLP: {N_SAMPLES} samples = "
                           f"{N_BATCHES} batches of {BATCH}; compared: the trained (W1, b1, W2, b2); "
                           "primal = forward loss of every batch",
            "tools": built, "skipped": skipped, "failed": failed,
            "reference": "hand", "primal": "primal", "rtol": 1e-8}


def self_check() -> bool:
    """The njit hand epoch == the same SGD loop in plain Python over ``mlp.hand_grad``; the loss drops."""
    params, Xs, Ys = make_args(n_batches=4)
    got = make_njit_epoch(mlp.hand_grad)(*params, Xs, Ys, LR)
    ps = params
    for Xb, Yb in zip(Xs, Ys):
        ps = tuple(p - LR * g for p, g in zip(ps, mlp.hand_grad(*ps, Xb, Yb)))
    from .check import max_rel_error

    err = max_rel_error(got, ps)
    before = forward_epoch(*params, Xs, Ys)
    after = forward_epoch(*got, Xs, Ys)
    ok = err <= 1e-12 and after < before
    print(f"mlp-epoch: njit epoch vs Python loop: max rel err={err:.1e}; summed loss {before:.6g} -> "
          f"{after:.6g}  {'OK' if ok else 'FAIL'}")
    return ok


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    sys.exit(main(sys.argv[1:], workloads=["benchmarks.mlp_epoch"]))
