"""More array programs: models as users write them (layer/batch norm, attention,
GRU-like gates, conv1d by slices, vectorised GMM, gathers), helpers returning
arrays, array state in while loops, branches on reductions, early returns.
Checked against central differences by test_corpus.py."""
import numpy as np

from ._registry import case


def layer_norm_rows(X, g, b):  # layernorm rows
    mu = np.mean(X, axis=1, keepdims=True)
    var = np.mean((X - mu) ** 2, axis=1, keepdims=True)
    Y = (X - mu) / np.sqrt(var + 1e-5) * g + b
    return np.sum(Y * Y * np.arange(Y.shape[1]))


def attention_softmax(Q, K, V):  # attention
    S = Q @ K.T / np.sqrt(Q.shape[1])
    S = S - S.max(axis=1, keepdims=True)
    P = np.exp(S)
    P = P / P.sum(axis=1, keepdims=True)
    return np.sum((P @ V) ** 2)


def softmax_ce_label_loop(W, X, labels):  # softmax CE with int labels loop
    logits = X @ W
    L = 0.0
    for i in range(X.shape[0]):
        row = logits[i]
        m = np.max(row)
        lse = m + np.log(np.sum(np.exp(row - m)))
        L += lse - row[labels[i]]
    return L / X.shape[0]


def row_writes_then_scale(A, x):  # row writes in loop, then reduction
    n = A.shape[0]
    out = np.zeros((n, x.shape[0]))
    for i in range(n):
        out[i, :] = A[i] * x + np.sin(A[i])
    out[0] = out[0] * 2.0
    return np.sum(out ** 2)


def gru_like_gates(h0, W, xs):  # GRU-ish gating
    h = h0
    for t in range(xs.shape[0]):
        z = 1.0 / (1.0 + np.exp(-(W @ h + xs[t])))
        c = np.tanh(W.T @ h - xs[t])
        h = (1.0 - z) * h + z * c
    return np.sum(h)


def in_place_updates_fresh(x, w):  # in-place on fresh array, +=, -=, *=
    y = np.zeros(x.shape[0])
    y += x * w
    y -= 0.5 * x
    y *= w
    z = y.copy()
    z[1:] += y[:-1]
    return np.sum(z ** 3)


def gather_by_index_arrays(X, w):  # fancy gather by index arrays
    idx = np.arange(X.shape[0])
    p = X @ w
    return np.sum(p[idx] ** 2) + np.sum(X[idx, idx] * 3.0)


def outer_with_scalar_loops(a, b):  # scalar-array mix and outer with None
    M = a[:, None] * b[None, :]
    s = 0.0
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            s += M[i, j] * (i + 1)
    return s + np.sum(np.outer(a, b) ** 2)


def _dense_tanh(W, b, x):
    return np.tanh(W @ x + b)


def _sum_and_max(x):
    return np.sum(x), np.max(x)


def helpers_with_arrays(W, b, x):  # helpers with arrays, tuple return
    h = _dense_tanh(W, b, x)
    s, m = _sum_and_max(h)
    return s * m


def while_array_state(x):  # while loop with array state and data-dependent stop
    v = x.copy()
    k = 0
    while np.sum(v * v) > 0.1 and k < 20:
        v = 0.5 * v + 0.01 * np.sin(v)
        k += 1
    return np.sum(v)


def branch_on_reduction(x, W):  # branch on reduction in loop
    h = x
    for t in range(3):
        if np.max(h) > 0.5:
            h = W @ h
        else:
            h = np.exp(h) * 0.3
    return np.sum(h)


def early_return_arrays(x, w):  # early return inside loop with arrays
    acc = np.zeros(x.shape[0])
    for i in range(5):
        acc = acc + w * x * i
        if np.sum(acc) > 100.0:
            return np.sum(acc)
    return np.sum(acc ** 2)


def conv1d_variable_slices(x, w):  # conv1d via variable slices
    K = w.shape[0]
    n = x.shape[0] - K + 1
    out = np.zeros(n)
    for k in range(K):
        out += w[k] * x[k:k + n]
    return np.sum(np.tanh(out) ** 2)


