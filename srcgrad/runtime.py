"""The tiny runtime that generated adjoints call (all Numba-compiled).

Tapes are plain NumPy arrays with an integer top; these helpers grow them.
`reserve` runs once before a `for` loop whose pushes are counted, so the
pushes inside need no bounds check, and in the checked pushes of
straight-line code when the tape is full. Inside loops a full tape does not
grow: the adjoint starts again with the size it needs (`tape_retry`), and
remembers that size for its next call (`remembered_size`, `remember_size`).
"""
import math

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic


BIG_TAPE_BYTES = 32 << 20


def jit(func):
    """`numba.njit(cache=True)`, compiled once per argument *type*, not per literal value.

    Numba types a constant argument as its value (`route(x, 0)`: Literal[int](0))
    and compiles a callee once per literal type it is called with, then once more
    for int64: each a full compile (0.05-0.2 s in a new process). The runtime
    helpers and the array kernels need no value at compile time, so their calls
    are typed with the values' plain types: one compile per array layout and
    rank, whatever the constants.
    """
    dispatcher = numba.njit(cache=True)(func)
    typed_by_value = dispatcher.get_call_template

    def get_call_template(args, kws):
        return typed_by_value(tuple(types.unliteral(a) for a in args),
                              {k: types.unliteral(v) for k, v in kws.items()})

    dispatcher.get_call_template = get_call_template
    return dispatcher


@jit
def reserve(tape, needed):
    """`tape`, or a copy with room for at least `needed` entries.

    Doubled while small; from 32 MiB on (where glibc's malloc stops reusing
    freed blocks and maps fresh pages from the kernel, page-faulted on first
    touch) grown fourfold: less copying and faulting, and the part never
    written is never touched, so it costs no memory."""
    if needed <= tape.shape[0]:
        return tape
    size = max(needed, (2 if tape.nbytes < BIG_TAPE_BYTES else 4) * tape.shape[0])
    bigger = np.empty(size, dtype=tape.dtype)
    copy_into(bigger, tape, tape.shape[0])
    return bigger


@jit
def copy_into(dest, src, n):
    """dest[:n] = src[:n] as a loop (LLVM makes it a memcpy): Numba's slice
    assignment would compile its shape-mismatch message formatting, about 2 s
    on a fresh installation, for a check that cannot fail here."""
    for k in range(n):
        dest[k] = src[k]


@jit
def range_len(start, stop, step):
    """len(range(start, stop, step)) in compiled code."""
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // (-step))


@jit
def digamma(x):
    """ψ(x) = Γ'(x)/Γ(x), the derivative of lgamma: shifted up to x ≥ 10 by
    ψ(x) = ψ(x+1) − 1/x, then the asymptotic series (truncation < 1e-16 there);
    x < 0 by reflection ψ(x) = ψ(1−x) − π/tan(πx). Poles (0, −1, …) give inf/nan."""
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    shift = 0.0
    if x < 0.0:
        shift = -math.pi / math.tan(math.pi * x)
        x = 1.0 - x
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    r = 1.0 / (x * x)
    series = r * (1.0 / 12 - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r * (1.0 / 132 - r * (691.0 / 32760))))))
    return shift + acc + math.log(x) - 0.5 / x - series


_BERNOULLI = np.array([1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66, -691.0 / 2730, 7.0 / 6,
                       -3617.0 / 510, 43867.0 / 798, -174611.0 / 330])     # B_2, B_4, …, B_20


