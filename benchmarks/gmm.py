"""Workload: gradient of the ADBench / GradBench Gaussian-mixture log posterior.

K components in d dimensions, n = 1000 points x_i (rows of ``x``).  Component c
has a weight logit ``alphas[c]``, a mean ``means[c]`` and an inverse-covariance
factor ``icf[c]`` of length d + d(d-1)/2 (ADBench's packing): its first d
entries q_c are the log-diagonal, the rest the strictly lower triangle of the
factor, column by column (column 0 rows 1..d-1, then column 1 rows 2..d-1, ...):

    Q_c = diag(exp(q_c)) + L_c,      Sigma_c^-1 = Q_c^T Q_c
    beta_ic = alphas[c] + sum_j q_cj - 1/2 |Q_c (x_i - means[c])|^2
    objective = - n d / 2 log(2 pi) + sum_i logsumexp_c beta_ic - n logsumexp_c alphas[c]
                + K (N d (log gamma - 1/2 log 2) - log Gamma_d(N / 2))
                - sum_c (1/2 gamma^2 (|exp(q_c)|^2 + |L_c|^2) - m sum_j q_cj)

with N = d + m + 1, log Gamma_d(a) = d(d-1)/4 log(pi) + sum_{j=1..d} lgamma(a + (1-j)/2)
(the Wishart prior's normaliser) and max-shifted log-sum-exps.  It is
GradBench's ``gmm::objective`` with q = icf[:, :d], l = icf[:, d:]; the
Wishart parameters are gamma = 1, m = 0 as in GradBench.  Gradient w.r.t.
(alphas, means, icf).  Sizes: (d, K) = (2, 5), (10, 10), (64, 25), one
workload entry each (``workloads(quick)``; quick mode runs the first two).

Tools timed (single-threaded, float64):

* ``srcgrad``  -- ``srcgrad.grad(gmm_objective, wrt=("alphas", "means", "icf"))``:
  the plain code a user would write, loops over points and components with
  NumPy on the d-vectors, the triangle applied by an index loop.
* ``hand``     -- the reference: a ``@numba.njit`` port of GradBench's manual C++
  adjoint (``tools/manual/gmm_d.hpp``), explicit loops: per point, every
  component's centred point and Q (x - mu) are kept, the log-sum-exp's softmax
  weights w_ik the per-component derivatives, which are accumulated directly
  (no per-component derivative buffers); the mean gradient uses linearity,
  Q_k^T (sum_i w_ik Q_k (x_i - mu_k)), so Q^T is applied once per component.
  It is scalar code like the C++ one: at d = 64 the peers' batched matrix
  products (BLAS / XLA) are faster than it.
* ``primal``   -- ``numba.njit(gmm_objective)``.
* ``fd``       -- central differences of the Numba primal (only (2, 5): 30 inputs).
* ``autograd`` / ``torch`` / ``jax`` -- the vectorised idiom of each: the K
  factors gathered into a (K, d, d) array, Q (x - mu) for all points by one
  batched ``einsum``, ``logsumexp`` over the component axis; JAX ``jit(grad)``.

``python -m benchmarks.gmm --check`` verifies the hand adjoint against central
finite differences; ``python -m benchmarks.gmm`` times these workloads alone.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from . import tools
from .check import fd_check
from .fd import central_fd
from .harness import build_tools

N_POINTS = 1000
SIZES = ((2, 5), (10, 10), (64, 25))     # (d, K); quick mode: the first two
WRT = ("alphas", "means", "icf")
WRT_INDICES = (0, 1, 2)


def gmm_objective(alphas, means, icf, x, gamma, m):
    """Log posterior of a Gaussian mixture with a Wishart prior -- the function being differentiated."""
    n, d = x.shape
    K = alphas.shape[0]
    Qdiags = np.exp(icf[:, :d])
    sum_qs = np.sum(icf[:, :d], axis=1)
    slse = 0.0
    for i in range(n):
        main_term = np.zeros(K)
        for k in range(K):
            xc = x[i] - means[k]
            Qxc = Qdiags[k] * xc
            idx = d
            for j in range(d):                 # strictly lower triangle, column by column
                for r in range(j + 1, d):
                    Qxc[r] += icf[k, idx] * xc[j]
                    idx += 1
            main_term[k] = alphas[k] + sum_qs[k] - 0.5 * np.sum(Qxc * Qxc)
        mx = np.max(main_term)
        slse += mx + np.log(np.sum(np.exp(main_term - mx)))
    amax = np.max(alphas)
    lse_alphas = amax + np.log(np.sum(np.exp(alphas - amax)))
    frobenius = np.sum(Qdiags * Qdiags, axis=1) + np.sum(icf[:, d:] * icf[:, d:], axis=1)
    prior = K * log_wishart_normaliser(d, m, gamma) - np.sum(0.5 * gamma * gamma * frobenius - m * sum_qs)
    return -0.5 * n * d * math.log(2.0 * math.pi) + slse - n * lse_alphas + prior


primal_numba = numba.njit(cache=True)(gmm_objective)


@numba.njit(cache=True)
def hand_grad(alphas, means, icf, x, gamma, m):
    """Hand-written adjoint of ``gmm_objective``: (d_alphas, d_means, d_icf)."""
    n, d = x.shape
    K = alphas.shape[0]
    d_alphas = np.zeros(K)
    d_means = np.empty((K, d))
    d_icf = np.zeros(icf.shape)
    Qdiags = np.empty((K, d))
    sum_qs = np.zeros(K)
    for k in range(K):
        for j in range(d):
            Qdiags[k, j] = np.exp(icf[k, j])
            sum_qs[k] += icf[k, j]
    wQxc_sum = np.zeros((K, d))  # sum_i w_ik Q_k (x_i - mu_k)
    xcs = np.empty((K, d))      # x_i - mu_k, every component, for the current point
    Qxcs = np.empty((K, d))     # Q_k (x_i - mu_k)
    beta = np.empty(K)          # main terms, then the softmax weights d lse / d beta
    for i in range(n):
        for k in range(K):
            for j in range(d):
                xcs[k, j] = x[i, j] - means[k, j]
                Qxcs[k, j] = Qdiags[k, j] * xcs[k, j]
            idx = d
            for j in range(d):
                xj = xcs[k, j]
                for r in range(j + 1, d):
                    Qxcs[k, r] += icf[k, idx] * xj
                    idx += 1
            sq = 0.0
            for j in range(d):
                sq += Qxcs[k, j] * Qxcs[k, j]
            beta[k] = alphas[k] + sum_qs[k] - 0.5 * sq
        mx = beta[0]
        for k in range(1, K):
            mx = max(mx, beta[k])
        s = 0.0
        for k in range(K):
            beta[k] = np.exp(beta[k] - mx)
            s += beta[k]
        inv_s = 1.0 / s
        for k in range(K):
            w = beta[k] * inv_s                 # d lse_i / d beta_ik
            d_alphas[k] += w
            # d beta / d q_j = 1 - Qdiag_j xc_j (Q xc)_j;  d beta / d mu = Q^T Q xc (applied at the end)
            for j in range(d):
                wq = w * Qxcs[k, j]
                d_icf[k, j] += w - wq * Qdiags[k, j] * xcs[k, j]
                wQxc_sum[k, j] += wq
            idx = d
            for j in range(d):
                wx = w * xcs[k, j]
                for r in range(j + 1, d):      # d beta / d L_rj = -xc_j (Q xc)_r
                    d_icf[k, idx] -= wx * Qxcs[k, r]
                    idx += 1
    # d_means[k] = sum_i w_ik Q_k^T Q_k xc_ik = Q_k^T (sum_i w_ik Q_k xc_ik): Q^T once per component
    for k in range(K):
        for j in range(d):
            d_means[k, j] = Qdiags[k, j] * wQxc_sum[k, j]
        idx = d
        for j in range(d):
            acc = 0.0
            for r in range(j + 1, d):
                acc += icf[k, idx] * wQxc_sum[k, r]
                idx += 1
            d_means[k, j] += acc
    # - n logsumexp(alphas)
    amax = alphas[0]
    for k in range(1, K):
        amax = max(amax, alphas[k])
    s = 0.0
    for k in range(K):
        s += np.exp(alphas[k] - amax)
    for k in range(K):
        d_alphas[k] -= n * np.exp(alphas[k] - amax) / s
    # Wishart prior
    g2 = gamma * gamma
    for k in range(K):
        for j in range(d):
            d_icf[k, j] -= g2 * Qdiags[k, j] * Qdiags[k, j] - m
        for p in range(d, icf.shape[1]):
            d_icf[k, p] -= g2 * icf[k, p]
    return d_alphas, d_means, d_icf


def make_args(d, K, n=N_POINTS, seed=0):
    """(alphas, means, icf, x, gamma, m): points from a random mixture, parameters near it."""
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.standard_normal((K, d))
    x = centres[rng.integers(0, K, size=n)] + rng.standard_normal((n, d))
    alphas = 0.5 * rng.standard_normal(K)
    means = centres + 0.3 * rng.standard_normal((K, d))
    icf = 0.2 * rng.standard_normal((K, d + d * (d - 1) // 2))
    return alphas, means, icf, x, 1.0, 0


# ----------------------------------------------------------------------------- peers (vectorised)

def _tril_gather_index(d):
    """Flat (d*d,) index into [0, l_0, l_1, ...] giving the strictly lower triangle of a d x d factor."""
    index = np.zeros((d, d), dtype=np.int64)
    p = 1
    for j in range(d):
        for r in range(j + 1, d):
            index[r, j] = p
            p += 1
    return index.reshape(-1)


@numba.njit(cache=True)
def log_wishart_normaliser(d, m, gamma):
    """Log normaliser of one component's Wishart prior: a float of d, m and gamma
    only (no gradient flows through it). Numba compiles it into the primal;
    srcgrad inlines it into the objectives it differentiates."""
    N = d + m + 1
    C = N * d * (math.log(gamma) - 0.5 * math.log(2.0)) - 0.25 * d * (d - 1) * math.log(math.pi)
    for j in range(1, d + 1):
        C -= math.lgamma(0.5 * N + 0.5 * (1 - j))
    return C


def _log_wishart_constant(d, m):
    """The normaliser without its gamma term (the peers add N d log(gamma) in their own arithmetic)."""
    return log_wishart_normaliser(d, m, 1.0)


def make_autograd_loss(anp):
    """Vectorised ``gmm_objective`` on ``autograd.numpy``; ``autograd.scipy.special.logsumexp``."""
    from autograd.scipy.special import logsumexp

    def loss(alphas, means, icf, x, gamma, m):
        n, d = x.shape
        K = alphas.shape[0]
        q, lower = icf[:, :d], icf[:, d:]
        padded = anp.concatenate([anp.zeros((K, 1)), lower], axis=1)
        Q = anp.reshape(padded[:, _tril_gather_index(d)], (K, d, d)) + anp.exp(q)[:, :, None] * np.eye(d)
        xc = x[None, :, :] - means[:, None, :]                        # (K, n, d)
        Qxc = anp.einsum("krj,knj->knr", Q, xc)
        beta = (alphas + anp.sum(q, axis=1))[:, None] - 0.5 * anp.sum(Qxc * Qxc, axis=2)
        frobenius = anp.sum(anp.exp(2.0 * q), axis=1) + anp.sum(lower * lower, axis=1)
        prior = (K * ((d + m + 1) * d * anp.log(gamma) + _log_wishart_constant(d, m))
                 - anp.sum(0.5 * gamma * gamma * frobenius - m * anp.sum(q, axis=1)))
        return (-0.5 * n * d * math.log(2.0 * math.pi) + anp.sum(logsumexp(beta, axis=0))
                - n * logsumexp(alphas) + prior)
    return loss


def make_torch_loss(torch):
    """PyTorch idiom: the same vectorised objective with ``torch.logsumexp``."""
    def loss(alphas, means, icf, x, gamma, m):
        n, d = x.shape
        K = alphas.shape[0]
        q, lower = icf[:, :d], icf[:, d:]
        padded = torch.cat([torch.zeros((K, 1), dtype=icf.dtype), lower], dim=1)
        index = torch.from_numpy(_tril_gather_index(d))
        Q = padded[:, index].reshape(K, d, d) + torch.diag_embed(torch.exp(q))
        xc = x[None, :, :] - means[:, None, :]
        Qxc = torch.einsum("krj,knj->knr", Q, xc)
        beta = (alphas + q.sum(dim=1))[:, None] - 0.5 * (Qxc * Qxc).sum(dim=2)
        frobenius = torch.exp(2.0 * q).sum(dim=1) + (lower * lower).sum(dim=1)
        prior = (K * ((d + m + 1) * d * torch.log(gamma) + _log_wishart_constant(d, m))
                 - (0.5 * gamma * gamma * frobenius - m * q.sum(dim=1)).sum())
        return (-0.5 * n * d * math.log(2.0 * math.pi) + torch.logsumexp(beta, dim=0).sum()
                - n * torch.logsumexp(alphas, dim=0) + prior)
    return loss


def make_jax_loss(jnp):
    """JAX idiom: the same vectorised objective with ``jax.nn.logsumexp`` (jit of grad)."""
    import jax

    def loss(alphas, means, icf, x, gamma, m):
        n, d = x.shape
        K = alphas.shape[0]
        q, lower = icf[:, :d], icf[:, d:]
        padded = jnp.concatenate([jnp.zeros((K, 1)), lower], axis=1)
        Q = padded[:, _tril_gather_index(d)].reshape(K, d, d) + jnp.exp(q)[:, :, None] * jnp.eye(d)
        xc = x[None, :, :] - means[:, None, :]
        Qxc = jnp.einsum("krj,knj->knr", Q, xc)
        beta = (alphas + jnp.sum(q, axis=1))[:, None] - 0.5 * jnp.sum(Qxc * Qxc, axis=2)
        frobenius = jnp.sum(jnp.exp(2.0 * q), axis=1) + jnp.sum(lower * lower, axis=1)
        prior = (K * ((d + m + 1) * d * jnp.log(gamma) + _log_wishart_constant(d, m))
                 - jnp.sum(0.5 * gamma * gamma * frobenius - m * jnp.sum(q, axis=1)))
        return (-0.5 * n * d * math.log(2.0 * math.pi) + jnp.sum(jax.nn.logsumexp(beta, axis=0))
                - n * jax.nn.logsumexp(alphas) + prior)
    return loss


# ----------------------------------------------------------------------------- workloads

def _one_workload(d, K):
    args = make_args(d, K)
    builders = {
        "srcgrad": tools.srcgrad_grad(gmm_objective, WRT, args),
        "hand": tools.call(hand_grad, args),
        "primal": tools.call(primal_numba, args),
        "autograd": tools.autograd_grad(make_autograd_loss, WRT_INDICES, args),
        "torch": tools.torch_grad(make_torch_loss, WRT_INDICES, args),
        "jax": tools.jax_grad(make_jax_loss, WRT_INDICES, args),
    }
    if (d, K) == SIZES[0]:  # 30 inputs; at (10, 10) already 660 inputs, 1320 primal calls (~2 s)
        builders["fd"] = central_fd(primal_numba, args, WRT_INDICES)
    built, skipped, failed = build_tools(builders)
    n_params = K + K * d + K * (d + d * (d - 1) // 2)
    return {"name": f"gmm-d{d}-K{K}",
            "description": f"GMM log posterior (ADBench/GradBench), n={N_POINTS} points, d={d}, K={K}, "
                           f"Wishart prior; grad wrt (alphas, means, icf), {n_params} parameters",
            "tools": built, "skipped": skipped, "failed": failed,
            "reference": "hand", "primal": "primal", "rtol": 1e-9,
            "tool_rtol": {"fd": 1e-5}}


def workloads(quick: bool) -> list:
    """One workload per size: (2, 5) and (10, 10) in quick mode, also (64, 25) in full mode."""
    return [_one_workload(d, K) for d, K in (SIZES[:2] if quick else SIZES)]


def workload(quick: bool) -> dict:
    """The smallest size, (d, K) = (2, 5)."""
    return _one_workload(*SIZES[0])


def self_check() -> bool:
    """Hand adjoint vs central differences at (d, K) = (2, 5) and (5, 3) on 50 points."""
    # eps 1e-5: the objective is ~4e3, so at 1e-6 its round-off limits FD to ~1e-6 relative
    ok = fd_check("gmm d=2 K=5", gmm_objective, primal_numba, hand_grad, make_args(2, 5),
                  wrt=WRT_INDICES, eps=1e-5)
    return fd_check("gmm d=5 K=3 n=50", gmm_objective, primal_numba, hand_grad, make_args(5, 3, n=50),
                    wrt=WRT_INDICES, eps=1e-5) and ok


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    sys.exit(main(sys.argv[1:], workloads=["benchmarks.gmm"]))
