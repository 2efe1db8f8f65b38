"""Array-level NumPy programs: the losses people actually write with whole-array
expressions instead of element loops.

Covered: elementwise arithmetic and unary functions with broadcasting between
scalars, vectors and matrices (`x[:, None] * y[None, :]`, bias rows); `@`,
np.dot, np.matmul, np.outer; .T, np.transpose, reshape, ravel; reductions
(np.sum, np.mean, np.max, np.min, np.prod, np.cumsum) with and without axis= and
keepdims=, and their method forms; np.maximum/minimum/where/abs/clip; stabilised
softmax and log-sum-exp; basic slicing reads and writes; row iteration and
integer-label indexing in loops; array state rebound or updated in place inside
loops; same-module helper functions; scalar loops mixed with array expressions.

Arrays are 1-D/2-D float64 (int64 for labels), sizes 3-7, from seeded
generators; every evaluation point is away from kinks (max/min ties, abs/relu at
0, clip bounds, Huber/hinge switch points): `_check_away_from_kinks` below is
run on import so a changed seed cannot silently put a point on one.
"""

import numpy as np

from ._registry import case


def _rng(seed):
    return np.random.default_rng(seed)


def _far(values, at=0.0, margin=1e-3):
    v = np.asarray(values, dtype=np.float64)
    assert np.all(np.abs(v - at) > margin), f"evaluation point too close to a kink at {at}: {v!r}"


def _no_ties(values, axis=None, margin=1e-3):
    """The largest and smallest entries (per row/column with axis=) are unique by a margin."""
    v = np.asarray(values, dtype=np.float64)
    v = np.sort(v.ravel()) if axis is None else np.sort(v, axis=axis)
    d = np.diff(v, axis=-1 if axis is None else axis)
    n = d.shape[-1 if axis is None else axis]
    first = np.take(d, 0, axis=-1 if axis is None else axis)
    last = np.take(d, n - 1, axis=-1 if axis is None else axis)
    assert np.all(first > margin) and np.all(last > margin), f"max/min tie in {values!r}"


# --- helpers (plain functions in the same module, inlined by srcgrad) ------------------

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax_rows(S):
    m = np.max(S, axis=1, keepdims=True)
    E = np.exp(S - m)
    return E / np.sum(E, axis=1, keepdims=True)


def _logsumexp_rows(Z):
    m = np.max(Z, axis=1, keepdims=True)
    return m + np.log(np.sum(np.exp(Z - m), axis=1, keepdims=True))


def _dense_tanh(W, b, x):
    return np.tanh(W @ x + b)


def _np_sigmoid(z):  # reference implementation for the closed forms
    return 1.0 / (1.0 + np.exp(-z))


