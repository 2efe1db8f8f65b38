"""Backward sweep of a straight-line loop body as one small Jacobian.

Input: the `Generator`, a reversed loop whose body is only assignments, and
the loop-carried names whose δ enters each backward iteration (the state,
e.g. `x, y` of an ODE step). Output: that loop body's backward code.

Applying the rules one by one makes each iteration a long chain of dependent
multiplications and additions through d_x, d_y: the next iteration waits for
all of it. Instead, each δ inside the body is kept as a linear form in the
entering δ's, δ_v = Σ_k c[v,k]·δ_k, whose coefficients are products of the
rules' local derivatives g'(x). They depend on primal values only, so the
processor computes them off the critical path; the δ recurrence itself
becomes δ_k ← Σ_j c[k,j]·δ_j — two multiplications and an addition per
step, as a hand-written adjoint would factor it. (The sums are added in a
different order than the rule-by-rule sweep: equal up to rounding.)
"""
from .emit import render, substitute
from .program import Const, Name, Op
from .fusion import is_sum
from .rules import RULES
from .typeinfer import is_array

MAX_CARRIED = 4


def eligible(gen, loop, carried):
    """Straight-line body, a few carried scalars, some of them not plain sums."""
    if not carried or len(carried) > MAX_CARRIED:
        return False
    if not all(isinstance(s, Op) for s in loop.body):
        return False
    if any(s.target in gen.active and (s.op not in RULES and s.op != "getitem") for s in loop.body):
        return False
    if any(is_array(gen.types.get(a.id)) for s in loop.body if s.op != "getitem"
           for a in s.args if isinstance(a, Name)):
        return False
    return any(not is_sum(name, loop.body) for name in carried)


class Preaccumulator:
    def __init__(self, gen, code, carried, body):
        self.gen, self.code = gen, code
        self.carried = sorted(carried)
        self.form = {k: {k: "1.0"} for k in self.carried}   # name -> {entering δ: coefficient}
        # names the backward body reassigns (restores, recomputes): a coefficient
        # must not refer to them by name, their value would change under it
        self.changing = {s.target for s in body if isinstance(s, Op)}

    def coefficient(self, expr_text):
        if _is_atomic(expr_text) and expr_text.lstrip("-") not in self.changing:
            return expr_text
        name = self.gen.namer.fresh("c", numbered=True)
        self.code.line(f"{name} = {expr_text}")
        return name

    def add(self, target, k, coef):
        old = self.form.setdefault(target, {}).get(k)
        self.form[target][k] = coef if old is None else self.coefficient(f"{old} + {_paren(coef)}")

    def scaled(self, partial, coef):
        if coef == "1.0":
            return self.coefficient(partial)
        if partial == "1.0":
            return coef
        if partial == "-1.0":
            return self.coefficient(f"-{coef}")
        return self.coefficient(f"{_paren(partial)} * {coef}")

    def run(self, body):
        gen = self.gen
        for stmt in reversed(body):
            gen.pop_snapshot(self.code, stmt)
            if not gen.plan.work.get(stmt.sid):
                continue
            gen.source_comment(self.code, stmt)
            gen.restore(self.code, stmt)
            if stmt.target in gen.active:
                self.step(stmt)
            gen.pop_old_value(self.code, stmt)
        self.finish()

    def step(self, stmt):
        z = stmt.target
        form_z = self.form.get(z, {})
        if stmt.op == "getitem":
            terms = self.terms(form_z)
            if terms and stmt.args[0].id in self.gen.active:
                self.code.line(f"{self.gen.d_index(stmt.args[0].id, stmt.args[1:])} += {terms}",
                               "read: δ back into the element")
            self.form[z] = {}
            return
        accumulate = stmt.args[0] == Name(z)
        rule = RULES[stmt.op]
        mapping = {"d_z": Const(1.0), "z": Name(z), **dict(zip(rule.inputs, stmt.args))}
        if not accumulate:
            self.form[z] = {}
        for expr, arg in zip(rule.vjp, stmt.args):
            if accumulate and arg == Name(z):
                continue
            if isinstance(arg, Name) and arg.id in self.gen.active:
                partial = render(substitute(expr, mapping))
                if partial in ("0.0", "0"):
                    continue
                for k in sorted(form_z):
                    self.add(arg.id, k, self.scaled(partial, form_z[k]))

    def terms(self, form):
        return " + ".join(f"{_paren(c)} * {self.gen.d(k)}" if c != "1.0" else self.gen.d(k)
                          for k, c in sorted(form.items()))

    def finish(self):
        gen, code = self.gen, self.code
        code.comment("the step's Jacobian applied to the entering δ's")
        for name in gen.program_order([n for n in self.form if n not in self.carried and self.form[n]]):
            code.line(f"{gen.d(name)} += {self.terms(self.form[name])}")
        new = {}
        for k in self.carried:
            form = self.form.get(k, {})
            if form == {k: "1.0"}:
                continue
            new[k] = gen.namer.fresh(f"next_{gen.d(k)}")
            code.line(f"{new[k]} = {self.terms(form) or '0.0'}")
        for k, name in new.items():
            code.line(f"{gen.d(k)} = {name}")


def _is_atomic(text):
    return text.replace(".", "", 1).replace("_", "").isalnum() or \
        (text.startswith("-") and text[1:].replace(".", "", 1).replace("_", "").isalnum())


def _paren(text):
    return text if _is_atomic(text) else f"({text})"
