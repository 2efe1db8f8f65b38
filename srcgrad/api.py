"""Stage 10: the public API — grad, value_and_grad, source, check_grad.

A gradient function is a plain Python function with the parameters of `f`.
Called from Python it checks and converts the arguments, picks (or builds)
the compiled adjoint for their kinds (scalar / int / 1-D or 2-D array) and
returns the gradient. Called from inside a user's `@numba.njit` code, a Numba
overload resolves it at compile time to the same compiled adjoint.

    >>> import srcgrad
    >>> def f(x, y):
    ...     return x * y + y
    >>> srcgrad.grad(f, wrt=("x", "y"))(2.0, 3.0)   # doctest: +SKIP
    (3.0, 3.0)
"""
import inspect
import os
import re
import traceback
from dataclasses import dataclass, field
from typing import NamedTuple

import numba
import numpy as np
from numba.core import types as nbtypes
from numba.extending import overload

from . import pipeline, side_by_side
from .checkpoint import check_option
from .errors import SrcgradError
from .parse import _unwrap, parse

_NUMBA_ERRORS = (numba.core.errors.TypingError, numba.core.errors.LoweringError,
                 numba.core.errors.UnsupportedError)


def grad(f=None, wrt=0, checkpoint=None, mode="rev"):
    """Gradient of scalar-valued `f` w.r.t. `wrt` (position, name or tuple).

    Usable as `grad(f)`, `@grad` or `@grad(wrt=("w", "b"))`.

    mode="rev" (default): one reverse sweep; mode="fwd": one forward (tangent)
    sweep per input element, in one compiled loop (cheaper for a few inputs
    and long programs with much to tape). Either may be called inside another
    function srcgrad differentiates (its derivative code is inlined there).

    `checkpoint=k` stores the state of each top-level `for` loop every k
    iterations instead of taping every iteration, and recomputes one segment
    at a time in the backward sweep (memory ~ T/k + k instead of T, for about
    one more forward run of the loop); `checkpoint="sqrt"` picks k = √T.
    """
    if f is None:
        return lambda func: grad(func, wrt, checkpoint, mode)
    return _GradFunction(f, wrt, with_value=False, checkpoint=checkpoint, mode=mode).wrapper


def value_and_grad(f=None, wrt=0, checkpoint=None, mode="rev"):
    """Like `grad`, but the function returns `(value, gradient)`."""
    if f is None:
        return lambda func: value_and_grad(func, wrt, checkpoint, mode)
    return _GradFunction(f, wrt, with_value=True, checkpoint=checkpoint, mode=mode).wrapper


def source(g, *example_args, wrt=None):
    """The generated adjoint of `g` (a srcgrad gradient, or a plain function
    with `wrt`) as Python source. With example arguments, for their kinds (and
    a last line giving the tape's size for them, see `tape_size`); without,
    for the last compiled kinds or kinds guessed from the code."""
    gf = _grad_function_of(g, wrt)
    if example_args:
        compiled, size = _tape_of(gf, example_args)
        flags = f" + {size.flags} flags" if size.flags else ""
        return compiled.adjoint_source + f"# tape for these arguments: {size.floats} float64 + {size.ints} int64 " \
                                         f"entries{flags} = {size.nbytes / 1024:.1f} KiB after the forward sweep\n"
    if gf.compiled:
        kinds = list(gf.compiled)[-1]
    else:
        kinds = guess_kinds(gf.f)
    return gf.get(kinds).adjoint_source


def source_html(g, *example_args, wrt=None):
    """A self-contained HTML page: the function's source beside its generated
    adjoint (as `source` gives it), each source line paired with the adjoint
    lines generated from it (`srcgrad show --html`)."""
    gf = _grad_function_of(g, wrt)
    adjoint = source(g, *example_args, wrt=wrt)
    func = _unwrap(gf.f)
    title = f"srcgrad: adjoint of {func.__name__} ({os.path.basename(_file(func))}), wrt {', '.join(gf.wrt)}"
    return side_by_side.render(func, adjoint, title)


class TapeSize(NamedTuple):
    """Entries on the tapes after the forward sweep: float64 values, int64
    integers (indices, trip counts, shapes) and one-byte flags (branches)."""
    floats: int
    ints: int
    flags: int

    @property
    def nbytes(self):
        return 8 * (self.floats + self.ints) + self.flags


def tape_size(g, *args, wrt=None):
    """TapeSize(floats, ints, flags): what the tape of `g` (a srcgrad gradient,
    or a plain function with `wrt`) holds after the forward sweep for `args`
    (`.nbytes`: its memory). With checkpointing: the snapshots plus one
    segment's tape."""
    return _tape_of(_grad_function_of(g, wrt), args)[1]


