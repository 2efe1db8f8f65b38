"""Arrays: element reads/writes in loops, local arrays, 2-D indexing, shapes."""

import numpy as np

from ._registry import case


def array_reads_len(x):
    s = 0.0
    n = len(x)
    for i in range(n):
        s += x[i] * x[i] * (i + 1.0)
    m = x.shape[0]
    return s / m + x[m - 1]


def _array_reads_len_grad(x):
    n = len(x)
    g = 2.0 * x * (np.arange(n) + 1.0) / n
    g[n - 1] += 1.0
    return g


case(array_reads_len, args=(np.array([0.5, -1.0, 2.0, 0.3]),), wrt="x",
     expect=_array_reads_len_grad)


def cumsum_weighted(x, w):
    n = x.shape[0]
    c = np.zeros(n)
    c[0] = x[0]
    for i in range(1, n):
        c[i] = c[i - 1] + x[i]
    s = 0.0
    for i in range(n):
        s += w[i] * c[i] * c[i]
    return s


def _cumsum_weighted_grad(x, w):
    c = np.cumsum(x)
    t = 2.0 * w * c
    gx = np.cumsum(t[::-1])[::-1]
    return (gx, c * c)


case(cumsum_weighted, args=(np.array([0.5, -1.0, 2.0, 0.3, 1.2]), np.array([1.0, 0.5, -0.3, 2.0, 0.7])),
     wrt=("x", "w"), expect=_cumsum_weighted_grad)


def heat_jacobi(u0, alpha, steps):
    u = u0.copy()
    n = len(u)
    for t in range(steps):
        un = u.copy()
        for i in range(1, n - 1):
            u[i] = un[i] + alpha * (un[i - 1] - 2.0 * un[i] + un[i + 1])
    s = 0.0
    for i in range(n):
        s += u[i] * u[i] * (1.0 + 0.1 * i)
    return s


def _heat_matrices(n, alpha):
    D = np.zeros((n, n))
    for i in range(1, n - 1):
        D[i, i - 1], D[i, i], D[i, i + 1] = 1.0, -2.0, 1.0
    return D, np.eye(n) + alpha * D


def _heat_jacobi_grad(u0, alpha, steps):
    n = len(u0)
    D, M = _heat_matrices(n, alpha)
    W = np.diag(1.0 + 0.1 * np.arange(n))
    uT = np.linalg.matrix_power(M, steps) @ u0
    g_u0 = 2.0 * np.linalg.matrix_power(M.T, steps) @ (W @ uT)
    duT = sum(np.linalg.matrix_power(M, k) @ D @ np.linalg.matrix_power(M, steps - 1 - k) @ u0
              for k in range(steps))
    return (g_u0, float(2.0 * uT @ W @ duT))


case(heat_jacobi, args=(np.array([0.0, 1.0, 0.5, 2.0, -1.0, 0.0]), 0.2, 6), wrt=("u0", "alpha"),
     expect=_heat_jacobi_grad)


def heat_gauss_seidel(u0, alpha, steps):
    u = u0.copy()
    n = len(u)
    for t in range(steps):
        for i in range(1, n - 1):
            u[i] = u[i] + alpha * (u[i - 1] - 2.0 * u[i] + u[i + 1])
    s = 0.0
    for i in range(n):
        s += u[i] * u[i] * (1.0 + 0.1 * i)
    return s


case(heat_gauss_seidel, args=(np.array([0.0, 1.0, 0.5, 2.0, -1.0, 0.0]), 0.2, 6),
     wrt=("u0", "alpha"))


def matvec(A, x):
    n, m = A.shape
    y = np.zeros(n)
    for i in range(n):
        for j in range(m):
            y[i] += A[i, j] * x[j]
    s = 0.0
    for i in range(n):
        s += y[i] * y[i] + y[i]
    return s


def _matvec_grad(A, x):
    gy = 2.0 * (A @ x) + 1.0
    return (np.outer(gy, x), A.T @ gy)


_A34 = np.array([[0.5, -1.0, 0.2, 0.3], [1.5, 0.4, -0.6, 0.1], [-0.2, 0.8, 1.1, -0.9]])
case(matvec, args=(_A34, np.array([1.0, -0.5, 0.25, 2.0])), wrt=("A", "x"), expect=_matvec_grad)


def matvec_chained(A, x):
    n = A.shape[0]
    m = len(x)
    y = np.empty(n)
    for i in range(n):
        acc = 0.0
        for j in range(m):
            acc += A[i][j] * x[j]
        y[i] = acc
    s = 0.0
    for i in range(n):
        s += np.tanh(y[i])
    return s


def _matvec_chained_grad(A, x):
    gy = 1.0 - np.tanh(A @ x) ** 2
    return (np.outer(gy, x), A.T @ gy)


case(matvec_chained, args=(_A34, np.array([0.3, -0.5, 0.25, 0.6])), wrt=("A", "x"),
     expect=_matvec_chained_grad)


def forward_substitution(L, b, w):
    n = len(b)
    y = np.zeros_like(b)
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= L[i, j] * y[j]
        y[i] = s / L[i, i]
    r = 0.0
    for i in range(n):
        r += w[i] * y[i]
    return r


def _forward_substitution_grad(L, b, w):
    Lt = np.tril(L)  # the strict upper triangle is never read
    y = np.linalg.solve(Lt, b)
    lam = np.linalg.solve(Lt.T, w)
    return (np.tril(-np.outer(lam, y)), lam)


