"""Every rule of the rule table on arrays, checked through the whole pipeline.

Scalar rules are lifted to arrays (`rules/arrays.py`): each is applied with
NumPy broadcasting between a matrix and a row, a scalar and a row, a column
and a row, so every input's δ must be summed back over the broadcast axes.
Array primitives (`@`, reductions with axis/keepdims, reshape, ...) are tried
on every sample configuration their table entry lists. Gradients are compared
with central differences of the same NumPy code; adding a rule or a sample
adds its test.
"""
import ast
import copy
import importlib.util
import os

import numpy as np
import pytest

import srcgrad
from test_rules import RULES          # the table srcgrad ships (no users' custom rules)
from srcgrad.rules.arrays import ARRAY_RULES, NUMPY_FORM, Unsupported, variant
from test_rules import second_order

# operands per arity: (name, shape) — broadcasting matrix/row, scalar/row, column/row
BROADCAST = {
    1: [[("a", (2, 3))], [("v", (3,))]],
    2: [[("a", (2, 3)), ("v", (3,))], [("s", ()), ("v2", (3,))], [("c", (2, 1)), ("r", (1, 3))]],
    3: [[("a", (2, 3)), ("v", (3,)), ("s", ())], [("s1", ()), ("v1", (3,)), ("a1", (2, 3))]],
}


def _liftable(name):
    """Lifted, and writable by a user in NumPy (math.erf has no NumPy form)."""
    try:
        primal = variant(name, (2,) * len(RULES[name].inputs)).primal
    except Unsupported:
        return False
    return all(n.id in ("np",) + tuple(NUMPY_FORM) + RULES[name].inputs
               for n in ast.walk(primal) if isinstance(n, ast.Name))


LIFTED = sorted(n for n in RULES if _liftable(n))


def _lifted_source(rule, names):
    expr = variant(rule.name, (1,) * len(rule.inputs)).primal
    if rule.written:                   # (stop_gradient: written as the user writes it)
        expr = ast.parse(rule.written, mode="eval").body
    mapping = dict(zip(rule.inputs, names))
    if rule.name == "where":           # the condition is a mask made from its (float) operand
        mapping["c"] = f"({names[0]} > 1.0)"

    mapping.update({kernel: f"np.{name}" for kernel, name in NUMPY_FORM.items()})

    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            return ast.parse(mapping[node.id], mode="eval").body if node.id in mapping else node
    return ast.unparse(Sub().visit(copy.deepcopy(expr)))


def _operands(rule, rng):
    """Per broadcast group: (name, value drawn from the rule's domain)."""
    groups = []
    for group in BROADCAST[len(rule.inputs)]:
        values = []
        for (name, shape), (lo, hi) in zip(group, rule.domain):
            values.append((name, rng.uniform(lo, hi, size=shape) if shape else float(rng.uniform(lo, hi))))
        groups.append(values)
    return groups


def _array_rule_samples(rule):
    rng = np.random.default_rng(len(rule.name))
    out = []
    for k, (shapes, static) in enumerate(rule.samples):
        names = [f"{x}{k}" for x in rule.inputs[:len(shapes)]]
        values = [rng.standard_normal(shape) + (1.5 if rule.name == "prod" else 0.0) for shape in shapes]
        text = rule.written(static)
        for x, name in zip(rule.inputs, names):
            text = ast.unparse(_rename(ast.parse(text, mode="eval"), x, name))
        out.append((names, values, text))
    return out


