"""`srcgrad.explain` and `srcgrad.graph`: the δ recurrence at one point, step by step.

    >>> import srcgrad
    >>> from srcgrad.lecture import relu_neuron
    >>> e = srcgrad.explain(relu_neuron, -1.0, -1.0, 2.0, wrt=("w", "b"))   # doctest: +SKIP
    >>> e.gradient                     # doctest: +SKIP
    (0.0, 0.0)
    >>> e.rows[-1].delta, e.rows[-1].passed    # doctest: +SKIP
    (1.0, (None, 0.0))
    >>> print(e)                       # doctest: +SKIP

Input: a function, its arguments and `wrt`. Output: an `Explanation` whose
`str()` is a table with one row per executed primitive step of the
normalized program (`tracer.run` executes it and runs the δ sweep with the
rule table's templates), and a `Graph` (`dotgraph`) drawn from the same rows.
The final δ of each wrt parameter is the gradient; `explain` checks it (and
the value) against srcgrad's compiled adjoint, so a table that disagrees
with srcgrad is a bug reported as an error, never shown.

The last row is δ killed by the ReLU: `max(0.0, t2)` received δ = 1 and
passed 0 to t2 = w*x + b (the constant 0.0 has no δ).
"""
import ast
import os
from collections import Counter
from dataclasses import dataclass
from functools import cache

import numpy as np

from . import dotgraph, pipeline, pyeval, tracer
from .api import _GradFunction
from .errors import SrcgradError
from .program import For, walk
from .pyeval import format_value
from .rules import RULES
from .tracer import Branch, Loop, rows_in

KEEP = 3             # iterations shown at each end of a long loop
CHECK_RTOL = 1e-8    # explain's δ's against the compiled gradient
CHECK_ATOL = 1e-12


@dataclass
class Explanation:
    """The δ table of `function` at `params`: `rows` (one `tracer.Row` per
    primitive step), `value`, and `gradient` (as `srcgrad.grad` returns it)."""
    function: str
    params: dict
    wrt: tuple
    value: float
    gradient: object
    rows: list
    trace: object
    filename: str

    def __str__(self):
        return self.table()

    def table(self, keep=KEEP):
        """The table; loops longer than 2·keep + 1 iterations show `keep` at each end."""
        return Table(self, keep).text()

    def graph(self):
        """The computational graph of these steps (`dotgraph.Graph`: `.dot`, `.save(path)`)."""
        return dotgraph.build(self)


def explain(f, *args, wrt=0, check=True):
    """Every primitive step of `f` at `args`: forward value, local derivatives,
    δ received and δ passed on; the final δ of each `wrt` parameter is the
    gradient. With `check`, compared with the compiled gradient of `srcgrad.grad`."""
    gf = _GradFunction(f, wrt, with_value=True, public=False)
    values, kinds = gf.convert(args)
    trace = tracer.run(pipeline.semantic(gf.f, gf.wrt, kinds)[0], values, gf.wrt)
    grads = tuple(trace.param_deltas[w] for w in gf.wrt)
    if check:
        _cross_check(gf, kinds, values, trace, grads)
    value = float(trace.value) if isinstance(trace.value, (int, float, np.number)) else trace.value
    gradient = tuple(_plain(g) for g in grads)
    fn = pipeline.normalized(gf.f)[0]
    return Explanation(fn.name, trace.params, gf.wrt, value, gradient[0] if gf.single else gradient,
                       trace.rows, trace, fn.filename)


def graph(f, *args, wrt=0, check=True):
    """The computational graph of `f` at `args` as Graphviz DOT (`.dot`,
    `.save("g.svg")`): wrt parameters circled, one node per primitive step,
    edges labelled with the forward value and the δ passed back along them."""
    return explain(f, *args, wrt=wrt, check=check).graph()


def _plain(g):
    return g if isinstance(g, np.ndarray) else float(g)


