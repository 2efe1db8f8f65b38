"""Stage 10b: the public API beyond `grad` — jvp, vjp, jacobian, hvp, hessian.

All are generated source compiled with Numba, like `grad`:

- `jvp` runs the tangent program (`tangent`): the primal with t_z = Σ ∂g/∂x·t_x
  after each step, one pass, any output shape;
- `vjp` differentiates f's output dotted with a cotangent u (`pipeline.Cotangent`)
  in reverse mode: uᵀJ in one reverse sweep;
- `jacobian` runs one of them per input element (mode="fwd": columns) or per
  output element (mode="rev": rows) inside one compiled driver loop; "auto"
  picks the side with fewer sweeps;
- `hvp` differentiates the tangent program in reverse mode (reverse over
  forward): ∇ₓ(∇f·v) = H v in one forward and one reverse sweep; `hessian`
  runs it for every basis vector in one compiled loop.

    >>> import srcgrad, numpy as np
    >>> def f(x):
    ...     return np.sum(x ** 3)
    >>> srcgrad.hessian(f)(np.array([1.0, 2.0]))     # doctest: +SKIP
    array([[ 6.,  0.],
           [ 0., 12.]])
"""
from dataclasses import dataclass

import numba
import numpy as np

from . import jit, pipeline
from .api import _GradFunction, _file, _line
from .errors import SrcgradError
from .typeinfer import is_array


def jvp(f, wrt=0):
    """Forward mode: `jvp(f, wrt)(*args, *tangents)` -> (value, tangent of the output).

    One tangent per wrt parameter, in wrt order, shaped like that argument:
    the direction in which the derivative is taken. The output may be a
    scalar or an array; its tangent has its shape (J·v)."""
    return _Transform(f, wrt, "jvp").wrapper


def vjp(f, wrt=0):
    """Reverse mode with an output cotangent: `vjp(f, wrt)(*args, u)` -> uᵀJ
    for each wrt parameter (one value, or a tuple for a tuple `wrt`); u has the
    output's shape (a float for a scalar output: u·∇f)."""
    return _Transform(f, wrt, "vjp").wrapper


def jacobian(f, wrt=0, mode="auto", sparsity=None):
    """`jacobian(f, wrt)(*args)` -> J, shaped output.shape + input.shape (a tuple
    of them for a tuple `wrt`). mode="fwd": one forward sweep per input
    element; "rev": one reverse sweep per output element; "auto": whichever
    needs fewer sweeps for these arguments. All sweeps run in one compiled loop.

    `sparsity`: where J may be non-zero, as a boolean matrix (or anything with
    `.nonzero()`, e.g. a SciPy sparse matrix) of shape (output.size,
    input.size), or for a tuple `wrt` one per parameter (columns of all of them
    side by side, in wrt order); or "detect": found once, on the first call,
    from two dense Jacobians at slightly moved arguments. Then columns sharing
    no row are seeded together (greedy colouring): one forward sweep per
    colour, and the result is a `SparseJacobian` in CSR form over those columns."""
    if mode not in ("auto", "fwd", "rev"):
        raise SrcgradError(f"jacobian mode={mode!r}", construct="jacobian", hint='use "auto", "fwd" or "rev"')
    if sparsity is not None and mode == "rev":
        raise SrcgradError("jacobian with a sparsity pattern seeds columns (forward mode)", construct="jacobian",
                           hint='leave mode="auto" (or "fwd") with sparsity=')
    return _Transform(f, wrt, "jacobian", mode=mode, sparsity=sparsity).wrapper


@dataclass(frozen=True)
class SparseJacobian:
    """A Jacobian in CSR form: row r holds data[indptr[r]:indptr[r + 1]] at
    columns indices[indptr[r]:indptr[r + 1]]; `colors` is the number of
    forward sweeps it took."""
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple
    colors: int

    def toarray(self):
        dense = np.zeros(self.shape)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        dense[rows, self.indices] = self.data
        return dense

    def tocsr(self):
        """A scipy.sparse.csr_matrix (SciPy needed)."""
        from scipy.sparse import csr_matrix
        return csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)