def _np_softmax_rows(S):
    E = np.exp(S - S.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


# --- elementwise, broadcasting -----------------------------------------------------

def sum_of_squares(x):
    return np.sum(x * x)


case(sum_of_squares, args=(np.array([0.5, -1.0, 2.0, 0.3]),), wrt="x", expect=lambda x: 2.0 * x)
case(sum_of_squares, args=(_rng(0).standard_normal((3, 4)),), wrt="x", expect=lambda x: 2.0 * x)


def unary_mix(x):
    y = np.exp(0.5 * x) * np.sin(x) + np.cos(x) ** 2
    z = np.sqrt(x * x + 1.0) - np.abs(x) / (1.0 + x ** 2)
    return np.sum(y + z + np.log(2.0 + np.tanh(x)))


def _unary_mix_grad(x):
    e = np.exp(0.5 * x)
    t = np.tanh(x)
    g = 0.5 * e * np.sin(x) + e * np.cos(x) - 2.0 * np.cos(x) * np.sin(x)
    g += x / np.sqrt(x * x + 1.0)
    g -= (np.sign(x) * (1.0 + x ** 2) - np.abs(x) * 2.0 * x) / (1.0 + x ** 2) ** 2
    g += (1.0 - t * t) / (2.0 + t)
    return g


_UNARY_X = np.array([0.5, -1.2, 2.0, 0.3, -0.7])
_far(_UNARY_X)
case(unary_mix, args=(_UNARY_X,), wrt="x", expect=_unary_mix_grad)


def scalar_times_array(a, b, x, y):
    r = a * x + b - y
    return np.mean(r ** 2)


def _scalar_times_array_grad(a, b, x, y):
    r = a * x + b - y
    n = len(x)
    return (float(2.0 * np.sum(r * x) / n), float(2.0 * np.sum(r) / n), 2.0 * a * r / n)


case(scalar_times_array, args=(0.7, -0.2, _rng(1).standard_normal(6), _rng(2).standard_normal(6)),
     wrt=("a", "b", "x"), expect=_scalar_times_array_grad)


def broadcast_outer(x, y):
    P = x[:, None] * y[None, :]
    return np.sum(np.sin(P)) + np.sum(P / (1.0 + y))


def _broadcast_outer_grad(x, y):
    P = np.outer(x, y)
    C = np.cos(P)
    gx = C @ y + np.sum(y / (1.0 + y)) * np.ones_like(x)
    gy = C.T @ x + np.sum(x) * (1.0 / (1.0 + y) ** 2)
    return (gx, gy)


case(broadcast_outer, args=(np.array([0.5, -1.0, 2.0]), np.array([0.3, 1.2, -0.4, 0.8])),
     wrt=("x", "y"), expect=_broadcast_outer_grad)


def bias_row(X, b, c):
    Z = X + b          # (n, d) + (d,): bias row
    Z2 = Z * c[:, None]  # (n, d) * (n, 1): per-row scale
    return np.sum(Z2 ** 2) + np.sum(b[None, :] * X)


def _bias_row_grad(X, b, c):
    Z = X + b
    G = 2.0 * Z * (c ** 2)[:, None]
    return (G + b[None, :], G.sum(axis=0) + X.sum(axis=0), np.sum(2.0 * Z * Z * c[:, None], axis=1))


case(bias_row, args=(_rng(3).standard_normal((4, 3)), _rng(4).standard_normal(3), _rng(5).standard_normal(4)),
     wrt=("X", "b", "c"), expect=_bias_row_grad)


# --- linear algebra -------------------------------------------------------------------

def quadratic_form(A, x):
    return x @ A @ x


case(quadratic_form, args=(_rng(6).standard_normal((4, 4)), _rng(7).standard_normal(4)), wrt=("A", "x"),
     expect=lambda A, x: (np.outer(x, x), (A + A.T) @ x))


def matmul_variants(A, B, C, x):
    M = np.matmul(A, B)        # mat @ mat
    v = np.dot(A, x)           # mat . vec
    s = np.dot(v, v)           # vec . vec
    return np.sum(M * C) + s + np.sum(A.T @ v)


def _matmul_variants_grad(A, B, C, x):
    v = A @ x
    gv = 2.0 * v + A @ np.ones(A.shape[1])
    gA = C @ B.T + np.outer(gv, x) + np.outer(np.ones(A.shape[1]), v).T
    return (gA, A.T @ C, A.T @ gv)


case(matmul_variants, args=(_rng(8).standard_normal((3, 4)), _rng(9).standard_normal((4, 5)),
                            _rng(10).standard_normal((3, 5)), _rng(11).standard_normal(4)),
     wrt=("A", "B", "x"), expect=_matmul_variants_grad)


def outer_rank1(u, v, M):
    R = np.outer(u, v) - M
    return np.sum(R * R)


def _outer_rank1_grad(u, v, M):
    R = np.outer(u, v) - M
    return (2.0 * R @ v, 2.0 * R.T @ u)


case(outer_rank1, args=(_rng(12).standard_normal(4), _rng(13).standard_normal(3), _rng(14).standard_normal((4, 3))),
     wrt=("u", "v"), expect=_outer_rank1_grad)


def transpose_reshape(A, w):
    B = np.transpose(A)            # (m, n)
    v = B.ravel()                  # length m * n
    C = v.reshape((A.shape[0], A.shape[1]))
    return np.sum(C.T @ w) + np.sum(np.tanh(v) * v)


case(transpose_reshape, args=(_rng(15).standard_normal((2, 3)), _rng(16).standard_normal(2)), wrt=("A", "w"))


def unflatten_params(theta, X, y):
    d = X.shape[1]
    W = theta[:2 * d].reshape((d, 2))
    b = theta[2 * d:2 * d + 2]
    v = theta[2 * d + 2:]
    h = np.tanh(X @ W + b)
    r = h @ v - y
    return 0.5 * np.sum(r * r)


_UP_X = _rng(17).standard_normal((5, 3))
case(unflatten_params, args=(_rng(18).standard_normal(3 * 2 + 2 + 2) * 0.5, _UP_X, _rng(19).standard_normal(5)),
     wrt="theta")


def linear_dynamics(A, x0, T):
    x = x0
    L = 0.0
    for t in range(T):
        x = A @ x
        L += np.sum(x * x)
    return L


def _linear_dynamics_grad(A, x0, T):
    xs = [x0]
    for t in range(T):
        xs.append(A @ xs[-1])
    gA = np.zeros_like(A)
    lam = np.zeros_like(x0)
    for t in range(T, 0, -1):
        lam = lam + 2.0 * xs[t]
        gA += np.outer(lam, xs[t - 1])
        lam = A.T @ lam
    return (gA, lam)


case(linear_dynamics, args=(0.5 * _rng(20).standard_normal((3, 3)), _rng(21).standard_normal(3), 5),
     wrt=("A", "x0"), expect=_linear_dynamics_grad)


def rayleigh_power_iteration(A, v0):
    S = A + A.T
    v = v0
    for k in range(4):
        v = S @ v
        v = v / np.sqrt(np.sum(v * v))
    return v @ S @ v


case(rayleigh_power_iteration, args=(_rng(22).standard_normal((4, 4)), _rng(23).standard_normal(4)),
     wrt=("A", "v0"))


def cosine_similarity(u, v):
    return np.dot(u, v) / (np.sqrt(np.dot(u, u)) * np.sqrt(v @ v))


def _cosine_similarity_grad(u, v):
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    c = u @ v / (nu * nv)
    return (v / (nu * nv) - c * u / nu ** 2, u / (nu * nv) - c * v / nv ** 2)


case(cosine_similarity, args=(_rng(24).standard_normal(5), _rng(25).standard_normal(5)), wrt=("u", "v"),
     expect=_cosine_similarity_grad)


def hebbian_outer_accumulate(U, V, W):
    M = np.zeros((U.shape[1], V.shape[1]))
    for t in range(U.shape[0]):
        M += np.outer(U[t], V[t])
    return np.sum(M * W) + 0.5 * np.sum(M * M)


def _hebbian_grad(U, V, W):
    M = U.T @ V
    G = W + M
    return (V @ G.T, U @ G)


case(hebbian_outer_accumulate, args=(_rng(26).standard_normal((5, 3)), _rng(27).standard_normal((5, 4)),
                                     _rng(28).standard_normal((3, 4))),
     wrt=("U", "V"), expect=_hebbian_grad)


# --- regression / classification losses -----------------------------------------------

def least_squares(X, y, w, b):
    r = X @ w + b - y
    return np.mean(r ** 2)


def _least_squares_grad(X, y, w, b):
    n = X.shape[0]
    r = X @ w + b - y
    return (2.0 / n * np.outer(r, w), 2.0 / n * X.T @ r, float(2.0 / n * r.sum()))


_X53 = np.array([[1.0, 0.5, -0.2], [0.3, -1.0, 0.8], [2.0, 0.1, 0.4], [-0.5, 0.7, 1.5], [0.9, -0.3, -1.1]])
case(least_squares, args=(_X53, np.array([1.0, -0.5, 2.0, 0.3, 0.0]), np.array([0.2, -0.4, 0.6]), 0.1),
     wrt=("X", "w", "b"), expect=_least_squares_grad)


def ridge(X, y, w, lam):
    r = X @ w - y
    return r @ r + lam * np.dot(w, w)


case(ridge, args=(_X53, np.array([1.0, -0.5, 2.0, 0.3, 0.0]), np.array([0.2, -0.4, 0.6]), 0.3),
     wrt=("w", "lam"),
     expect=lambda X, y, w, lam: (2.0 * X.T @ (X @ w - y) + 2.0 * lam * w, float(w @ w)))


def lasso(X, y, w, lam):
    r = X @ w - y
    return 0.5 * np.mean(r ** 2) + lam * np.sum(np.abs(w))


_LASSO_W = np.array([0.2, -0.4, 0.6])
_far(_LASSO_W)
case(lasso, args=(_X53, np.array([1.0, -0.5, 2.0, 0.3, 0.0]), _LASSO_W, 0.3), wrt=("w", "lam"),
     expect=lambda X, y, w, lam: (X.T @ (X @ w - y) / X.shape[0] + lam * np.sign(w), float(np.abs(w).sum())))


def logistic_regression(w, b, X, y):
    p = sigmoid(X @ w + b)
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def _logistic_regression_grad(w, b, X, y):
    p = _np_sigmoid(X @ w + b)
    n = X.shape[0]
    return (X.T @ (p - y) / n, float(np.sum(p - y) / n))


_LR_X = _rng(30).standard_normal((7, 3))
_LR_Y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0])
case(logistic_regression, args=(np.array([0.5, -0.3, 0.8]), 0.1, _LR_X, _LR_Y), wrt=("w", "b"),
     expect=_logistic_regression_grad)


