"""`srcgrad.explain` (the δ table), `srcgrad.graph` (DOT) and their CLI commands.

Every table is checked where it matters: its final δ's are the gradient
(srcgrad's compiled one, central differences, and a closed form where there
is one), and the rows show what the lecture says they show (δ killed at a
ReLU, a split summing its δ's, only the taken branch, loops per iteration).
"""
import math
import re

import numpy as np
import pytest
from fd import assert_grad_matches_fd, assert_grads_close

import explain_cases as cases
import srcgrad
from srcgrad import dotgraph, lecture, tracer
from srcgrad.cli import main

PERCEPTRON = (0.8, -0.4, 0.2, 1.0, 0.5, 1.0)
PERCEPTRON_WRT = ("w1", "w2", "b")


def checked(f, args, wrt):
    """explain(f), its gradient compared with srcgrad's compiled one (the same
    adjoint explain's own cross-check compiles) and with central differences."""
    e = srcgrad.explain(f, *args, wrt=wrt)
    value, grads = srcgrad.value_and_grad(f, wrt=wrt)(*args)
    assert_grads_close(_tuple(e.gradient, wrt), _tuple(grads, wrt), _names(wrt), rtol=1e-12, what="srcgrad.grad")
    assert_grad_matches_fd(f, args, wrt, e.gradient)
    for w, g in zip(e.wrt, _tuple(e.gradient, wrt)):
        np.testing.assert_array_equal(e.trace.param_deltas[w], g)
    assert e.value == pytest.approx(value, rel=1e-12) and e.value == pytest.approx(f(*args), rel=1e-12)
    return e


def _tuple(g, wrt):
    return tuple(g) if isinstance(wrt, (tuple, list)) else (g,)


def _names(wrt):
    return [str(w) for w in (wrt if isinstance(wrt, (tuple, list)) else (wrt,))]


def line_of(text):
    """The line number of `text` in explain_cases.py."""
    with open(cases.__file__, encoding="utf-8") as handle:
        return next(k for k, line in enumerate(handle, 1) if line.strip() == text)


def row_of(e, text):
    found = [r for r in e.rows if r.text == text]
    assert found, f"no row `{text}` in\n{e}"
    return found


# --- the lecture ------------------------------------------------------------------------------

def test_perceptron_table():
    e = checked(lecture.perceptron_loss, PERCEPTRON, PERCEPTRON_WRT)
    w1, w2, b, x1, x2, y = PERCEPTRON
    s = 1.0 / (1.0 + math.exp(-(w1 * x1 + w2 * x2 + b)))
    delta = -2.0 * (y - s) * s * (1.0 - s)           # the lecture's δ = dL/dz
    assert_grads_close(e.gradient, (delta * x1, delta * x2, delta), PERCEPTRON_WRT)
    assert [r.text for r in e.rows] == [
        "t1 = w1 * x1", "t2 = w2 * x2", "t3 = t1 + t2", "t4 = t3 + b", "s = 1.0 / (1.0 + math.exp(-t4))",
        "t5 = y - s", "t6 = t5 ** 2"]
    assert [r.lineno for r in e.rows] == [34] * 4 + [30] + [35] * 2    # the helper's step on its line
    sigmoid_row = e.rows[4]                                  # one primitive, the lecture's σ' = σ(1−σ)
    assert sigmoid_row.local[0] == pytest.approx(s * (1.0 - s), rel=1e-12)
    first, z = e.rows[0], e.rows[3]
    assert first.local == (x1, None) and first.passed[1] is None          # x1 is no wrt parameter: no δ
    assert z.delta == pytest.approx(delta, rel=1e-12)                     # δ at z = w1*x1 + w2*x2 + b
    assert e.rows[-1].delta == 1.0 and e.rows[-1].local[0] == pytest.approx(2 * (y - s))
    text = str(e)
    assert "── line 30 (in sigmoid): return 1.0 / (1.0 + math.exp(-z))" in text
    assert "product: δ times the other side" in text
    assert re.search(r"w1\s+δ = -0\.132635\s+\(from step 1\)", text)


