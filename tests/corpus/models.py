"""Realistic models written with loops: an MLP with a softmax cross-entropy, a
Gaussian-mixture log-likelihood, a scalar LSTM, a Jacobi-smoothed heat equation,
RK4 with a helper right-hand side, a Kalman filter likelihood, log-sum-exp,
leapfrog integration.
Each mixes carried state, restored values and sums in one function."""
import math
import numpy as np

def mlp_loss(W1, b1, W2, b2, X, y):
    n, d = X.shape
    h_dim = W1.shape[0]
    k_dim = W2.shape[0]
    h = np.zeros(h_dim)
    o = np.zeros(k_dim)
    L = 0.0
    for i in range(n):
        for a in range(h_dim):
            s = b1[a]
            for j in range(d):
                s += W1[a, j] * X[i, j]
            h[a] = math.tanh(s)
        m = -1e30
        for c in range(k_dim):
            s = b2[c]
            for a in range(h_dim):
                s += W2[c, a] * h[a]
            o[c] = s
            m = max(m, s)
        z = 0.0
        for c in range(k_dim):
            z += math.exp(o[c] - m)
        L += m + math.log(z) - o[y[i]]
    return L / n

def gmm_loglik(mu, log_sigma, logit_w, x):
    K = mu.shape[0]
    n = x.shape[0]
    mw = logit_w[0]
    for k in range(1, K):
        mw = max(mw, logit_w[k])
    zw = 0.0
    for k in range(K):
        zw += math.exp(logit_w[k] - mw)
    lzw = mw + math.log(zw)
    total = 0.0
    for i in range(n):
        best = -1e30
        for k in range(K):
            s = math.exp(log_sigma[k])
            v = logit_w[k] - lzw - log_sigma[k] - 0.5 * ((x[i] - mu[k]) / s) ** 2
            best = max(best, v)
        acc = 0.0
        for k in range(K):
            s = math.exp(log_sigma[k])
            v = logit_w[k] - lzw - log_sigma[k] - 0.5 * ((x[i] - mu[k]) / s) ** 2
            acc += math.exp(v - best)
        total += best + math.log(acc)
    return -total

def lstm_scalar(wi, wf, wo, wc, xs):
    h = 0.0
    c = 0.0
    for t in range(len(xs)):
        i = 1.0 / (1.0 + math.exp(-(wi[0] * xs[t] + wi[1] * h)))
        f = 1.0 / (1.0 + math.exp(-(wf[0] * xs[t] + wf[1] * h)))
        o = 1.0 / (1.0 + math.exp(-(wo[0] * xs[t] + wo[1] * h)))
        g = math.tanh(wc[0] * xs[t] + wc[1] * h)
        c = f * c + i * g
        h = o * math.tanh(c)
    return h * h + c

def heat_implicit_jacobi(u0, k, steps, iters):
    n = len(u0)
    u = u0.copy()
    for t in range(steps):
        v = u.copy()
        for it in range(iters):
            for i in range(1, n - 1):
                v[i] = (u[i] + k * (v[i - 1] + v[i + 1])) / (1.0 + 2.0 * k)
        for i in range(n):
            u[i] = v[i]
    s = 0.0
    for i in range(n):
        s += u[i] * u[i] * (i + 1)
    return s


def rhs(t, y, k):
    return -k * y + math.sin(t)

def rk4(k, y0, h, n):
    y = y0
    t = 0.0
    for i in range(n):
        k1 = rhs(t, y, k)
        k2 = rhs(t + 0.5 * h, y + 0.5 * h * k1, k)
        k3 = rhs(t + 0.5 * h, y + 0.5 * h * k2, k)
        k4 = rhs(t + h, y + h * k3, k)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        t = t + h
    return y * y

def kalman(q, r, zs):
    n = len(zs)
    x = np.zeros(2)
    P = np.ones(2)
    nll = 0.0
    for t in range(n):
        x[0] = x[0] + x[1]
        P[0] = P[0] + P[1] + q
        s = P[0] + r
        innov = zs[t] - x[0]
        nll += 0.5 * (math.log(s) + innov * innov / s)
        gain = P[0] / s
        x[0] = x[0] + gain * innov
        x[1] = x[1] + 0.1 * gain * innov
        P[0] = (1.0 - gain) * P[0]
        P[1] = P[1] * 0.99 + q
    return nll

def logsumexp_loop(x):
    m = x[0]
    for i in range(1, len(x)):
        m = max(m, x[i])
    s = 0.0
    for i in range(len(x)):
        s += math.exp(x[i] - m)
    return m + math.log(s)

def leapfrog(q0, p0, k, h, n):
    q = q0
    p = p0
    for i in range(n):
        p = p - 0.5 * h * k * math.sin(q)
        q = q + h * p
        p = p - 0.5 * h * k * math.sin(q)
    return 0.5 * p * p + k * (1.0 - math.cos(q))


from ._registry import case  # noqa: E402

_RNG = np.random.default_rng(1)
case(mlp_loss, args=(_RNG.standard_normal((4, 3)) * 0.5, _RNG.standard_normal(4) * 0.1,
                     _RNG.standard_normal((3, 4)) * 0.5, _RNG.standard_normal(3) * 0.1,
                     _RNG.standard_normal((6, 3)), np.array([0, 1, 2, 0, 1, 2])),
     wrt=("W1", "b1", "W2", "b2"))
case(gmm_loglik, args=(_RNG.standard_normal(3), _RNG.standard_normal(3) * 0.2, _RNG.standard_normal(3),
                       _RNG.standard_normal(8)), wrt=("mu", "log_sigma", "logit_w"))
case(lstm_scalar, args=(_RNG.standard_normal(2), _RNG.standard_normal(2), _RNG.standard_normal(2),
                        _RNG.standard_normal(2), _RNG.standard_normal(10)), wrt=("wi", "wf", "wo", "wc", "xs"))
case(heat_implicit_jacobi, args=(_RNG.random(6), 0.3, 3, 4), wrt=("u0", "k"))
case(rk4, args=(0.7, 1.2, 0.05, 40), wrt=("k", "y0", "h"))
case(kalman, args=(0.1, 0.5, _RNG.standard_normal(12)), wrt=("q", "r", "zs"))
case(logsumexp_loop, args=(_RNG.standard_normal(7),), wrt="x",
     expect=lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum())
case(leapfrog, args=(0.5, 0.2, 1.3, 0.05, 30), wrt=("q0", "p0", "k", "h"))
