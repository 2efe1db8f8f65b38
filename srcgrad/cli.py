"""Command-line interface: ``srcgrad demo | grad | show | explain | graph``.

``main(argv=None) -> int`` is the console-script entry point (see
pyproject.toml) and is also what ``python -m srcgrad`` calls.  User errors --
unsupported constructs (:class:`srcgrad.SrcgradError`), missing files, unknown
functions, malformed ``--args`` -- are reported as a single line on stderr
with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import math
import os
import sys
import tempfile
import textwrap

import numpy as np

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


class CLIError(Exception):
    """A user error detected by the CLI itself (bad path, bad JSON, ...)."""


# --------------------------------------------------------------------------
# loading FILE.py:FUNC
# --------------------------------------------------------------------------

def _split_target(target):
    """'path/to/file.py:func' -> ('path/to/file.py', 'func')."""
    path, sep, func = target.rpartition(":")
    if not sep or not path or not func:
        raise CLIError(f"expected FILE.py:FUNC, got {target!r}")
    if not func.isidentifier():
        raise CLIError(f"{func!r} is not a valid function name (in {target!r})")
    return path, func


def _module_name_for(path):
    """A module name derived from the file stem, unique in sys.modules."""
    stem = os.path.splitext(os.path.basename(path))[0]
    base = stem if stem.isidentifier() else "_srcgrad_user_module"
    name = base
    n = 0
    while name in sys.modules:
        existing = getattr(sys.modules[name], "__file__", None)
        if existing and os.path.abspath(existing) == path:
            # same file loaded before (e.g. repeated in-process calls): reload
            break
        n += 1
        name = f"_srcgrad_user_{base}_{n}"
    return name


def load_function(target):
    """Import FILE.py by path and return (function, path)."""
    path, func_name = _split_target(target)
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise CLIError(f"file not found: {path}")
    # Let the file import helper modules that sit next to it.
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = _module_name_for(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CLIError(f"cannot import {path} (not a Python file?)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # inspect.getsource / helper lookup need it
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise CLIError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - report user-module failures tidily
        sys.modules.pop(name, None)
        raise CLIError(f"importing {path} failed: {type(exc).__name__}: {exc}") from None
    func = getattr(module, func_name, None)
    if func is None:
        raise CLIError(f"{os.path.basename(path)} has no function {func_name!r}")
    if not inspect.isfunction(func):
        raise CLIError(f"{os.path.basename(path)}:{func_name} is not a Python function")
    return func, path


# --------------------------------------------------------------------------
# --wrt and --args
# --------------------------------------------------------------------------

def parse_wrt(text, params):
    """'w,b' or '0,2' -> wrt for srcgrad (single item or tuple) and the names."""
    if text is None:
        items = [0]
    else:
        parts = [p.strip() for p in text.split(",")]
        if not parts or any(not p for p in parts):
            raise CLIError(f"bad --wrt {text!r}: expected comma-separated names or positions")
        items = []
        for p in parts:
            if p.lstrip("-").isdigit():
                items.append(int(p))
            else:
                items.append(p)
    names = []
    for item in items:
        if isinstance(item, int):
            if not 0 <= item < len(params):
                raise CLIError(
                    f"--wrt position {item} out of range: the function has "
                    f"{len(params)} parameter(s) ({', '.join(params)})"
                )
            names.append(params[item])
        else:
            if item not in params:
                raise CLIError(
                    f"--wrt {item!r} is not a parameter (parameters: {', '.join(params)})"
                )
            names.append(item)
    if len(set(names)) != len(names):
        raise CLIError(f"--wrt names a parameter twice: {text!r}")
    wrt = items[0] if len(items) == 1 else tuple(items)
    return wrt, names


def _is_int_list(value):
    if isinstance(value, list):
        return all(_is_int_list(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool)


def _convert_arg(value, name, differentiated):
    if isinstance(value, list):
        try:
            if not differentiated and _is_int_list(value):
                arr = np.array(value, dtype=np.int64)
            else:
                arr = np.array(value, dtype=np.float64)
        except (ValueError, TypeError):
            raise CLIError(f"argument {name!r}: cannot make an array of {value!r}") from None
        if arr.dtype == object:
            raise CLIError(f"argument {name!r}: ragged array {value!r}")
        return arr
    if isinstance(value, (bool, int, float)):
        return value  # scalars stay as given: srcgrad treats an int wrt like a float
    raise CLIError(f"argument {name!r}: unsupported JSON value {value!r} (use numbers or lists)")


def parse_args_json(text, func, wrt_names):
    """JSON list of positional arguments -> converted Python/numpy values."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(f"--args is not valid JSON: {exc}") from None
    if not isinstance(raw, list):
        raise CLIError("--args must be a JSON list of positional arguments, e.g. '[1.0, [2, 3]]'")
    params = list(inspect.signature(func).parameters)
    if len(raw) != len(params):
        raise CLIError(
            f"{func.__name__} takes {len(params)} argument(s) ({', '.join(params)}), "
            f"--args gives {len(raw)}"
        )
    return [
        _convert_arg(v, p, p in wrt_names) for v, p in zip(raw, params)
    ]