def _grad_function_of(g, wrt):
    gf = getattr(g, "__srcgrad__", None)
    if gf is None or (wrt is not None and _normalize_wrt(gf.f, wrt) != gf.wrt):
        gf = _GradFunction(gf.f if gf else g, 0 if wrt is None else wrt, with_value=False, public=False,
                           checkpoint=gf.checkpoint if gf else None)
    return gf


def _tape_of(gf, args):
    values, kinds = gf.convert(args)
    compiled = gf.get(kinds)
    return compiled, TapeSize(*(int(n) for n in compiled.tape_entries(*values)))


@dataclass
class GradCheck:
    """Worst relative error of srcgrad's gradient against central differences."""
    errors: dict
    rtol: float
    details: dict = field(default_factory=dict)

    @property
    def max_error(self):
        return max(self.errors.values(), default=0.0)

    @property
    def ok(self):
        return self.max_error <= self.rtol

    def __str__(self):
        rows = [f"  {name:>12}: worst relative error {err:.2e}" for name, err in self.errors.items()]
        verdict = "OK" if self.ok else "MISMATCH"
        return f"gradient check vs central differences ({verdict}, rtol {self.rtol:g}):\n" + "\n".join(rows)


def check_grad(f, *args, wrt=0, eps=1e-6, rtol=1e-5):
    """Compare srcgrad's gradient of `f` at `args` with central differences."""
    gf = _GradFunction(f, wrt, with_value=False, public=False)
    values, kinds = gf.convert(args)
    compiled = gf.get(kinds)
    out = gf.run(compiled, values)
    grads = out[1:]
    errors, details = {}, {}
    for name, g in zip(gf.wrt, grads):
        pos = gf.params.index(name)
        fd = _central_difference(compiled.primal, values, pos, eps)
        g = np.asarray(g, dtype=float)
        scale = np.maximum(np.maximum(np.abs(fd), np.abs(g)), 1.0)
        errors[name] = float(np.max(np.abs(g - fd) / scale)) if g.size else 0.0
        details[name] = (g, fd)
    return GradCheck(errors, rtol, details)


def _central_difference(primal, values, pos, eps):
    x = values[pos]
    if np.ndim(x) == 0:
        h = eps * max(1.0, abs(float(x)))
        up, down = list(values), list(values)
        up[pos], down[pos] = float(x) + h, float(x) - h
        return np.array((primal(*up) - primal(*down)) / (2 * h))
    x = np.array(x, dtype=float)
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        h = eps * max(1.0, abs(x[idx]))
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        up, down = list(values), list(values)
        up[pos], down[pos] = xp, xm
        out[idx] = (primal(*up) - primal(*down)) / (2 * h)
    return out


