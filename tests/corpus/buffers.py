"""Small vectors built inside loops (kept in buffers by `scalarize`), running
integer offsets (undone, not taped) and δ sums over an inner loop (kept in a
register): programs whose gradient depends on each of those being right.

Covered: a Gaussian-mixture objective written the natural way (row views,
a triangle applied by an index loop, np.zeros per point, max-shifted
log-sum-exp); a vector read after its loop and one read by the next
iteration before it is rebuilt; vectors built in while loops and in one
branch of an if; a row view whose index changes before it is used; a vector
written in place after it is built; a vector copied into a matrix row; chains
of several elementwise steps; integer offsets stepped by constants and by
names; inner loops whose index is only valid when they run.
"""

import math

import numpy as np

from ._registry import case


def _rng(seed):
    return np.random.default_rng(seed)


def mixture_loglik(alphas, means, icf, x):
    n, d = x.shape
    K = alphas.shape[0]
    Qdiags = np.exp(icf[:, :d])
    sum_qs = np.sum(icf[:, :d], axis=1)
    total = 0.0
    for i in range(n):
        main_term = np.zeros(K)
        for k in range(K):
            xc = x[i] - means[k]
            Qxc = Qdiags[k] * xc
            idx = d
            for j in range(d):
                for r in range(j + 1, d):
                    Qxc[r] += icf[k, idx] * xc[j]
                    idx += 1
            main_term[k] = alphas[k] + sum_qs[k] - 0.5 * np.sum(Qxc * Qxc)
        mx = np.max(main_term)
        total += mx + np.log(np.sum(np.exp(main_term - mx)))
    return total - 0.1 * np.sum(icf * icf)


case(mixture_loglik, args=(_rng(301).standard_normal(3) * 0.5, _rng(302).standard_normal((3, 3)),
                           _rng(303).standard_normal((3, 6)) * 0.3, _rng(304).standard_normal((5, 3))),
     wrt=("alphas", "means", "icf"), note="GMM objective: per-point vectors in buffers, triangle offset undone")
case(mixture_loglik, args=(_rng(305).standard_normal(2) * 0.5, _rng(306).standard_normal((2, 1)),
                           _rng(307).standard_normal((2, 1)) * 0.3, _rng(308).standard_normal((4, 1))),
     wrt=("alphas", "means", "icf"), note="d = 1: the triangle loops never run")


def vector_read_after_loop(A, w):
    s = 0.0
    for k in range(A.shape[0]):
        v = A[k] * w
        s += np.sum(v * v)
    return s + np.sum(np.sin(v))


case(vector_read_after_loop, args=(_rng(311).standard_normal((4, 3)), _rng(312).standard_normal(3)),
     wrt=("A", "w"), note="the last iteration's vector is read after the loop")


def vector_read_next_iteration(W, x):
    s = 0.0
    u = np.zeros(x.shape[0])
    for t in range(W.shape[0]):
        s += np.sum(u * W[t])
        u = np.tanh(W[t] * x + s)
    return s + np.sum(u)


case(vector_read_next_iteration, args=(_rng(313).standard_normal((4, 3)) * 0.5, _rng(314).standard_normal(3)),
     wrt=("W", "x"), note="rebound each step, read by the next one: not a buffer (bound twice)")


def vector_loop_carried(W, x):
    s = 0.0
    for t in range(W.shape[0]):
        if t > 0:
            s += np.sum(u * u) * 0.5
        u = np.tanh(W[t] * x)
    return s


case(vector_loop_carried, args=(_rng(315).standard_normal((5, 3)), _rng(316).standard_normal(3)),
     wrt=("W", "x"), note="a buffer read by the next iteration before it is rebuilt")


def vector_in_while(a, b):
    s = 0.0
    k = 0
    while k < a.shape[0]:
        v = a[k] * b + 1.0
        s += np.sum(np.cos(v))
        k += 1
    return s


case(vector_in_while, args=(_rng(317).standard_normal((4, 3)), _rng(318).standard_normal(3)),
     wrt=("a", "b"), note="a buffer inside a while loop")


def vector_in_branch(A, w):
    s = 0.0
    for k in range(A.shape[0]):
        if A[k, 0] > 0.0:
            v = A[k] * w
            s += np.sum(v * w)
        else:
            s -= A[k, 1] * w[0]
    return s


case(vector_in_branch, args=(np.array([[0.5, 1.0, -0.3], [-0.7, 0.2, 0.4], [1.2, -0.5, 0.8]]),
                             _rng(319).standard_normal(3)),
     wrt=("A", "w"), note="a buffer built in one branch only")


def row_index_changes(A, w):
    s = 0.0
    j = 0
    for k in range(A.shape[0] - 1):
        row = A[j]
        j = j + 1
        v = row * w
        s += np.sum(v * A[j])
    return s