# --------------------------------------------------------------------------
# output formatting
# --------------------------------------------------------------------------

def _fmt(value):
    if isinstance(value, np.ndarray):
        return repr(value)
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    return repr(value)


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value  # inf/nan come out as json's Infinity/NaN


def _as_tuple(grads, n):
    return tuple(grads) if n > 1 else (grads,)


# --------------------------------------------------------------------------
# subcommands
# --------------------------------------------------------------------------

def _params(func):
    return list(inspect.signature(func).parameters)


def cmd_grad(ns, out):
    import srcgrad

    func, _ = load_function(ns.target)
    wrt, names = parse_wrt(ns.wrt, _params(func))
    args = parse_args_json(ns.args, func, names)
    if ns.value:
        value, grads = srcgrad.value_and_grad(func, wrt=wrt)(*args)
    else:
        value, grads = None, srcgrad.grad(func, wrt=wrt)(*args)
    grads = _as_tuple(grads, len(names))
    if ns.json:
        payload = {}
        if ns.value:
            payload["value"] = _jsonable(value)
        payload["grad"] = {n: _jsonable(g) for n, g in zip(names, grads)}
        print(json.dumps(payload), file=out)
    else:
        fname = func.__name__
        if ns.value:
            print(f"{fname} = {_fmt(value)}", file=out)
        for n, g in zip(names, grads):
            print(f"d{fname}/d{n} = {_fmt(g)}", file=out)
    return EXIT_OK


def cmd_show(ns, out):
    import srcgrad

    func, _ = load_function(ns.target)
    wrt, names = parse_wrt(ns.wrt, _params(func))
    g = srcgrad.grad(func, wrt=wrt)
    args = parse_args_json(ns.args, func, names) if ns.args is not None else ()
    if ns.html:
        with open(ns.html, "w", encoding="utf-8") as handle:
            handle.write(srcgrad.source_html(g, *args))
        print(f"wrote {ns.html}", file=out)
        return EXIT_OK
    print(srcgrad.source(g, *args).rstrip("\n"), file=out)
    return EXIT_OK


def _explained(ns):
    import srcgrad

    func, _ = load_function(ns.target)
    wrt, names = parse_wrt(ns.wrt, _params(func))
    args = parse_args_json(ns.args, func, names)
    return srcgrad.explain(func, *args, wrt=wrt)


def cmd_explain(ns, out):
    if ns.keep < 1:
        raise CLIError(f"--keep must be at least 1, got {ns.keep}")
    print(_explained(ns).table(keep=ns.keep), file=out)
    return EXIT_OK


def cmd_graph(ns, out):
    graph = _explained(ns).graph()
    if ns.output is None:
        print(graph.dot.rstrip("\n"), file=out)
    else:
        print(f"wrote {graph.save(ns.output)}", file=out)
    return EXIT_OK