# -- the gradient function object ---------------------------------------------------------
class _GradFunction:
    def __init__(self, f, wrt, with_value, public=True, checkpoint=None, mode="rev"):
        parsed = parse(f)                     # fails early on source-less functions
        self.f = parsed.func
        if mode not in ("rev", "fwd"):
            raise SrcgradError(f"mode={mode!r}", filename=_file(self.f), lineno=_line(self.f), construct="wrt",
                               hint='use mode="rev" (reverse sweep) or mode="fwd" (forward sweeps)')
        self.mode = mode
        self.forward = None                   # mode="fwd": the Jacobian transform doing the sweeps
        self.checkpoint = check_option(checkpoint, _file(self.f), _line(self.f))
        pipeline.normalized(self.f)           # unsupported syntax is reported at once
        self.params = [p.name for p in inspect.signature(self.f).parameters.values()]
        self.wrt = _normalize_wrt(self.f, wrt)
        self.single = not isinstance(wrt, (tuple, list))
        self.with_value = with_value
        self.compiled = {}
        # only a gradient handed to the user gets a Python wrapper and a Numba overload
        self.wrapper = self._make_wrapper() if public else None

    def get(self, kinds):
        kinds = tuple(kinds)
        if kinds not in self.compiled:
            self._check_wrt_kinds(kinds)
            self.compiled[kinds] = pipeline.build(self.f, self.wrt, kinds, value=self.with_value,
                                                  checkpoint=self.checkpoint)
        return self.compiled[kinds]

    def _check_wrt_kinds(self, kinds):
        for name in self.wrt:
            kind = kinds[self.params.index(name)]
            if kind not in ("float", "int") and not (isinstance(kind, tuple) and kind[2] == "float64"):
                what = f"a {kind[1]}-D {kind[2]} array" if isinstance(kind, tuple) else f"a {kind}"
                raise SrcgradError(f"the argument '{name}' to differentiate is {what}", filename=_file(self.f),
                                   lineno=_line(self.f), construct="non-float wrt argument",
                                   hint="pass floats or float64 arrays for the wrt parameters")

    def convert(self, args, kwargs=None):
        """Checked, converted argument values and their kinds."""
        if not kwargs and len(args) == len(self.params):
            kinds = tuple(map(_fast_kind, args))
            if None not in kinds:           # the common case: floats, ints, float64 arrays
                return args, kinds
        try:
            bound = inspect.signature(self.f).bind(*args, **(kwargs or {}))
        except TypeError as exc:
            raise SrcgradError(f"bad arguments for {self.f.__name__}: {exc}", filename=_file(self.f),
                               lineno=_line(self.f), construct="call") from None
        bound.apply_defaults()
        values, kinds = [], []
        for name in self.params:
            value, kind = _kind_of(bound.arguments[name], name, self)
            values.append(value)
            kinds.append(kind)
        return values, tuple(kinds)

    def run(self, compiled, values):
        return self.guarded(compiled.adjoint, *values, 1.0)

    def guarded(self, compiled_function, *args):
        """Call generated code; its failures become errors located in the user's source."""
        values = args[:len(self.params)]        # (the user's arguments: located by running f on them)
        try:
            return compiled_function(*args)
        except IndexError as exc:          # raised by the generated bounds checks
            where = re.search(r"for (\S+) at (\S+):(\d+)", str(exc))
            if where is None:
                raise
            filename = _file(self.f) if os.path.basename(_file(self.f)) == where.group(2) else where.group(2)
            raise SrcgradError(f"an index into '{where.group(1)}' is out of range for its shape",
                               filename=filename, lineno=int(where.group(3)),
                               construct="index out of range",
                               hint="check the shapes of the arguments against the loops that index them") from None
        except ValueError as exc:         # shapes that do not fit (broadcasting, products)
            raise _located_failure(self.f, values, exc) from None
        except _NUMBA_ERRORS as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SrcgradError(f"the generated adjoint of {self.f.__name__} failed to compile ({first})",
                               filename=_file(self.f), lineno=_line(self.f), construct="numba compilation",
                               hint="this is a srcgrad bug or an unsupported construct: please report it "
                                    "with the function") from None

    def call(self, *args, **kwargs):
        if not kwargs:     # the common call (floats, ints, float64 arrays, compiled before): ~1 µs less
            compiled = self.compiled.get(tuple(map(_fast_kind, args))) if self.mode == "rev" else None
            if compiled is not None:
                out = self.guarded(compiled.adjoint, *args, 1.0)
                grads = tuple(map(_plain, out[1:]))
                result = grads[0] if self.single else grads
                return (float(out[0]), result) if self.with_value else result
        values, kinds = self.convert(args, kwargs)
        if self.mode == "fwd":
            return self.call_forward(values, kinds)
        compiled = self.compiled.get(kinds) or self.get(kinds)
        out = self.run(compiled, values)
        grads = tuple(_plain(g) for g in out[1:])
        result = grads[0] if self.single else grads
        return (float(out[0]), result) if self.with_value else result

    def call_forward(self, values, kinds):
        """mode="fwd": the gradient as the Jacobian of a scalar output, column by column."""
        from .transforms import _Transform
        if self.forward is None:
            self.forward = _Transform(self.f, self.wrt if not self.single else self.wrt[0], "jacobian", mode="fwd")
        shape = self.forward.output_shape(list(values), kinds)
        if shape != ():
            raise SrcgradError(f"{self.f.__name__} returns an array of shape {shape}; a gradient needs one scalar "
                               "output", filename=_file(self.f), lineno=_line(self.f), construct="non-scalar output",
                               hint="use jacobian for vector-valued functions")
        result = self.forward.jacobian(list(values), kinds)
        result = _plain(result) if self.single else tuple(_plain(g) for g in result)
        if not self.with_value:
            return result
        return float(self.forward.value(list(values), kinds)), result

    def dispatchers(self):
        out = []
        for compiled in self.compiled.values():
            out += [compiled.primal, compiled.adjoint]
        return out

    # -- Python and Numba entry points ------------------------------------------------------
    def _make_wrapper(self):
        params = ", ".join(self.params)
        suffix = "value_and_grad" if self.with_value else "grad"
        name = f"{self.f.__name__}_{suffix}"
        namespace = {"_call": self.call}
        exec(f"def {name}({params}):\n    return _call({params})\n", namespace)
        wrapper = namespace[name]
        wrapper.__defaults__ = self.f.__defaults__
        wrapper.__doc__ = f"{'Value and gradient' if self.with_value else 'Gradient'} of " \
                          f"{self.f.__name__} w.r.t. {', '.join(self.wrt)} (generated by srcgrad)."
        wrapper.__srcgrad__ = self
        wrapper.__srcgrad_primal__ = self.f
        wrapper.dispatchers = self.dispatchers
        wrapper.source = lambda *example_args: source(wrapper, *example_args)
        namespace = {"_impl_for": self._numba_impl}
        exec(f"def _overload({params}):\n    return _impl_for(({params}{',' if len(self.params) == 1 else ''}))\n",
             namespace)
        overload(wrapper)(namespace["_overload"])
        return wrapper

    def _numba_impl(self, numba_types):
        if self.mode == "fwd":
            raise SrcgradError(f"a mode=\"fwd\" gradient of {self.f.__name__} called from @njit code",
                               filename=_file(self.f), lineno=_line(self.f), construct="numba call",
                               hint="call it from Python, or use the default reverse mode inside @njit code")
        kinds = tuple(_kind_of_numba(t, name) for t, name in zip(numba_types, self.params))
        compiled = self.get(kinds)
        picks = [f"out[{k + 1}]" for k in range(len(self.wrt))]
        grads = picks[0] if self.single else f"({', '.join(picks)},)"
        result = f"(out[0], {grads})" if self.with_value else grads
        params = ", ".join(self.params)
        namespace = {"_adjoint": compiled.adjoint}
        exec(f"def impl({params}):\n    out = _adjoint({params}, 1.0)\n    return {result}\n", namespace)
        return namespace["impl"]


