"""On-disk cache: a second process with the same SRCGRAD_CACHE_DIR must not recompile.

Each run is a fresh Python subprocess that differentiates a function living in a
module file under tmp_path and reports, for every numba dispatcher the gradient
compiled (g.dispatchers()), its cache hits and misses (dispatcher.stats).
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODULE_V1 = textwrap.dedent("""
    import math

    def _act(z):
        return math.tanh(z)

    def loss(w, b, x):
        s = 0.0
        for i in range(len(x)):
            s += (_act(w * x[i] + b) - 0.5) ** 2
        return s
""")

# Same function with a different constant: must not be served from the stale cache.
MODULE_V2 = MODULE_V1.replace("- 0.5", "- 0.25")

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import srcgrad
    import cachemod

    x = np.array([0.5, -1.0, 2.0])
    g = srcgrad.grad(cachemod.loss, wrt=("w", "b"))
    gw, gb = g(0.3, -0.1, x)
    vg = srcgrad.value_and_grad(cachemod.loss, wrt=("w", "b"))
    v, _ = vg(0.3, -0.1, x)

    def total(c):
        return sum(c.values()) if hasattr(c, "values") else int(c)

    stats = []
    for d in list(g.dispatchers()) + list(vg.dispatchers()):
        st = d.stats
        stats.append({"name": getattr(d, "__name__", repr(d)), "nsigs": len(d.signatures),
                      "hits": total(st.cache_hits), "misses": total(st.cache_misses)})
    print("RESULT " + json.dumps({"grad": [gw, gb], "value": v, "stats": stats}))
""")


def _expected(const):
    import math

    w, b, xs = 0.3, -0.1, [0.5, -1.0, 2.0]
    gw = gb = v = 0.0
    for x in xs:
        t = math.tanh(w * x + b)
        r = 2.0 * (t - const) * (1.0 - t * t)
        gw += r * x
        gb += r
        v += (t - const) ** 2
    return gw, gb, v


def _run(tmp_path, cache_dir):
    env = dict(os.environ)
    env["SRCGRAD_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), REPO_ROOT, env.get("PYTHONPATH", "")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # the module is rewritten within the same second
    env.pop("NUMBA_CACHE_DIR", None)
    env.pop("NUMBA_DISABLE_JIT", None)
    proc = subprocess.run([sys.executable, str(tmp_path / "run_cache.py")], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, f"no result line:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1][len("RESULT "):])


def _check_values(res, const):
    gw, gb, v = _expected(const)
    assert res["grad"][0] == pytest.approx(gw, rel=1e-10, abs=1e-13)
    assert res["grad"][1] == pytest.approx(gb, rel=1e-10, abs=1e-13)
    assert res["value"] == pytest.approx(v, rel=1e-10, abs=1e-13)


def test_cache_hit_in_second_process(tmp_path, short):
    cache_dir = tmp_path / "srcgrad-cache"
    (tmp_path / "cachemod.py").write_text(MODULE_V1)
    (tmp_path / "run_cache.py").write_text(SCRIPT)

    first = _run(tmp_path, cache_dir)
    _check_values(first, 0.5)
    assert first["stats"], "g.dispatchers() returned no dispatcher"
    assert any(s["misses"] >= 1 for s in first["stats"]), f"first run compiled nothing? {first['stats']}"
    assert cache_dir.exists() and any(p.is_file() for p in cache_dir.rglob("*")), \
        "nothing written under SRCGRAD_CACHE_DIR"

    second = _run(tmp_path, cache_dir)
    _check_values(second, 0.5)
    # g.dispatchers() may list dispatchers that were never needed (e.g. a primal only
    # called from inside the adjoint): those have no signatures, hence no hits.
    used = [s for s in second["stats"] if s["nsigs"]]
    assert used, f"no dispatcher was used in the second process: {second['stats']}"
    for s in second["stats"]:
        assert s["misses"] == 0, f"second process recompiled {s['name']}: {second['stats']}"
    for s in used:
        assert s["hits"] >= 1, f"second process did not load {s['name']} from cache: {second['stats']}"

    if short:
        return
    # Editing the source must invalidate: a third process sees the new constant.
    (tmp_path / "cachemod.py").write_text(MODULE_V2)
    third = _run(tmp_path, cache_dir)
    _check_values(third, 0.25)


def test_kernels_compile_once_per_argument_type_not_per_constant():
    """A kernel called with different constants (`amax_axis(x, 0, …)`, `amax_axis(x, 1, …)`,
    the runtime's `range_len(0, n, 1)`) compiles one int64 specialisation, not one per
    literal value: each compile costs 0.05-0.2 s in a fresh process."""
    import numba
    import numpy as np

    from srcgrad.rules import kernels
    from srcgrad.runtime import range_len

    @numba.njit
    def calls(x, n):
        return (kernels.amax_axis(x, 0, 1.0)[0] + kernels.amax_axis(x, 1, -1.0)[0]
                + range_len(0, n, 1) + range_len(n, 0, -2))

    x = np.array([[1.0, 5.0], [3.0, 2.0]])
    assert calls(x, 5) == np.max(x, axis=0)[0] + np.min(x, axis=1)[0] + len(range(0, 5, 1)) + len(range(5, 0, -2))
    for kernel in (kernels.amax_axis, range_len):
        assert kernel.signatures, kernel
        assert all("Literal" not in str(sig) for sig in kernel.signatures), kernel.signatures
    c_matrix = numba.types.Array(numba.float64, 2, "C")
    assert [sig for sig in kernels.amax_axis.signatures if sig[0] == c_matrix] == [(c_matrix, numba.int64,
                                                                                   numba.float64)]