def hinge_svm(w, X, y, lam):
    margins = 1.0 - y * (X @ w)
    return np.sum(np.maximum(margins, 0.0)) + 0.5 * lam * (w @ w)


def _hinge_svm_grad(w, X, y, lam):
    active = (1.0 - y * (X @ w)) > 0.0
    return -X.T @ (y * active) + lam * w


_SVM_W = np.array([0.5, -0.3, 0.8])
_SVM_Y = 2.0 * _LR_Y - 1.0
_far(1.0 - _SVM_Y * (_LR_X @ _SVM_W))
case(hinge_svm, args=(_SVM_W, _LR_X, _SVM_Y, 0.1), wrt="w", expect=_hinge_svm_grad)


def huber_regression(w, X, y, delta):
    r = X @ w - y
    a = np.abs(r)
    loss = np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
    return np.sum(loss)


def _huber_grad(w, X, y, delta):
    r = X @ w - y
    return X.T @ np.clip(r, -delta, delta)


_HUBER_Y = _rng(31).standard_normal(7) * 2.0
_far(np.abs(_LR_X @ _SVM_W - _HUBER_Y), at=1.0)
_far(_LR_X @ _SVM_W - _HUBER_Y)
case(huber_regression, args=(_SVM_W, _LR_X, _HUBER_Y, 1.0), wrt="w", expect=_huber_grad)


def clipped_residuals(x, w, lo, hi):
    c = np.clip(x * w, lo, hi)
    return np.sum(c ** 2) + np.sum(np.minimum(x, 0.5) * w)


def _clipped_residuals_grad(x, w, lo, hi):
    z = x * w
    inside = (z > lo) & (z < hi)
    gz = 2.0 * z * inside
    return (gz * w + (x < 0.5) * w, gz * x + np.minimum(x, 0.5))


_CLIP_X = np.array([0.8, -1.0, 2.0, 0.3, -0.1, 1.4])
_CLIP_W = np.array([0.9, 1.5, -0.2, 2.0, 3.0, 0.4])
_far(_CLIP_X * _CLIP_W, at=-0.8)
_far(_CLIP_X * _CLIP_W, at=1.0)
_far(_CLIP_X, at=0.5)
case(clipped_residuals, args=(_CLIP_X, _CLIP_W, -0.8, 1.0), wrt=("x", "w"), expect=_clipped_residuals_grad)


def softmax_ce_onehot(W, b, X, Y):
    logits = X @ W + b
    lse = _logsumexp_rows(logits)
    return -np.sum(Y * (logits - lse)) / X.shape[0]


def _softmax_ce_grad(W, b, X, Y):
    P = _np_softmax_rows(X @ W + b)
    n = X.shape[0]
    return (X.T @ (P - Y) / n, (P - Y).sum(axis=0) / n)


_SM_X = _rng(32).standard_normal((6, 4))
_SM_LABELS = np.array([0, 2, 1, 2, 0, 1])
_SM_Y = np.eye(3)[_SM_LABELS]
case(softmax_ce_onehot, args=(_rng(33).standard_normal((4, 3)), _rng(34).standard_normal(3), _SM_X, _SM_Y),
     wrt=("W", "b"), expect=_softmax_ce_grad)


def softmax_ce_labels(W, X, labels):
    L = 0.0
    for i in range(X.shape[0]):
        z = W @ X[i]
        m = np.max(z)
        lse = m + np.log(np.sum(np.exp(z - m)))
        L += lse - z[labels[i]]
    return L / X.shape[0]


def _softmax_ce_labels_grad(W, X, labels):
    P = _np_softmax_rows(X @ W.T)
    Y = np.eye(W.shape[0])[labels]
    return (P - Y).T @ X / X.shape[0]


case(softmax_ce_labels, args=(_rng(35).standard_normal((3, 4)), _SM_X, _SM_LABELS), wrt="W",
     expect=_softmax_ce_labels_grad)


def softmax_ce_rows(W, b, X, labels):
    logp = X @ W + b - _logsumexp_rows(X @ W + b)
    L = 0.0
    for i in range(X.shape[0]):
        row = logp[i]
        L -= row[labels[i]]
    return L / X.shape[0]


case(softmax_ce_rows, args=(_rng(33).standard_normal((4, 3)), _rng(34).standard_normal(3), _SM_X, _SM_LABELS),
     wrt=("W", "b"), expect=lambda W, b, X, labels: _softmax_ce_grad(W, b, X, np.eye(3)[labels]))


# --- neural networks ---------------------------------------------------------------------

def mlp_tanh(W1, b1, W2, b2, X, y):
    H = np.tanh(X @ W1.T + b1)
    out = H @ W2 + b2
    return 0.5 * np.mean((out - y) ** 2)


def _mlp_tanh_grad(W1, b1, W2, b2, X, y):
    n = X.shape[0]
    H = np.tanh(X @ W1.T + b1)
    r = (H @ W2 + b2 - y) / n
    dH = np.outer(r, W2) * (1.0 - H * H)
    return (dH.T @ X, dH.sum(axis=0), H.T @ r, float(r.sum()))


_MLP_X = _rng(40).standard_normal((6, 3))
_MLP_Y = _rng(41).standard_normal(6)
case(mlp_tanh, args=(_rng(42).standard_normal((4, 3)) * 0.7, _rng(43).standard_normal(4) * 0.1,
                     _rng(44).standard_normal(4), 0.2, _MLP_X, _MLP_Y),
     wrt=("W1", "b1", "W2", "b2"), expect=_mlp_tanh_grad)


def mlp_relu(W1, b1, w2, X, y):
    H = np.maximum(X @ W1 + b1, 0.0)
    pred = H @ w2
    return np.mean((pred - y) ** 2)


def _mlp_relu_grad(W1, b1, w2, X, y):
    n = X.shape[0]
    Z = X @ W1 + b1
    H = np.maximum(Z, 0.0)
    r = 2.0 * (H @ w2 - y) / n
    dZ = np.outer(r, w2) * (Z > 0)
    return (X.T @ dZ, dZ.sum(axis=0), H.T @ r)


_RELU_W1 = _rng(45).standard_normal((3, 5))
_RELU_B1 = _rng(46).standard_normal(5) * 0.1
_far(_MLP_X @ _RELU_W1 + _RELU_B1)
case(mlp_relu, args=(_RELU_W1, _RELU_B1, _rng(47).standard_normal(5), _MLP_X, _MLP_Y),
     wrt=("W1", "b1", "w2"), expect=_mlp_relu_grad)


