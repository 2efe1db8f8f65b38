"""GradBench ``ht``: hand-tracking residuals (both variants) and their Jacobian.

``ht_objective(theta, us, parents, base_relatives, inverse_base_absolutes,
base_positions, weights, triangles, correspondences, points, mirrored)`` is the
primal of the reference (``src/cpp/gradbench/evals/ht.hpp``), written with
element loops: the pose matrix from theta (``to_pose``), per bone the Euler
rotation ``Rz Ry Rx``, the posed relative transform, the absolute transform
(parent first) and the skinning transform ``abs_b @ inverse_base_absolutes[b]``;
then each vertex ``sum_b weights[v, b] * (T_b @ base_positions[v])[0:3]``,
mirrored if the model is, and the global rotation (angle-axis theta[0:3],
identity below 1e-4), scale (1) and translation (theta[3:6]). The residual
``err[3i + j] = points[i, j] - model point`` uses the corresponding vertex
(simple variant, ``us`` has no rows) or the barycentric combination
``a*v0 + b*v1 + (1-a-b)*v2`` of the corresponding triangle with ``(a, b) = us[i]``
(complicated variant). The 22 4x4 matrices are passed as (88, 4) arrays (bone b:
rows 4b..4b+3), as srcgrad takes no 3-D arrays.

Two choices of the primal that keep the forward sweeps cheap (same values):
only the vertices the residuals read are skinned (``needed``, from the
correspondences: at most 3N of the V vertices), and bones with zero weight for
a vertex are skipped (a vertex has 1-4 of the 22).

The Jacobian: ``srcgrad.jacobian(ht_objective, wrt="theta", mode="fwd")``, 26
forward sweeps in one compiled loop; for the complicated variant the two ``us``
columns come from two ``srcgrad.jvp`` sweeps, one with ``us[:, 0]`` all seeded and
one with ``us[:, 1]`` (row r depends only on ``us[r // 3]``, so the seeded sums
are the per-row derivatives). No derivative is written by hand.
"""
import math

import numpy as np

import srcgrad
from benchmarks.gradbench.common import Transformed, to_list