def _cross_check(gf, kinds, values, trace, grads):
    """The interpreter and the compiled adjoint must agree: a difference is a srcgrad bug."""
    out = gf.run(gf.get(kinds), values)
    pairs = [("value", trace.value, out[0])] + [(f"δ of {w}", g, c) for w, g, c in zip(gf.wrt, grads, out[1:])]
    for what, mine, theirs in pairs:
        mine, theirs = np.asarray(mine, dtype=float), np.asarray(theirs, dtype=float)
        same_nan = np.isnan(mine) & np.isnan(theirs)
        err = np.where(same_nan, 0.0, np.abs(mine - theirs))
        if np.any(~(err <= CHECK_ATOL + CHECK_RTOL * np.maximum(np.abs(mine), np.abs(theirs)))):
            raise SrcgradError(f"the {what} explain computes ({format_value(_plain_any(mine), 17)}) disagrees with "
                               f"srcgrad's compiled adjoint ({format_value(_plain_any(theirs), 17)})",
                               filename=gf.f.__code__.co_filename, lineno=gf.f.__code__.co_firstlineno,
                               hint="this is a srcgrad bug: please report it with the function and arguments")


def _plain_any(a):
    return a.item() if a.ndim == 0 else a


# --- the table ------------------------------------------------------------------------------

COLUMNS = ("#", "line", "iter", "step", "value x_k", "local g'(x_k)", "δ received", "δ passed on", "rule")


class Table:
    """Rows and section lines (source lines, loop headers, elisions) of an Explanation."""

    def __init__(self, explanation, keep):
        self.e, self.keep = explanation, keep
        self.lines = []          # ("row", cells) or ("text", indent, text)
        self.readers = _readers(explanation.rows)
        self.last_line = None

    def text(self):
        e = self.e
        args = ", ".join(f"{k}={format_value(v)}" for k, v in e.params.items())
        head = [f"{e.function}({args}) = {format_value(e.value)}",
                (f"δ w.r.t. {', '.join(e.wrt)}: one row per primitive step in program order; "
                 "δ's are computed from the last row up (δ = 1 at the output)"), ""]
        self.items(e.trace.items, (), 0)
        return "\n".join(head + self.render() + [""] + self.footer())

    # -- walking the trace ------------------------------------------------------------------
    def items(self, items, where, depth):
        for item in items:
            if isinstance(item, Loop):
                self.loop(item, where, depth)
            elif isinstance(item, Branch):
                if item.items:
                    kind = "if" if item.taken else "else"
                    self.section(depth, f"↳ {kind}-branch of line {item.stmt.loc.lineno} "
                                        f"({item.stmt.flag} is {item.taken})")
                self.items(item.items, where, depth)
            else:
                self.row(self.e.rows[item], where, depth)

    def loop(self, loop, where, depth):
        n = len(loop.iterations)
        stmt = loop.stmt
        self.section(depth, f"── line {stmt.loc.lineno}{self.where(stmt.loc.filename, stmt.loc.lineno)}: "
                            f"{stmt.loc.text}   "
                            f"{n} iteration{'s' if n != 1 else ''}")
        for filename, lineno, text in _body_lines(stmt):
            self.section(depth + 1, f"line {lineno}{self.where(filename, lineno)}: {text}")
        self.last_line = None
        shown = range(n) if n <= 2 * self.keep + 1 else list(range(self.keep)) + [None] + \
            list(range(n - self.keep, n))
        for k in shown:
            if k is None:
                hidden = range(self.keep, n - self.keep)
                steps = sum(1 for j in hidden for _ in rows_in(loop.iterations[j]))
                self.section(depth + 1, f"⋮ … {len(hidden)} iterations ({steps} steps) …")
                continue
            label = f"{stmt.var}={loop.values[k]}" if isinstance(stmt, For) else f"#{k}"
            self.items(loop.iterations[k], where + (label,), depth + 1)
        self.last_line = None

    def where(self, filename, lineno):
        """' (in sigmoid)' for a line of an inlined helper, with its file when it is another one."""
        function = _function_at(filename, lineno)
        if function in (None, self.e.function) and filename == self.e.filename:
            return ""
        place = "" if filename == self.e.filename else f" of {os.path.basename(filename)}"
        return f" (in {function}{place})" if function else f" ({os.path.basename(filename)})"

    def section(self, depth, text):
        self.lines.append(("text", depth, text))

    def row(self, row, where, depth):
        if not where and (row.filename, row.lineno) != self.last_line:
            self.section(depth, f"── line {row.lineno}{self.where(row.filename, row.lineno)}: {row.source}")
            self.last_line = (row.filename, row.lineno)
        cells = (str(row.index + 1), str(row.lineno), " ".join(where), row.text, format_value(row.value),
                 self.per_input(row, row.local), format_value(row.delta) if row.active else "",
                 self.per_input(row, row.passed), self.rule(row))
        self.lines.append(("row", cells))

    def per_input(self, row, values):
        if not row.active:
            return ""
        return ", ".join(f"{name}: {format_value(v)}" for name, v, on in zip(row.inputs, values, row.active_inputs)
                         if on and v is not None) or ("—" if any(row.active_inputs) else "")

    def rule(self, row):
        if row.active:
            readers = self.readers.get(row.index, [])
            split = f"; split: δ received = sum of the δ's from {_steps(readers)}" if len(readers) > 1 else ""
            return row.label + split
        if row.op == "opaque":
            return "condition: forward only, no δ"
        if not pyeval.is_float(row.value):
            return "no δ: not a float"
        if not pyeval.flows(row.op):
            return "no δ: piecewise constant" if row.op in RULES else "no δ: a new array or a shape"
        return "no δ: does not depend on " + ", ".join(self.e.wrt)

    # -- output ---------------------------------------------------------------------------------
    def render(self):
        rows = [line[1] for line in self.lines if line[0] == "row"]
        widths = [max([len(COLUMNS[k])] + [len(cells[k]) for cells in rows]) for k in range(len(COLUMNS))]
        out = ["  ".join(h.ljust(w) for h, w in zip(COLUMNS, widths)).rstrip()]
        for kind, *rest in self.lines:
            if kind == "row":
                out.append("  ".join(c.rjust(w) if k < 2 else c.ljust(w)
                                     for k, (c, w) in enumerate(zip(rest[0], widths))).rstrip())
            else:
                depth, text = rest
                out.append("  " * depth + text)
        return out

    def footer(self):
        e = self.e
        trace = e.trace
        out = [f"output: {trace.output_text} = {format_value(trace.value)}, δ = 1",
               "gradient = the final δ of each wrt parameter (the sum of the δ's passed to it):"]
        width = max(len(w) for w in e.wrt)
        deltas = {w: format_value(trace.param_deltas[w]) for w in e.wrt}
        shown = max(len(d) for d in deltas.values())
        for w in e.wrt:
            readers = self.readers.get(w, [])
            source = f"from {_steps(readers)}" if readers else "no step passes it a δ"
            out.append(f"  {w.ljust(width)}  δ = {deltas[w].ljust(shown)}  ({source})")
        return out


