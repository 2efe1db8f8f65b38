"""GradBench ``ba``: bundle-adjustment residuals and their sparse Jacobian.

``ba_residuals(cams, X, w, feats, obs)`` is the primal of the reference
(``src/cpp/gradbench/evals/ba.hpp``): a loop over the p observations; observation
i projects point ``X[obs[i, 1]]`` with camera ``cams[obs[i, 0]]`` (Rodrigues
rotation, perspective division, radial distortion, focal length and principal
point) and returns row i of a (p, 3) array: the weighted reprojection error
``w_i * (proj - feat_i)`` (2 values) and the weight error ``1 - w_i^2``. The
input is expanded to the full problem first (n cameras, m points, p weights,
observation i linking camera ``i mod n`` with point ``i mod m``), outside the
timed region, as the reference's ``from_json`` does.

The Jacobian (3p rows, 11n + 3m + p columns) comes from reverse mode on
per-observation copies of the parameters, as bundle adjusters build their
Jacobians residual block by residual block: ``cams[obs[i, 0]]`` and
``X[obs[i, 1]]`` are gathered into (p, 11) and (p, 3) arrays (inside the timed
region) and ``ba_residuals`` is evaluated on them with observation i linking
camera copy i and point copy i. Then no parameter copy is shared between
observations, so one ``srcgrad.vjp`` sweep with the cotangent "1 in column k of
every row" gives, in row i of each copy's δ, the derivatives of residual
``err[i, k]`` w.r.t. observation i's camera, point and weight: three reverse
sweeps (x, y and weight residuals) give every non-zero. They are written into
the values of the protocol's CSR layout (``csr_structure``: 15 entries per
reprojection row, camera 0..10, point 0..2, weight; one per weight row). No
derivative is written by hand. (Before: one forward sweep per column colour,
15 sweeps each rerunning the primal: 2.2-3.9x the C++ tool.)
"""
import numba
import numpy as np

import srcgrad
from benchmarks.gradbench.common import Transformed

NCAM = 11


def ba_residuals(cams, X, w, feats, obs):
    p = w.shape[0]
    err = np.empty((p, 3))
    for i in range(p):
        c = obs[i, 0]
        pt = obs[i, 1]
        # the point relative to the camera centre
        px = X[pt, 0] - cams[c, 3]
        py = X[pt, 1] - cams[c, 4]
        pz = X[pt, 2] - cams[c, 5]
        # Rodrigues' rotation by the angle-axis vector cams[c, 0:3]
        r0 = cams[c, 0]
        r1 = cams[c, 1]
        r2 = cams[c, 2]
        sqtheta = r0 * r0 + r1 * r1 + r2 * r2
        if sqtheta != 0.0:
            theta = np.sqrt(sqtheta)
            costheta = np.cos(theta)
            sintheta = np.sin(theta)
            k0 = r0 / theta
            k1 = r1 / theta
            k2 = r2 / theta
            tmp = (k0 * px + k1 * py + k2 * pz) * (1.0 - costheta)
            yx = px * costheta + (k1 * pz - k2 * py) * sintheta + k0 * tmp
            yy = py * costheta + (k2 * px - k0 * pz) * sintheta + k1 * tmp
            yz = pz * costheta + (k0 * py - k1 * px) * sintheta + k2 * tmp
        else:
            yx = px + (r1 * pz - r2 * py)
            yy = py + (r2 * px - r0 * pz)
            yz = pz + (r0 * py - r1 * px)
        # perspective division, radial distortion, focal length and principal point
        qx = yx / yz
        qy = yy / yz
        rsq = qx * qx + qy * qy
        distortion = 1.0 + cams[c, 9] * rsq + cams[c, 10] * rsq * rsq
        projx = qx * distortion * cams[c, 6] + cams[c, 7]
        projy = qy * distortion * cams[c, 6] + cams[c, 8]
        err[i, 0] = w[i] * (projx - feats[i, 0])
        err[i, 1] = w[i] * (projy - feats[i, 1])
        err[i, 2] = 1.0 - w[i] * w[i]
    return err


VJP = Transformed(srcgrad.vjp(ba_residuals, wrt=("cams", "X", "w")))