def _rename(tree, old, new):
    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            return ast.Name(new, ast.Load()) if node.id == old else node
    return Sub().visit(tree)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """Write every test function to a real module (srcgrad reads source)."""
    lines, table = ["import numpy as np", "from srcgrad import stop_gradient", ""], {}
    rng = np.random.default_rng(0)
    for name in LIFTED:
        rule = RULES[name]
        groups = _operands(rule, rng)
        params, values, terms = [], [], []
        for g, group in enumerate(groups):
            names = [n for n, _ in group]
            params += names
            values += [v for _, v in group]
            out = np.asarray(eval(_lifted_source(rule, names), {"np": np, "stop_gradient": srcgrad.stop_gradient}, dict(group)))
            weight = f"w_{g}"
            params.append(weight)
            values.append(rng.standard_normal(out.shape) if out.shape else float(rng.standard_normal()))
            terms.append(f"np.sum({weight} * {_lifted_source(rule, names)})")
        lines += [f"def lifted_{name}({', '.join(params)}):", f"    return {' + '.join(terms)}", ""]
        wrt = tuple(k for k, p in enumerate(params) if not p.startswith("w_"))
        table[f"lifted_{name}"] = (values, wrt, rule.differentiable)
        # the first group alone (matrix with row; or the array itself): forward mode and second order
        first = len(groups[0]) + 1
        lines += [f"def lifted1_{name}({', '.join(params[:first])}):", f"    return {terms[0]}", ""]
        table[f"lifted1_{name}"] = (values[:first], tuple(k for k in wrt if k < first - 1), rule.differentiable)
    for name, rule in sorted(ARRAY_RULES.items()):
        params, values, terms = [], [], []
        for g, (names, vals, text) in enumerate(_array_rule_samples(rule)):
            out = np.asarray(eval(text, {"np": np}, dict(zip(names, vals))))
            params += names + [f"w_{g}"]
            values += vals + [rng.standard_normal(out.shape) if out.shape else float(rng.standard_normal())]
            terms.append(f"np.sum(w_{g} * ({text}))")
        lines += [f"def array_{name}({', '.join(params)}):", f"    return {' + '.join(terms)}", ""]
        wrt = tuple(k for k, p in enumerate(params) if not p.startswith("w_"))
        table[f"array_{name}"] = (values, wrt, True)
    path = tmp_path_factory.mktemp("array_rules") / "array_rule_functions.py"
    path.write_text("\n".join(lines))
    spec = importlib.util.spec_from_file_location("array_rule_functions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, table


def _central(f, args, k, h=1e-6):
    base = args[k]
    if np.ndim(base) == 0:
        up, down = list(args), list(args)
        up[k], down[k] = base + h, base - h
        return (f(*up) - f(*down)) / (2 * h)
    grad = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        up, down = [a.copy() if isinstance(a, np.ndarray) else a for a in args], list(args)
        down = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        up[k][idx] += h
        down[k][idx] -= h
        grad[idx] = (f(*up) - f(*down)) / (2 * h)
    return grad


def _check(module, table, fname):
    f = getattr(module, fname)
    values, wrt, differentiable = table[fname]
    grads = srcgrad.grad(f, wrt=wrt)(*values)
    for k, got in zip(wrt, grads):
        expected = _central(f, values, k)
        if not differentiable:
            assert np.all(np.asarray(got) == 0.0), (fname, k)
            if fname == "lifted_stop_gradient":
                continue                # (declared zero: the value does change)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7, err_msg=f"{fname}: input {k}")


def _check_second_order(module, table, fname):
    """Forward mode (J·t) vs central differences of f along t, and reverse
    over forward (H·t) vs central differences of the gradient along t."""
    f = getattr(module, fname)
    values, wrt, differentiable = table[fname]
    rng = np.random.default_rng(len(fname))
    tangents = [rng.standard_normal(np.shape(values[k])) if np.ndim(values[k]) else float(rng.standard_normal())
                for k in wrt]
    tangent, hess_t = second_order(f, wrt)(values, tangents)

    def moved(h):
        out = [v.copy() if isinstance(v, np.ndarray) else v for v in values]
        for k, t in zip(wrt, tangents):
            out[k] = out[k] + h * t
        return out
    h = 1e-6
    if fname == "lifted1_stop_gradient":    # declared zero in both modes (the value does change)
        assert tangent == 0.0 and all(np.all(np.asarray(g) == 0.0) for g in hess_t)
        return
    np.testing.assert_allclose(tangent, (f(*moved(h)) - f(*moved(-h))) / (2 * h), rtol=1e-6, atol=1e-7,
                               err_msg=f"{fname}: tangent")
    g, h = srcgrad.grad(f, wrt=wrt), 1e-5
    for k, got, up, down in zip(wrt, hess_t, g(*moved(h)), g(*moved(-h))):
        np.testing.assert_allclose(got, (up - down) / (2 * h), rtol=1e-4, atol=1e-6,
                                   err_msg=f"{fname}: H·t for input {k}")


# one rule per template style (products and quotients, chains through g' and the output z, ternaries that
# become np.where, clips, two-input functions, declared zero): the scalar table's test checks every rule's tangent and second derivative, this one the same
# templates on arrays (each is a large program to compile: SRCGRAD_FORWARD_ALL=1 runs all lifted rules)
SECOND_ORDER_LIFTED = LIFTED if os.environ.get("SRCGRAD_FORWARD_ALL") else sorted(
    {"mul", "div", "pow", "exp", "tanh", "hypot", "max", "clip", "where", "stop_gradient"} & set(LIFTED))


@pytest.mark.parametrize("name", SECOND_ORDER_LIFTED)
def test_lifted_rule_forward_and_second_order(cases, name):
    """(On the first broadcast group: the others test summing δ back over
    broadcast axes, which reverse mode does and forward mode never needs.)"""
    module, table = cases
    _check_second_order(module, table, f"lifted1_{name}")


@pytest.mark.parametrize("name", sorted(ARRAY_RULES))
def test_array_rule_forward_and_second_order(cases, name):
    module, table = cases
    _check_second_order(module, table, f"array_{name}")


@pytest.mark.parametrize("name", LIFTED)
def test_lifted_rule_with_broadcasting(cases, name):
    module, table = cases
    _check(module, table, f"lifted_{name}")


@pytest.mark.parametrize("name", sorted(ARRAY_RULES))
def test_array_rule_on_every_sample(cases, name):
    module, table = cases
    _check(module, table, f"array_{name}")


def test_every_array_rule_has_samples_and_a_label():
    for name, rule in ARRAY_RULES.items():
        assert rule.samples and rule.label and rule.usage, name
    assert {"matmul", "sum", "amax", "amin", "prod", "cumsum", "reshape", "transpose", "outer"} <= set(ARRAY_RULES)


def test_only_integer_conversions_do_not_lift():
    # (and math functions without a NumPy form, which no user can apply to an array)
    assert sorted(set(RULES) - set(LIFTED)) == ["digamma", "erf", "erfc", "gamma", "int", "lgamma", "polygamma1", "polygamma2"]


def _row_max_sum(A):
    s = 0.0
    for k in range(A.shape[0]):
        v = A[k] * 2.0                   # a vector built in the loop: its max is scanned inline
        s += np.max(v) - np.min(v)
    return s


def test_max_of_a_vector_in_a_loop_ties_and_nan():
    g = srcgrad.value_and_grad(_row_max_sum, wrt="A")
    A = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, np.nan, 4.0, -1.0], [-1.0, -1.0, 0.0, 0.0]])
    value, grad = g(A)
    assert np.isnan(value) and np.isnan(_row_max_sum(A))
    want = np.zeros_like(A)
    want[0, 1] += 2.0                    # ties: the first largest
    want[0, 3] -= 2.0
    want[1, 0] += 2.0 - 2.0              # a NaN extreme: δ to the first element (max and min)
    want[2, 2] += 2.0
    want[2, 0] -= 2.0
    np.testing.assert_array_equal(grad, want)
    with pytest.raises(srcgrad.SrcgradError, match="zero-size"):
        g(np.zeros((2, 0)))