def hvp(f, wrt=0):
    """Hessian-vector product: `hvp(f, wrt)(*args, *v)` -> H·v (one per wrt
    parameter), by reverse mode over the tangent program: about the cost of
    three evaluations of f, whatever the size of x."""
    return _Transform(f, wrt, "hvp").wrapper


def hessian(f, wrt=0, diagonal=False):
    """`hessian(f, wrt)(*args)` -> H (x.shape + x.shape), or for a tuple `wrt`
    the blocks ((H_xx, H_xy), (H_yx, H_yy)); `diagonal=True` gives only
    ∂²f/∂x_i² (x.shape; a tuple per wrt parameter). One Hessian-vector
    product per element of the wrt arguments, in one compiled loop."""
    return _Transform(f, wrt, "hessian", diagonal=diagonal).wrapper


class _Transform:
    """One derivative function of `f`: checks arguments, compiles per argument kinds."""

    def __init__(self, f, wrt, what, mode="auto", diagonal=False, sparsity=None):
        self.gf = _GradFunction(f, wrt, with_value=False, public=False)
        self.f, self.wrt, self.params, self.single = self.gf.f, self.gf.wrt, self.gf.params, self.gf.single
        self.what, self.mode, self.diagonal = what, mode, diagonal
        self.sparsity = sparsity
        self.pattern = None             # (rows, cols, colours, column counts per wrt), made on the first call
        self.compiled = {}
        self.shapes = {}
        self.wrapper = self._make_wrapper()

    # -- arguments ---------------------------------------------------------------------------
    def split(self, args, extra):
        """(primal arguments, extra arguments) of a call taking `extra` more positionally."""
        n = len(self.params)
        primal_count = len(args) - extra
        defaults = len(self.f.__defaults__ or ())
        if not n - defaults <= primal_count <= n:
            names = ", ".join(self.params)
            more = {"jvp": " and one tangent per wrt parameter", "hvp": " and one vector per wrt parameter",
                    "vjp": " and the output's cotangent"}.get(self.what, "")
            raise SrcgradError(f"{self.f.__name__}'s {self.what} takes {n + extra} arguments ({names}{more}), "
                               f"got {len(args)}", filename=_file(self.f), lineno=_line(self.f),
                               construct=f"{self.what} call", hint="pass the arguments positionally")
        values, kinds = self.gf.convert(args[:primal_count])
        return list(values), kinds, list(args[primal_count:])

    def direction(self, value, like, what):
        """A tangent/cotangent/vector argument checked against the value it goes with."""
        if np.ndim(like) == 0:
            if np.ndim(value) != 0:
                raise self.bad(f"{what} is an array of shape {np.shape(value)} for a scalar", "pass a float")
            return float(value)
        array = np.asarray(value, dtype=np.float64)
        if array.shape != np.shape(like):
            raise self.bad(f"{what} has shape {array.shape}, expected {np.shape(like)}",
                           "give it the shape of the value it goes with")
        return array

    def bad(self, message, hint):
        return SrcgradError(f"{self.f.__name__}: {message}", filename=_file(self.f), lineno=_line(self.f),
                            construct=f"{self.what} argument", hint=hint)

    # -- calls -----------------------------------------------------------------------------------
    def call(self, *args):
        if self.what == "jvp":
            values, kinds, tangents = self.split(args, len(self.wrt))
            tangents = [self.direction(t, values[self.params.index(w)], f"the tangent of '{w}'")
                        for t, w in zip(tangents, self.wrt)]
            compiled = self.get(("jvp", kinds))
            value, t_out = self.gf.guarded(compiled.jvp, *values, *tangents)
            return _unshared(value, values, tangents), _unshared(t_out, values, tangents)
        if self.what == "vjp":
            values, kinds, (u,) = self.split(args, 1)
            compiled = self.get(("vjp", kinds))
            u = self.direction(u, np.empty(self.output_shape(values, kinds)), "the cotangent")
            out = self.gf.guarded(compiled.adjoint, *values, u, 1.0)
            return self.picked(out[1:])
        if self.what == "hvp":
            values, kinds, vectors = self.split(args, len(self.wrt))
            vectors = [self.direction(v, values[self.params.index(w)], f"the vector for '{w}'")
                       for v, w in zip(vectors, self.wrt)]
            compiled = self.get(("hvp", kinds))
            out = self.gf.guarded(compiled.adjoint, *values, *vectors, 1.0)
            return self.picked(out[1:])
        values, kinds, _ = self.split(args, 0)
        if self.what == "jacobian":
            return self.jacobian(values, kinds)
        return self.hessian(values, kinds)

    def output_shape(self, values, kinds):
        """The shape of f's output for these arguments: from one run of the
        primal, remembered per argument shapes (and int values, which may size arrays)."""
        key = (kinds,) + tuple(np.shape(v) if np.ndim(v) else (v if isinstance(v, int) else None) for v in values)
        if key not in self.shapes:
            self.shapes[key] = np.shape(self.value(values, kinds))
        return self.shapes[key]

    def value(self, values, kinds):
        """f(*values) by compiled code: the forward-mode program with zero
        tangents where forward sweeps follow (no second program to compile),
        else the primal alone."""
        if self.what == "jacobian" and (self.mode == "fwd" or self.sparsity is not None):
            zeros = [np.zeros(np.shape(values[self.params.index(w)])) if np.ndim(values[self.params.index(w)])
                     else 0.0 for w in self.wrt]
            return self.gf.guarded(self.get(("jvp", kinds)).jvp, *values, *zeros)[0]
        return self.gf.guarded(self.get(("value", kinds)), *values)

    def picked(self, grads):
        grads = tuple(_plain(g) for g in grads)
        return grads[0] if self.single else grads

    def jacobian(self, values, kinds):
        sizes = [int(np.size(values[self.params.index(w)])) for w in self.wrt]
        mode = self.mode
        out_shape = self.output_shape(values, kinds)
        if self.sparsity is not None:
            return self.sparse_jacobian(values, kinds, sizes, int(np.prod(out_shape)))
        if mode == "auto":
            mode = "fwd" if sum(sizes) <= int(np.prod(out_shape)) else "rev"
        driver = self.get((f"jac{mode}", kinds))
        dims = [int(d) for d in out_shape] + [1] * (2 - len(out_shape))
        blocks = self.gf.guarded(driver, *values, *dims)
        shaped = tuple(block.reshape(out_shape + np.shape(values[self.params.index(w)]))
                       for block, w in zip(blocks, self.wrt))
        return shaped[0] if self.single else shaped

    def sparse_jacobian(self, values, kinds, sizes, m):
        if self.pattern is None:
            sparsity = self.detected(values, kinds, m) if isinstance(self.sparsity, str) else self.sparsity
            self.pattern = _colored_pattern(sparsity, self.single, sizes, m, self)
        rows, cols, colors, ncolors = self.pattern
        if len(colors) != sum(sizes):
            raise self.bad(f"the sparsity pattern has {len(colors)} columns for inputs of {sum(sizes)} elements",
                           "give one column per element of the wrt arguments")
        per_wrt = np.split(colors, np.cumsum(sizes)[:-1])
        driver = self.get(("jacsparse", kinds))
        compressed = self.gf.guarded(driver, *values, *per_wrt, ncolors, m)
        data = compressed[rows, colors[cols]]
        indptr = np.zeros(m + 1, dtype=np.int64)
        np.add.at(indptr, rows + 1, 1)
        return SparseJacobian(data, cols.copy(), np.cumsum(indptr), (m, sum(sizes)), ncolors)

    def detected(self, values, kinds, m):
        """sparsity="detect": the non-zeros of two dense Jacobians (one forward sweep per
        input element), at the first call's arguments moved by small random amounts
        (a derivative that vanishes there by coincidence would otherwise look structural)."""
        rng = np.random.default_rng(0)
        driver = self.get(("jacfwd", kinds))
        found = None
        for _ in range(2):
            moved = list(values)
            for w in self.wrt:
                k = self.params.index(w)
                x = np.asarray(values[k], dtype=np.float64)
                step = 1e-3 * (np.abs(x) + 1.0) * rng.uniform(0.5, 1.0, size=x.shape)
                moved[k] = x + step if x.ndim else float(x + step)
            blocks = self.gf.guarded(driver, *moved, m, 1)
            nonzero = [np.asarray(b) != 0.0 for b in blocks]
            found = nonzero if found is None else [a | b for a, b in zip(found, nonzero)]
        return found[0] if self.single else tuple(found)

    def hessian(self, values, kinds):
        driver = self.get(("hessian", kinds))
        blocks = self.gf.guarded(driver, *values)
        shapes = [np.shape(values[self.params.index(w)]) for w in self.wrt]
        k = len(self.wrt)
        if self.diagonal:
            out = tuple(_plain(blocks[a].reshape(shapes[a])) for a in range(k))
            return out[0] if self.single else out
        grid = tuple(tuple(_plain(blocks[a * k + b].reshape(shapes[a] + shapes[b])) for b in range(k))
                     for a in range(k))
        return grid[0][0] if self.single else grid

    # -- compilation -------------------------------------------------------------------------------
    def get(self, key):
        if key not in self.compiled:
            what, kinds = key
            self.gf._check_wrt_kinds(kinds)
            self.compiled[key] = _BUILDERS[what](self, kinds)
        return self.compiled[key]

    def build_jvp(self, kinds):
        return pipeline.build_jvp(self.f, self.wrt, kinds)

    def build_vjp(self, kinds):
        source = pipeline.Cotangent(self.f, _floated(self, kinds))
        compiled = pipeline.build(source, self.wrt, source.all_kinds())
        return _WithKind(compiled, source.output_kind())

    def build_hvp(self, kinds):
        source = pipeline.Tangent(self.f, self.wrt, kinds)
        out_kind = pipeline.Cotangent(self.f, _floated(self, kinds)).output_kind()
        if is_array(out_kind):
            raise SrcgradError(f"{self.f.__name__} returns an array; a Hessian needs one scalar output",
                               filename=_file(self.f), lineno=_line(self.f), construct="non-scalar output",
                               hint="use jacobian for vector-valued functions")
        return pipeline.build(source, self.wrt, source.all_kinds())

    def build_value(self, kinds):
        text, name = pipeline.value_source(self.f, kinds)
        return _driver(name, text, [], [])

    def build_driver(self, kinds, kind):
        wrt_kinds = [_floated(self, kinds)[self.params.index(w)] for w in self.wrt]
        # the driver's parameters are f's, each with a trailing underscore: its own names (i, j, m0, out…)
        # never end in one, so no parameter name of f can collide with them
        params = [f"{p}_" for p in self.params]
        wrt = tuple(f"{w}_" for w in self.wrt)
        if kind == "jacfwd":
            compiled = self.get(("jvp", kinds))
            text = _jacfwd_text(self.f.__name__, params, wrt, wrt_kinds, compiled.name, compiled.value_kind)
            return _driver(f"{self.f.__name__}_jacfwd", text, [compiled.module_source], [compiled.name])
        if kind == "jacrev":
            compiled = self.get(("vjp", kinds))
            adjoint = f"{compiled.name}_adjoint"
            text = _jacrev_text(self.f.__name__, params, wrt, wrt_kinds, adjoint, compiled.out_kind)
            return _driver(f"{self.f.__name__}_jacrev", text, [compiled.module_source], [adjoint])
        if kind == "jacsparse":
            compiled = self.get(("jvp", kinds))
            text = _jacsparse_text(self.f.__name__, params, wrt, wrt_kinds, compiled.name, compiled.value_kind)
            return _driver(f"{self.f.__name__}_jacsparse", text, [compiled.module_source], [compiled.name])
        compiled = self.get(("hvp", kinds))
        adjoint = f"{compiled.name}_adjoint"
        text = _hessian_text(self.f.__name__, params, wrt, wrt_kinds, adjoint, self.diagonal)
        return _driver(f"{self.f.__name__}_hessian", text, [compiled.module_source], [adjoint])

    def _make_wrapper(self):
        extra = {"jvp": [f"t_{w}" for w in self.wrt], "hvp": [f"v_{w}" for w in self.wrt],
                 "vjp": ["cotangent"]}.get(self.what, [])
        params = ", ".join(self.params + extra)
        name = f"{self.f.__name__}_{self.what}"
        namespace = {"_call": self.call}
        # (*args: arguments with defaults may be left out, the extra ones come last; a wrong count
        # gets srcgrad's error naming them)
        exec(f"def {name}(*args):\n    return _call(*args)\n", namespace)
        wrapper = namespace[name]
        wrapper.__doc__ = f"{self.what} of {self.f.__name__} w.r.t. {', '.join(self.wrt)} (generated by srcgrad); " \
                          f"arguments: {params}."
        wrapper.__srcgrad_transform__ = self
        wrapper.__srcgrad_primal__ = self.f
        wrapper.source = self.source
        return wrapper

    def source(self, *example_args):
        """The generated code for these example arguments (all of it: the
        derivative function and the driver loop, if any)."""
        n = len(self.params)
        _, kinds = self.gf.convert(example_args[:n])
        parts = []
        for key in list(self.compiled):
            if key[1] == kinds:
                item = self.compiled[key]
                parts.append(getattr(item, "source", None) or getattr(item, "adjoint_source", None)
                             or getattr(item, "driver_source", ""))
        if not parts:
            self.call(*example_args)
            return self.source(*example_args)
        return "\n\n".join(p for p in parts if p)