def _readers(rows):
    """Producer -> the rows (1-based numbers) that passed a δ back to it."""
    out = {}
    for row in rows:
        for producer, passed in zip(row.producers, row.passed):
            if passed is not None and producer is not None:
                out.setdefault(producer, []).append(row.index + 1)
    return out


def _steps(numbers):
    """'steps 3, 5', 'step 3 (twice)', 'steps 1, 4, 7, … 2998 (1000 steps)'."""
    reads = Counter(numbers)
    shown = [f"{n}" + ("" if k == 1 else " (twice)" if k == 2 else f" ({k} times)") for n, k in reads.items()]
    word = "step" if len(reads) == 1 else "steps"
    if len(shown) <= 6:
        return f"{word} {', '.join(shown)}"
    return f"{word} {', '.join(shown[:3])}, … {shown[-1]} ({len(shown)} steps)"


def _body_lines(loop):
    """(file, line, text) of the statements inside a loop, in order, each once."""
    seen = {}
    for stmt in walk(loop.body):
        seen.setdefault((stmt.loc.filename, stmt.loc.lineno), stmt.loc.text)
    return [(filename, line, text) for (filename, line), text in seen.items()
            if (filename, line) != (loop.loc.filename, loop.loc.lineno)]


@cache
def _function_at(filename, lineno):
    """The innermost function of a source file around a line (None if unknown)."""
    try:
        with open(filename, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return None
    around = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
              and node.lineno <= lineno <= (node.end_lineno or node.lineno)]
    return max(around, key=lambda node: node.lineno).name if around else None