case(row_index_changes, args=(_rng(321).standard_normal((4, 3)), _rng(322).standard_normal(3)),
     wrt=("A", "w"), note="the row's index changes before the row is used: read through the view")


def vector_edited_in_place(A, c):
    s = 0.0
    for k in range(A.shape[0]):
        v = A[k] * c
        v[0] += c * c
        v[1] = v[1] * v[2]
        s += np.sum(v * v) + np.max(v)
    return s


case(vector_edited_in_place, args=(_rng(323).standard_normal((3, 3)), 0.7),
     wrt=("A", "c"), note="a buffer written by element after it is built")


def vector_into_matrix(X, w, b):
    H = np.zeros(X.shape)
    for i in range(X.shape[0]):
        z = X[i] * w + b
        H[i] = np.tanh(z)
    return np.sum(H * H)


case(vector_into_matrix, args=(_rng(325).standard_normal((4, 3)), _rng(326).standard_normal(3), 0.3),
     wrt=("X", "w", "b"), note="a chain of two steps; the result copied into a matrix row")


def two_buffers_one_length(P, q):
    total = 0.0
    for i in range(P.shape[0]):
        a = P[i] - q
        b = a * a + 0.5
        c = np.log(b) * a
        total += np.sum(c) * np.sum(b)
    return total


case(two_buffers_one_length, args=(_rng(327).standard_normal((4, 3)), _rng(328).standard_normal(3)),
     wrt=("P", "q"), note="buffers made from buffers")


def running_offsets(v, step, T):
    s = 0.0
    idx = 0
    for t in range(T):
        s += v[idx] * v[idx + 1]
        idx += step
        idx -= 1
    return s


case(running_offsets, args=(_rng(331).standard_normal(12), 3, 5), wrt="v",
     note="an index stepped by a name and a constant: undone by subtraction")


def inner_sum_index_past_end(x, y):
    n = x.shape[0]
    s = 0.0
    for j in range(n + 1):
        for r in range(j, n):
            s += math.sin(x[j]) * y[r]
    return s


case(inner_sum_index_past_end, args=(_rng(333).standard_normal(4), _rng(334).standard_normal(4)),
     wrt=("x", "y"), note="δ of x[j] summed over the inner loop; j = n only when it does not run")


def scalar_read_next_iteration(w, x):
    s = 0.0
    u = 0.0
    for t in range(5):
        if t > 0:
            s += u * u * 0.5
        u = math.tanh(w * t + x)
    return s


case(scalar_read_next_iteration, args=(0.3, 0.2), wrt=("w", "x"),
     note="regression: a value read inside an if before its binding was taken as local to an iteration "
          "(the loop was fused and the gradient was 0)")


def lstm_steps(Wx, Wh, b, v, X):
    nh = v.shape[0]
    h = np.zeros(nh)
    cell = np.zeros(nh)
    L = 0.0
    for t in range(X.shape[0]):
        z = Wx @ X[t] + Wh @ h + b
        i = 1.0 / (1.0 + np.exp(-z[:nh]))
        f = 1.0 / (1.0 + np.exp(-z[nh:2 * nh]))
        g = np.tanh(z[2 * nh:3 * nh])
        o = 1.0 / (1.0 + np.exp(-z[3 * nh:]))
        cell = f * cell + i * g
        h = o * np.tanh(cell)
        e = np.dot(v, h) - 0.3
        L += e * e
    return L + np.sum(cell * cell)


case(lstm_steps, args=(_rng(341).standard_normal((12, 2)) * 0.5, _rng(342).standard_normal((12, 3)) * 0.5,
                       _rng(343).standard_normal(12) * 0.1, _rng(344).standard_normal(3), _rng(345).standard_normal((5, 2))),
     wrt=("Wx", "Wh", "b", "v", "X"), note="matrix-vector products, slices and state vectors in buffers")


def slices_clipped_and_negative(W, x):
    s = 0.0
    for t in range(W.shape[0]):
        z = W[t] * x
        a = z[-2:] * 2.0          # the last two
        c = z[1:100] + 1.0        # clipped to the end
        s += np.sum(a * a) + np.sum(np.sin(c)) + np.sum(z[:-1] * z[1:])
    return s


case(slices_clipped_and_negative, args=(_rng(346).standard_normal((3, 4)), _rng(347).standard_normal(4)),
     wrt=("W", "x"), note="slice bounds resolved as Python does: negative, past the end")


def state_reads_itself(A, x):
    h = x.copy()
    s = 0.0
    for t in range(A.shape[0]):
        h = 0.5 * h + np.tanh(A[t] * h)
        s += np.sum(h) * t
    return s + np.max(h)


case(state_reads_itself, args=(_rng(348).standard_normal((4, 3)), _rng(349).standard_normal(3)),
     wrt=("A", "x"), note="a state vector's step reads its own element")