_BUILDERS = {
    "jvp": _Transform.build_jvp, "vjp": _Transform.build_vjp, "hvp": _Transform.build_hvp,
    "value": _Transform.build_value,
    "jacfwd": lambda t, k: t.build_driver(k, "jacfwd"), "jacrev": lambda t, k: t.build_driver(k, "jacrev"),
    "hessian": lambda t, k: t.build_driver(k, "hessian"),
    "jacsparse": lambda t, k: t.build_driver(k, "jacsparse"),
}


class _WithKind:
    """A compiled vjp with the kind of the output it pulls back."""

    def __init__(self, compiled, out_kind):
        self.compiled, self.out_kind = compiled, out_kind

    def __getattr__(self, name):
        return getattr(self.compiled, name)


def _floated(transform, kinds):
    """Kinds with int wrt arguments as floats (they are converted on entry)."""
    return tuple("float" if p in transform.wrt and k == "int" else k for p, k in zip(transform.params, kinds))


def _unshared(x, *argument_lists):
    """x as a float, or an array of its own: never a view of an argument (f(x) = x returns x's tangent)."""
    x = _plain(x)
    if isinstance(x, np.ndarray) and any(isinstance(a, np.ndarray) and np.may_share_memory(x, a)
                                         for args in argument_lists for a in args):
        return x.copy()
    return x


