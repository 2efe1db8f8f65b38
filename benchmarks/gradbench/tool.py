#!/usr/bin/env python3
"""srcgrad as a GradBench tool: ``python benchmarks/gradbench/tool.py`` from the project root.

Speaks the protocol of GradBench (one JSON message per line on stdin, one
flushed JSON response per line on stdout; see the kit's PROTOCOL.md). Each
eval is a module ``benchmarks/gradbench/evals/<eval>.py`` whose primal
functions are plain Python/NumPy; their gradients come from
``srcgrad.value_and_grad``.

* ``define``: imports the eval's module (``success: false`` when there is
  none) and builds the compiled code of each of its functions on a small
  example input of the same argument kinds (srcgrad's code generation plus
  Numba's compilation, or loading both from srcgrad's disk cache); the time
  is reported as a ``compile`` timing of the define response. Started as a
  program, the tool compiles the first function while a forked child
  compiles the others into the disk caches, which the tool then loads (two
  cores, as a parallel build uses them: det's empty-cache define 5.8 -> 4.4 s).
* ``evaluate``: converts the JSON input (not timed), runs the function
  repeatedly, ``runs < min_runs or seconds < min_seconds``, with one
  ``evaluate`` timing per run (integer nanoseconds), and converts the last
  run's result back to JSON (not timed). The conversion of the input and the
  binding of the compiled code (which compiles it, should ``define`` not have
  done so for these argument kinds) are reported as one ``prepare`` timing,
  as the C++ tools do.
* ``start``, ``analysis`` and anything else: ``{"id"}`` (start adds ``tool``
  and ``config``).

stdout carries the protocol only: the process's file descriptor 1 is pointed
at stderr at start-up, so anything else that prints (Numba warnings, C
libraries) goes to stderr; responses are written to a private duplicate of
the original stdout.
"""
import importlib
import json
import os
import sys
import time
import traceback

# One thread everywhere, as the C++ reference tool (and benchmarks/__init__.py): set before
# NumPy, SciPy's BLAS (Numba's matrix products) or Numba is imported.
for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVALS_PACKAGE = "benchmarks.gradbench.evals"


def _protocol_stream():
    """A private text stream on the original stdout; fd 1 (and sys.stdout) then go to stderr."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


class Tool:
    def __init__(self, parallel_define=False):
        self.modules = {}
        # fork a helper at define (`_compile_in_child`): only in the tool's own single-threaded
        # process (main), never inside a host that runs threads (a test runner)
        self.parallel_define = parallel_define

    # -- messages ------------------------------------------------------------------------------
    def handle(self, msg):
        resp = {"id": msg["id"]}
        kind = msg.get("kind")
        if kind == "start":
            import numba
            import numpy

            import benchmarks          # (one thread, and freed memory kept: see benchmarks/__init__.py)
            resp["tool"] = "srcgrad"
            resp["config"] = {"numba": numba.__version__, "numpy": numpy.__version__, "threads": 1,
                              "keeps_freed_memory": benchmarks.KEEPS_FREED_MEMORY}
        elif kind == "define":
            resp.update(self.define(msg["module"]))
        elif kind == "evaluate":
            resp.update(self.evaluate(msg["module"], msg["function"], msg["input"]))
        return resp

    def module(self, name):
        if name not in self.modules:
            if not name.isidentifier() or name.startswith("_"):
                raise ModuleNotFoundError(name)
            self.modules[name] = importlib.import_module(f"{EVALS_PACKAGE}.{name}")
        return self.modules[name]

    def define(self, name):
        try:
            t0 = time.perf_counter_ns()
            module = self.module(name)
        except ModuleNotFoundError as exc:
            if exc.name in (name, f"{EVALS_PACKAGE}.{name}"):
                return {"success": False, "error": f"srcgrad's tool has no module {name!r}"}
            return {"success": False, "error": traceback.format_exc()}
        except Exception:             # noqa: BLE001  (an eval module that fails to import)
            return {"success": False, "error": traceback.format_exc()}
        try:
            examples = list(getattr(module, "EXAMPLES", {}).items())
            helper = _compile_in_child(module, examples[1:]) if self.parallel_define else None
            _build(module, examples[:1])
            _wait(helper)
            _build(module, examples[1:])             # (from the disk caches the child filled)
        except Exception:             # noqa: BLE001
            return {"success": False, "error": traceback.format_exc()}
        return {"success": True, "timings": [{"name": "compile", "nanoseconds": time.perf_counter_ns() - t0}]}

    def evaluate(self, name, function, raw):
        try:
            module = self.module(name)
            params = raw if isinstance(raw, dict) else {}          # hello sends a bare number
            min_runs = int(params.get("min_runs", 1))
            min_seconds = float(params.get("min_seconds", 0.0))
            t0 = time.perf_counter_ns()
            compute, to_json = module.prepare(function, raw)       # JSON -> arrays, bound to compiled code
            timings = [{"name": "prepare", "nanoseconds": time.perf_counter_ns() - t0}]
            runs, spent = 0, 0
            while runs < min_runs or spent < min_seconds * 1e9:
                start = time.perf_counter_ns()
                result = compute()
                ns = time.perf_counter_ns() - start
                timings.append({"name": "evaluate", "nanoseconds": ns})
                runs += 1
                spent += ns
            return {"success": True, "output": to_json(result), "timings": timings}
        except Exception:             # noqa: BLE001  (report the failure, keep serving)
            return {"success": False, "error": traceback.format_exc()}


def _compile_in_child(module, examples):
    """A forked child that compiles `examples` (a define's functions after the
    first) into srcgrad's and Numba's disk caches while this process compiles
    the first: two cores, as a parallel build would use them. Returns its pid,
    or None (no fork here, or nothing to do: this process compiles them all).
    The child never writes to the protocol stream and leaves with os._exit."""
    if not examples or not hasattr(os, "fork"):
        return None
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:
        code = 1
        try:
            _build(module, examples)
            code = 0
        finally:
            os._exit(code)
    return pid


def _build(module, examples):
    """Compile (or load from the disk caches) each function of `examples`, [(function, input)], by running it."""
    for function, example in examples:
        compute, to_json = module.prepare(function, example)
        to_json(compute())


def _wait(pid):
    """Wait for the child; whatever it did not finish, the parent compiles itself (same result)."""
    if pid is not None:
        os.waitpid(pid, 0)


def encode(resp):
    """The response as one JSON line; an output JSON cannot carry (NaN, infinity) becomes a failure."""
    try:
        return json.dumps(resp, allow_nan=False)
    except ValueError as exc:
        return json.dumps({"id": resp["id"], "success": False, "error": f"output not representable in JSON: {exc}"})


def main(stdin=None, out=None):
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    out = out or _protocol_stream()
    tool = Tool(parallel_define=stdin is None)
    for line in stdin or sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        try:
            resp = tool.handle(msg)
        except Exception:             # noqa: BLE001  (a malformed message: answer it, keep serving)
            resp = {"id": msg.get("id")}
            if msg.get("kind") in ("define", "evaluate"):
                resp.update(success=False, error=traceback.format_exc())
        out.write(encode(resp) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