def state_matvec_in_place(W, x, T):
    h = x * 1.0
    for t in range(T):
        h = np.tanh(W @ h)
    return np.sum(h * h)


case(state_matvec_in_place, args=(_rng(350).standard_normal((3, 3)), _rng(351).standard_normal(3), 3),
     wrt=("W", "x"), note="h = f(W @ h): the product reads every element of h, so h cannot be updated in place")


def shifted_reads(W, x):
    s = 0.0
    for t in range(W.shape[0]):
        z = W[t] * x
        y = z[1:] - z[:-1]        # both slices of one buffer, inside one expression
        s += np.sum(y * y)
    return s


case(shifted_reads, args=(_rng(352).standard_normal((3, 5)), _rng(353).standard_normal(5)),
     wrt=("W", "x"), note="two overlapping slices of a buffer read in one element loop")


def view_escapes(W, x):
    s = 0.0
    for t in range(W.shape[0]):
        z = W[t] * x
        head = z[:2]              # a view kept and read after z is rebuilt
        s += np.sum(head) * np.sum(z)
    return s + np.sum(head)


case(view_escapes, args=(_rng(354).standard_normal((3, 4)), _rng(355).standard_normal(4)),
     wrt=("W", "x"), note="a slice read outside the steps that could be fused: not a buffer")


def long_while(a, x0):
    x = x0
    k = 0
    s = 0.0
    while k < 150:                # more iterations than one chunk of the tape's room (64)
        x = x - 0.01 * (x * x * x - a)
        s += math.sin(x) * 0.01
        k += 1
    return s + x * x


case(long_while, args=(0.7, 1.3), wrt=("a", "x0"), note="a while loop running through several chunks")


def nested_whiles(a, b):
    s = 0.0
    i = 0
    while i < 3:
        y = b * (i + 1)
        j = 0
        while abs(y) > 0.1 and j < 70:
            y = y * a
            s += y
            j += 1
        i += 1
    return s


case(nested_whiles, args=(0.95, 1.2), wrt=("a", "b"), note="a chunked while inside a while")


def sums_saved_around_loops(W, x):
    L = 0.0
    for t in range(W.shape[0]):
        e = math.exp(x[t] * 0.5)        # (not cheap to recompute)
        q = e * e                       # its backward needs e as it was before the inner loop
        for k in range(W.shape[1]):
            e += W[t, k] * x[k]         # only added to: pushed once around the loop
        j = 0
        while j < 2:
            e -= 0.1 * x[j] * x[j]
            j += 1
        L += e * e + q * e
    return L


case(sums_saved_around_loops, args=(_rng(361).standard_normal((3, 4)), _rng(362).standard_normal(4)),
     wrt=("W", "x"), note="a sum restored once around the loops that only add to it")


def newton_roots(a, s, b):
    L = 0.0
    for i in range(b.shape[0]):
        x = b[i]                          # first assignment of each point: nothing to restore
        step = 1.0
        k = 0
        while abs(step) > 1e-12 and k < 50:
            step = (x ** 3 + a * x - s * b[i]) / (3.0 * x ** 2 + a)
            x = x - step
            k += 1
        L += (x - 0.5) ** 2
    return L


case(newton_roots, args=(2.0, 1.5, np.array([0.7, -1.2, 2.5, 0.1])), wrt=("a", "s"),
     note="Newton solves per point, each point's iterate fresh in the fused loop")


def branch_reads_before_rebinding(w, x):
    s = 0.0
    u = 0.0
    for t in range(5):
        if t > 0:
            s += u * u * 0.5
        u = math.tanh(w * t + x)
        s += u
    return s


case(branch_reads_before_rebinding, args=(0.3, 0.2), wrt=("w", "x"),
     note="regression: a value read inside an if (the previous iteration's) ahead of its rebinding, and read "
          "again after it: its δ was taken as zero at each backward iteration's start (wrong gradient)")


def rescaled_parities(a, n):
    signs = np.ones(2)
    total = 0.0
    for k in range(n):
        total = total * a + signs[k % 2] * a * a
        if k % 3 == 0:
            signs[k % 2] = -signs[k % 2] * 1.1
    return total


case(rescaled_parities, args=(0.6, 9), wrt="a",
     note="regression: an element of a restored array written at a computed index (`k % 2`, a temporary) "
          "in a branch: its old value was put back at the index the temporary held last in the forward sweep")


def negated_parities(a, n):
    x = a
    signs = np.ones(2)
    total = 0.0
    for k in range(n):
        total = total * a + signs[k % 2] * x * x
        x = -x
        if k % 3 == 0:
            signs[k % 2] = -signs[k % 2]
    return total


case(negated_parities, args=(0.6, 9), wrt="a",
     note="x = -x and signs[i] = -signs[i]: undone in the backward sweep (exact), not taped")
