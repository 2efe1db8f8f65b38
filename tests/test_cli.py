"""Tests for the command-line interface (srcgrad/cli.py).

Everything except the ``--help`` check runs ``main([...])`` in-process so the
Numba compilations are shared with the rest of the test session.
"""

import json
import math
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import srcgrad
from srcgrad import lecture
from srcgrad.cli import load_function, main, parse_args_json, parse_wrt

MODULE = textwrap.dedent(
    """\
    import math


    def f(w, b, x):
        return math.sin(w * x) + b * b * x


    def sqnorm(v, c):
        s = 0.0
        for i in range(v.shape[0]):
            s += c[i] * v[i] * v[i]
        return s


    def bad(x):
        y = x
        try:
            y = x * x
        except Exception:
            pass
        return y
    """
)
BAD_TRY_LINE = 17  # line of `try:` in MODULE


@pytest.fixture
def mod(tmp_path):
    path = tmp_path / "cli_target.py"
    path.write_text(MODULE)
    return path


# ---------------------------------------------------------------- demo


def test_demo(capsys, tmp_path):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # δ tables: the perceptron's, and the ReLU's max passing 0 when w*x + b < 0
    assert out.count("Step by step (srcgrad.explain)") == 2 and "srcgrad.explain" in out
    assert "t3 = max(0.0, t2)  0.0        t2: 0.0          1.0         t2: 0.0" in out
    assert "the ReLU killed it" in out
    # graphs and side-by-side pages written; the killed ReLU's graph printed with δ=0.0 edges
    for name in ("perceptron.dot", "perceptron.html", "relu.dot", "relu.html"):
        assert (tmp_path / name).stat().st_size > 0
    assert 'p_w [label="w\\n-1.0\\nδ=0.0", shape=doublecircle];' in out
    assert "digraph" in (tmp_path / "perceptron.dot").read_text()
    assert "d_w1 = d_t1 * x1" in (tmp_path / "perceptron.html").read_text()
    # primal sources and the generated adjoints are shown
    assert "def perceptron_loss(w1, w2, b, x1, x2, y):" in out
    assert "def relu_neuron(w, b, x):" in out
    g = srcgrad.grad(lecture.relu_neuron, wrt=("w", "b"))
    relu_adjoint = srcgrad.source(g, 1.0, 1.0, 2.0).strip()
    assert relu_adjoint
    flat_out = " ".join(out.split())
    assert " ".join(relu_adjoint.split()) in flat_out
    # ReLU perceptron at x = 2: w = b = 1 -> (2, 1); w = b = -1 -> (0, 0)
    assert "dy/dw = 2.0" in out
    assert "dy/db = 1.0" in out
    assert "dy/dw = 0.0" in out
    assert "dy/db = 0.0" in out
    assert "killed by the ReLU" in out
    assert "FAIL" not in out
    assert "All checks passed." in out


# ---------------------------------------------------------------- grad


def _parse_text(out):
    vals = {}
    for line in out.strip().splitlines():
        key, _, value = line.partition(" = ")
        vals[key] = float(value)
    return vals


def test_grad_scalar_text(mod, capsys):
    w, b, x = 0.5, 2.0, 3.0
    rc = main(["grad", f"{mod}:f", "--wrt", "w,b", "--args", "[0.5, 2, 3]", "--value"])
    assert rc == 0
    vals = _parse_text(capsys.readouterr().out)
    assert vals["f"] == pytest.approx(math.sin(w * x) + b * b * x, rel=1e-12)
    assert vals["df/dw"] == pytest.approx(x * math.cos(w * x), rel=1e-9)
    assert vals["df/db"] == pytest.approx(2 * b * x, rel=1e-9)


def test_grad_positions_json(mod, capsys):
    rc = main(["grad", f"{mod}:f", "--wrt", "2", "--args", "[0.5, 2.0, 3.0]", "--json"])
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"grad"}
    assert payload["grad"]["x"] == pytest.approx(0.5 * math.cos(1.5) + 4.0, rel=1e-9)


def test_grad_array_json(mod, capsys):
    # v (wrt) -> float64 array; c (constant, all ints) -> int64 array
    rc = main(["grad", f"{mod}:sqnorm", "--args", "[[1, 2, 3], [1, 2, 3]]", "--json", "--value"])
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["value"] == pytest.approx(1 + 8 + 27)
    np.testing.assert_allclose(payload["grad"]["v"], [2.0, 8.0, 18.0], rtol=1e-12)