def _plain(x):
    return x if isinstance(x, np.ndarray) and x.ndim else float(x)


# -- driver loops (generated source, compiled with the derivative they call) -------------------------

def _driver(name, text, module_sources, imports):
    """Compile `text` (functions calling `imports` from the modules of `module_sources`)."""
    lines = []
    for module_source, imported in zip(module_sources, imports):
        module = jit.load(imported, module_source)
        lines.append(f"from {module.__name__} import {imported}")
    source = jit.module_source(name, [text], imports=lines)
    module = jit.load(name, source)
    dispatcher = getattr(module, name)
    dispatcher.driver_source = text
    return dispatcher


def _size(name, kind):
    return f"{name}.size" if is_array(kind) else "1"


def _flat(expr, rank):
    return {0: expr, 1: expr, 2: f"np.ascontiguousarray({expr}).reshape(-1)"}[rank]


def _zero(name, kind):
    return f"np.zeros({name}.shape)" if is_array(kind) else "0.0"


def _seed_loop(lines, w, kind, seed, body):
    """Lines running `body(seed_expr, j)` once per element of w, the seed one-hot."""
    if not is_array(kind):
        body("1.0", "0", "    ")
        return
    lines.append(f"    {seed}_flat = np.zeros({w}.size)")
    lines.append(f"    for j in range({w}.size):")
    lines.append(f"        {seed}_flat[j] = 1.0")
    body(f"{seed}_flat.reshape({w}.shape)", "j", "        ")
    lines.append(f"        {seed}_flat[j] = 0.0")