def ht_objective(theta, us, parents, base_relatives, inverse_base_absolutes, base_positions, weights,
                 triangles, correspondences, points, mirrored):
    bones = parents.shape[0]
    n_verts = base_positions.shape[0]
    n_corr = correspondences.shape[0]
    complicated = us.shape[0] > 0
    # to_pose: 3 x (bones + 3); column 0 global rotation, 1 scale, 2 translation, then the bones
    pose = np.zeros((3, bones + 3))
    for j in range(3):
        pose[j, 0] = theta[j]
        pose[j, 1] = 1.0
        pose[j, 2] = theta[3 + j]
    at = 6
    for finger in range(5):
        col = 5 + 4 * finger
        pose[0, col] = theta[at]
        pose[1, col] = theta[at + 1]
        pose[0, col + 1] = theta[at + 2]
        pose[0, col + 2] = theta[at + 3]
        at += 4
    # bone transforms: rel_b = base_relatives[b] [[R_b, 0], [0, 1]], abs_b = abs_parent rel_b, T_b = abs_b inv_b
    absolutes = np.zeros((4 * bones, 4))
    transforms = np.zeros((4 * bones, 4))
    R = np.zeros((3, 3))
    rel = np.zeros((4, 4))
    for b in range(bones):
        cx = math.cos(pose[0, b + 3])
        sx = math.sin(pose[0, b + 3])
        cz = math.cos(pose[1, b + 3])
        sz = math.sin(pose[1, b + 3])
        cy = math.cos(pose[2, b + 3])
        sy = math.sin(pose[2, b + 3])
        # R = Rz(az) Ry(ay) Rx(ax)
        R[0, 0] = cz * cy
        R[0, 1] = -sz * cx + cz * sy * sx
        R[0, 2] = sz * sx + cz * sy * cx
        R[1, 0] = sz * cy
        R[1, 1] = cz * cx + sz * sy * sx
        R[1, 2] = -cz * sx + sz * sy * cx
        R[2, 0] = -sy
        R[2, 1] = cy * sx
        R[2, 2] = cy * cx
        for r in range(4):
            for c in range(3):
                s = 0.0
                for q in range(3):
                    s += base_relatives[4 * b + r, q] * R[q, c]
                rel[r, c] = s
            rel[r, 3] = base_relatives[4 * b + r, 3]
        parent = parents[b]
        for r in range(4):
            for c in range(4):
                if parent < 0:
                    absolutes[4 * b + r, c] = rel[r, c]
                else:
                    s = 0.0
                    for q in range(4):
                        s += absolutes[4 * parent + r, q] * rel[q, c]
                    absolutes[4 * b + r, c] = s
        for r in range(4):
            for c in range(4):
                s = 0.0
                for q in range(4):
                    s += absolutes[4 * b + r, q] * inverse_base_absolutes[4 * b + q, c]
                transforms[4 * b + r, c] = s
    # global rotation from the angle-axis theta[0:3], columns scaled by pose column 1
    G = np.zeros((3, 3))
    norm = math.sqrt(pose[0, 0] * pose[0, 0] + pose[1, 0] * pose[1, 0] + pose[2, 0] * pose[2, 0])
    if norm < 0.0001:
        for j in range(3):
            G[j, j] = 1.0
    else:
        x = pose[0, 0] / norm
        y = pose[1, 0] / norm
        z = pose[2, 0] / norm
        s = math.sin(norm)
        c = math.cos(norm)
        G[0, 0] = x * x + (1.0 - x * x) * c
        G[0, 1] = x * y * (1.0 - c) - z * s
        G[0, 2] = x * z * (1.0 - c) + y * s
        G[1, 0] = x * y * (1.0 - c) + z * s
        G[1, 1] = y * y + (1.0 - y * y) * c
        G[1, 2] = y * z * (1.0 - c) - x * s
        G[2, 0] = x * z * (1.0 - c) - y * s
        G[2, 1] = z * y * (1.0 - c) + x * s
        G[2, 2] = z * z + (1.0 - z * z) * c
    for r in range(3):
        for c in range(3):
            G[r, c] = G[r, c] * pose[c, 1]
    # the vertices the residuals read
    needed = np.zeros(n_verts, dtype=np.bool_)
    for i in range(n_corr):
        if complicated:
            for k in range(3):
                needed[triangles[correspondences[i], k]] = True
        else:
            needed[correspondences[i]] = True
    # skinning, mirroring and the global transform of those vertices
    positions = np.zeros((n_verts, 3))
    local = np.zeros(3)
    for v in range(n_verts):
        if needed[v]:
            for r in range(3):
                local[r] = 0.0
            for b in range(bones):
                weight = weights[v, b]
                if weight != 0.0:
                    for r in range(3):
                        s = 0.0
                        for c in range(4):
                            s += transforms[4 * b + r, c] * base_positions[v, c]
                        local[r] += weight * s
            if mirrored:
                local[0] = -local[0]
            for r in range(3):
                positions[v, r] = G[r, 0] * local[0] + G[r, 1] * local[1] + G[r, 2] * local[2] + pose[r, 2]
    err = np.empty(3 * n_corr)
    for i in range(n_corr):
        if complicated:
            t = correspondences[i]
            a = us[i, 0]
            b = us[i, 1]
            for j in range(3):
                model_point = (a * positions[triangles[t, 0], j] + b * positions[triangles[t, 1], j]
                               + (1.0 - a - b) * positions[triangles[t, 2], j])
                err[3 * i + j] = points[i, j] - model_point
        else:
            for j in range(3):
                err[3 * i + j] = points[i, j] - positions[correspondences[i], j]
    return err


JACOBIAN = Transformed(srcgrad.jacobian(ht_objective, wrt="theta", mode="fwd"))
JVP_US = Transformed(srcgrad.jvp(ht_objective, wrt="us"))


