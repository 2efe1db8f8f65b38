"""The benchmark harness and its reporting, on tiny fake workloads (no Numba compiles, no peers).

Covers: a tool whose gradient is wrong is reported FAILED and not timed; a
``slow_tools`` entry is checked against its own reduced reference and its
times are scaled (flagged ``*``); the per-tool time budget cuts the rounds of a
slow call; the default ``fd`` tolerance; loop-workload speed-up verdicts;
``benchmarks.fd.central_fd`` against a closed form; the markdown/JSON/PNG
report; the start-up section's formatting and the peak-RSS probe.
"""

import json
import os
import sys
import time

import numpy as np
import pytest

from benchmarks import harness
from benchmarks.fd import central_fd

GRAD = (np.array([1.0, -2.0, 3.0]), 0.5)
REDUCED_GRAD = (np.array([0.1, -0.2, 0.3]), 0.05)


def fake_workload(**extra):
    wl = {"name": "fake", "description": "two pure-Python tools and friends",
          "tools": {"hand": lambda: GRAD,
                    "primal": lambda: 1.0,
                    "good": lambda: (GRAD[0].copy(), GRAD[1]),
                    "wrong": lambda: (1.1 * GRAD[0], GRAD[1]),
                    "fd": lambda: (GRAD[0] * (1 + 1e-7), GRAD[1]),  # FD-like error: within the fd default
                    "slowpeer": lambda: REDUCED_GRAD},
          "skipped": {"absent": "not installed here"},
          "reference": "hand", "primal": "primal", "rtol": 1e-9,
          "slow_tools": {"slowpeer": {"factor": 10.0, "note": "timed at N=10, x10",
                                      "reference": lambda: REDUCED_GRAD}}}
    wl.update(extra)
    return wl


@pytest.fixture(scope="module")
def fake_result():
    return harness.run_workload(fake_workload(), rounds=3, min_sample=2e-4)


def test_wrong_gradient_fails_and_is_not_timed(fake_result):
    assert "wrong" in fake_result["failed"]
    assert "mismatch" in fake_result["failed"]["wrong"]
    assert "wrong" not in fake_result["tools"]
    assert {"good", "hand", "primal", "fd", "slowpeer"} <= set(fake_result["tools"])


def test_fd_gets_its_default_tolerance(fake_result):
    assert fake_result["tool_rtol"]["fd"] == harness.DEFAULT_TOOL_RTOL["fd"]
    assert "fd" not in fake_result["failed"]


def test_slow_tool_checked_at_reduced_size_and_scaled(fake_result):
    st = fake_result["tools"]["slowpeer"]
    assert fake_result["errors"]["slowpeer"] == 0.0
    assert st["scale_factor"] == 10.0
    assert st["median_s"] == pytest.approx(10.0 * st["measured_median_s"])
    ref = fake_result["tools"]["hand"]["median_s"]
    assert st["x_reference"] == pytest.approx(st["median_s"] / ref)
    text = harness.format_text(fake_result)
    assert "slowpeer*" in text
    assert "timed at N=10, x10; times multiplied by 10" in text


def test_text_shows_skipped_and_failed_rows(fake_result):
    text = harness.format_text(fake_result)
    rows = {line.split()[0]: line for line in text.splitlines()[2:] if line and not line.startswith(" ")}
    assert "SKIPPED" in rows["absent"] and "FAILED" in rows["wrong"]
    assert "SKIPPED absent: not installed here" in text


def test_budget_cuts_rounds_of_a_slow_call():
    def slow():
        time.sleep(0.25)
        return GRAD
    wl = fake_workload(tools={"hand": lambda: GRAD, "primal": lambda: 1.0, "sleepy": slow})
    res = harness.run_workload(wl, rounds=4, min_sample=2e-4, tool_budget=0.6)
    assert res["tools"]["sleepy"]["rounds"] == 1      # warm call 0.25 s + 1 round fits 0.6 s, 2 do not
    assert res["tools"]["sleepy"]["calls_per_sample"] == 1
    assert res["tools"]["hand"]["rounds"] == 4
    assert "sleepy: 1 of 4 rounds" in harness.format_text(res)


def test_loop_workload_speedup_verdicts():
    def peer():
        time.sleep(2e-3)
        return GRAD
    wl = fake_workload(tools={"hand": lambda: GRAD, "primal": lambda: 1.0, "srcgrad": lambda: GRAD,
                              "autograd": peer, "jax": peer}, loop=True, slow_tools={})
    res = harness.run_workload(wl, rounds=3, min_sample=2e-4)
    assert res["speedups"]["autograd"] > 1.0
    text = harness.format_text(res)
    assert "target srcgrad speed-up over autograd" in text and "(>= 100x)" in text
    assert "target srcgrad speed-up over jax" in text and "(> 1x)" in text
    assert "speed-up over torch: not measured" in text
    assert "target srcgrad/hand" in text and "(<= 1.2x)" in text