def mlp_sigmoid_bce(W1, b1, w2, b2, X, y):
    H = sigmoid(X @ W1 + b1)
    p = sigmoid(H @ w2 + b2)
    eps = 1e-12
    return -np.sum(y * np.log(p + eps) + (1.0 - y) * np.log(1.0 - p + eps))


case(mlp_sigmoid_bce, args=(_rng(48).standard_normal((3, 4)), _rng(49).standard_normal(4),
                            _rng(50).standard_normal(4), -0.1, _MLP_X, (_MLP_Y > 0).astype(np.float64)),
     wrt=("W1", "b1", "w2", "b2"))


def mlp_helper_layers(W1, b1, W2, b2, x, target):
    h = _dense_tanh(W1, b1, x)
    o = _dense_tanh(W2, b2, h)
    d = o - target
    return np.dot(d, d)


case(mlp_helper_layers, args=(_rng(51).standard_normal((4, 3)), _rng(52).standard_normal(4),
                              _rng(53).standard_normal((2, 4)), _rng(54).standard_normal(2),
                              _rng(55).standard_normal(3), np.array([0.3, -0.2])),
     wrt=("W1", "b1", "W2", "b2", "x"))


def rnn_tanh(W, U, b, h0, xs):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t] + b)
    return np.sum(h * h)


def _rnn_tanh_grad(W, U, b, h0, xs):
    hs = [h0]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(W @ hs[-1] + U @ xs[t] + b))
    dh = 2.0 * hs[-1]
    gW, gU, gb = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    for t in range(xs.shape[0] - 1, -1, -1):
        dz = dh * (1.0 - hs[t + 1] ** 2)
        gW += np.outer(dz, hs[t])
        gU += np.outer(dz, xs[t])
        gb += dz
        dh = W.T @ dz
    return (gW, gU, gb, dh)


_RNN_XS = _rng(60).standard_normal((5, 3))
case(rnn_tanh, args=(_rng(61).standard_normal((4, 4)) * 0.5, _rng(62).standard_normal((4, 3)) * 0.5,
                     _rng(63).standard_normal(4) * 0.1, _rng(64).standard_normal(4) * 0.5, _RNN_XS),
     wrt=("W", "U", "b", "h0"), expect=_rnn_tanh_grad)


def rnn_seq_loss(W, U, V, h0, xs, ys):
    h = h0
    L = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        r = V @ h - ys[t]
        L += 0.5 * np.sum(r ** 2)
    return L / xs.shape[0]


case(rnn_seq_loss, args=(_rng(65).standard_normal((4, 4)) * 0.5, _rng(66).standard_normal((4, 3)) * 0.5,
                         _rng(67).standard_normal((2, 4)), np.zeros(4), _RNN_XS, _rng(68).standard_normal((5, 2))),
     wrt=("W", "U", "V", "xs"))


def gru_like(Wz, Uz, Wh, Uh, bz, h0, xs):
    h = h0
    for t in range(xs.shape[0]):
        z = sigmoid(Wz @ xs[t] + Uz @ h + bz)
        cand = np.tanh(Wh @ xs[t] + Uh @ (z * h))
        h = (1.0 - z) * h + z * cand
    return np.sum(np.sin(h)) + h @ h


case(gru_like, args=(_rng(70).standard_normal((3, 2)), _rng(71).standard_normal((3, 3)) * 0.5,
                     _rng(72).standard_normal((3, 2)), _rng(73).standard_normal((3, 3)) * 0.5,
                     _rng(74).standard_normal(3) * 0.1, _rng(75).standard_normal(3) * 0.3,
                     _rng(76).standard_normal((4, 2))),
     wrt=("Wz", "Uz", "Wh", "Uh", "bz", "h0"))


def rnn_accumulate_inplace(W, U, xs):
    h = np.zeros(W.shape[0])
    acc = np.zeros(W.shape[0])
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        acc += h * (t + 1.0)
        acc *= 0.9
    return np.sum(acc ** 2)


case(rnn_accumulate_inplace, args=(_rng(77).standard_normal((3, 3)) * 0.5, _rng(78).standard_normal((3, 3)),
                                   _rng(79).standard_normal((4, 3))),
     wrt=("W", "U", "xs"))


def attention(Q, K, V, w):
    d = Q.shape[1]
    S = Q @ K.T / np.sqrt(d)
    A = _softmax_rows(S)
    O = A @ V
    return np.sum(np.tanh(O) * w)


def _attention_grad(Q, K, V, w):
    d = Q.shape[1]
    S = Q @ K.T / np.sqrt(d)
    A = _np_softmax_rows(S)
    O = A @ V
    dO = (1.0 - np.tanh(O) ** 2) * w
    dA = dO @ V.T
    dS = A * (dA - np.sum(dA * A, axis=1, keepdims=True))
    return (dS @ K / np.sqrt(d), dS.T @ Q / np.sqrt(d), A.T @ dO)


case(attention, args=(_rng(80).standard_normal((3, 4)), _rng(81).standard_normal((5, 4)),
                      _rng(82).standard_normal((5, 2)), _rng(83).standard_normal(2)),
     wrt=("Q", "K", "V"), expect=_attention_grad)


def layer_norm(X, gamma, beta, w):
    mu = np.mean(X, axis=1, keepdims=True)
    var = np.mean((X - mu) ** 2, axis=1, keepdims=True)
    Xh = (X - mu) / np.sqrt(var + 1e-5)
    Y = gamma * Xh + beta
    return np.sum(np.tanh(Y @ w))


case(layer_norm, args=(_rng(84).standard_normal((4, 5)), 1.0 + 0.1 * _rng(85).standard_normal(5),
                       0.1 * _rng(86).standard_normal(5), _rng(87).standard_normal(5)),
     wrt=("X", "gamma", "beta"))


def batch_norm(X, gamma, beta, W):
    mu = X.mean(axis=0)
    Xc = X - mu
    var = np.mean(Xc * Xc, axis=0, keepdims=True)
    Y = gamma * Xc / np.sqrt(var + 1e-5) + beta
    return np.sum(np.maximum(Y @ W, 0.0) ** 2)


_BN_X = _rng(88).standard_normal((6, 3))
_BN_W = _rng(89).standard_normal((3, 2))
_BN_G = np.array([1.1, 0.9, 1.3])
_BN_B = np.array([0.1, -0.2, 0.05])
_far(((_BN_X - _BN_X.mean(0)) / np.sqrt(_BN_X.var(0) + 1e-5) * _BN_G + _BN_B) @ _BN_W)
case(batch_norm, args=(_BN_X, _BN_G, _BN_B, _BN_W), wrt=("X", "gamma", "beta", "W"))


