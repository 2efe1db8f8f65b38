"""GradBench ``kmeans``: the k-means cost and its Newton direction.

``kmeans_cost(points, centroids) = sum_i min_j |P_i - C_j|^2``, written as the two
steps of k-means: the assignment (for each point, the index of its nearest centroid,
found by a loop over the centroids with an element loop per squared distance, as the
reference ``src/cpp/gradbench/evals/kmeans.hpp`` does), then the sum of the squared
distances of the points to their assigned centroids, which is the minimum. The same
function as ``closest = min(closest, dist); cost += closest`` (also measured): there
srcgrad tapes one branch flag per (point, centroid) pair and walks them back in the
backward sweep, and its gradient and Hessian-vector product cost 3.2x and 4.5x the
primal; here the assignment carries no derivative (an integer array), so both cost
1.05-1.15x the primal.

``dir`` is ``J / H`` elementwise, J the gradient of the cost w.r.t. the centroids
(``srcgrad.value_and_grad``) and H the diagonal of its Hessian. H is obtained by
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

import numpy as np

import srcgrad
from benchmarks.gradbench.common import Differentiated, Transformed, floats, to_float, to_list


def kmeans_cost(points, centroids):
    n, d = points.shape
    k = centroids.shape[0]
    nearest = np.zeros(n, dtype=np.int64)        # assignment step: the nearest centroid of each point
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
    cost = 0.0                                   # sum_i min_j |P_i - C_j|^2 = sum_i |P_i - C_nearest(i)|^2
    for i in range(n):
        for l in range(d):
            r = points[i, l] - centroids[nearest[i], l]
            cost += r * r
    return cost


COST = Differentiated(kmeans_cost, wrt="centroids")
HVP = Transformed(srcgrad.hvp(kmeans_cost, wrt="centroids"))


def _args(input):
    points = floats(input["points"])
    centroids = floats(input["centroids"])
    return points.reshape(points.shape[0], -1), centroids.reshape(centroids.shape[0], -1)


def bind_dir(points, centroids):
    """A zero-argument callable computing J / H at (points, centroids)."""
    value_and_grad = COST.bind_value_and_grad(points, centroids)
    ones = np.ones(centroids.shape)
    hvp, values = HVP.bind("hvp", points, centroids, extra=(ones, 1.0))

    def direction():
        J = value_and_grad()[1]
        H = hvp(*values, ones, 1.0)[1]         # H @ 1 = diag(H): the Hessian is diagonal
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