def _plain(g):
    if type(g) is float:                     # Numba returns float64 scalars as Python floats
        return g
    return g if isinstance(g, np.ndarray) and g.ndim else float(g)


_FLOAT64 = np.dtype(np.float64)
_SCALAR_KINDS = {float: "float", int: "int", np.float64: "float"}


def _fast_kind(value):
    """The kind of an argument that needs no conversion, else None."""
    kind = _SCALAR_KINDS.get(type(value))
    if kind is not None:
        return kind
    if type(value) is np.ndarray and (value.dtype is _FLOAT64 or value.dtype == _FLOAT64) and 1 <= value.ndim <= 2:
        return ("array", value.ndim, "float64")
    return None


def _file(f):
    return inspect.getsourcefile(f) or "<unknown>"


def _line(f):
    return f.__code__.co_firstlineno


def _normalize_wrt(f, wrt):
    params = [p.name for p in inspect.signature(f).parameters.values()]
    items = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    names = []
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not 0 <= item < len(params):
                raise SrcgradError(f"wrt={item} but {f.__name__} has {len(params)} parameter(s)",
                                   filename=_file(f), lineno=_line(f), construct="wrt",
                                   hint=f"use a position 0..{len(params) - 1} or a name from {params}")
            names.append(params[item])
        elif isinstance(item, str) and item in params:
            names.append(item)
        else:
            raise SrcgradError(f"wrt={item!r} is not a parameter of {f.__name__}", filename=_file(f),
                               lineno=_line(f), construct="wrt", hint=f"choose from {params}")
    if not names:
        raise SrcgradError("wrt is empty", filename=_file(f), lineno=_line(f), construct="wrt",
                           hint="name at least one parameter")
    return tuple(names)


def _kind_of(value, name, gf):
    """(converted value, kind) of one argument; never mutates user data."""
    is_wrt = name in gf.wrt

    def bad(what, hint):
        return SrcgradError(f"argument '{name}' of {gf.f.__name__} is {what}", filename=_file(gf.f),
                            lineno=_line(gf.f), construct="bad argument", hint=hint)
    if isinstance(value, (bool, np.bool_)):
        if is_wrt:
            raise bad("a bool", "cannot differentiate w.r.t. a bool: pass a float")
        return bool(value), "bool"
    if isinstance(value, (int, np.integer)):
        return int(value), "int"
    if isinstance(value, (float, np.floating)):
        return float(value), "float"
    if isinstance(value, np.ndarray):
        if value.ndim not in (1, 2):
            raise bad(f"a {value.ndim}-D array", "only scalars and 1-D or 2-D arrays are supported")
        if value.dtype.kind == "f":
            return (value if value.dtype == np.float64 else value.astype(np.float64)), ("array", value.ndim, "float64")
        if is_wrt:
            raise bad(f"an array of {value.dtype}", "pass a float64 array for a wrt parameter")
        if value.dtype.kind in "iu":
            return value.astype(np.int64, copy=False), ("array", value.ndim, "int64")
        if value.dtype.kind == "b":
            return value, ("array", value.ndim, "bool")
        raise bad(f"an array of {value.dtype}", "use float64, int64 or bool arrays")
    hint = "convert it with np.asarray(...)" if isinstance(value, (list, tuple)) else "pass numbers or NumPy arrays"
    raise bad(f"a {type(value).__name__}", hint)