def gmm_1d(mu, log_sigma, logit_w, x):
    log_w = logit_w - np.max(logit_w)
    log_w = log_w - np.log(np.sum(np.exp(log_w)))
    sigma = np.exp(log_sigma)
    z = (x[:, None] - mu[None, :]) / sigma[None, :]
    comp = log_w[None, :] - log_sigma[None, :] - 0.5 * z * z - 0.5 * np.log(2.0 * np.pi)
    m = np.max(comp, axis=1, keepdims=True)
    ll = m[:, 0] + np.log(np.sum(np.exp(comp - m), axis=1))
    return -np.sum(ll)


def _gmm_1d_grad(mu, log_sigma, logit_w, x):
    s = np.exp(log_sigma)
    w = np.exp(logit_w - logit_w.max())
    w /= w.sum()
    z = (x[:, None] - mu) / s
    dens = w * np.exp(-0.5 * z * z) / (np.sqrt(2 * np.pi) * s)
    R = dens / dens.sum(axis=1, keepdims=True)  # responsibilities
    g_mu = -np.sum(R * z / s, axis=0)
    g_ls = -np.sum(R * (z * z - 1.0), axis=0)
    g_lw = -(R.sum(axis=0) - len(x) * w)
    return (g_mu, g_ls, g_lw)


case(gmm_1d, args=(np.array([-1.0, 0.2, 1.5]), np.array([0.1, -0.3, 0.2]), np.array([0.3, -0.1, 0.5]),
                   _rng(90).standard_normal(7)),
     wrt=("mu", "log_sigma", "logit_w"), expect=_gmm_1d_grad)


def gmm_isotropic(mu, log_s, logit_pi, X):
    d = X.shape[1]
    sq = np.sum(X ** 2, axis=1)[:, None] - 2.0 * X @ mu.T + np.sum(mu ** 2, axis=1)[None, :]
    s2 = np.exp(2.0 * log_s)
    log_pi = logit_pi - _logsumexp_rows(logit_pi[None, :])[0]
    comp = log_pi - d * log_s - 0.5 * sq / s2
    return -np.sum(_logsumexp_rows(comp))


case(gmm_isotropic, args=(_rng(91).standard_normal((3, 2)), 0.1 * _rng(92).standard_normal(3),
                          _rng(93).standard_normal(3), _rng(94).standard_normal((6, 2))),
     wrt=("mu", "log_s", "logit_pi"))


# --- reductions --------------------------------------------------------------------------

def reductions_axes(A):
    r = np.sum(A, axis=1)
    c = np.mean(A, axis=0)
    t = A.sum() + A.mean()
    k = np.sum(A * A, axis=0, keepdims=True)
    return np.sum(r * r) + np.sum(c ** 3) + t * t + np.sum(k * A)


case(reductions_axes, args=(_rng(95).standard_normal((3, 4)),), wrt="A")


def max_routing(x, w):
    return 2.0 * np.max(x) - np.min(x * w) + np.max(w) * np.min(x)


def _max_routing_grad(x, w):
    gx = np.zeros_like(x)
    gw = np.zeros_like(w)
    gx[np.argmax(x)] += 2.0
    k = np.argmin(x * w)
    gx[k] -= w[k]
    gw[k] -= x[k]
    gx[np.argmin(x)] += np.max(w)
    gw[np.argmax(w)] += np.min(x)
    return (gx, gw)


_MR_X = np.array([0.5, -1.0, 2.0, 0.3, 1.1])
_MR_W = np.array([1.0, 0.5, -0.3, 2.0, 0.7])
_no_ties(_MR_X)
_no_ties(_MR_W)
_no_ties(_MR_X * _MR_W)
case(max_routing, args=(_MR_X, _MR_W), wrt=("x", "w"), expect=_max_routing_grad)


def max_min_axis(A):
    rmax = np.max(A, axis=1)
    cmin = A.min(axis=0)
    m = np.max(A, axis=0, keepdims=True)
    return np.sum(rmax ** 2) + np.sum(cmin) + np.sum(np.exp(A - m))


def _max_min_axis_grad(A):
    n, k = A.shape
    G = np.zeros_like(A)
    rm = A.argmax(axis=1)
    G[np.arange(n), rm] += 2.0 * A[np.arange(n), rm]
    G[A.argmin(axis=0), np.arange(k)] += 1.0
    E = np.exp(A - A.max(axis=0, keepdims=True))
    G += E
    cm = A.argmax(axis=0)
    G[cm, np.arange(k)] -= E.sum(axis=0)
    return G


_MMA = _rng(96).standard_normal((4, 3))
_no_ties(_MMA, axis=0)
_no_ties(_MMA, axis=1)
case(max_min_axis, args=(_MMA,), wrt="A", expect=_max_min_axis_grad)


def prod_reduction(x, A):
    return np.prod(x) + np.sum(np.prod(A, axis=1)) + np.prod(A, axis=0) @ x


def _prod_reduction_grad(x, A):
    gx = np.prod(x) / x + np.prod(A, axis=0)
    gA = np.prod(A, axis=1, keepdims=True) / A + np.prod(A, axis=0, keepdims=True) / A * x[None, :]
    return (gx, gA)


case(prod_reduction, args=(np.array([0.5, -1.2, 2.0, 0.8]), 1.0 + 0.3 * _rng(97).standard_normal((3, 4))),
     wrt=("x", "A"), expect=_prod_reduction_grad)


def cumsum_loss(x, w):
    c = np.cumsum(x)
    return np.sum(w * c * c)


def _cumsum_loss_grad(x, w):
    c = np.cumsum(x)
    t = 2.0 * w * c
    return (np.cumsum(t[::-1])[::-1], c * c)


case(cumsum_loss, args=(np.array([0.5, -1.0, 2.0, 0.3, 1.2]), np.array([1.0, 0.5, -0.3, 2.0, 0.7])),
     wrt=("x", "w"), expect=_cumsum_loss_grad)


def cumsum_axes(A, B):
    C0 = np.cumsum(A, axis=0)
    C1 = np.cumsum(A, axis=1)
    return np.sum(C0 * B) + np.sum(np.sin(C1)) + np.sum(np.cumsum(A) * A.ravel())


case(cumsum_axes, args=(_rng(98).standard_normal((3, 4)), _rng(99).standard_normal((3, 4))), wrt="A")


def row_normalise_entropy(A):
    P = A / A.sum(axis=1, keepdims=True)
    return -np.sum(P * np.log(P))


case(row_normalise_entropy, args=(0.5 + _rng(100).random((3, 4)),), wrt="A")