def f_closed(a, x, k):
    return a * np.sum(x ** 2) + np.sin(a) + k


def test_central_fd_matches_closed_form():
    a, x = 0.7, np.arange(6.0).reshape(2, 3) - 2.5
    x_before = x.copy()
    fn = central_fd(f_closed, (a, x, 3), (0, 1))()
    d_a, d_x = fn()
    assert d_a == pytest.approx(np.sum(x ** 2) + np.cos(a), rel=1e-8)
    np.testing.assert_allclose(d_x, 2 * a * x, rtol=1e-8, atol=1e-9)
    assert d_x.shape == x.shape
    np.testing.assert_array_equal(x, x_before)  # the caller's array is never perturbed
    d_a2, d_x2 = fn()                           # repeatable: the private copy is restored
    assert d_a2 == d_a
    np.testing.assert_array_equal(d_x2, d_x)


def test_central_fd_refuses_large_inputs():
    with pytest.raises(harness.ToolUnavailable, match=r"2001 scalar inputs.*4002 primal calls"):
        central_fd(lambda x: float(np.sum(x)), (np.zeros(2001),), (0,))()
    tools, skipped, failed = harness.build_tools({"fd": central_fd(np.sum, (np.zeros(2001),), (0,))})
    assert "fd" in skipped and not tools and not failed


FAKE_STARTUP = {
    "warm_target_s": 0.5, "elapsed_s": 12.0,
    "first_ever": {"import_s": 0.3, "first_call_s": 4.5, "case": "ode"},
    "cases": {"ode": {
        "srcgrad_cold": {"import_s": 0.4, "first_call_s": 0.9, "second_call_s": 8e-5},
        "srcgrad_warm": {"import_s": 0.4, "first_call_s": 0.34, "second_call_s": 8e-5},
        "hand_cached": {"import_s": 0.3, "first_call_s": 0.25},
        "numba_primal": {"import_s": 0.3, "first_call_s": 0.45},
        "jax": {"skipped": "jax not installed"},
        "memory": {"peak_rss_growth_kib": {"noop": 0, "srcgrad": 144, "hand": 148, "primal": 0},
                   "method": "VmHWM reset via /proc/self/clear_refs",
                   "tape": {"float64": 20002, "int64": 0, "kib": 156.3, "line": "tape for these arguments: ..."}}}}}


def test_startup_formatting():
    from benchmarks import startup

    text = startup.format_text(FAKE_STARTUP)
    assert "compile time and start-up" in text and "== memory" in text
    assert "srcgrad warm start = 340 ms (< 0.5 s): OK" in text
    assert "156.3 KiB" in text and "0.97x" in text
    assert "SKIPPED ode jax: jax not installed" in text
    md = "\n".join(startup.format_markdown(FAKE_STARTUP))
    assert "## compile time and start-up" in md and "## memory" in md


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_peak_rss_probe_sees_an_allocation():
    from benchmarks.startup import peak_growth_kib

    def allocate():
        a = np.empty(128 * 1024)  # 1 MiB, touched
        a[:] = 1.0
    allocate()
    growth, _ = peak_growth_kib(allocate)
    assert 900 <= growth <= 1400
    assert peak_growth_kib(lambda: None)[0] <= 64


def test_report_files(fake_result, tmp_path):
    pytest.importorskip("matplotlib")
    report = harness.make_report([fake_result], env=_fake_env(), startup=FAKE_STARTUP, elapsed_s=1.0)
    harness.write_report(report, str(tmp_path))
    md = (tmp_path / "latest.md").read_text()
    assert "| tool | median | min | max | IQR | x hand | x primal | rounds |" in md
    assert "| slowpeer* |" in md and "| wrong | FAILED |" in md
    assert "](latest.png)" in md and "## compile time and start-up" in md
    data = json.loads((tmp_path / "latest.json").read_text())
    assert data["loop_targets"]["jax"]["op"] == ">" and data["workloads"][0]["tools"]["slowpeer"]["rounds"] == 3
    assert (tmp_path / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("*.tmp"))


def test_report_without_matplotlib(fake_result, tmp_path, monkeypatch):
    from benchmarks import chart

    monkeypatch.setattr(chart, "available", lambda: False)
    harness.write_report(harness.make_report([fake_result], env=_fake_env()), str(tmp_path))
    assert "latest.png" not in (tmp_path / "latest.md").read_text()
    assert not (tmp_path / "latest.png").exists()


def _fake_env():
    return {"python": "3", "numpy": "2", "numba": "0", "platform": "test", "cpu": "cpu", "cpu_count": 2,
            "load_average_1min": 0.0, "git_commit": "abc", "peers": {"torch": None}}


def test_hand_adjoints_match_finite_differences():
    """The hand-written adjoints every benchmark ratio is measured against are
    themselves checked against central differences (`python -m benchmarks --check`)."""
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--check"], cwd=root, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "FAIL" not in out.stdout