# --------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------

_RULE = "=" * 72
_SUB = "-" * 72


def _indent(text, prefix="    "):
    return textwrap.indent(text.rstrip("\n"), prefix)


def _demo_section(say, title):
    say()
    say(_RULE)
    say(title)
    say(_RULE)


def _demo_check(say, srcgrad, func, args, wrt):
    chk = srcgrad.check_grad(func, *args, wrt=wrt)
    verdict = "PASS" if chk.ok else "FAIL"
    say(f"Finite-difference check (srcgrad.check_grad): "
        f"worst relative error {chk.max_error:.2e}  -> {verdict}")
    for name, err in chk.errors.items():
        say(f"    {name}: {err:.2e}")
    return bool(chk.ok)


def _close(got, expected):
    return all(math.isclose(a, e, rel_tol=1e-9, abs_tol=1e-12)
               for a, e in zip(got, expected))


def _demo_perceptron(say, srcgrad, lecture, folder):
    _demo_section(say, "1. Sigmoid perceptron:  L = (y - sigmoid(w1*x1 + w2*x2 + b))**2")
    say("Source (the helper sigmoid is inlined into the adjoint):")
    say(_indent(inspect.getsource(lecture.sigmoid)))
    say()
    say(_indent(inspect.getsource(lecture.perceptron_loss)))

    wrt = ("w1", "w2", "b")
    vals = dict(w1=0.8, w2=-0.4, b=0.2, x1=1.0, x2=0.5, y=1.0)
    args = tuple(vals.values())
    g = srcgrad.grad(lecture.perceptron_loss, wrt=wrt)
    grads = g(*args)
    say()
    say(f"Generated adjoint (srcgrad.source, wrt={wrt}):")
    say(_indent(srcgrad.source(g, *args)))
    say()
    say("At " + ", ".join(f"{k}={v}" for k, v in vals.items()) + ":")
    say(f"    L = {lecture.perceptron_loss(*args):.10f}")
    for name, gv in zip(wrt, grads):
        say(f"    dL/d{name:<2} = {gv: .10f}")

    # the lecture's derivation by hand, for comparison
    z = vals["w1"] * vals["x1"] + vals["w2"] * vals["x2"] + vals["b"]
    s = 1.0 / (1.0 + math.exp(-z))
    delta = -2.0 * (vals["y"] - s) * s * (1.0 - s)
    by_hand = (delta * vals["x1"], delta * vals["x2"], delta)
    say()
    say("By hand: z = w1*x1 + w2*x2 + b, s = sigmoid(z),")
    say(f"    delta = dL/dz = -2 (y - s) s (1 - s) = {delta: .10f}")
    say(f"    dL/dw1 = delta*x1 = {by_hand[0]: .10f}")
    say(f"    dL/dw2 = delta*x2 = {by_hand[1]: .10f}")
    say(f"    dL/db  = delta    = {by_hand[2]: .10f}")
    ok = _close(grads, by_hand)
    if not ok:
        say("    MISMATCH between srcgrad and the hand derivation")
    say()
    ok = _demo_check(say, srcgrad, lecture.perceptron_loss, args, wrt) and ok
    say()
    say("The same gradient step by step (srcgrad.explain): each primitive step's forward")
    say("value x_k, its local derivative g'(x_k), the delta it received and the delta it")
    say("passed on, by the lecture's rule; deltas flow from the last row up:")
    explained = srcgrad.explain(lecture.perceptron_loss, *args, wrt=wrt)
    say(_indent(explained.table()))
    if not _close(explained.gradient, grads):
        say("    MISMATCH between the table's final deltas and the gradient")
        ok = False
    _demo_files(say, srcgrad, explained, lecture.perceptron_loss, args, wrt, folder, "perceptron")
    return ok


