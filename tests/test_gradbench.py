"""The GradBench tool (benchmarks/gradbench): every eval's outputs against central
differences of the same plain-Python primal, and the protocol, spoken by the tool
as a subprocess through a recorded session.

Tiny inputs, one srcgrad compile per eval (the kinds the tool itself uses). Only
``test_official_evals_through_the_kit_driver`` needs the GradBench kit
(``../shared/gradbench`` and its ``setup.sh`` work directory); it is skipped
without them.
"""

import json
import os
import queue
import subprocess
import sys
import threading

import numpy as np
import pytest
from fd import fd_gradient
from gradbench_session import SESSIONS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "benchmarks", "gradbench", "tool.py")
KIT = os.path.join(os.path.dirname(ROOT), "shared", "gradbench")
GRADBENCH_HOME = os.environ.get("GRADBENCH_HOME", os.path.expanduser("~/.cache/srcgrad-gradbench"))


def run(module, function, input):
    """What the tool answers: convert, compute (the timed part), convert back."""
    compute, to_json = module.prepare(function, input)
    out = to_json(compute())
    json.dumps(out, allow_nan=False)           # valid JSON, finite
    return out


def assert_close(got, want, rtol=1e-6, atol=1e-9):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def fd(f, args, wrt):
    """Central differences of the plain-Python f (tests/fd.py): one array per wrt position."""
    grads, _ = fd_gradient(f, args, wrt)
    return grads


# -- the evals, in-process --------------------------------------------------------------------

def test_hello():
    from benchmarks.gradbench.evals import hello
    assert run(hello, "square", 3.0) == 9.0
    assert run(hello, "double", 3.0) == 6.0
    assert run(hello, "double", -1.5) == -3.0


def test_lse():
    from benchmarks.gradbench.evals import lse
    x = np.array([0.3, 0.9, 0.1, 0.75, 0.5, 0.0, 0.42])
    value = run(lse, "primal", {"x": x.tolist()})
    assert value == pytest.approx(np.log(np.sum(np.exp(x))), rel=1e-12)
    assert value == pytest.approx(lse.logsumexp(x), rel=1e-14)
    assert_close(run(lse, "gradient", {"x": x.tolist()}), fd(lse.logsumexp, (x,), 0)[0])


def test_llsq():
    from benchmarks.gradbench.evals import llsq
    rng = np.random.default_rng(1)
    x, n = rng.uniform(-1, 1, 5), 9
    inp = {"x": x.tolist(), "n": n}
    t = -1.0 + 2.0 * np.arange(n) / (n - 1)
    want = 0.5 * np.sum((np.sign(t) - np.polyval(x[::-1], t)) ** 2)
    assert run(llsq, "primal", inp) == pytest.approx(want, rel=1e-12)
    assert_close(run(llsq, "gradient", inp), fd(llsq.llsq_objective, (x, n), 0)[0])


@pytest.mark.parametrize("ell", [1, 2, 3, 4])
def test_det(ell):
    from benchmarks.gradbench.evals import det
    rng = np.random.default_rng(ell)
    A = rng.random((ell, ell))
    inp = {"A": A.reshape(-1).tolist(), "ell": ell}
    assert run(det, "primal", inp) == pytest.approx(np.linalg.det(A), rel=1e-10, abs=1e-14)
    grad = run(det, "gradient", inp)
    assert len(grad) == ell * ell
    assert_close(grad, fd(det.determinant, (A,), 0)[0].reshape(-1))
    if ell > 1:                                  # the cofactor matrix
        assert_close(grad, (np.linalg.det(A) * np.linalg.inv(A).T).reshape(-1), rtol=1e-8)


def test_ode():
    from benchmarks.gradbench.evals import ode
    rng = np.random.default_rng(2)
    x, s = rng.uniform(0.5, 1.5, 6), 3
    inp = {"x": x.tolist(), "s": s}
    y = run(ode, "primal", inp)
    assert_close(y, ode.solve.py_func(x, s), rtol=1e-13)
    # y_0 = 2 x_0 exactly (RK4 integrates a constant exactly); y_1 = 2 x_0 x_1 exactly (a linear one)
    assert y[0] == pytest.approx(2 * x[0]) and y[1] == pytest.approx(2 * x[0] * x[1])
    assert_close(run(ode, "gradient", inp), fd(ode.last_component, (x, s), 0)[0])