def _each_seed(lines, wrt, wrt_kinds, sweep):
    """Lines calling `sweep(seeds, k, j, pad)` once per element j of each wrt
    parameter k, with `seeds` the texts of one-hot tangents (zero for the others)."""
    zeros = [f"z_{w}" for w in wrt]
    for w, kind, z in zip(wrt, wrt_kinds, zeros):
        lines.append(f"    {z} = {_zero(w, kind)}")
    for k, (w, kind) in enumerate(zip(wrt, wrt_kinds)):
        def body(seed, j, pad, k=k):
            seeds = list(zeros)
            seeds[k] = seed
            sweep(seeds, k, j, pad)
        _seed_loop(lines, w, kind, f"s_{w}", body)


def _allocate_jacobian(lines, wrt, wrt_kinds):
    """J_<w>: one row per output element (m0 * m1 of them), one column per element of w."""
    for w, kind in zip(wrt, wrt_kinds):
        lines.append(f"    J_{w} = np.empty((m0 * m1, {_size(w, kind)}))")


def _jacfwd_text(name, params, wrt, wrt_kinds, jvp_name, value_kind):
    out_rank = value_kind[1] if is_array(value_kind) else 0
    lines = [f"def {name}_jacfwd({', '.join(params)}, m0, m1):",
             "    # one forward sweep per input element: column j of J is the tangent for seed e_j"]
    _allocate_jacobian(lines, wrt, wrt_kinds)

    def sweep(seeds, k, j, pad):
        lines.append(f"{pad}value, t_out = {jvp_name}({', '.join(params)}, {', '.join(seeds)})")
        target = f"J_{wrt[k]}[0, {j}]" if out_rank == 0 else f"J_{wrt[k]}[:, {j}]"
        lines.append(f"{pad}{target} = {_flat('t_out', out_rank)}")
    _each_seed(lines, wrt, wrt_kinds, sweep)
    lines.append(f"    return ({', '.join(f'J_{w}' for w in wrt)},)")
    return "\n".join(lines) + "\n"