def _demo_files(say, srcgrad, explained, func, args, wrt, folder, stem):
    """The graph (DOT, and SVG when Graphviz is installed) and the side-by-side page."""
    from srcgrad import SrcgradError
    graph = explained.graph()
    written = [graph.save(os.path.join(folder, f"{stem}.dot"))]
    try:
        written.append(graph.save(os.path.join(folder, f"{stem}.svg")))
    except SrcgradError:
        pass                     # no Graphviz: the .dot file is still there
    page = os.path.join(folder, f"{stem}.html")
    with open(page, "w", encoding="utf-8") as handle:
        handle.write(srcgrad.source_html(func, *args, wrt=wrt))
    written.append(page)
    say()
    say("Computational graph (srcgrad.graph: parameters circled, edges labelled with the")
    say("forward value and the delta) and source beside adjoint (srcgrad show --html):")
    for path in written:
        say(f"    wrote {path}")


def _demo_relu(say, srcgrad, lecture, folder):
    _demo_section(say, "2. ReLU perceptron:  y = max(0, w*x + b)")
    say("Source:")
    say(_indent(inspect.getsource(lecture.relu_neuron)))

    wrt = ("w", "b")
    g = srcgrad.grad(lecture.relu_neuron, wrt=wrt)
    x = 2.0
    say()
    say(f"Generated adjoint (srcgrad.source, wrt={wrt}):")
    say(_indent(srcgrad.source(g, 1.0, 1.0, x)))

    ok = True
    cases = [
        (1.0, 1.0, (2.0, 1.0), "active: dy/dw = x = 2, dy/db = 1"),
        (-1.0, -1.0, (0.0, 0.0), "w*x + b = -3 < 0: gradient killed by the ReLU"),
    ]
    for w, b, expected, note in cases:
        say()
        say(_SUB)
        say(f"x = {x}, w = {w}, b = {b}   ({note})")
        dw, db = g(w, b, x)
        say(f"    y     = {lecture.relu_neuron(w, b, x)}")
        say(f"    dy/dw = {float(dw)}")
        say(f"    dy/db = {float(db)}")
        if not _close((dw, db), expected):
            say(f"    UNEXPECTED: expected dy/dw = {expected[0]}, dy/db = {expected[1]}")
            ok = False
        elif expected == (0.0, 0.0):
            say("    both gradients are 0: killed by the ReLU")
        ok = _demo_check(say, srcgrad, lecture.relu_neuron, (w, b, x), wrt) and ok
        explained = srcgrad.explain(lecture.relu_neuron, w, b, x, wrt=wrt)
        say("Step by step (srcgrad.explain):")
        say(_indent(explained.table()))
        killed = expected == (0.0, 0.0)
        say("    the max received delta = 1 and passed 0 to w*x + b: the ReLU killed it" if killed else
            "    the max passed its delta on to w*x + b: it reaches w (times x) and b")
        ok = _close(explained.gradient, expected) and ok
        if w > 0:
            _demo_files(say, srcgrad, explained, lecture.relu_neuron, (w, b, x), wrt, folder, "relu")
        else:
            say("Its computational graph (srcgrad.graph, Graphviz DOT; w and b circled):")
            say(_indent(explained.graph().dot))
    return ok


def run_demo(out, folder=None):
    """Print the lecture demo to `out`; 0 if every check passes, else 1. The
    graphs and side-by-side pages go to `folder` (a new temporary one if None)."""
    import srcgrad
    from srcgrad import lecture

    if folder is None:
        folder = tempfile.mkdtemp(prefix="srcgrad-demo-")
    os.makedirs(folder, exist_ok=True)

    def say(*parts):
        print(*parts, file=out)

    say(_RULE)
    say("srcgrad demo: the backpropagation lecture, live")
    say(_RULE)
    say(textwrap.dedent("""\
        srcgrad reads a Python function's source, writes its reverse-mode
        adjoint (the lecture's delta recurrence) as new Python source, and
        compiles both with Numba.  The functions below are in
        srcgrad/lecture.py."""))
    ok = _demo_perceptron(say, srcgrad, lecture, folder)
    ok = _demo_relu(say, srcgrad, lecture, folder) and ok
    say()
    say(_RULE)
    say("All checks passed." if ok else "SOME CHECKS FAILED.")
    return EXIT_OK if ok else EXIT_FAIL