def expand(input):
    """The full problem of the protocol: n equal cameras, m equal points, p observations."""
    n, m, p = int(input["n"]), int(input["m"]), int(input["p"])
    cams = np.tile(np.asarray(input["cam"], dtype=np.float64), (n, 1))
    X = np.tile(np.asarray(input["x"], dtype=np.float64), (m, 1))
    w = np.full(p, float(input["w"]))
    feats = np.tile(np.asarray(input["feat"], dtype=np.float64), (p, 1))
    i = np.arange(p, dtype=np.int64)
    obs = np.stack((i % n, i % m), axis=1)
    return cams, X, w, feats, obs


@numba.njit(cache=True)
def csr_structure(obs, n, m):
    """Row pointers and column indices of the Jacobian's CSR form (structure only, no values):
    per observation two reprojection rows of 15 entries (camera 0..10, point 0..2, weight),
    then one entry per weight row."""
    p = obs.shape[0]
    rows = np.empty(3 * p + 1, dtype=np.int64)
    cols = np.empty(31 * p, dtype=np.int64)
    point0 = NCAM * n
    weight0 = point0 + 3 * m
    at = 0
    for i in range(p):
        for r in range(2):
            rows[2 * i + r] = at
            for k in range(NCAM):
                cols[at + k] = NCAM * obs[i, 0] + k
            for k in range(3):
                cols[at + NCAM + k] = point0 + 3 * obs[i, 1] + k
            cols[at + NCAM + 3] = weight0 + i
            at += NCAM + 4
    for i in range(p):
        rows[2 * p + i] = at
        cols[at] = weight0 + i
        at += 1
    rows[3 * p] = at
    return rows, cols


def bind_jacobian(cams, X, w, feats, obs):
    """A zero-argument callable returning the CSR arrays (rows, cols, vals) of the Jacobian."""
    n, m, p = cams.shape[0], X.shape[0], w.shape[0]
    own = np.stack((np.arange(p), np.arange(p)), axis=1)      # observation i: camera copy i, point copy i
    cotangents = [np.zeros((p, 3)) for _ in range(3)]
    for k, u in enumerate(cotangents):
        u[:, k] = 1.0                                          # residual column k of every observation
    vjp, _ = VJP.bind("vjp", cams[obs[:, 0]], X[obs[:, 1]], w, feats, own, extra=(cotangents[0], 1.0))
    csr_structure(obs[:1], n, m)                   # compiled (or loaded) outside the timed region

    def jacobian():
        rows, cols = csr_structure(obs, n, m)
        cam_copies, point_copies = cams[obs[:, 0]], X[obs[:, 1]]
        vals = np.empty(31 * p)
        blocks = vals[:30 * p].reshape(p, 2, NCAM + 4)   # observation i, row e_ix / e_iy, entry
        for k in range(2):
            _, d_cams, d_points, d_w = vjp(cam_copies, point_copies, w, feats, own, cotangents[k], 1.0)
            blocks[:, k, :NCAM] = d_cams
            blocks[:, k, NCAM:NCAM + 3] = d_points
            blocks[:, k, NCAM + 3] = d_w
        vals[30 * p:] = vjp(cam_copies, point_copies, w, feats, own, cotangents[2], 1.0)[3]
        return rows, cols, vals
    return jacobian


def bind_objective(cams, X, w, feats, obs):
    value, values = VJP.bind("value", cams, X, w, feats, obs)
    return lambda: value(*values)


def _objective_json(err):
    return {"reproj_error": {"elements": [float(err[0, 0]), float(err[0, 1])], "repeated": int(err.shape[0])},
            "w_err": {"element": float(err[0, 2]), "repeated": int(err.shape[0])}}


def _digest(array, as_type):
    return [as_type(v) for v in array[:30]] + [as_type(array[-1])]


def _jacobian_json(csr):
    rows, cols, vals = csr
    return {"rows": _digest(rows, int), "cols": _digest(cols, int), "vals": _digest(vals, float)}


def prepare(function, input):
    args = expand(input)
    if function == "objective":
        return bind_objective(*args), _objective_json
    if function == "jacobian":
        return bind_jacobian(*args), _jacobian_json
    raise KeyError(f"ba has no function {function!r}")


_EXAMPLE = {"n": 2, "m": 3, "p": 5, "cam": [0.1, -0.2, 0.3, 0.5, -0.4, 0.2, 400.0, 5.0, -8.0, 0.08, 0.002],
            "x": [7.0, 0.1, 3.0], "w": 0.4, "feat": [270.0, 830.0]}
EXAMPLES = {"objective": _EXAMPLE, "jacobian": _EXAMPLE}