def _jacrev_text(name, params, wrt, wrt_kinds, adjoint, out_kind):
    out_rank = out_kind[1] if is_array(out_kind) else 0
    lines = [f"def {name}_jacrev({', '.join(params)}, m0, m1):",
             "    # one reverse sweep per output element: row i of J is uᵀJ for u = e_i"]
    _allocate_jacobian(lines, wrt, wrt_kinds)
    lines.append("    u_flat = np.zeros(m0 * m1)")
    lines.append("    for i in range(m0 * m1):")
    lines.append("        u_flat[i] = 1.0")
    u = {0: "1.0", 1: "u_flat", 2: "u_flat.reshape((m0, m1))"}[out_rank]
    lines.append(f"        out = {adjoint}({', '.join(params)}, {u}, 1.0)")
    for k, (w, kind) in enumerate(zip(wrt, wrt_kinds)):
        rank = kind[1] if is_array(kind) else 0
        target = f"J_{w}[i, :]" if rank else f"J_{w}[i, 0]"
        lines.append(f"        {target} = {_flat(f'out[{k + 1}]', rank)}")
    lines.append("        u_flat[i] = 0.0")
    lines.append(f"    return ({', '.join(f'J_{w}' for w in wrt)},)")
    return "\n".join(lines) + "\n"


def _hessian_text(name, params, wrt, wrt_kinds, adjoint, diagonal):
    lines = [f"def {name}_hessian({', '.join(params)}):",
             "    # one Hessian-vector product (reverse over forward) per basis vector e_j"]
    blocks = []
    for a, (wa, ka) in enumerate(zip(wrt, wrt_kinds)):
        if diagonal:
            lines.append(f"    H_{wa}_{wa} = np.empty({_size(wa, ka)})")
            blocks.append(f"H_{wa}_{wa}")
            continue
        for wb, kb in zip(wrt, wrt_kinds):
            lines.append(f"    H_{wa}_{wb} = np.empty(({_size(wa, ka)}, {_size(wb, kb)}))")
            blocks.append(f"H_{wa}_{wb}")
    def sweep(seeds, b, j, pad):
        wb = wrt[b]
        lines.append(f"{pad}out = {adjoint}({', '.join(params)}, {', '.join(seeds)}, 1.0)")
        for a, (wa, ka) in enumerate(zip(wrt, wrt_kinds)):
            rank = ka[1] if is_array(ka) else 0
            if diagonal:
                if a == b:
                    picked = f"{_flat(f'out[{a + 1}]', rank)}[{j}]" if rank else f"out[{a + 1}]"
                    lines.append(f"{pad}H_{wa}_{wa}[{j}] = {picked}")
                continue
            target = f"H_{wa}_{wb}[:, {j}]" if rank else f"H_{wa}_{wb}[0, {j}]"
            lines.append(f"{pad}{target} = {_flat(f'out[{a + 1}]', rank)}")
    _each_seed(lines, wrt, wrt_kinds, sweep)
    lines.append(f"    return ({', '.join(blocks)},)")
    return "\n".join(lines) + "\n"


