"""GradBench ``gmm``: log posterior of a Gaussian mixture with a Wishart prior, and its gradient.

The objective of ``benchmarks/gmm.py`` with GradBench's inputs (q and l as
separate arrays instead of ADBench's packed ``icf``): K components in d
dimensions, n points (rows of x); component c has the weight logit
``alpha[c]``, the mean ``mu[c]`` and the factor ``Q_c = diag(exp(q[c])) + L_c``
of its inverse covariance, L_c strictly lower triangular, filled column by
column from ``l[c]``. Gradient w.r.t. (alpha, mu, q, l).

Written per component, over all points at once: Q_c is assembled as a d x d
matrix and applied to the n centred points by one matrix product (as ADBench's
vectorised NumPy versions do); ``main_term[i, c]`` holds the log of component
c's weighted density at point i, and the log-sum-exp over the components is
taken row-wise. (The per-point form with an element loop for the triangle,
``benchmarks/gmm.py``'s, computes the same: 1.0-1.2x as fast at d = 2, 4-8x
slower at d >= 32.)
"""
import math

import numpy as np

from benchmarks.gmm import log_wishart_normaliser
from benchmarks.gradbench.common import Differentiated, floats, to_float, to_list


def gmm_objective(alpha, mu, q, l, x, gamma, m):
    n, d = x.shape
    K = alpha.shape[0]
    Qdiags = np.exp(q)
    sum_qs = np.sum(q, axis=1)
    main_term = np.zeros((n, K))
    for k in range(K):
        Q = np.zeros((d, d))
        idx = 0
        for j in range(d):
            Q[j, j] = Qdiags[k, j]
            for r in range(j + 1, d):          # strictly lower triangle, column by column
                Q[r, j] = l[k, idx]
                idx += 1
        Qxc = (x - mu[k]) @ Q.T                # row i: Q_k (x_i - mu_k)
        main_term[:, k] = alpha[k] + sum_qs[k] - 0.5 * np.sum(Qxc * Qxc, axis=1)
    mx = np.max(main_term, axis=1, keepdims=True)
    slse = np.sum(mx) + np.sum(np.log(np.sum(np.exp(main_term - mx), axis=1)))
    amax = np.max(alpha)
    lse_alpha = amax + np.log(np.sum(np.exp(alpha - amax)))
    frobenius = np.sum(Qdiags * Qdiags, axis=1) + np.sum(l * l, axis=1)
    prior = K * log_wishart_normaliser(d, m, gamma) - np.sum(0.5 * gamma * gamma * frobenius - m * sum_qs)
    return -0.5 * n * d * math.log(2.0 * math.pi) + slse - n * lse_alpha + prior


GMM = Differentiated(gmm_objective, wrt=("alpha", "mu", "q", "l"))


def _args(input):
    d, k = int(input["d"]), int(input["k"])
    l = floats(input["l"]).reshape(k, d * (d - 1) // 2)     # (k, 0) when d = 1
    return (floats(input["alpha"]), floats(input["mu"]).reshape(k, d), floats(input["q"]).reshape(k, d), l,
            floats(input["x"]).reshape(-1, d), float(input["gamma"]), int(input["m"]))


def _jacobian_json(out):
    _, d_alpha, d_mu, d_q, d_l = out
    return {"alpha": to_list(d_alpha), "mu": to_list(d_mu), "q": to_list(d_q), "l": to_list(d_l)}


def prepare(function, input):
    args = _args(input)
    if function == "objective":
        return GMM.bind_primal(*args), to_float
    if function == "jacobian":
        return GMM.bind_value_and_grad(*args), _jacobian_json
    raise KeyError(f"gmm has no function {function!r}")


_EXAMPLE = {"d": 2, "k": 2, "n": 3, "x": [[0.1, 0.2], [0.3, -0.1], [1.0, 0.5]], "m": 0, "gamma": 1.0,
            "alpha": [0.1, -0.2], "mu": [[0.0, 0.1], [0.5, 0.4]], "q": [[0.1, 0.0], [-0.1, 0.2]],
            "l": [[0.3], [-0.2]]}
EXAMPLES = {"objective": _EXAMPLE, "jacobian": _EXAMPLE}