def _matrices(stack):
    """22 4x4 row-major matrices (JSON [22][4][4]) as one (88, 4) array."""
    array = np.asarray(stack, dtype=np.float64)
    return array.reshape(-1, 4)


def _args(input):
    data, model = input["data"], input["data"]["model"]
    us = np.asarray(input["us"], dtype=np.float64).reshape(-1, 2)
    triangles = np.asarray(model["triangles"], dtype=np.int64).reshape(-1, 3)
    return (np.asarray(input["theta"], dtype=np.float64), us, np.asarray(model["parents"], dtype=np.int64),
            _matrices(model["base_relatives"]), _matrices(model["inverse_base_absolutes"]),
            np.asarray(model["base_positions"], dtype=np.float64), np.asarray(model["weights"], dtype=np.float64),
            triangles, np.asarray(data["correspondences"], dtype=np.int64),
            np.asarray(data["points"], dtype=np.float64).reshape(-1, 3), bool(model["is_mirrored"]))


def bind_objective(*args):
    value, values = JACOBIAN.bind("value", *args)
    return lambda: value(*values)


def bind_jacobian(*args):
    """A zero-argument callable returning the (3N, 26) or (3N, 28) Jacobian."""
    rows = 3 * args[8].shape[0]
    jacfwd, values = JACOBIAN.bind("jacfwd", *args, extra=(rows, 1))
    us = args[1]
    if us.shape[0] == 0:
        return lambda: jacfwd(*values, rows, 1)[0]
    seed0, seed1 = np.zeros(us.shape), np.zeros(us.shape)
    seed0[:, 0] = 1.0
    seed1[:, 1] = 1.0
    jvp, values_us = JVP_US.bind("jvp", *args, extra=(seed0,))

    def jacobian():
        J = np.empty((rows, 28))
        J[:, 0] = jvp(*values_us, seed0)[1]     # d err[r] / d us[r // 3, 0]
        J[:, 1] = jvp(*values_us, seed1)[1]     # d err[r] / d us[r // 3, 1]
        J[:, 2:] = jacfwd(*values, rows, 1)[0]
        return J
    return jacobian


def prepare(function, input):
    args = _args(input)
    if function == "objective":
        return bind_objective(*args), to_list
    if function == "jacobian":
        return bind_jacobian(*args), to_list
    raise KeyError(f"ht has no function {function!r}")


def example(complicated, n_corr=3, seed=0):
    """A small random hand (22 bones, 8 vertices) in the eval's JSON layout."""
    rng = np.random.default_rng(seed)
    bones, verts = 22, 8
    mats = lambda: [np.vstack((rng.uniform(-1, 1, (3, 4)), [0, 0, 0, 1])).tolist() for _ in range(bones)]
    weights = rng.uniform(0, 1, (verts, bones)) * (rng.uniform(0, 1, (verts, bones)) < 0.7)
    weights[:, 0] += 0.1                     # every vertex moves with the wrist
    triangles = [[0, 1, 2], [3, 4, 5], [1, 3, 5], [0, 2, 4], [5, 6, 7]]
    corr = rng.integers(0, len(triangles) if complicated else verts, n_corr)
    return {"theta": rng.uniform(-0.5, 0.5, 26).tolist(),
            "us": rng.uniform(0, 0.5, (n_corr, 2)).tolist() if complicated else [],
            "data": {"correspondences": corr.tolist(), "points": rng.uniform(-1, 1, (n_corr, 3)).tolist(),
                     "model": {"bone_count": bones, "bone_names": [f"b{i}" for i in range(bones)],
                               "parents": [-1] + [0 if b % 4 == 1 else b - 1 for b in range(1, bones)], "base_relatives": mats(), "inverse_base_absolutes": mats(),
                               "base_positions": np.hstack((rng.uniform(-1, 1, (verts, 3)),
                                                            np.ones((verts, 1)))).tolist(),
                               "weights": weights.tolist(), "triangles": triangles, "is_mirrored": False}}}


EXAMPLES = {"objective": example(True), "jacobian": example(True)}