# --------------------------------------------------------------------------
# argument parsing / entry point
# --------------------------------------------------------------------------

def build_parser():
    parser = argparse.ArgumentParser(
        prog="srcgrad",
        description=(
            "Source-transformation reverse-mode AD for numeric Python: "
            "reads a function's source, generates its adjoint as Python, "
            "compiles both with Numba."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "demo",
        help="run the lecture's perceptron examples with gradient checks",
        description="Differentiate the lecture's sigmoid and ReLU perceptrons: print source, "
                    "generated adjoints, gradients, finite-difference checks and δ tables; write "
                    "their computational graphs and side-by-side pages.",
    )
    p.add_argument("--out", metavar="DIR",
                   help="where the graphs (.dot, .svg with Graphviz) and pages (.html) go "
                        "(default: a new temporary directory)")

    wrt_help = ("comma-separated parameter names or positions to differentiate "
                "with respect to (default: the first parameter)")
    args_help = ("JSON list of positional arguments; lists become float64 arrays "
                 "(int64 for all-int lists passed to non-differentiated parameters)")

    def function_at_args(p, help_args=args_help, required=True):
        """FILE.py:FUNC, --wrt and --args: what grad, show, explain and graph share."""
        p.add_argument("target", metavar="FILE.py:FUNC")
        p.add_argument("--wrt", metavar="NAMES", help=wrt_help)
        p.add_argument("--args", metavar="JSON", required=required, help=help_args)

    p = sub.add_parser("grad", help="print the gradient of FILE.py:FUNC at --args",
                       description="Print the gradient(s) of FUNC at the given arguments.")
    function_at_args(p)
    p.add_argument("--value", action="store_true", help="also print the function value")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    p = sub.add_parser("show", help="print the generated adjoint source of FILE.py:FUNC",
                       description="Print the adjoint source srcgrad generates for FUNC.")
    function_at_args(p, args_help + "; used to pick argument kinds (scalar/array)", required=False)
    p.add_argument("--html", metavar="FILE",
                   help="write a page with the source and the adjoint side by side, each source line "
                        "paired with the lines generated from it, instead of printing the adjoint")

    p = sub.add_parser("explain", help="print the δ table of FILE.py:FUNC at --args",
                       description="Print one row per primitive step of FUNC at the given arguments: its "
                                   "forward value, local derivatives, the δ it received and the δ it passed "
                                   "on. The final δ of each --wrt parameter is the gradient.")
    function_at_args(p)
    p.add_argument("--keep", metavar="N", type=int, default=3,
                   help="iterations shown at each end of a long loop (default: 3)")

    p = sub.add_parser("graph", help="print the computational graph of FILE.py:FUNC as Graphviz DOT",
                       description="Print (or write with -o) the computational graph of FUNC at the given "
                                   "arguments: wrt parameters circled, one node per primitive step, edges "
                                   "labelled with forward values and δ's.")
    function_at_args(p)
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write FILE instead of printing: .dot/.gv as text, .svg/.png/.pdf rendered by "
                        "Graphviz's `dot` program")
    return parser


def main(argv=None) -> int:
    """Run the CLI with `argv` (default: sys.argv[1:]); return the exit status."""
    from srcgrad import SrcgradError

    parser = build_parser()
    ns = parser.parse_args(argv)  # argparse exits with status 2 on usage errors
    commands = {"demo": lambda: run_demo(sys.stdout, ns.out),
                "grad": lambda: cmd_grad(ns, sys.stdout),
                "show": lambda: cmd_show(ns, sys.stdout),
                "explain": lambda: cmd_explain(ns, sys.stdout),
                "graph": lambda: cmd_graph(ns, sys.stdout)}
    try:
        return commands[ns.command]()
    except (CLIError, SrcgradError) as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"srcgrad: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `srcgrad demo | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
