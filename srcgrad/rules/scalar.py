"""Scalar rules: arithmetic, `math.*`, `np.*` and builtins — the lecture's rules.

Each entry: the forward expression, then δ of every input from δ of the
output. `CALLS` maps the Python callables users write (math.exp, np.exp, …)
to rule names; `BINOPS`/`UNARY` map operators.
"""
import ast
import builtins
import math

import numpy as np

from .. import runtime
from .table import RULES, Rule, nondifferentiable, rule

POS = (0.2, 3.0)
SYM = (-2.0, 2.0)
UNIT = (-0.9, 0.9)

# --- the lecture's gates -----------------------------------------------------


@rule("x", label="copy: δ passes unchanged", result="same", cheap=True)
def copy(d_z, z, x):
    return d_z


@rule("x + 0.0", label="float(): δ passes unchanged", cheap=True)   # float(bool) does not compile in Numba
def float_(d_z, z, x):
    return d_z


@rule("x + y", label="sum: δ passes unchanged to both inputs", result="same", cheap=True)
def add(d_z, z, x, y):
    return d_z, d_z


@rule("x - y", label="difference: δ to x, −δ to y", result="same", cheap=True)
def sub(d_z, z, x, y):
    return d_z, -d_z


@rule("x * y", label="product: δ times the other side", result="same", cheap=True)
def mul(d_z, z, x, y):
    return d_z * y, d_z * x


@rule("x / y", label="quotient: δ/y to x, −δ·z/y to y", domain=[SYM, POS])
def div(d_z, z, x, y):
    return d_z * (1.0 / y), -d_z * z * (1.0 / y)      # one division for both: LLVM merges the two 1/y


@rule("1.0 / x", label="reciprocal: −δ·z² (z = 1/x)", domain=[POS])
def recip(d_z, z, x):
    return -d_z * z * z


@rule("x ** y", label="power: δ·y·x^(y−1) to x, δ·z·log x to y", domain=[POS, SYM], result="same")
def pow_(d_z, z, x, y):
    return d_z * y * x ** (y - 1), (d_z * z * math.log(x) if x > 0 else 0.0)


@rule("-x", label="negation: −δ", result="same", cheap=True)
def neg(d_z, z, x):
    return -d_z


@rule("x % y", label="modulo: δ to x, −δ·floor(x/y) to y", domain=[(0.3, 2.9), (1.1, 1.9)], result="same")
def mod(d_z, z, x, y):
    return d_z, -d_z * math.floor(x / y)


@rule("max(x, y)", label="max: δ routed to the larger input (ties: first)", result="same", cheap=True)
def max_(d_z, z, x, y):
    return (d_z if x >= y else 0.0), (0.0 if x >= y else d_z)


@rule("min(x, y)", label="min: δ routed to the smaller input (ties: first)", result="same", cheap=True)
def min_(d_z, z, x, y):
    return (d_z if x <= y else 0.0), (0.0 if x <= y else d_z)


@rule("abs(x)", label="abs: δ times sign(x)", result="same", cheap=True, domain=[(0.1, 2.0)])
def abs_(d_z, z, x):
    return d_z * (1.0 if x > 0 else (-1.0 if x < 0 else 0.0))

@rule("min(max(x, lo), hi)", label="clip: δ passes inside [lo, hi], goes to the bound outside",
      domain=[SYM, (-1.5, -0.5), (0.5, 1.5)], result="same", cheap=True)
def clip(d_z, z, x, lo, hi):
    return (d_z if lo <= x <= hi else 0.0), (d_z if x < lo else 0.0), (d_z if x > hi and x >= lo else 0.0)

@rule("x if c else y", label="where: δ routed to the chosen input", result="same", cheap=True,
      domain=[(0.5, 1.5), SYM, SYM])
def where(d_z, z, c, x, y):
    return 0.0, (d_z if c else 0.0), (0.0 if c else d_z)

# --- elementary functions: chain through g' ------------------------------------


@rule("math.exp(x)", label="exp' = exp (the output)", domain=[SYM])
def exp(d_z, z, x):
    return d_z * z


@rule("1.0 / (1.0 + math.exp(-x))", label="sigmoid' = σ(1−σ) (the output)", domain=[SYM])
def sigmoid(d_z, z, x):
    # `1 / (1 + exp(-x))` as written becomes this one primitive (normalize): its δ
    # reads only the output, so the tape keeps σ and the backward sweep neither
    # divides nor needs exp(-x) (which overflows to inf, where this δ is 0 as it should be)
    return d_z * z * (1.0 - z)


@rule("math.log(x)", label="log' = 1/x", domain=[POS])
def log(d_z, z, x):
    return d_z / x


@rule("math.log10(x)", label="log10' = 1/(x ln 10)", domain=[POS])
def log10(d_z, z, x):
    return d_z / (x * 2.302585092994046)


@rule("math.log2(x)", label="log2' = 1/(x ln 2)", domain=[POS])
def log2(d_z, z, x):
    return d_z / (x * 0.6931471805599453)