def _jacsparse_text(name, params, wrt, wrt_kinds, jvp_name, value_kind):
    out_rank = value_kind[1] if is_array(value_kind) else 0
    colors = [f"colors_{w}" for w in wrt]
    lines = [f"def {name}_jacsparse({', '.join(params + colors)}, ncolors, m):",
             "    # one forward sweep per colour: the columns of one colour share no row, so the tangent",
             "    # of their summed seeds holds each of their entries in its own row"]
    lines.append("    compressed = np.empty((m, ncolors))")
    lines.append("    for c in range(ncolors):")
    seeds = []
    for w, kind, col in zip(wrt, wrt_kinds, colors):
        if is_array(kind):
            lines.append(f"        s_{w} = np.zeros({w}.size)")
            lines.append(f"        for j in range({w}.size):")
            lines.append(f"            if {col}[j] == c:")
            lines.append(f"                s_{w}[j] = 1.0")
            seeds.append(f"s_{w}.reshape({w}.shape)")
        else:
            seeds.append(f"(1.0 if {col}[0] == c else 0.0)")
    lines.append(f"        value, t_out = {jvp_name}({', '.join(params)}, {', '.join(seeds)})")
    target = "compressed[0, c]" if out_rank == 0 else "compressed[:, c]"
    lines.append(f"        {target} = {_flat('t_out', out_rank)}")
    lines.append("    return compressed")
    return "\n".join(lines) + "\n"


def _colored_pattern(sparsity, single, sizes, m, transform):
    """(rows, cols of the non-zeros in row order, colour of each column, number of colours)."""
    parts = [sparsity] if single else list(sparsity)
    if len(parts) != len(sizes):
        raise transform.bad(f"sparsity has {len(parts)} pattern(s) for {len(sizes)} wrt parameter(s)",
                            "give one pattern per wrt parameter")
    rows, cols, offset = [], [], 0
    for part, size in zip(parts, sizes):
        r, c = (np.asarray(a, dtype=np.int64) for a in part.nonzero())
        shape = getattr(part, "shape", None)
        if shape is None or len(shape) != 2 or shape[0] != m or shape[1] != size:
            raise transform.bad(f"a sparsity pattern of shape {shape} for a Jacobian block of shape {(m, size)}",
                                "rows: the output's elements, columns: the parameter's elements (flattened)")
        rows.append(r)
        cols.append(c + offset)
        offset += size
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    colors, ncolors = _greedy_colors(rows, cols, m, offset)
    return rows, cols, colors, ncolors


@numba.njit(cache=True)
def _greedy_colors(rows, cols, m, n):
    """Greedy distance-1 colouring of the columns: two columns sharing a row get different colours."""
    row_start = np.zeros(m + 1, dtype=np.int64)
    for r in rows:
        row_start[r + 1] += 1
    row_start = np.cumsum(row_start)
    col_start = np.zeros(n + 1, dtype=np.int64)
    for c in cols:
        col_start[c + 1] += 1
    col_start = np.cumsum(col_start)
    col_rows = np.empty(rows.shape[0], dtype=np.int64)
    fill = col_start[:-1].copy()
    for k in range(rows.shape[0]):
        col_rows[fill[cols[k]]] = rows[k]
        fill[cols[k]] += 1
    colors = -np.ones(n, dtype=np.int64)
    stamp = -np.ones(n + 1, dtype=np.int64)
    ncolors = 0
    for j in range(n):
        for k in range(col_start[j], col_start[j + 1]):
            r = col_rows[k]
            for q in range(row_start[r], row_start[r + 1]):
                other = colors[cols[q]]
                if other >= 0:
                    stamp[other] = j
        c = 0
        while stamp[c] == j:
            c += 1
        colors[j] = c
        ncolors = max(ncolors, c + 1)
    return colors, ncolors