def logsumexp_cols(A, v):
    m = np.max(A, axis=0, keepdims=True)
    lse = m + np.log(np.sum(np.exp(A - m), axis=0, keepdims=True))
    return np.sum(lse * v[None, :]) + np.sum(np.log(np.sum(np.exp(A), axis=0)))


def _logsumexp_cols_grad(A, v):
    P = np.exp(A) / np.exp(A).sum(axis=0, keepdims=True)
    return (P * v[None, :] + P, np.log(np.exp(A).sum(axis=0)))


case(logsumexp_cols, args=(_rng(101).standard_normal((4, 3)), _rng(102).standard_normal(3)), wrt=("A", "v"),
     expect=_logsumexp_cols_grad)


# --- slicing -----------------------------------------------------------------------------

def smoothness_penalty(x, y, lam):
    d = x[1:] - x[:-1]
    return np.sum((x - y) ** 2) + lam * np.sum(d * d)


def _smoothness_penalty_grad(x, y, lam):
    n = len(x)
    D = np.diff(np.eye(n), axis=0)
    return (2.0 * (x - y) + 2.0 * lam * D.T @ D @ x, float(np.sum(np.diff(x) ** 2)))


case(smoothness_penalty, args=(_rng(103).standard_normal(6), _rng(104).standard_normal(6), 0.7),
     wrt=("x", "lam"), expect=_smoothness_penalty_grad)


def second_difference(x):
    d2 = x[2:] - 2.0 * x[1:-1] + x[:-2]
    return np.sum(d2 ** 2) + x[0] * x[-1]


def _second_difference_grad(x):
    n = len(x)
    D2 = np.zeros((n - 2, n))
    for i in range(n - 2):
        D2[i, i:i + 3] = [1.0, -2.0, 1.0]
    g = 2.0 * D2.T @ (D2 @ x)
    g[0] += x[-1]
    g[-1] += x[0]
    return g


case(second_difference, args=(_rng(105).standard_normal(7),), wrt="x", expect=_second_difference_grad)


def conv1d_valid(x, k, target):
    y = k[0] * x[:-2] + k[1] * x[1:-1] + k[2] * x[2:]
    return 0.5 * np.sum((y - target) ** 2)


def _conv1d_valid_grad(x, k, target):
    y = k[0] * x[:-2] + k[1] * x[1:-1] + k[2] * x[2:]
    r = y - target
    gx = np.zeros_like(x)
    gx[:-2] += k[0] * r
    gx[1:-1] += k[1] * r
    gx[2:] += k[2] * r
    return (gx, np.array([r @ x[:-2], r @ x[1:-1], r @ x[2:]]))


case(conv1d_valid, args=(_rng(106).standard_normal(7), np.array([0.25, 0.5, -0.25]), _rng(107).standard_normal(5)),
     wrt=("x", "k"), expect=_conv1d_valid_grad)


def rows_and_columns(A, v, u):
    n, m = A.shape
    s = 0.0
    for j in range(m):
        s += np.dot(A[:, j], u) ** 2
    for i in range(n):
        s += np.sum(np.tanh(A[i] * v))
    return s + np.sum(A[0, :] * A[-1, :]) + A[1, 2]


def _rows_and_columns_grad(A, v, u):
    G = 2.0 * np.outer(u, A.T @ u) + (1.0 - np.tanh(A * v) ** 2) * v
    G[0, :] += A[-1, :]
    G[-1, :] += A[0, :]
    G[1, 2] += 1.0
    return G


case(rows_and_columns, args=(_rng(108).standard_normal((3, 4)), _rng(109).standard_normal(4),
                             _rng(110).standard_normal(3)), wrt="A", expect=_rows_and_columns_grad)


def pad_and_blur(x):
    n = x.shape[0]
    p = np.zeros(n + 2)
    p[1:-1] = x
    p[0] = x[0]
    p[n + 1] = x[n - 1]
    blur = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
    return np.sum(np.sin(blur) * x)


case(pad_and_blur, args=(_rng(111).standard_normal(5),), wrt="x")


def concat_by_slices(x, y, w):
    n = x.shape[0]
    z = np.zeros(2 * n)
    z[:n] = x
    z[n:] = y * y
    return np.sum(np.exp(z * 0.3) * w)


def _concat_by_slices_grad(x, y, w):
    n = len(x)
    z = np.concatenate([x, y * y])
    g = 0.3 * np.exp(0.3 * z) * w
    return (g[:n], g[n:] * 2.0 * y)


case(concat_by_slices, args=(_rng(112).standard_normal(3), _rng(113).standard_normal(3), _rng(114).standard_normal(6)),
     wrt=("x", "y"), expect=_concat_by_slices_grad)


def matrix_row_recurrence(A, c):
    n, m = A.shape
    B = np.zeros((n, m))
    B[0, :] = 2.0 * A[0]
    for i in range(1, n):
        B[i] = 0.5 * B[i - 1] + A[i] * c
    B[:, 0] = B[:, 0] * c
    return np.sum(B ** 2)


case(matrix_row_recurrence, args=(_rng(115).standard_normal((4, 3)), 0.8), wrt=("A", "c"))


def slice_augmented_update(x, alpha):
    u = x.copy()
    for t in range(3):
        u[1:-1] += alpha * (u[:-2] - 2.0 * u[1:-1] + u[2:])
    return np.sum(u * u * (np.arange(x.shape[0]) + 1.0))


case(slice_augmented_update, args=(_rng(116).standard_normal(6), 0.2), wrt=("x", "alpha"))


# --- mixing scalar loops with array expressions ------------------------------------------

def mixed_scalar_loops(w, X, y, lam):
    n, d = X.shape
    loss = 0.0
    for i in range(n):
        pred = np.dot(X[i], w)
        r = pred - y[i]
        if r > 0.0:
            loss += r * r
        else:
            loss += 0.5 * r * r
    reg = 0.0
    for j in range(d):
        reg += w[j] ** 4
    return loss / n + lam * reg + np.sum(w * w)


def _mixed_scalar_loops_grad(w, X, y, lam):
    r = X @ w - y
    c = np.where(r > 0.0, 2.0, 1.0)
    return X.T @ (c * r) / X.shape[0] + 4.0 * lam * w ** 3 + 2.0 * w


_MSL_W = np.array([0.5, -0.3, 0.8])
_far(_LR_X @ _MSL_W - _HUBER_Y)
case(mixed_scalar_loops, args=(_MSL_W, _LR_X, _HUBER_Y, 0.1), wrt="w", expect=_mixed_scalar_loops_grad)


def array_then_elementwise(W, x, c):
    h = np.tanh(W @ x)
    s = 0.0
    for i in range(h.shape[0]):
        s += c[i] * h[i] * h[i]
    h2 = h * s
    return np.sum(h2) + h[0]