@pytest.mark.parametrize("w, b, expected", [(1.0, 1.0, (2.0, 1.0)), (-1.0, -1.0, (0.0, 0.0))])
def test_relu_neuron(w, b, expected):
    e = checked(lecture.relu_neuron, (w, b, 2.0), ("w", "b"))
    assert e.gradient == expected
    relu = row_of(e, "t3 = max(0.0, t2)")[0]
    assert relu.delta == 1.0                                   # δ reaches the max either way
    assert relu.passed == (None, 1.0 if w > 0 else 0.0)        # … and is killed there when w*x + b < 0
    assert relu.local == (None, 1.0 if w > 0 else 0.0)
    if w < 0:
        assert all(r.delta == 0.0 for r in e.rows[:2])


# --- control flow, helpers, splits ------------------------------------------------------------

def test_for_loop_rows_per_iteration():
    e = checked(cases.poly_loop, (1.5, 4), "x")
    products = row_of(e, "t1 = x * i")
    assert [r.iteration for r in products] == [(0,), (1,), (2,), (3,)]
    assert [r.local[0] for r in products] == [0.0, 1.0, 2.0, 3.0]      # ∂(x·i)/∂x = i
    assert [r.passed[0] for r in products] == [1.5 * i for i in range(4)]
    table = str(e)
    assert f"── line {line_of('for i in range(n):')}: for i in range(n):   4 iterations" in table
    assert all(f"i={i}" in table for i in range(4)) and "…" not in table


def test_long_loop_is_elided():
    e = checked(cases.logistic, (2.5, 0.3, 1000), ("r", "x"))
    assert len(e.rows) == 3000 and e.rows[-1].iteration == (999,)
    table = str(e)
    assert "⋮ … 994 iterations (2982 steps) …" in table
    shown = re.findall(r" i=(\d+) ", table)
    assert sorted(set(map(int, shown))) == [0, 1, 2, 997, 998, 999]
    assert "i=500" in e.table(keep=600)                         # nothing elided when asked
    r_readers = [r for r in e.rows if "r" in r.inputs]
    assert sum(r.passed[r.inputs.index("r")] for r in r_readers) == pytest.approx(e.gradient[0], rel=1e-12)


@pytest.mark.parametrize("x, y, taken, skipped", [(3.0, 2.0, "z = x * y", "z = x + y"),
                                                  (2.0, 3.0, "z = x + y", "z = x * y")])
def test_branch_only_taken_steps(x, y, taken, skipped):
    e = checked(cases.branch, (x, y), ("x", "y"))
    texts = [r.text for r in e.rows]
    assert texts[0] == "branch1 = x > y" and e.rows[0].value == (x > y) and not e.rows[0].active
    assert taken in texts and skipped not in texts
    assert ("if-branch" if x > y else "else-branch") in str(e)


def test_while_loop():
    e = checked(cases.halve, (5.0,), "x")
    halves = row_of(e, "t1 = x * 0.5")
    assert [r.iteration for r in halves] == [(0,), (1,), (2,)]
    assert f"── line {line_of('while x > 1.0:')}: while x > 1.0:   3 iterations" in str(e) and "#2" in str(e)


def test_helper_steps_on_its_line():
    e = checked(cases.uses_helper, (0.5, 2.0), ("a", "b"))
    assert {r.lineno for r in e.rows} == {cases.scale.__code__.co_firstlineno + 1}
    assert "(in scale)" in str(e)


def test_split_sums_deltas():
    e = checked(cases.square_shifted, (1.5,), "x")
    z, square = row_of(e, "z = x + 1.0")[0], row_of(e, "t1 = z * z")[0]
    assert square.passed == (2.5, 2.5)                          # one δ per read of z …
    assert z.delta == 5.0 == e.gradient                         # … summed: 2 (x + 1)
    assert "split: δ received = sum of the δ's from step 2 (twice)" in str(e)


