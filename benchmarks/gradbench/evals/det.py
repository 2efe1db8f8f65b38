"""GradBench ``det``: determinant by expansion by minors along the first row, and its gradient.

The reference (cmpad's ``det_of_minor``, ``src/cpp/gradbench/evals/det.hpp``)
recurses: the determinant of the minor made of rows k..ell-1 and the columns
still left is ``sum_j (-1)^j M[0, j] det(S_j)``, S_j the sub-minor without its
first row and its j-th column; the columns left form a linked list
(``nxt``), a column is removed by relinking its predecessor and restored after
the sub-minor. srcgrad does not differentiate recursion, so ``determinant``
runs the same recursion with an explicit stack, one entry per level k (= the
row being expanded): the column being expanded (``col[k]``), its predecessor in
the list (``prev[k]``), its position (``j[k]``), the sign and the running sum of
the minor's terms (``acc[k]``). Same terms, same order of operations as the
reference: about e * ell! multiply-adds.
"""
import numpy as np

from benchmarks.gradbench.common import Differentiated, floats, to_float, to_list


def determinant(A):
    n = A.shape[0]
    if n == 1:
        return A[0, 0]
    nxt = np.zeros(n + 1, dtype=np.int64)   # nxt[c]: the column after c in the list, nxt[n]: the first
    for c in range(n):
        nxt[c] = c + 1
    nxt[n] = 0
    col = np.zeros(n, dtype=np.int64)
    prev = np.zeros(n, dtype=np.int64)
    j = np.zeros(n, dtype=np.int64)
    sign = np.zeros(n)
    acc = np.zeros(n)
    k = 0                      # enter level 0: the whole matrix
    col[0] = nxt[n]
    prev[0] = n
    sign[0] = 1.0
    done = False
    while not done:
        c = col[k]
        nxt[prev[k]] = nxt[c]                          # remove column c
        if k < n - 2:                                  # expand the sub-minor first: enter level k + 1
            k += 1
            col[k] = nxt[n]
            prev[k] = n
            j[k] = 0
            sign[k] = 1.0
            acc[k] = 0.0
        else:                                          # the sub-minor is 1 x 1: row n - 1, the column left
            acc[k] += sign[k] * A[k, c] * A[n - 1, nxt[n]]
            nxt[prev[k]] = c                           # restore column c
            advancing = True
            while advancing:                           # next column of level k, or return to level k - 1
                prev[k] = col[k]
                col[k] = nxt[col[k]]
                sign[k] = -sign[k]
                j[k] += 1
                if j[k] < n - k:
                    advancing = False
                elif k == 0:
                    advancing = False
                    done = True
                else:
                    k -= 1
                    c = col[k]
                    nxt[prev[k]] = c                   # restore the column level k expanded
                    acc[k] += sign[k] * A[k, c] * acc[k + 1]
    return acc[0]


DET = Differentiated(determinant, wrt="A")


def prepare(function, input):
    ell = int(input["ell"])
    A = floats(input["A"]).reshape(ell, ell)
    if function == "primal":
        return DET.bind_primal(A), to_float
    if function == "gradient":
        return DET.bind_value_and_grad(A), lambda out: to_list(out[1].reshape(-1))
    raise KeyError(f"det has no function {function!r}")


_A3 = [0.5, 0.2, 0.1, 0.3, 0.9, 0.4, 0.7, 0.6, 0.8]
EXAMPLES = {"primal": {"A": _A3, "ell": 3}, "gradient": {"A": _A3, "ell": 3}}