case(array_then_elementwise, args=(_rng(117).standard_normal((4, 3)), _rng(118).standard_normal(3),
                                   _rng(119).standard_normal(4)), wrt=("W", "x"))


def elementwise_then_array(x, W):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        y[i] = x[i] * x[i] + 0.1 * i
    z = W @ y
    return np.sum(np.exp(-z * z))


case(elementwise_then_array, args=(_rng(120).standard_normal(3), _rng(121).standard_normal((2, 3)) * 0.5),
     wrt=("x", "W"))


def gradient_descent_unrolled(w0, X, y, lr):
    w = w0
    for k in range(4):
        r = X @ w - y
        g = X.T @ r / X.shape[0]
        w = w - lr * g
    r = X @ w - y
    return 0.5 * np.mean(r * r)


case(gradient_descent_unrolled, args=(np.array([0.2, -0.4, 0.6]), _X53, np.array([1.0, -0.5, 2.0, 0.3, 0.0]), 0.3),
     wrt=("w0", "lr", "X"))


def rnn_buffer_overwrite(W, xs):
    h = np.zeros(W.shape[0])
    L = 0.0
    for t in range(xs.shape[0]):
        h[:] = np.tanh(W @ h + xs[t])
        L += h[0] * h[-1]
    return L + np.sum(h)


case(rnn_buffer_overwrite, args=(_rng(124).standard_normal((3, 3)) * 0.6, _rng(125).standard_normal((5, 3))),
     wrt=("W", "xs"))


def state_overwrite_branch(x, W):
    h = x
    for t in range(4):
        if np.sum(h) > 0.0:
            h = np.tanh(W @ h)
        else:
            h = np.sin(W.T @ h) + 0.5 * h
    return np.sum(h ** 2) + np.max(h)


_SOB_X = np.array([0.4, -0.1, 0.3])
_SOB_W = np.array([[-0.9, 0.3, 0.1], [0.2, -0.8, 0.1], [0.1, -0.2, -1.0]])


def _sob_branch_sums(x, W):  # the branch flips every step: both arms are exercised
    h, sums = x, []
    for t in range(4):
        sums.append(np.sum(h))
        h = np.tanh(W @ h) if sums[-1] > 0.0 else np.sin(W.T @ h) + 0.5 * h
    return np.array(sums)


assert np.all(np.sign(_sob_branch_sums(_SOB_X, _SOB_W)) == [1, -1, 1, -1])
_far(_sob_branch_sums(_SOB_X, _SOB_W), margin=0.05)
case(state_overwrite_branch, args=(_SOB_X, _SOB_W), wrt=("x", "W"))


def pca_reconstruction(X, W):
    Xc = X - X.mean(axis=0)
    Z = Xc @ W
    R = Z @ W.T
    return np.sum((Xc - R) ** 2) / X.shape[0]


case(pca_reconstruction, args=(_rng(122).standard_normal((6, 3)), _rng(123).standard_normal((3, 2)) * 0.5),
     wrt=("X", "W"))


def standardise_norms(X, w):
    Z = (X - np.mean(X, axis=0)) / np.std(X, axis=0)
    v = np.var(X, axis=1, keepdims=True)
    u = Z.dot(w) / np.linalg.norm(w)
    return np.sum(u ** 2) + np.sum(np.log(v)) + np.var(u)


case(standardise_norms, args=(_rng(126).standard_normal((5, 3)), _rng(127).standard_normal(3)), wrt=("X", "w"))


def softplus_regression(w, X, y):
    z = X @ w
    sp = np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0.0)
    return np.sum(sp - y * z)


def _softplus_regression_grad(w, X, y):
    return X.T @ (_np_sigmoid(X @ w) - y)


_SP_W = np.array([0.5, -0.3, 0.8])
_far(_LR_X @ _SP_W)
case(softplus_regression, args=(_SP_W, _LR_X, _LR_Y), wrt="w", expect=_softplus_regression_grad)


# --- found by probing the first implementation: same array on both sides, zeros in a
# --- product, variable-bound slices, tuple-returning helpers, masks, size-1 broadcasting

def self_products(x, A):
    return x @ x + np.dot(x, A @ x) + np.sum(A @ A) + np.sum(np.outer(A[0], A[0]))


def _self_products_grad(x, A):
    one = np.ones(A.shape[0])
    gA = np.outer(x, x) + (np.outer(one, one) @ A.T + A.T @ np.outer(one, one))
    gA[0] += 2.0 * np.sum(A[0])
    return (2.0 * x + (A + A.T) @ x, gA)


case(self_products, args=(_rng(130).standard_normal(3), _rng(131).standard_normal((3, 3))), wrt=("x", "A"),
     expect=_self_products_grad)


def prod_through_zero(x, A):
    return np.prod(x) + np.sum(np.prod(A, axis=1)) + np.sum(np.cumsum(x) * x)


def _prod_through_zero_grad(x, A):
    n = len(x)
    gx = np.array([np.prod(np.delete(x, i)) for i in range(n)])
    c = np.cumsum(x)
    gx += c + np.cumsum(x[::-1])[::-1]
    gA = np.array([[np.prod(np.delete(A[i], j)) for j in range(A.shape[1])] for i in range(A.shape[0])])
    return (gx, gA)


case(prod_through_zero, args=(np.array([0.5, 0.0, 2.0, -1.5]), np.array([[0.5, 0.0, 2.0], [1.0, 2.0, 3.0]])),
     wrt=("x", "A"), expect=_prod_through_zero_grad, note="np.prod with an exact zero entry: no division by x")


def sliding_window_conv(x, w):
    n = x.shape[0]
    k = w.shape[0]
    s = 0.0
    for i in range(n - k + 1):
        s += np.tanh(np.dot(x[i:i + k], w))
    return s


case(sliding_window_conv, args=(_rng(132).standard_normal(7), _rng(133).standard_normal(3)), wrt=("x", "w"))


def scatter_add_window(x, w):
    n = x.shape[0]
    k = w.shape[0]
    out = np.zeros(n + k - 1)
    for i in range(n):
        out[i:i + k] += x[i] * w
    return np.sum(out ** 2)


def _scatter_add_window_grad(x, w):
    out = np.convolve(x, w)
    return (2.0 * np.correlate(out, w, mode="valid"), 2.0 * np.correlate(out, x, mode="valid"))


case(scatter_add_window, args=(_rng(134).standard_normal(5), _rng(135).standard_normal(3)), wrt=("x", "w"),
     expect=_scatter_add_window_grad)


def _lstm_cell(W, U, x, h, c):
    z = W @ h + U @ x
    c2 = 0.5 * c + np.tanh(z)
    h2 = np.tanh(c2) * sigmoid(z)
    return h2, c2


