"""GradBench ``kmeans``: the k-means cost and its Newton direction.

``kmeans_cost(points, centroids) = sum_i min_j |P_i - C_j|^2``, written as the two
steps of k-means: the assignment ``nearest_centroids`` (for each point, the index of
its nearest centroid, found by a loop over the centroids with an element loop per
squared distance, as the reference ``src/cpp/gradbench/evals/kmeans.hpp`` does), then
``assigned_cost``, the sum of the squared distances of the points to their assigned
centroids, which is the minimum. The same function as ``closest = min(closest, dist);
cost += closest`` (also measured): there srcgrad tapes one branch flag per (point,
centroid) pair and walks them back in the backward sweep (gradient 3.2x, Hessian-vector
product 4.5x the primal).

``dir`` is ``J / H`` elementwise, J the gradient of the cost w.r.t. the centroids
and H the diagonal of its Hessian. Away from ties (the protocol's inputs) the nearest
assignment does not change under a small move of the centroids, so J and H are the
derivatives of ``assigned_cost`` with the assignment computed once per evaluation
(by the primal's own step, compiled with Numba) and held: J by
``srcgrad.value_and_grad``, H by
one Hessian-vector product with the all-ones vector (``srcgrad.hvp``, reverse
over forward): ``H @ 1`` is the vector of the row sums of H, and the Hessian of
this cost is diagonal — away from ties each point's term is ``|P_i - C_j*|^2``
for its nearest centroid j*, whose second derivative w.r.t. ``C[j*, l]`` is 2
and zero for every mixed pair (other centroid, other coordinate) — so each row
sum is the diagonal entry itself: ``H @ 1 = diag(H)`` (``2 * count_j``). This
is one sweep instead of the k*d of ``srcgrad.hessian(..., diagonal=True)``.
No derivative is written by hand: the closed form ``C_j - mean(P_i of j)``
of the reference is what srcgrad's J / H reproduces.
"""
import math

import numba
import numpy as np

import srcgrad
from benchmarks.gradbench.common import Differentiated, Transformed, floats, to_float, to_list


def nearest_centroids(points, centroids):
    """The assignment step: for each point, the index of its nearest centroid (a loop over the
    centroids with an element loop per squared distance, as the reference)."""
    n, d = points.shape
    k = centroids.shape[0]
    nearest = np.zeros(n, dtype=np.int64)
    for i in range(n):
        closest = math.inf
        for j in range(k):
            dist = 0.0
            for l in range(d):
                diff = points[i, l] - centroids[j, l]
                dist += diff * diff
            if dist < closest:
                closest = dist
                nearest[i] = j
    return nearest


def assigned_cost(points, centroids, nearest):
    """sum_i |P_i - C_nearest(i)|^2: the cost once the points are assigned."""
    n, d = points.shape
    cost = 0.0
    for i in range(n):
        for l in range(d):
            r = points[i, l] - centroids[nearest[i], l]
            cost += r * r
    return cost


def kmeans_cost(points, centroids):
    """sum_i min_j |P_i - C_j|^2 = the cost of the nearest assignment."""
    return assigned_cost(points, centroids, nearest_centroids(points, centroids))


COST = Differentiated(kmeans_cost, wrt="centroids")
ASSIGNED = Differentiated(assigned_cost, wrt="centroids")
HVP = Transformed(srcgrad.hvp(assigned_cost, wrt="centroids"))
assign = numba.njit(cache=True)(nearest_centroids)     # the primal's own step, compiled (not differentiated)


def _args(input):
    points = floats(input["points"])
    centroids = floats(input["centroids"])
    return points.reshape(points.shape[0], -1), centroids.reshape(centroids.shape[0], -1)


def bind_dir(points, centroids):
    """A zero-argument callable computing J / H at (points, centroids): the points are assigned
    once, then J and H are derivatives of the assigned cost (the min's own derivatives away
    from ties, where the assignment does not change)."""
    nearest = assign(points, centroids)
    value_and_grad = ASSIGNED.dispatchers(points, centroids, nearest)[1]
    ones = np.ones(centroids.shape)
    hvp, values = HVP.bind("hvp", points, centroids, nearest, extra=(ones, 1.0))

    def direction():
        nearest = assign(points, centroids)
        J = value_and_grad(points, centroids, nearest, 1.0)[1]
        H = hvp(points, centroids, nearest, ones, 1.0)[1]     # H @ 1 = diag(H): the Hessian is diagonal
        return J / H
    return direction


def prepare(function, input):
    points, centroids = _args(input)
    if function == "cost":
        return COST.bind_primal(points, centroids), to_float
    if function == "dir":
        return bind_dir(points, centroids), to_list
    raise KeyError(f"kmeans has no function {function!r}")


_EXAMPLE = {"points": [[0.0, 0.1], [1.0, 0.9], [0.2, 0.0], [0.9, 1.2]], "centroids": [[0.1, 0.0], [1.0, 1.0]]}
EXAMPLES = {"cost": _EXAMPLE, "dir": _EXAMPLE}