_L4 = np.array([[2.0, 9.0, 9.0, 9.0], [0.5, 1.5, 9.0, 9.0], [-0.3, 0.2, 3.0, 9.0], [0.1, -0.4, 0.7, 1.2]])
case(forward_substitution, args=(_L4, np.array([1.0, -2.0, 0.5, 3.0]), np.array([0.3, 1.0, -0.5, 2.0])),
     wrt=("L", "b"), expect=_forward_substitution_grad)


def linreg_loss(X, y, w, b):
    n, d = X.shape
    loss = 0.0
    for i in range(n):
        pred = b
        for j in range(d):
            pred += X[i, j] * w[j]
        r = pred - y[i]
        loss += r * r
    return loss / n


def _linreg_loss_grad(X, y, w, b):
    n = X.shape[0]
    r = X @ w + b - y
    return (2.0 / n * np.outer(r, w), 2.0 / n * X.T @ r, 2.0 / n * float(r.sum()))


_X53 = np.array([[1.0, 0.5, -0.2], [0.3, -1.0, 0.8], [2.0, 0.1, 0.4], [-0.5, 0.7, 1.5], [0.9, -0.3, -1.1]])
case(linreg_loss, args=(_X53, np.array([1.0, -0.5, 2.0, 0.3, 0.0]), np.array([0.2, -0.4, 0.6]), 0.1),
     wrt=("X", "w", "b"), expect=_linreg_loss_grad)


def ones_empty_fill(x):
    n = len(x)
    a = np.ones(n)
    e = np.empty(n)
    for i in range(n):
        e[i] = a[i] * x[i] + 1.0
        a[i] = e[i] * x[i]
    s = 0.0
    for i in range(n):
        s += a[i] + e[i] * e[i]
    return s


def _ones_empty_fill_grad(x):
    return 4.0 * x + 3.0


case(ones_empty_fill, args=(np.array([0.5, -1.0, 2.0]),), wrt="x", expect=_ones_empty_fill_grad)


def aug_assign_array(x, c):
    a = x.copy()
    n = len(a)
    for i in range(n):
        a[i] += c * x[i]
        a[i] *= x[i]
        a[i] -= c
        a[i] /= 1.0 + c * c
    s = 0.0
    for i in range(n):
        s += a[i] * float(i + 1)
    return s


def _aug_assign_array_grad(x, c):
    k = np.arange(1, len(x) + 1.0)
    q = 1.0 + c * c
    gx = k * 2.0 * (1.0 + c) * x / q
    gc = float(np.sum(k * ((x * x - 1.0) * q - ((1.0 + c) * x * x - c) * 2.0 * c) / q ** 2))
    return (gx, gc)


case(aug_assign_array, args=(np.array([0.5, -1.0, 2.0, 0.3]), 0.7), wrt=("x", "c"),
     expect=_aug_assign_array_grad)


def zeros_like_2d(A):
    n, m = A.shape
    B = np.zeros_like(A)
    for i in range(n):
        for j in range(m):
            B[i, j] = A[i, j] * A[i, j]
            B[i][j] += A[i][j]
    s = 0.0
    for i in range(n):
        for j in range(m):
            B[i, j] *= 0.5
            s += B[i][j] * (i + 1.0) - B[i, j] / (j + 1.0)
    return s


def _zeros_like_2d_grad(A):
    n, m = A.shape
    i = np.arange(n)[:, None]
    j = np.arange(m)[None, :]
    return (A + 0.5) * ((i + 1.0) - 1.0 / (j + 1.0))


case(zeros_like_2d, args=(np.array([[0.5, -1.0, 2.0], [0.3, 1.2, -0.7]]),), wrt="A",
     expect=_zeros_like_2d_grad)


def writes_into_param(x):
    for i in range(len(x)):
        x[i] = x[i] * x[i]
    s = 0.0
    for i in range(len(x)):
        s += x[i] * (i + 1)
    return s


def _writes_into_param_grad(x):
    return 2.0 * x * np.arange(1, len(x) + 1.0)


case(writes_into_param, args=(np.array([0.5, -1.0, 2.0, 0.3]),), wrt="x",
     expect=_writes_into_param_grad, note="f itself mutates x; srcgrad must not")


def gather_int_index(x, idx, w):
    s = 0.0
    for k in range(len(idx)):
        s += w[k] * x[idx[k]] * x[idx[k]]
    return s


def _gather_int_index_grad(x, idx, w):
    gx = np.zeros_like(x)
    for k in range(len(idx)):
        gx[idx[k]] += 2.0 * w[k] * x[idx[k]]
    return (gx, x[idx] ** 2)


case(gather_int_index, args=(np.array([0.5, -1.0, 2.0, 0.3, 1.1, -0.4]), np.array([0, 2, 2, 5, 1]),
                             np.array([1.0, 0.5, -0.3, 2.0, 0.7])),
     wrt=("x", "w"), expect=_gather_int_index_grad)


def suffix_sum(x):
    n = len(x)
    r = np.zeros(n)
    r[n - 1] = x[n - 1]
    for i in range(n - 2, -1, -1):
        r[i] = r[i + 1] * 0.9 + x[i]
    s = 0.0
    for i in range(n):
        s += r[i] * r[i]
    return s


def _suffix_sum_grad(x):
    n = len(x)
    T = np.array([[0.9 ** (j - i) if j >= i else 0.0 for j in range(n)] for i in range(n)])
    return 2.0 * T.T @ (T @ x)


case(suffix_sum, args=(np.array([0.5, -1.0, 2.0, 0.3, 1.1]),), wrt="x", expect=_suffix_sum_grad)