def batch_norm_relu(X, g, b):  # batchnorm over batch axis
    mu = X.mean(axis=0)
    var = X.var(axis=0)
    Xh = (X - mu) / np.sqrt(var + 1e-5)
    Y = g * Xh + b
    return np.sum(np.maximum(Y, 0.0) ** 2)


def gather_cross_entropy(W, X, y):  # gather CE
    logits = X @ W
    m = logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(axis=1)) + m[:, 0]
    p = logits[np.arange(X.shape[0]), y]
    return np.mean(lse - p)


def gmm_vectorised(mu, log_s, logit_w, x):  # GMM 1-D vectorised
    w = np.exp(logit_w - np.max(logit_w))
    w = w / np.sum(w)
    s = np.exp(log_s)
    d = (x[:, None] - mu[None, :]) / s[None, :]
    comp = np.log(w)[None, :] - 0.5 * d ** 2 - log_s[None, :] - 0.5 * np.log(2 * np.pi)
    mx = comp.max(axis=1)
    return -np.sum(mx + np.log(np.sum(np.exp(comp - mx[:, None]), axis=1)))



def _axpy_arr(y, a, x):
    y += a * x
def _scale_rows(M, s):
    M *= s
    M[0] += 1.0
def helper_updates_array_in_place(y, x, a):
    z = y.copy()
    _axpy_arr(z, a, x)
    return np.sum(z ** 2)
def helper_scales_rows_twice(M, s):
    B = M * 1.0
    _scale_rows(B, s)
    _scale_rows(B, s)
    return np.sum(B ** 3)
def _local_update(v, c):
    v = v * c          # rebinding: the caller's array is untouched
    v += 1.0
    return np.sum(v)
def helper_rebinds_its_argument(x, c):
    z = x * 2.0
    s = _local_update(z, c)
    return s + np.sum(z * x)

def _r(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


case(layer_norm_rows, args=(_r(1, 3, 4), _r(2, 4), _r(3, 4)), wrt=("X", "g", "b"))
case(attention_softmax, args=(_r(4, 3, 4), _r(5, 5, 4), _r(6, 5, 2)), wrt=("Q", "K", "V"))
case(softmax_ce_label_loop, args=(_r(7, 4, 3), _r(8, 5, 4), np.array([0, 2, 1, 1, 0])), wrt=("W", "X"))
case(row_writes_then_scale, args=(_r(9, 3, 4), _r(10, 4)), wrt=("A", "x"))
case(gru_like_gates, args=(_r(11, 3), _r(12, 3, 3) * 0.5, _r(13, 4, 3)), wrt=("h0", "W", "xs"))
case(in_place_updates_fresh, args=(_r(14, 4), _r(15, 4)), wrt=("x", "w"))
case(gather_by_index_arrays, args=(_r(16, 3, 3), _r(17, 3)), wrt=("X", "w"))
case(outer_with_scalar_loops, args=(_r(18, 3), _r(19, 4)), wrt=("a", "b"))
case(helpers_with_arrays, args=(_r(20, 3, 2), _r(21, 3), _r(22, 2)), wrt=("W", "b", "x"))
case(while_array_state, args=(_r(23, 4),), wrt="x")
case(branch_on_reduction, args=(_r(24, 3), _r(25, 3, 3)), wrt=("x", "W"))
case(early_return_arrays, args=(_r(26, 3), _r(27, 3)), wrt=("x", "w"))
case(conv1d_variable_slices, args=(_r(28, 7), _r(29, 3)), wrt=("x", "w"))
case(batch_norm_relu, args=(_r(30, 6, 3), _r(31, 3), _r(32, 3)), wrt=("X", "g", "b"))
case(gather_cross_entropy, args=(_r(33, 3, 4), _r(34, 5, 3), np.array([0, 3, 1, 2, 2])), wrt=("W", "X"))
case(gmm_vectorised, args=(_r(35, 3), _r(36, 3) * 0.3, _r(37, 3), _r(38, 8)), wrt=("mu", "log_s", "logit_w"))
case(helper_updates_array_in_place, args=(_r(39, 4), _r(40, 4), 0.7), wrt=("y", "x", "a"))
case(helper_scales_rows_twice, args=(_r(41, 3, 2), 1.3), wrt=("M", "s"))
case(helper_rebinds_its_argument, args=(_r(42, 3), 0.5), wrt=("x", "c"))
