"""Every rule of the rule table, checked through the whole pipeline.

Each rule becomes a one-primitive function `def f(x, y): return <primal>`
written to a real module (srcgrad reads source), differentiated w.r.t. all
inputs and compared with central differences at points drawn from the rule's
domain. Adding a rule adds its test.
"""
import importlib.util
import math

import numpy as np
import pytest

import srcgrad
from srcgrad.rules import RULES as _ALL_RULES

# the table srcgrad ships (users' custom rules, registered by other tests, are tested there)
RULES = {n: r for n, r in _ALL_RULES.items() if not n.startswith("custom_")}

POINTS_PER_RULE = 3


@pytest.fixture(scope="session")
def rule_module(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "rule_functions.py"
    lines = ["import math", "import numpy as np", "from srcgrad import stop_gradient", "from srcgrad.runtime import digamma, polygamma", ""]
    for name, rule in sorted(RULES.items()):
        lines += [f"def rule_{name}({', '.join(rule.inputs)}):",
                  f"    return {rule.written or rule.primal_source()}", ""]
    path.write_text("\n".join(lines))
    spec = importlib.util.spec_from_file_location("rule_functions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _points(rule, seed):
    rng = np.random.default_rng(seed)
    for _ in range(POINTS_PER_RULE):
        yield [float(rng.uniform(lo, hi)) for lo, hi in rule.domain]


def _central(f, args, k, h=1e-6):
    up, down = list(args), list(args)
    step = h * max(1.0, abs(args[k]))
    up[k] += step
    down[k] -= step
    return (f(*up) - f(*down)) / (2 * step)


def test_every_rule_has_a_domain_per_input():
    for name, rule in RULES.items():
        assert len(rule.domain) == len(rule.inputs), name
        assert all(lo < hi for lo, hi in rule.domain), name
        assert rule.label, name


@pytest.mark.parametrize("name", sorted(n for n, r in RULES.items() if r.differentiable))
def test_rule_matches_central_differences(rule_module, name):
    rule = RULES[name]
    f = getattr(rule_module, f"rule_{name}")
    g = srcgrad.grad(f, wrt=tuple(range(len(rule.inputs))))
    for args in _points(rule, seed=len(name)):
        grads = g(*args)
        for k, got in enumerate(grads):
            expected = _central(f, args, k)
            assert got == pytest.approx(expected, rel=1e-6, abs=1e-8), (name, args, k)


@pytest.mark.parametrize("name", sorted(n for n, r in RULES.items() if not r.differentiable))
def test_piecewise_constant_rule_has_zero_gradient(rule_module, name):
    rule = RULES[name]
    f = getattr(rule_module, f"rule_{name}")
    g = srcgrad.grad(f, wrt=tuple(range(len(rule.inputs))))
    for args in _points(rule, seed=7):
        assert all(v == 0.0 for v in g(*args)), (name, args)
        if name != "stop_gradient":        # (declared zero: its value does change)
            assert all(_central(f, args, k) == 0.0 for k in range(len(args))), (name, args)


def test_relu_gate_routes_or_kills(rule_module):
    """The lecture's ReLU: δ passes where the input is positive, dies where negative."""
    relu = srcgrad.grad(rule_module.rule_max, wrt=1)
    assert relu(0.0, 2.5) == 1.0
    assert relu(0.0, -2.5) == 0.0
    assert math.isfinite(relu(0.0, 0.0))


def test_digamma_closed_forms():
    """lgamma's rule uses digamma: ψ(1) = −γ, ψ(1/2) = −γ − 2 ln 2, ψ(x+1) = ψ(x) + 1/x,
    reflection for negative x."""
    from srcgrad.runtime import digamma
    euler_gamma = 0.5772156649015329
    assert digamma(1.0) == pytest.approx(-euler_gamma, rel=1e-15)
    assert digamma(0.5) == pytest.approx(-euler_gamma - 2.0 * math.log(2.0), rel=1e-15)
    for x in (0.01, 0.7, 3.3, 12.5, 250.0):
        assert digamma(x + 1.0) == pytest.approx(digamma(x) + 1.0 / x, rel=1e-13)
    x = -1.3
    assert digamma(1.0 - x) - digamma(x) == pytest.approx(math.pi / math.tan(math.pi * x), rel=1e-12)


def test_lgamma_of_a_constant_needs_no_derivative():
    def f(w, d):
        return w * w + math.lgamma(0.5 * d)

    assert srcgrad.grad(f, wrt="w")(1.5, 4) == 3.0


def test_polygamma_closed_forms():
    """digamma's rule (reached by second derivatives of lgamma) uses ψ⁽ⁿ⁾:
    ψ'(1) = π²/6, ψ'(1/2) = π²/2, ψ''(1) = −2ζ(3), ψ⁽ⁿ⁾(x+1) = ψ⁽ⁿ⁾(x) + (−1)ⁿ n!/xⁿ⁺¹, reflection."""
    from srcgrad.runtime import polygamma
    assert polygamma(1, 1.0) == pytest.approx(math.pi ** 2 / 6, rel=1e-14)
    assert polygamma(1, 0.5) == pytest.approx(math.pi ** 2 / 2, rel=1e-14)
    assert polygamma(2, 1.0) == pytest.approx(-2.0 * 1.2020569031595942, rel=1e-14)
    for n in (1, 2, 3):
        for x in (0.01, 0.7, 3.3, 12.5, 250.0):
            step = (-1) ** n * math.factorial(n) / x ** (n + 1)
            assert polygamma(n, x) == pytest.approx(polygamma(n, x + 1.0) - step, rel=1e-12)
    x = -1.3
    assert polygamma(1, 1.0 - x) + polygamma(1, x) == pytest.approx(math.pi ** 2 / math.sin(math.pi * x) ** 2,
                                                                     rel=1e-12)


def second_order(f, wrt):
    """The compiled reverse-over-forward program of f (tests/test_array_rules.py uses it too):
    `run(args, tangents)` -> (J·t, H·t per wrt input) from one compiled call."""
    from srcgrad.transforms import hvp
    transform = hvp(f, wrt=wrt).__srcgrad_transform__

    def run(args, tangents):
        values, kinds = transform.gf.convert(tuple(args))
        out = transform.get(("hvp", kinds)).adjoint(*values, *tangents, 1.0)
        return out[0], out[1:]
    return run


@pytest.mark.parametrize("name", sorted(n for n, r in RULES.items() if r.differentiable))
def test_rule_tangent_and_second_derivative(rule_module, name):
    """Forward mode of every rule (its δ template read with δ := tangent) vs
    central differences of f along the tangent, and the same template
    differentiated again in reverse mode (H·t) vs central differences of the
    gradient along t."""
    rule = RULES[name]
    f = getattr(rule_module, f"rule_{name}")
    wrt = tuple(range(len(rule.inputs)))
    run, g = second_order(f, wrt), srcgrad.grad(f, wrt=wrt)
    rng = np.random.default_rng(len(name) + 1)
    for args in _points(rule, seed=len(name)):
        t = [float(v) for v in rng.standard_normal(len(args))]
        h = 1e-6
        up = [a + h * ti for a, ti in zip(args, t)]
        down = [a - h * ti for a, ti in zip(args, t)]
        tangent, hess_t = run(args, t)
        assert tangent == pytest.approx((f(*up) - f(*down)) / (2 * h), rel=1e-6, abs=1e-8), (name, args)
        h = 1e-5
        up = [a + h * ti for a, ti in zip(args, t)]
        down = [a - h * ti for a, ti in zip(args, t)]
        want = [(p - m) / (2 * h) for p, m in zip(g(*up), g(*down))]
        assert list(hess_t) == pytest.approx(want, rel=1e-4, abs=1e-6), (name, args)