def test_grad_array_text_is_numpy_repr(mod, capsys):
    assert main(["grad", f"{mod}:sqnorm", "--args", "[[1.0, 2.0], [3, 4]]"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("dsqnorm/dv = array(")
    assert out == "dsqnorm/dv = " + repr(np.array([6.0, 16.0]))


# ---------------------------------------------------------------- show


def test_show(mod, capsys):
    rc = main(["show", f"{mod}:f", "--wrt", "w,b", "--args", "[0.5, 2.0, 3.0]"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "def " in out
    compile(out, "<adjoint>", "exec")  # it is Python source


def test_show_html(mod, capsys, tmp_path):
    page = tmp_path / "f.html"
    rc = main(["show", f"{mod}:sqnorm", "--wrt", "v", "--args", "[[1.0, 2.0], [0.5, 0.25]]", "--html", str(page)])
    assert rc == 0 and "wrote" in capsys.readouterr().out
    text = page.read_text()
    # the loop's δ update sits on the row of its source line (line 11 of MODULE: s += c[i] * v[i] * v[i])
    assert '<tr data-line="11"><td class="no">11</td><td>        s += c[i] * v[i] * v[i]</td></tr>' in text
    assert re.search(r'<tr data-line="11"><td class="no">\d+</td><td class="from">11</td><td>\s+d_v\[i\]', text)


# ---------------------------------------------------------------- errors


def test_unsupported_construct_exits_2_with_line(mod, capsys):
    rc = main(["grad", f"{mod}:bad", "--args", "[1.0]"])
    assert rc == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
    assert f"cli_target.py:{BAD_TRY_LINE}" in err
    assert "try" in err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["grad", "/nonexistent/dir/nope.py:f", "--args", "[1.0]"], "file not found"),
        (["grad", "{mod}:missing", "--args", "[1.0]"], "no function 'missing'"),
        (["grad", "{mod}", "--args", "[1.0]"], "FILE.py:FUNC"),
        (["grad", "{mod}:f", "--args", "[1.0"], "not valid JSON"),
        (["grad", "{mod}:f", "--args", "[1.0]"], "takes 3 argument"),
        (["grad", "{mod}:f", "--wrt", "q", "--args", "[1.0, 2.0, 3.0]"], "not a parameter"),
        (["show", "{mod}:f", "--wrt", "7"], "out of range"),
    ],
)
def test_user_errors_exit_2(mod, capsys, argv, fragment):
    argv = [a.format(mod=mod) for a in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("srcgrad: error:")
    assert fragment in err
    assert len(err.splitlines()) == 1


# ---------------------------------------------------------------- helpers


def test_parse_wrt_and_args(mod):
    func, _ = load_function(f"{mod}:sqnorm")
    wrt, names = parse_wrt("v", ["v", "c"])
    assert wrt == "v" and names == ["v"]
    wrt, names = parse_wrt("1,v", ["v", "c"])
    assert wrt == (1, "v") and names == ["c", "v"]
    v, c = parse_args_json("[[1, 2], [3, 4]]", func, ["v"])
    assert v.dtype == np.float64 and c.dtype == np.int64
    v, c = parse_args_json("[[1, 2], [3.5, 4]]", func, ["v"])
    assert c.dtype == np.float64
    m, = parse_args_json("[[[1, 2], [3, 4]]]", lambda m: m, ["m"])
    assert m.shape == (2, 2) and m.dtype == np.float64
    s, n = parse_args_json("[3, 4]", lambda s, n: s, ["s"])
    assert (s, n) == (3, 4) and isinstance(n, int)  # scalars are passed as given


def test_load_function_sibling_import(tmp_path):
    (tmp_path / "cli_helper_mod.py").write_text("K = 3.0\n")
    (tmp_path / "cli_uses_helper.py").write_text(
        "from cli_helper_mod import K\n\ndef g(x):\n    return K * x\n"
    )
    func, _ = load_function(f"{tmp_path / 'cli_uses_helper.py'}:g")
    assert func(2.0) == 6.0


# ---------------------------------------------------------------- subprocess


def test_python_m_help():
    proc = subprocess.run(
        [sys.executable, "-m", "srcgrad", "--help"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for word in ("demo", "grad", "show"):
        assert word in proc.stdout