def test_gmm():
    from benchmarks.gradbench.evals import gmm
    rng = np.random.default_rng(3)
    d, k, n = 3, 2, 5
    inp = {"d": d, "k": k, "n": n, "m": 0, "gamma": 1.0, "x": rng.standard_normal((n, d)).tolist(),
           "alpha": rng.standard_normal(k).tolist(), "mu": rng.standard_normal((k, d)).tolist(),
           "q": (0.3 * rng.standard_normal((k, d))).tolist(),
           "l": (0.3 * rng.standard_normal((k, d * (d - 1) // 2))).tolist()}
    args = gmm._args(inp)
    assert run(gmm, "objective", inp) == pytest.approx(gmm.gmm_objective(*args), rel=1e-12)
    jac = run(gmm, "jacobian", inp)
    assert set(jac) == {"alpha", "mu", "q", "l"}
    for name, want in zip(("alpha", "mu", "q", "l"), fd(gmm.gmm_objective, args, (0, 1, 2, 3))):
        assert_close(jac[name], want, rtol=1e-5, atol=1e-7)


def test_gmm_objective_matches_the_densities():
    """The log posterior from its definition (products of Gaussian and Wishart densities)."""
    from math import lgamma, log, pi

    from benchmarks.gradbench.evals import gmm
    rng = np.random.default_rng(4)
    d, k, n, m, gamma = 2, 2, 4, 0, 1.0
    alpha, mu, q, l = rng.standard_normal(k), rng.standard_normal((k, d)), 0.3 * rng.standard_normal((k, d)), \
        0.3 * rng.standard_normal((k, 1))
    x = rng.standard_normal((n, d))
    Qs = [np.array([[np.exp(q[c, 0]), 0.0], [l[c, 0], np.exp(q[c, 1])]]) for c in range(k)]
    phi = np.exp(alpha) / np.sum(np.exp(alpha))
    loglik = 0.0
    for i in range(n):
        dens = [phi[c] * np.linalg.det(Qs[c]) / (2 * pi) ** (d / 2) *
                np.exp(-0.5 * np.sum((Qs[c] @ (x[i] - mu[c])) ** 2)) for c in range(k)]
        loglik += log(sum(dens))
    N = d + m + 1                  # Wishart(Q^T Q; V = I / gamma^2, N degrees of freedom), log density
    log_mgamma = d * (d - 1) / 4 * log(pi) + sum(lgamma(N / 2 + (1 - j) / 2) for j in range(1, d + 1))
    logprior = sum((N - d - 1) / 2 * log(np.linalg.det(Q.T @ Q)) - gamma ** 2 * np.trace(Q.T @ Q) / 2
                   - N * d / 2 * log(2) + N * d * log(gamma) - log_mgamma for Q in Qs)
    assert gmm.gmm_objective(alpha, mu, q, l, x, gamma, m) == pytest.approx(loglik + logprior, rel=1e-12)


def test_lstm():
    from benchmarks.gradbench.evals import lstm
    rng = np.random.default_rng(5)
    layers, chars, bits = 2, 4, 3
    inp = {"main_params": rng.uniform(-1, 1, (2 * layers, 4 * bits)).tolist(),
           "extra_params": rng.uniform(-1, 1, (3, bits)).tolist(),
           "state": rng.uniform(-1, 1, (2 * layers, bits)).tolist(),
           "sequence": rng.integers(0, 2, (chars, bits)).astype(float).tolist()}
    args = lstm._args(inp)
    state = args[2].copy()
    assert run(lstm, "objective", inp) == pytest.approx(lstm.lstm_objective(*args), rel=1e-12)
    assert run(lstm, "objective", inp) == pytest.approx(_lstm_reference(*args), rel=1e-12)
    jac = run(lstm, "jacobian", inp)
    assert len(jac) == 8 * layers * bits + 3 * bits
    want = np.concatenate([g.reshape(-1) for g in fd(lstm.lstm_objective, args, (0, 1))])
    assert_close(jac, want, rtol=1e-5, atol=1e-8)
    assert np.array_equal(args[2], state)        # the state input is not modified


def _lstm_reference(main, extra, state, seq):
    """PROTOCOL.md's description, vectorised, as an independent check of the loops."""
    sig = lambda z: 1 / (1 + np.exp(-z))
    c, b = seq.shape
    st = state.copy()
    total = 0.0
    for t in range(c - 1):
        u = seq[t] * extra[0]
        for i in range(main.shape[0] // 2):
            W, B = main[2 * i].reshape(4, b), main[2 * i + 1].reshape(4, b)
            h, s = st[2 * i], st[2 * i + 1]
            f, g, o = sig(u * W[0] + B[0]), sig(h * W[1] + B[1]), sig(u * W[2] + B[2])
            z = np.tanh(h * W[3] + B[3])
            s = s * f + g * z
            st[2 * i + 1], st[2 * i] = s, o * np.tanh(s)
            u = st[2 * i]
        y = u * extra[1] + extra[2]
        total += np.sum(seq[t + 1] * (y - np.log(np.sum(np.exp(y)) + 2)))
    return -total / ((c - 1) * b)


def fd_jacobian(f, args, pos, h=1e-6):
    """Central differences of the plain-Python f's (array) output w.r.t. argument pos:
    shape (output size, input size)."""
    x = np.asarray(args[pos], dtype=float)
    cols = []
    for j in range(x.size):
        step = h * max(1.0, abs(x.flat[j]))
        plus, minus = x.copy(), x.copy()
        plus.flat[j] += step
        minus.flat[j] -= step
        call = lambda v: np.asarray(f(*args[:pos], v, *args[pos + 1:]), dtype=float).reshape(-1)
        cols.append((call(plus) - call(minus)) / (2 * step))
    return np.stack(cols, axis=1)


def test_kmeans():
    from benchmarks.gradbench.evals import kmeans
    rng = np.random.default_rng(6)
    points = rng.uniform(-1, 1, (30, 3))
    centroids = points[[0, 7, 13, 21]] + 0.01
    inp = {"points": points.tolist(), "centroids": centroids.tolist()}
    dists = ((points[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    assert run(kmeans, "cost", inp) == pytest.approx(dists.min(axis=1).sum(), rel=1e-12)
    direction = np.array(run(kmeans, "dir", inp))
    # J and the Hessian's diagonal by central differences of the primal (it is piecewise quadratic)
    J = fd(kmeans.kmeans_cost, (points, centroids), 1)[0]
    H = np.empty_like(centroids)
    f0, h = kmeans.kmeans_cost(points, centroids), 1e-3
    for idx in np.ndindex(*centroids.shape):
        plus, minus = centroids.copy(), centroids.copy()
        plus[idx] += h
        minus[idx] -= h
        H[idx] = (kmeans.kmeans_cost(points, plus) - 2 * f0 + kmeans.kmeans_cost(points, minus)) / h ** 2
    assert_close(direction, J / H, rtol=1e-5, atol=1e-7)
    nearest = dists.argmin(axis=1)               # the reference's closed form
    assert_close(direction, [centroids[j] - points[nearest == j].mean(axis=0) for j in range(4)], rtol=1e-10)


def _ba_problem():
    from benchmarks.gradbench.evals import ba
    rng = np.random.default_rng(8)
    inp = {"n": 3, "m": 4, "p": 10, "cam": [0.1, -0.2, 0.3, 0.5, -0.4, 0.2, 400.0, 5.0, -8.0, 0.08, 0.002],
           "x": [7.0, 0.1, 3.0], "w": 0.4, "feat": [270.0, 830.0]}
    cams, X, w, feats, obs = ba.expand(inp)
    cams = cams * (1 + 0.1 * rng.standard_normal(cams.shape))       # not all equal: a stronger check
    cams[2, :3] = 0.0                                                # the zero-rotation branch
    X = X + 0.3 * rng.standard_normal(X.shape)
    w = w + 0.1 * rng.standard_normal(w.shape)
    return inp, (cams, X, w, feats, obs)


def test_ba():
    import srcgrad
    from benchmarks.gradbench.evals import ba
    inp, args = _ba_problem()
    out = run(ba, "objective", inp)
    err = ba.ba_residuals(*ba.expand(inp))
    assert out == {"reproj_error": {"elements": pytest.approx(err[0, :2].tolist(), rel=1e-12), "repeated": 10},
                   "w_err": {"element": pytest.approx(1 - 0.4 ** 2), "repeated": 10}}
    digest = run(ba, "jacobian", inp)
    assert digest["rows"] == list(range(0, 300, 15)) + [300 + i for i in range(10)] + [310]
    assert digest["cols"][:15] == list(range(11)) + [33, 34, 35, 45] and digest["cols"][-1] == 54
    assert digest["vals"][-1] == pytest.approx(-0.8)
    # the whole CSR of a problem with distinct cameras, points and weights, as a dense matrix
    cams, X, w, feats, obs = args
    rows, cols, vals = ba.bind_jacobian(*args)()
    n, m, p = 3, 4, 10
    dense = np.zeros((3 * p, 11 * n + 3 * m + p))
    for r in range(3 * p):
        assert rows[r + 1] - rows[r] == (15 if r < 2 * p else 1)
        dense[r, cols[rows[r]:rows[r + 1]]] = vals[rows[r]:rows[r + 1]]
    ordered = lambda e: np.concatenate((e[:, :2].reshape(-1), e[:, 2]))       # e_0x, e_0y, ..., u_0, ...
    f = lambda c, x, ww: ordered(ba.ba_residuals(c, x, ww, feats, obs))
    want = np.hstack([fd_jacobian(f, (cams, X, w), k) for k in range(3)])
    np.testing.assert_allclose(dense, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    # and against srcgrad's dense forward-mode Jacobian of the same primal
    Jc, Jx, Jw = srcgrad.jacobian(ba.ba_residuals, wrt=("cams", "X", "w"), mode="fwd")(*args)
    full = np.concatenate([J.reshape(p, 3, -1) for J in (Jc, Jx, Jw)], axis=2)
    assert_close(dense, np.concatenate((full[:, :2].reshape(2 * p, -1), full[:, 2])), rtol=1e-12, atol=1e-12)


def _ht_reference(theta, us, parents, rel, inv, base, weights, triangles, corr, points, mirrored):
    """PROTOCOL.md's ht with 4x4 NumPy matrices and all vertices, as an independent check."""
    pose = np.zeros((3, 25))
    pose[:, 0], pose[:, 1], pose[:, 2] = theta[0:3], 1.0, theta[3:6]
    at = 6
    for f in range(5):
        c = 5 + 4 * f
        pose[0, c], pose[1, c], pose[0, c + 1], pose[0, c + 2] = theta[at:at + 4]
        at += 4
    absolutes, T = [], []
    for b in range(len(parents)):
        ax, az, ay = pose[:, b + 3]
        Rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
        Ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
        Rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
        M = np.eye(4)
        M[:3, :3] = Rz @ Ry @ Rx
        r = rel[4 * b:4 * b + 4] @ M
        absolutes.append(r if parents[b] < 0 else absolutes[parents[b]] @ r)
        T.append(absolutes[b] @ inv[4 * b:4 * b + 4])
    pos = sum(weights[:, b:b + 1] * (base @ T[b].T)[:, :3] for b in range(len(parents)))
    if mirrored:
        pos[:, 0] *= -1
    angle = np.linalg.norm(theta[:3])
    k = theta[:3] / angle
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    R = np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K
    pos = pos @ R.T + theta[3:6]
    if us.shape[0] == 0:
        return (points - pos[corr]).reshape(-1)
    t = triangles[corr]
    model = us[:, :1] * pos[t[:, 0]] + us[:, 1:] * pos[t[:, 1]] + (1 - us[:, :1] - us[:, 1:]) * pos[t[:, 2]]
    return (points - model).reshape(-1)


@pytest.mark.parametrize("complicated", [True, False])
def test_ht(complicated):
    from benchmarks.gradbench.evals import ht
    inp = ht.example(complicated, n_corr=4, seed=5)
    args = ht._args(inp)
    err = run(ht, "objective", inp)
    assert_close(err, ht.ht_objective(*args), rtol=1e-13)
    assert_close(err, _ht_reference(*args), rtol=1e-10, atol=1e-12)
    jac = np.array(run(ht, "jacobian", inp))
    want = fd_jacobian(ht.ht_objective, args, 0)
    if complicated:
        d_us = fd_jacobian(ht.ht_objective, args, 1).reshape(12, 4, 2)
        rows = np.arange(12)
        assert np.all(d_us[np.arange(4)[None, :] != (rows // 3)[:, None]] == 0)     # row r: us[r // 3] only
        want = np.hstack((d_us[rows, rows // 3, :], want))   # d err[r] / d us[r // 3], then theta
    assert jac.shape == (12, 28 if complicated else 26)
    assert_close(jac, want, rtol=1e-5, atol=1e-7)


PARTICLE_EXPECTED = 0.2071918746486116            # the evals' constants (kit PROTOCOL.md, section 6)
SADDLE_EXPECTED = [8.246324826140356e-06] * 4


def test_particle():
    """The four nestings give the eval's constant; dF/dw of each (outer srcgrad derivative through
    the Euler loop and the inner srcgrad gradient) against central differences of the primal."""
    from benchmarks.gradbench.evals import particle
    for function in ("rr", "ff", "fr", "rf"):
        out = run(particle, function, {"w": 0.0, "min_runs": 1, "min_seconds": 0.0})
        assert out == pytest.approx(PARTICLE_EXPECTED, rel=1e-12), function
    w = 0.1
    want = fd(particle.final_distance_r, (w,), 0)[0]
    assert particle.final_distance_f(w) == pytest.approx(particle.final_distance_r(w), rel=1e-13)
    for inner in ("r", "f"):
        primal, adjoint = particle.REVERSE[inner].dispatchers(w)
        value, d_rev = adjoint(w, 1.0)
        tangent, _ = particle.FORWARD[inner].bind("jvp", w, extra=(1.0,))
        value_fwd, d_fwd = tangent(w, 1.0)
        assert value == value_fwd == pytest.approx(particle.final_distance_r(w), rel=1e-13)
        assert primal(w) == pytest.approx(value, rel=1e-13)
        assert d_rev == pytest.approx(want, rel=1e-6), f"r{inner}"
        assert d_fwd == pytest.approx(want, rel=1e-6), f"f{inner}"


def test_saddle():
    """The four nestings give the eval's constant; grad_{p1} G of each (outer srcgrad derivative
    through the inner gradient ascent) against central differences of the primal G."""
    from benchmarks.gradbench.evals import saddle
    for function in ("rr", "ff", "fr", "rf"):
        out = run(saddle, function, {"start": [1.0, 1.0], "min_runs": 1, "min_seconds": 0.0})
        assert_close(out, SADDLE_EXPECTED, rtol=1e-12, atol=0), function
    args = (0.3, -0.2, 1.0, 1.0)                 # p1, then the ascent's start
    want = fd(saddle.max_over_p2_r, args, (0, 1))[0:2]
    assert_close(want, [0.6, -0.4], rtol=1e-6)   # G(p1) = |p1|^2 - |p2*|^2, p2* independent of p1
    for inner in ("r", "f"):
        _, adjoint = saddle.OUTER_REVERSE[inner].dispatchers(*args)
        assert_close(adjoint(*args, 1.0)[1:], want, rtol=1e-6)
        tangent, _ = saddle.OUTER_FORWARD[inner].bind("jvp", *args, extra=(1.0, 0.0))
        assert_close([tangent(*args, 1.0, 0.0)[1], tangent(*args, 0.0, 1.0)[1]], want, rtol=1e-6)


def test_unknown_function_is_an_error():
    from benchmarks.gradbench.evals import lse
    with pytest.raises(KeyError):
        lse.prepare("hessian", {"x": [1.0]})


# -- the protocol, through a subprocess ------------------------------------------------------

class ToolProcess:
    """The tool as a subprocess, driven in lockstep: one message, then exactly one response line."""

    def __init__(self, env=None):
        self.proc = subprocess.Popen([sys.executable, TOOL], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=None if env is None else {**os.environ, **env})
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr = []
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, message, timeout=300):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no response to {message['kind']} {message['id']} within {timeout} s "
                                 f"(not flushed?); stderr: {''.join(self.stderr)[-2000:]}") from None
        assert line is not None, f"the tool exited; stderr: {''.join(self.stderr)[-2000:]}"
        assert line.endswith("\n")
        return json.loads(line)

    def close(self, timeout=60):
        self.proc.stdin.close()
        rest = []
        while True:
            line = self.lines.get(timeout=timeout)
            if line is None:
                break
            rest.append(line)
        assert self.proc.wait(timeout=timeout) == 0
        return rest


def assert_json_close(got, want, rtol=1e-9, atol=1e-9):
    """JSON outputs: same keys, same lengths, numbers close."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want)
        for key in want:
            assert_json_close(got[key], want[key], rtol, atol)
    else:
        assert_close(got, want, rtol=rtol, atol=atol)


def check_timings(timings, min_runs, names=("evaluate", "prepare")):
    assert isinstance(timings, list)
    for t in timings:
        assert set(t) == {"name", "nanoseconds"}
        assert isinstance(t["nanoseconds"], int) and t["nanoseconds"] >= 0
    runs = [t for t in timings if t["name"] == "evaluate"]
    assert len(runs) >= min_runs
    assert {t["name"] for t in timings} <= set(names)


@pytest.mark.parametrize("eval_name", sorted(SESSIONS))
def test_protocol_recorded_session(eval_name):
    """start, define, evaluate, analysis: the messages an official eval sent, one response each."""
    session = SESSIONS[eval_name]
    tool = ToolProcess()
    evaluated = set()
    for message, expected in session:
        response = tool.send(message)
        assert response["id"] == message["id"]
        kind = message["kind"]
        if kind == "start":
            assert response["tool"] == "srcgrad"
            assert set(response) <= {"id", "tool", "config"}
        elif kind == "define":
            assert response["success"] is True, response
            assert set(response) == {"id", "success", "timings"}
            assert [t["name"] for t in response["timings"]] == ["compile"]
            check_timings(response["timings"], 0, names=("compile",))
        elif kind == "evaluate":
            assert response["success"] is True, response.get("error")
            assert set(response) == {"id", "success", "output", "timings"}
            inp = message["input"]
            check_timings(response["timings"], inp.get("min_runs", 1) if isinstance(inp, dict) else 1)
            assert_json_close(response["output"], expected)
            evaluated.add(message["id"])
        else:                                    # analysis: the id only
            assert response == {"id": message["id"]}
            assert message["of"] in evaluated
    assert tool.close() == []                    # nothing else on stdout; exit status 0
    assert len(evaluated) == sum(m["kind"] == "evaluate" for m, _ in session) > 0


def test_protocol_errors_and_repeats():
    """Unknown module -> success false; unknown function, bad input, an output JSON cannot
    carry, a malformed message -> success false, and the tool keeps serving; min_runs and
    min_seconds repeat the run, one timing each; unknown kinds get {"id"}."""
    tool = ToolProcess()
    assert tool.send({"id": 0, "kind": "start", "eval": "nothing"})["id"] == 0
    r = tool.send({"id": 1, "kind": "define", "module": "nonexistent"})
    assert r["id"] == 1 and r["success"] is False and isinstance(r.get("error"), str)
    r = tool.send({"id": 2, "kind": "define", "module": "../tool"})
    assert r["success"] is False
    r = tool.send({"id": 3, "kind": "evaluate", "module": "lse", "function": "nope", "input": {"x": [1.0]}})
    assert r["id"] == 3 and r["success"] is False and "output" not in r
    r = tool.send({"id": 4, "kind": "evaluate", "module": "lse", "function": "primal", "input": {"y": [1.0]}})
    assert r["success"] is False
    r = tool.send({"id": 5, "kind": "evaluate", "module": "lse", "function": "gradient",
                   "input": {"x": [0.0, 0.0], "min_runs": 5, "min_seconds": 0}})
    assert r["success"] is True and r["output"] == [0.5, 0.5]
    assert len([t for t in r["timings"] if t["name"] == "evaluate"]) == 5
    r = tool.send({"id": 6, "kind": "evaluate", "module": "lse", "function": "primal",
                   "input": {"x": [0.0, 1.0], "min_runs": 1, "min_seconds": 0.05}})
    runs = [t["nanoseconds"] for t in r["timings"] if t["name"] == "evaluate"]
    assert sum(runs) >= 0.05e9 and len(runs) > 1
    r = tool.send({"id": 7, "kind": "somethingnew"})
    assert r == {"id": 7}
    r = tool.send({"id": 8, "kind": "evaluate", "module": "hello", "function": "square", "input": 1e200})
    assert r["id"] == 8 and r["success"] is False and "JSON" in r["error"]      # inf: not standard JSON
    r = tool.send({"id": 9, "kind": "define"})                                  # no module: malformed
    assert r["id"] == 9 and r["success"] is False
    assert tool.close() == []


# -- the official evals through the kit's driver (needs ../shared/gradbench and its setup) ----------

def test_official_evals_through_the_kit_driver(tmp_path):
    driver = os.path.join(KIT, "driver.py")
    src, python = os.path.join(GRADBENCH_HOME, "src"), os.path.join(GRADBENCH_HOME, "venv", "bin", "python")
    if not (os.path.exists(driver) and os.path.exists(python)
            and os.path.exists(os.path.join(src, "tools", "manual", "bin", "lse"))):
        pytest.skip("the GradBench kit (../shared/gradbench) or its setup.sh work directory is absent")
    evals = [("hello", ""), ("lse", "-n 3 17 --min-runs 2 --min-seconds 0")]
    for name, args in evals:
        cmd = [sys.executable, driver, "--cwd", src, "--timeout", "300", "--quiet-stderr", "--no-progress",
               "--eval", f"{python} python/gradbench/gradbench/evals/{name}/run.py {args}".strip(),
               "--tool", f"{sys.executable} {TOOL}", "--json-summary", str(tmp_path / f"{name}.json")]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": ROOT})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        summary = json.loads((tmp_path / f"{name}.json").read_text())
        assert summary["outcome"] == "success"
        assert summary["counts"]["valid"] == summary["counts"]["evaluations"] > 0


def test_table_of_stored_results_filtered_by_eval(capsys):
    """`table.py --evals` prints only those evals' rows, with ratios of the stored sessions' timings."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks", "gradbench"))
    import table
    results = os.path.join(ROOT, "benchmarks", "gradbench", "results")
    assert table.main([os.path.join(results, "quick"), os.path.join(results, "full"), "--evals", "det,ode"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| eval")]
    assert {row.split(" | ")[0][2:] for row in rows} == {"det", "ode"}
    srcgrad = table.load(os.path.join(results, "full"), "srcgrad", "det")
    manual = table.load(os.path.join(results, "full"), "manual", "det")
    ns, _ = srcgrad["runs"][("gradient", "11")]
    want = table.fmt_ratio(ns, manual["runs"][("gradient", "11")][0])
    assert any(row.startswith("| det | gradient | 11 |") and f"| {want} |" in row for row in rows)


def test_define_compiles_in_a_forked_child(tmp_path):
    """From an empty srcgrad cache the tool compiles lse's primal while a forked
    child compiles its gradient into the cache; the tool then loads it: define
    succeeds, nothing but responses reaches stdout, both functions answer right."""
    tool = ToolProcess(env={"SRCGRAD_CACHE_DIR": str(tmp_path / "srcgrad"), "NUMBA_CACHE_DIR": str(tmp_path / "numba")})
    assert tool.send({"id": 0, "kind": "start", "eval": "lse"})["config"]["keeps_freed_memory"] in (True, False)
    r = tool.send({"id": 1, "kind": "define", "module": "lse"})
    assert r["success"] is True and r["timings"][0]["name"] == "compile"
    cached = {p.name.split(".")[1].split("-")[0] for p in tmp_path.rglob("srcgrad_gen_*.nbi")}
    assert {"logsumexp_primal", "logsumexp_adjoint"} <= cached                # Numba's disk cache, both
    x = [0.3, -1.2, 2.0]
    r = tool.send({"id": 2, "kind": "evaluate", "module": "lse", "function": "gradient", "input": {"x": x}})
    softmax = np.exp(x) / np.exp(x).sum()
    assert_close(r["output"], softmax.tolist(), rtol=1e-12)
    assert tool.close() == []