def test_arrays():
    rng = np.random.default_rng(3)
    W, x, b = rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=2)
    e = checked(cases.layer, (W, x, b), ("W", "x", "b"))
    matmul = row_of(e, "t1 = W @ x")[0]
    np.testing.assert_allclose(matmul.value, W @ x, rtol=1e-15)
    assert matmul.passed[0].shape == (2, 3) and matmul.local == (None, None)      # a Jacobian is not shown
    tanh = row_of(e, "h = np.tanh(t2)")[0]
    np.testing.assert_allclose(tanh.local[0], 1 - np.tanh(W @ x + b) ** 2, rtol=1e-12)
    total = row_of(e, "t4 = np.sum(t3)")[0]
    np.testing.assert_allclose(total.local[0], np.ones(2))
    assert "array(2, 3) |.|=" in str(e)


def test_element_writes_and_slices():
    x = np.array([1.0, -2.0, 3.0])
    e = checked(cases.fill, (x,), "x")
    np.testing.assert_allclose(e.gradient, [4.0 * x[0], 2.0 * x[1], 2.0 * x[2]])
    writes = row_of(e, "y[i] = t3")
    assert [w.iteration for w in writes] == [(0,), (1,), (2,)]
    assert [w.passed[1] for w in writes] == [2.0, 1.0, 1.0]        # each element's δ goes to its value
    np.testing.assert_array_equal(writes[0].value, [1.0, 0.0, 0.0])   # each row keeps the array it made


# --- errors and the cross-check -----------------------------------------------------------------

def test_step_failure_names_line():
    line = line_of("return math.log(x)")
    with pytest.raises(srcgrad.SrcgradError, match=rf"explain_cases\.py:{line}: runtime error: the step "
                                                   r"`t1 = math\.log\(x\)` fails for x=-1\.0: ValueError"):
        srcgrad.explain(cases.log_of, -1.0)


def test_cross_check_reports_disagreement(monkeypatch):
    real = tracer.run

    def off_by_a_bit(fn, values, wrt):
        trace = real(fn, values, wrt)
        trace.param_deltas["w"] *= 1.0 + 1e-6
        return trace
    monkeypatch.setattr(tracer, "run", off_by_a_bit)
    with pytest.raises(srcgrad.SrcgradError, match="the δ of w explain computes .* disagrees with srcgrad's compiled adjoint"):
        srcgrad.explain(lecture.relu_neuron, 1.0, 1.0, 2.0, wrt=("w", "b"))


# --- the graph ----------------------------------------------------------------------------------

EDGE = re.compile(r'^\s*(\w+) -> (\w+) \[label="([^"]*)"\];$', re.M)
NODE = re.compile(r'^\s*(\w+) \[label="([^"]*)"(.*)\];$', re.M)


def test_perceptron_graph():
    e = srcgrad.explain(lecture.perceptron_loss, *PERCEPTRON, wrt=PERCEPTRON_WRT)
    dot = e.graph().dot
    assert dot == srcgrad.graph(lecture.perceptron_loss, *PERCEPTRON, wrt=PERCEPTRON_WRT).dot   # deterministic
    assert dot.startswith('digraph "perceptron_loss" {') and dot.rstrip().endswith("}")
    nodes = {name: rest for name, _, rest in NODE.findall(dot)}
    for w in PERCEPTRON_WRT:
        assert "shape=doublecircle" in nodes[f"p_{w}"]
    for other in ("x1", "x2", "y"):
        assert "shape=box" in nodes[f"p_{other}"]
    assert {n for n in nodes if re.fullmatch(r"s\d+", n)} == {f"s{k}" for k in range(1, 8)}
    edges = {(src, dst): label for src, dst, label in EDGE.findall(dot)}
    checked_deltas = 0
    for row in e.rows:
        for producer, name, passed in zip(row.producers, row.inputs, row.passed):
            if producer is None:
                continue
            src = f"p_{producer}" if isinstance(producer, str) else f"s{producer + 1}"
            label = edges[(src, f"s{row.index + 1}")]
            assert label.startswith(f"{name}=")
            if passed is not None:
                shown = float(label.split("\\nδ=")[1])
                assert shown == pytest.approx(passed, rel=1e-3)
                checked_deltas += 1
            else:
                assert "δ" not in label                            # x1, x2, y carry no δ
    assert checked_deltas == 9
    assert edges[("s7", "out")] == "t6=0.09612\\nδ=1"