def _kind_of_numba(t, name):
    if isinstance(t, nbtypes.Boolean):
        return "bool"
    if isinstance(t, nbtypes.Integer):
        return "int"
    if isinstance(t, nbtypes.Float):
        return "float"
    if isinstance(t, nbtypes.Array) and t.ndim in (1, 2):
        dtype = t.dtype
        if isinstance(dtype, nbtypes.Float) and dtype.bitwidth == 64:
            return ("array", t.ndim, "float64")
        if isinstance(dtype, nbtypes.Integer):
            return ("array", t.ndim, "int64")
        if isinstance(dtype, nbtypes.Boolean):
            return ("array", t.ndim, "bool")
    raise SrcgradError(f"argument '{name}' has Numba type {t}", construct="bad argument",
                       hint="use floats, ints or 1-D/2-D float64/int64 arrays")


def guess_kinds(f):
    """Argument kinds guessed from how `f` uses its parameters (for `source`
    without example arguments): indexed -> array of that rank, range()/len
    bounds -> int, otherwise float."""
    import ast
    node = parse(f).node
    params = [a.arg for a in node.args.posonlyargs + node.args.args]
    ranks, ints = {}, set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript):
            depth, base = 0, sub
            while isinstance(base, ast.Subscript):
                idx = base.slice
                depth += len(idx.elts) if isinstance(idx, ast.Tuple) else 1
                base = base.value
            if isinstance(base, ast.Name):
                ranks[base.id] = max(ranks.get(base.id, 0), depth)
        if isinstance(sub, ast.Attribute) and sub.attr == "shape" and isinstance(sub.value, ast.Name):
            ranks.setdefault(sub.value.id, 1)
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
            names = [a.id for a in sub.args if isinstance(a, ast.Name)]
            if sub.func.id == "range":
                ints.update(names)
            elif sub.func.id == "len":
                for name in names:
                    ranks.setdefault(name, 1)
    kinds = []
    for p in params:
        if p in ranks:
            kinds.append(("array", min(max(ranks[p], 1), 2), "float64"))
        elif p in ints:
            kinds.append("int")
        else:
            kinds.append("float")
    return tuple(kinds)


__all__ = ["grad", "value_and_grad", "source", "tape_size", "check_grad", "GradCheck", "guess_kinds"]


def _located_failure(f, values, exc):
    """A runtime failure of compiled code (bad shapes), located by running the
    user's own Python function on the same arguments: NumPy raises at the
    offending line, which the error then names."""
    numpy_dir = os.path.dirname(np.__file__)
    shapes = ", ".join(f"{name}: {np.shape(v)}" for name, v in zip(inspect.signature(f).parameters, values)
                       if np.ndim(v))
    try:
        f(*[v.copy() if isinstance(v, np.ndarray) else v for v in values])
    except Exception as py_exc:         # noqa: BLE001  (any error the user's code raises names its line)
        frames = [fr for fr in traceback.extract_tb(py_exc.__traceback__)
                  if not fr.filename.startswith(numpy_dir) and fr.filename != __file__]
        if frames:
            frame = frames[-1]
            message = str(py_exc).strip().splitlines()[0] if str(py_exc).strip() else type(py_exc).__name__
            head = message.split(":")[0].strip()
            operation = head if head.isidentifier() else _operation(frame.line or "")
            return SrcgradError(f"`{(frame.line or '').strip()}` fails for these arguments in {operation}: {message}",
                                filename=frame.filename, lineno=frame.lineno, construct="shape mismatch",
                                hint=f"check the argument shapes ({shapes})")
    return SrcgradError(f"the compiled gradient of {f.__name__} failed: {exc}", filename=_file(f),
                        lineno=_line(f), construct="runtime error", hint=f"check the argument shapes ({shapes})")


def _operation(line):
    """The NumPy function (or operator) a source line applies, for error messages."""
    found = re.search(r"np\.(\w+)", line)
    if found:
        return f"np.{found.group(1)}"
    return "@" if "@" in line else "broadcasting"