@rule("math.log1p(x)", label="log1p' = 1/(1+x)", domain=[(-0.5, 2.0)])
def log1p(d_z, z, x):
    return d_z / (1.0 + x)


@rule("math.expm1(x)", label="expm1' = exp = output + 1", domain=[SYM])
def expm1(d_z, z, x):
    return d_z * (z + 1.0)


@rule("math.sqrt(x)", label="sqrt' = 1/(2 sqrt x)", domain=[POS])
def sqrt(d_z, z, x):
    return d_z * 0.5 / z


@rule("x * x", label="square: 2·x·δ", result="same", cheap=True)
def square(d_z, z, x):
    return 2.0 * d_z * x


@rule("math.sin(x)", label="sin' = cos")
def sin(d_z, z, x):
    return d_z * math.cos(x)


@rule("math.cos(x)", label="cos' = −sin")
def cos(d_z, z, x):
    return -d_z * math.sin(x)


@rule("math.tan(x)", label="tan' = 1 + tan²", domain=[(-1.2, 1.2)])
def tan(d_z, z, x):
    return d_z * (1.0 + z * z)


@rule("math.tanh(x)", label="tanh' = 1 − tanh²")
def tanh(d_z, z, x):
    return d_z * (1.0 - z * z)


@rule("math.sinh(x)", label="sinh' = cosh")
def sinh(d_z, z, x):
    return d_z * math.cosh(x)


@rule("math.cosh(x)", label="cosh' = sinh")
def cosh(d_z, z, x):
    return d_z * math.sinh(x)


@rule("math.atan(x)", label="atan' = 1/(1+x²)")
def atan(d_z, z, x):
    return d_z / (1.0 + x * x)


@rule("math.asin(x)", label="asin' = 1/sqrt(1−x²)", domain=[UNIT])
def asin(d_z, z, x):
    return d_z / math.sqrt(1.0 - x * x)


@rule("math.acos(x)", label="acos' = −1/sqrt(1−x²)", domain=[UNIT])
def acos(d_z, z, x):
    return -d_z / math.sqrt(1.0 - x * x)


@rule("math.atan2(y, x)", label="atan2: δ·x/r² to y, −δ·y/r² to x", domain=[SYM, POS])
def atan2(d_z, z, y, x):
    return d_z * x / (x * x + y * y), -d_z * y / (x * x + y * y)


@rule("math.hypot(x, y)", label="hypot: δ·x/r to x, δ·y/r to y", domain=[POS, POS])
def hypot(d_z, z, x, y):
    return (d_z * x / z if z > 0 else 0.0), (d_z * y / z if z > 0 else 0.0)


@rule("math.erf(x)", label="erf' = 2/sqrt(π)·exp(−x²)")
def erf(d_z, z, x):
    return d_z * 1.1283791670955126 * math.exp(-x * x)


@rule("math.lgamma(x)", label="lgamma' = digamma", domain=[(0.2, 6.0)])
def lgamma(d_z, z, x):
    return d_z * digamma(x)


@rule("math.gamma(x)", label="gamma' = gamma·digamma", domain=[(0.2, 4.0)])
def gamma(d_z, z, x):
    return d_z * z * digamma(x)


@rule("digamma(x)", label="digamma' = trigamma = polygamma(1, ·)", domain=[(0.2, 6.0)])
def digamma(d_z, z, x):       # (reached through lgamma's δ: forward mode and Hessians differentiate it)
    return d_z * polygamma(1, x)


def polygamma_rule(n):
    """The rule of ψ⁽ⁿ⁾ = polygamma(n, ·) for a constant order n ≥ 1, made on
    first use (each order's δ needs the next order: the table cannot list them all)."""
    name = f"polygamma{n}"
    if name not in RULES:
        RULES[name] = Rule(name, ("x",), ast.parse(f"polygamma({n}, x)", mode="eval").body,
                           (ast.parse(f"d_z * polygamma({n + 1}, x)", mode="eval").body,),
                           f"polygamma({n}, ·)' = polygamma({n + 1}, ·)", ((0.2, 6.0),), "float", False, True)
    return name


polygamma_rule(1)       # trigamma (second derivatives of lgamma)
polygamma_rule(2)       # tetragamma (third)


@rule("math.asinh(x)", label="asinh' = 1/sqrt(1+x²)")
def asinh(d_z, z, x):
    return d_z / math.sqrt(1.0 + x * x)


@rule("math.acosh(x)", label="acosh' = 1/sqrt(x²−1)", domain=[(1.2, 3.0)])
def acosh(d_z, z, x):
    return d_z / math.sqrt(x * x - 1.0)


@rule("math.atanh(x)", label="atanh' = 1/(1−x²)", domain=[UNIT])
def atanh(d_z, z, x):
    return d_z / (1.0 - x * x)


@rule("2.0 ** x", label="exp2' = ln 2 · output")
def exp2(d_z, z, x):
    return d_z * z * 0.6931471805599453