@jit
def polygamma(n, x):
    """ψ⁽ⁿ⁾(x), the n-th derivative of digamma (n ≥ 1): shifted up to x ≥ 20 by
    ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x+1) + (−1)ⁿ⁺¹ n!/xⁿ⁺¹, then the asymptotic series
    (−1)ⁿ⁺¹ [(n−1)!/xⁿ + n!/(2xⁿ⁺¹) + Σₖ B₂ₖ (2k+n−1)!/((2k)! x²ᵏ⁺ⁿ)];
    for n = 1 and x < 0 the reflection ψ'(x) = π²/sin²(πx) − ψ'(1−x).
    Poles (0, −1, …) and n ≥ 2 at x < 0 give nan."""
    if x <= 0.0 and (x == math.floor(x) or n > 1):
        return math.nan
    if x < 0.0:
        s = math.sin(math.pi * x)
        return math.pi * math.pi / (s * s) - _polygamma_positive(1, 1.0 - x)
    return _polygamma_positive(n, x)


@jit
def _polygamma_positive(n, x):
    """ψ⁽ⁿ⁾(x) for x > 0 (not recursive: Numba's cache mishandles recursive functions)."""
    sign = 1.0 if n % 2 == 1 else -1.0
    n_factorial = math.gamma(n + 1.0)
    acc = 0.0
    while x < 20.0:
        acc += n_factorial / x ** (n + 1)
        x += 1.0
    series = math.gamma(n * 1.0) / x ** n + n_factorial / (2.0 * x ** (n + 1))
    for k in range(1, 11):
        term = math.exp(math.lgamma(2.0 * k + n) - math.lgamma(2.0 * k + 1.0)) / x ** (2 * k + n)
        series += _BERNOULLI[k - 1] * term
    return sign * (acc + series)


@jit
def equal_length(n, m, where):
    """The common length of two vectors that `scalarize` keeps in one buffer;
    `where` (the user's file:line) names the statement when they differ."""
    if n != m:
        raise ValueError(where + ": operands could not be broadcast together (a vector made inside a loop "
                         "needs operands of equal length; srcgrad does not broadcast a length-1 one there)")
    return n


@jit
def slice_index(n, i):
    """Where slice bound `i` lands in a vector of length n, as Python slicing
    resolves it: negative counts from the end, then clipped to [0, n]."""
    if i < 0:
        i += n
    return min(max(i, 0), n)


# -- a tape size remembered between calls ----------------------------------------------------
# One int64 per (adjoint, tape) in the compiled code's own data: zero when the
# code is loaded (a new process, or the disk cache), then the size the last
# call needed. Not shared state anyone reads for a result: a stale value (two
# threads, say) only costs one more start of the adjoint, never a wrong one.

def _size_slot(builder, key):
    name = f"srcgrad_tape_size_{key}"
    try:
        return builder.module.get_global(name)
    except KeyError:
        slot = ir.GlobalVariable(builder.module, ir.IntType(64), name)
        slot.linkage = "internal"
        slot.initializer = ir.Constant(ir.IntType(64), 0)
        return slot


@intrinsic
def remembered_size(typingctx, key):
    """The size last remembered under `key` (a string constant), 0 at first."""
    if not isinstance(key, types.StringLiteral):
        return None

    def codegen(context, builder, signature, args):
        return builder.load(_size_slot(builder, key.literal_value))
    return types.int64(key), codegen


@intrinsic
def remember_size(typingctx, key, size):
    """Remember `size` under `key` (a string constant) for the next call."""
    if not isinstance(key, types.StringLiteral) or not isinstance(size, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[1], size, types.int64)
        builder.store(value, _size_slot(builder, key.literal_value))
        return context.get_dummy_value()
    return types.none(key, size), codegen


@intrinsic
def radd(typingctx, total, term):
    """total + term as an addition LLVM may reassociate: a δ summed in a
    register through a loop (`unsigned`), which its vectoriser can then
    split across lanes, as NumPy's pairwise sum regroups its terms."""
    if not isinstance(total, types.Float) or not isinstance(term, (types.Float, types.Integer, types.Boolean)):
        return None

    def codegen(context, builder, signature, args):
        a = context.cast(builder, args[0], total, types.float64)
        b = context.cast(builder, args[1], term, types.float64)
        return builder.fadd(a, b, flags=("reassoc",))
    return types.float64(total, term), codegen