def test_loops_in_graph():
    short = srcgrad.graph(cases.poly_loop, 1.5, 4, wrt="x").dot
    assert all(f"subgraph cluster_loop1_{k} {{" in short for k in range(4))
    long = srcgrad.explain(cases.logistic, 2.5, 0.3, 100, wrt=("r", "x"))
    dot = long.graph().dot
    assert "cluster" not in dot and "loop1 [label=" in dot and "100 iterations, 300 steps" in dot
    edges = {(src, dst): label for src, dst, label in EDGE.findall(dot)}
    into_loop = float(edges[("p_r", "loop1")].split("\\nδ=")[1])        # r's δ's from every iteration, added
    assert into_loop == pytest.approx(long.gradient[0], rel=1e-3)
    assert ("loop1", "out") in edges


def test_graph_parses_with_pydot():
    pydot = pytest.importorskip("pydot")
    dot = srcgrad.graph(cases.poly_loop, 1.5, 4, wrt="x").dot
    (graph,) = pydot.graph_from_dot_data(dot)

    def nodes(g):
        return {n.get_name() for n in g.get_nodes()} | {n for sub in g.get_subgraphs() for n in nodes(sub)}
    assert {"p_x", "s3", "s10", "out"} <= nodes(graph)
    assert [sub.get_name() for sub in graph.get_subgraphs()] == [f"cluster_loop1_{k}" for k in range(4)]


def test_graph_parses_with_graphviz():
    graphviz = pytest.importorskip("graphviz")
    source = graphviz.Source(srcgrad.graph(lecture.relu_neuron, 1.0, 1.0, 2.0, wrt=("w", "b")).dot)
    assert "p_w -> s1" in source.source


def test_save(tmp_path, monkeypatch):
    g = srcgrad.graph(lecture.relu_neuron, 1.0, 1.0, 2.0, wrt=("w", "b"))
    g.save(tmp_path / "relu.dot")
    assert (tmp_path / "relu.dot").read_text(encoding="utf-8") == g.dot
    monkeypatch.setattr(dotgraph.shutil, "which", lambda name: None)
    monkeypatch.setitem(__import__("sys").modules, "graphviz", None)       # neither way to render
    with pytest.raises(srcgrad.SrcgradError, match="needs Graphviz's `dot` program"):
        g.save(tmp_path / "relu.svg")
    with pytest.raises(srcgrad.SrcgradError, match="cannot save a graph as '.jpg'"):
        g.save(tmp_path / "relu.jpg")


# --- the command line -----------------------------------------------------------------------------

def test_cli_explain_and_graph(tmp_path, capsys):
    target = f"{cases.__file__}:poly_loop"
    assert main(["explain", target, "--args", "[1.5, 9]", "--wrt", "x", "--keep", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("poly_loop(x=1.5, n=9) = 81.0") and "⋮ … 5 iterations (10 steps) …" in out
    assert re.search(r"x\s+δ = 108\.0 ", out)                 # d/dx x² Σi = 2·1.5·36
    assert main(["graph", target, "--args", "[1.5, 9]"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith('digraph "poly_loop"') and "loop1 [label=" in dot
    assert main(["graph", target, "--args", "[1.5, 3]", "-o", str(tmp_path / "g.dot")]) == 0
    assert "cluster_loop1_2" in (tmp_path / "g.dot").read_text(encoding="utf-8")
    assert main(["explain", target, "--args", "[1.5]"]) == 2
    assert "takes 2 argument" in capsys.readouterr().err


def test_readme_table_is_what_explain_prints():
    """The δ table quoted in README.md is the one explain prints today."""
    import os
    readme = open(os.path.join(os.path.dirname(__file__), os.pardir, "README.md"), encoding="utf-8").read()
    table = str(srcgrad.explain(lecture.relu_neuron, -1.0, -1.0, 2.0, wrt=("w", "b")))
    body = table.split("\n\n", 1)[1]            # without the heading lines
    assert body.strip() in readme