@rule("np.cbrt(x)", label="cbrt' = 1/(3·output²)", domain=[POS])
def cbrt(d_z, z, x):
    return d_z / (3.0 * z * z)


@rule("x * 0.017453292519943295", label="radians: δ times π/180", cheap=True)
def radians(d_z, z, x):
    return d_z * 0.017453292519943295


@rule("x * 57.29577951308232", label="degrees: δ times 180/π", cheap=True)
def degrees(d_z, z, x):
    return d_z * 57.29577951308232


@rule("np.logaddexp(x, y)", label="logaddexp: δ·softmax weights")
def logaddexp(d_z, z, x, y):
    return d_z * math.exp(x - z), d_z * math.exp(y - z)


@rule("np.logaddexp2(x, y)", label="logaddexp2: δ·base-2 softmax weights")
def logaddexp2(d_z, z, x, y):
    return d_z * 2.0 ** (x - z), d_z * 2.0 ** (y - z)


@rule("math.erfc(x)", label="erfc' = −2/sqrt(π)·exp(−x²)")
def erfc(d_z, z, x):
    return -d_z * 1.1283791670955126 * math.exp(-x * x)


@rule("np.fmod(x, y)", label="fmod: δ to x, −δ·trunc(x/y) to y", domain=[(0.3, 2.9), (1.1, 1.9)])
def fmod(d_z, z, x, y):
    return d_z, -d_z * np.trunc(x / y)


# --- piecewise constant: zero gradient ------------------------------------------
nondifferentiable("floor", "np.floor(x)")
nondifferentiable("ceil", "np.ceil(x)")
nondifferentiable("trunc", "np.trunc(x)")
nondifferentiable("sign", "np.sign(x)")
nondifferentiable("ifloor", "math.floor(x)", result="int")
nondifferentiable("iceil", "math.ceil(x)", result="int")
nondifferentiable("int", "int(x)", result="int")
nondifferentiable("floordiv", "x // y", inputs=("x", "y"), result="same", domain=[(0.3, 2.9), (1.1, 1.9)])
# the user's mark: the value passes, the derivative is declared zero (srcgrad.stop_gradient)
nondifferentiable("stop_gradient", "x", result="same", label="stop_gradient: a constant, no δ passes",
                  written="stop_gradient(x)")

BINOPS = {ast.MatMult: "matmul", ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
          ast.Pow: "pow", ast.Mod: "mod", ast.FloorDiv: "floordiv"}
UNARY = {ast.USub: "neg"}

# Python callables users write -> rule names (arity checked by normalize).
CALLS = {
    builtins.abs: "abs", builtins.max: "max", builtins.min: "min",
    builtins.float: "float", builtins.int: "int",
    math.fabs: "abs", np.abs: "abs", np.fabs: "abs", np.absolute: "abs",
    np.maximum: "max", np.minimum: "min", np.fmax: "max", np.fmin: "min",
    math.pow: "pow", np.power: "pow", np.float64: "float", np.square: "square",
    math.floor: "ifloor", math.ceil: "iceil", math.trunc: "int",
    np.floor: "floor", np.ceil: "ceil", np.trunc: "trunc", np.sign: "sign",
    math.atan2: "atan2", np.arctan2: "atan2", math.hypot: "hypot", np.hypot: "hypot",
    math.erf: "erf", np.clip: "clip", math.lgamma: "lgamma", math.gamma: "gamma",
    np.add: "add", np.subtract: "sub", np.multiply: "mul", np.divide: "div", np.true_divide: "div",
    np.negative: "neg", np.reciprocal: "recip",
    np.exp2: "exp2", np.cbrt: "cbrt", math.radians: "radians", np.radians: "radians", np.deg2rad: "radians",
    math.degrees: "degrees", np.degrees: "degrees", np.rad2deg: "degrees", np.logaddexp: "logaddexp",
    np.logaddexp2: "logaddexp2", math.erfc: "erfc", math.fmod: "fmod", np.fmod: "fmod",
    np.mod: "mod", np.remainder: "mod", np.where: "where", runtime.digamma: "digamma",
}
for _fn in ("exp2", "cbrt"):
    if hasattr(math, _fn):
        CALLS[getattr(math, _fn)] = _fn
for _name, _aliases in {
    "exp": ("exp",), "log": ("log",), "log10": ("log10",), "log2": ("log2",),
    "log1p": ("log1p",), "expm1": ("expm1",), "sqrt": ("sqrt",), "sin": ("sin",),
    "cos": ("cos",), "tan": ("tan",), "tanh": ("tanh",), "sinh": ("sinh",),
    "cosh": ("cosh",), "atan": ("atan", "arctan"), "asin": ("asin", "arcsin"),
    "acos": ("acos", "arccos"), "asinh": ("asinh", "arcsinh"), "acosh": ("acosh", "arccosh"),
    "atanh": ("atanh", "arctanh"),
}.items():
    for _alias in _aliases:
        for _module in (math, np):
            if hasattr(_module, _alias):
                CALLS[getattr(_module, _alias)] = _name

CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan, "tau": math.tau}