def lstm_helper_tuple(W, U, xs):
    h = np.zeros(W.shape[0])
    c = np.zeros(W.shape[0])
    for t in range(xs.shape[0]):
        h, c = _lstm_cell(W, U, xs[t], h, c)
    return np.sum(h) + np.sum(c * c)


case(lstm_helper_tuple, args=(_rng(136).standard_normal((3, 3)) * 0.5, _rng(137).standard_normal((3, 2)),
                              _rng(138).standard_normal((4, 2))),
     wrt=("W", "U", "xs"))


def onehot_by_comparison(W, X, labels):
    K = W.shape[1]
    Y = labels[:, None] == np.arange(K)[None, :]
    Z = X @ W
    return -np.sum(Y * (Z - _logsumexp_rows(Z))) / X.shape[0]


case(onehot_by_comparison, args=(_rng(139).standard_normal((4, 3)), _SM_X, _SM_LABELS), wrt="W",
     expect=lambda W, X, labels: _softmax_ce_grad(W, np.zeros(3), X, np.eye(3)[labels])[0])


def masked_loss(A, mask, target):
    err = np.where(mask, A - target, 0.0)
    return np.sum(err * err) + np.sum(mask * np.sin(A))


_MASK = _rng(140).random((3, 4)) > 0.5
case(masked_loss, args=(_rng(141).standard_normal((3, 4)), _MASK, _rng(142).standard_normal((3, 4))), wrt="A",
     expect=lambda A, mask, target: mask * (2.0 * (A - target) + np.cos(A)))


def size_one_bias(W, h, b):
    return np.sum(np.tanh(W @ h + b))


def _size_one_bias_grad(W, h, b):
    d = 1.0 - np.tanh(W @ h + b) ** 2
    return (np.outer(d, h), W.T @ d, np.array([d.sum()]))


case(size_one_bias, args=(_rng(143).standard_normal((3, 3)), _rng(144).standard_normal(3), np.array([0.3])),
     wrt=("W", "h", "b"), expect=_size_one_bias_grad, note="b of shape (1,) broadcast against (3,)")


def rnn_control_flow(W, xs):
    h = np.zeros(W.shape[0])
    for t in reversed(range(xs.shape[0])):
        if t % 2 == 1:
            continue
        h = np.tanh(W @ h + xs[t])
    k = 0
    while k < 3:
        h = np.tanh(W @ h) + 0.1 * h
        k += 1
    return np.sum(h * h)


case(rnn_control_flow, args=(_rng(145).standard_normal((3, 3)) * 0.5, _rng(146).standard_normal((5, 3))),
     wrt=("W", "xs"))


def leapfrog_arrays(a, b):
    for t in range(3):
        a, b = b * 0.5, a + np.tanh(b)
    return np.sum(a * b)


case(leapfrog_arrays, args=(_rng(147).standard_normal(3), _rng(148).standard_normal(3)), wrt=("a", "b"))


def scaled_copy_then_write(x, w):
    z = 1.0 * x
    z[0] = w[0]
    z[1:] += w[1:] * x[:-1]
    return np.sum(z * w)


def _scaled_copy_then_write_grad(x, w):
    gx = w.copy()
    gx[0] = 0.0
    gx[:-1] += w[1:] * w[1:]
    gw = np.empty_like(w)
    gw[0] = 2.0 * w[0]
    gw[1:] = x[1:] + 2.0 * w[1:] * x[:-1]
    return (gx, gw)


case(scaled_copy_then_write, args=(_rng(149).standard_normal(4), _rng(150).standard_normal(4)), wrt=("x", "w"),
     expect=_scaled_copy_then_write_grad, note="1.0 * x is a new array: writes into z must not reach x")


def long_sequence_rnn(W, x):
    h = x.copy()
    for t in range(60):
        h = np.tanh(W @ h + x)
    return np.sum(h * h)


case(long_sequence_rnn, args=(_rng(151).standard_normal((4, 4)) * 0.4, _rng(152).standard_normal(4)),
     wrt=("W", "x"))


def pushes_after_inner_loop(a, x):
    t = np.zeros(a.shape[0])
    s = 0.0
    for i in range(x.shape[0]):
        for k in range(a.shape[0]):
            t[k] = a[k] * x[i]          # the inner loop's pushes use the outer loop's room...
        mx = np.max(t)                  # ...so this push must check the tape's end
        s += mx + np.log(np.sum(np.exp(t - mx)))
    return s


case(pushes_after_inner_loop, args=(_rng(153).standard_normal(5), _rng(154).standard_normal(400)), wrt="a",
     note="regression: the tape overflowed when an outer body pushed after an inner loop")


def gauss_seidel_rnn(W, x0, T):
    n = x0.shape[0]
    h = x0.copy()
    s = 0.0
    for t in range(T):
        for k in range(n):
            acc = 0.0
            for j in range(n):
                acc += W[k, j] * h[j]       # reads units already updated in this step
            h[k] = np.tanh(acc + 0.1 * t)
        s += h[0] * h[n - 1]
    return s


case(gauss_seidel_rnn, args=(_rng(155).standard_normal((4, 4)) * 0.5, _rng(156).standard_normal(4), 6),
     wrt=("W", "x0"), note="an array read far more than written: its writes are undone, its reads not taped")


def slice_add_in_loop(l):
    n = l.shape[0]
    y = np.zeros(n)
    for j in range(n):
        y[j:] += l[j:] * 2.0            # the value's shape is its root's (l[j:]), taped per iteration
    return np.sum(y * y)


case(slice_add_in_loop, args=(_rng(157).standard_normal(4),), wrt="l",
     note="regression: += of a scaled slice in a loop used the last iteration's shape (wrong gradient)")


def triangle_by_slices(l, x):
    n = x.shape[0]
    y = x.copy()
    idx = 0
    for j in range(n):
        y[j + 1:] += l[idx:idx + n - j - 1] * x[j]      # (I + strictly lower(l)) x, column by column
        idx += n - j - 1
    return np.sum(y * y)


case(triangle_by_slices, args=(_rng(158).standard_normal(6), _rng(159).standard_normal(4)), wrt=("l", "x"),
     note="regression: the GMM triangle written with slices (a slice += scaled slice in a loop)")


def view_rebound_before_write(w, state0):
    state = state0.copy()
    h = state[0]                       # a view of row 0 ...
    h = np.tanh(h * w)                 # ... no longer: h is a new array when row 0 is written
    state[0] = h
    return np.sum(h) + np.sum(state * state)


case(view_rebound_before_write, args=(np.array([0.5, -0.3]), np.array([[0.1, 0.2], [0.3, 0.4]])), wrt="w",
     note="a view's name rebound before its base is written: not a stale view")
