"""Compile time, cached start and memory of a gradient, each measured in a fresh process.

For a few workload functions (``CASES``: the ODE loss, the MLP loss, the
scalar perceptron; ``--quick``: the ODE only) this runs child processes of
``python -m benchmarks.startup --child MODE CASE`` so that no in-process cache
flatters the numbers:

* **srcgrad cold** -- empty ``SRCGRAD_CACHE_DIR``: time from before
  ``srcgrad.grad(f, wrt=...)`` to after the first gradient call returns
  (parse, transform, generate, Numba compile, run).  Interpreter start and
  imports are excluded and reported separately ("import").  srcgrad's runtime
  helpers are already in Numba's cache here (one earlier process compiled
  them), as for any gradient after the first one on a machine.
* **srcgrad first ever** -- once, for the first case: empty srcgrad cache AND
  empty Numba cache, so srcgrad's runtime helpers are compiled too (a new
  installation's first gradient).
* **srcgrad warm** -- a second fresh process with the caches the cold run
  filled (target: < ``WARM_TARGET_S`` = 0.5 s per gradient function).
* **jax** -- first call of ``jax.jit(jax.grad(...))`` (trace + XLA compile +
  run; ``lax.scan`` for the loops, from the workload's ``make_jax_loss``) in a
  fresh process; JAX's persistent compilation cache is off.
* **numba primal** -- first call of ``numba.njit(primal)`` (no cache): what
  compiling the forward function alone costs.
* **memory** -- srcgrad's tape for the full-size arguments (the last line of
  ``srcgrad.tape_size(g, *args)``) and the peak RSS growth of ONE gradient call
  for srcgrad, the hand adjoint and the primal, after two warm-up calls
  (everything compiled, code pages resident): freed heap pages are returned
  to the OS (``malloc_trim``), glibc is told to keep what the call frees
  resident, and the exact RSS (``/proc/self/smaps_rollup``) after - before is
  the memory the call held, page granularity, median of 3 ("noop" is the same
  measurement of nothing); see ``peak_growth_kib``.  Not ``ru_maxrss``
  directly: the kernel's peak counter is batched per CPU (off by up to ~128
  KiB here) and compiling has already pushed it far above any call.  Without
  ``/proc`` it falls back to ``ru_maxrss`` in a ``fork`` (coarser).

Numba's cache goes to a temporary ``NUMBA_CACHE_DIR`` for every child, so the
repository's ``__pycache__`` folders neither help nor get touched.
``python -m benchmarks.startup [--quick] [--case NAME]`` prints the tables;
``python -m benchmarks`` runs it after the timing workloads and puts the result
in ``latest.json``/``latest.md`` ("compile time and start-up", "memory").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

#: Warm start target: a fresh process with warm caches, srcgrad.grad(...) + first call.
WARM_TARGET_S = 0.5

#: Workload functions measured. module: the workload module; loss: the function srcgrad and the
#: peers differentiate; primal: the Numba-compilable forward function.  The module provides
#: make_args(), hand_grad, WRT (names) and/or WRT_INDICES, and make_jax_loss(jnp).
CASES = {
    "ode": {"module": "benchmarks.ode", "loss": "loss", "primal": "loss"},
    "mlp": {"module": "benchmarks.mlp", "loss": "mlp_loss", "primal": "mlp_loss_numba"},
    "perceptron": {"module": "benchmarks.perceptron", "loss": "loss", "primal": "loss"},
}
QUICK_CASES = ("ode",)

_MARK = "STARTUP-RESULT "
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------- children

def _case_module(case):
    import importlib

    spec = CASES[case]
    m = importlib.import_module(spec["module"])
    wrt = getattr(m, "WRT", None) or m.WRT_INDICES
    wrt_indices = getattr(m, "WRT_INDICES", None) or tuple(range(len(wrt)))
    return m, spec, wrt, wrt_indices


def _child_srcgrad(case):
    t0 = time.perf_counter()
    import numba  # noqa: F401
    import numpy  # noqa: F401

    import srcgrad
    m, spec, wrt, _ = _case_module(case)
    args = m.make_args()
    t1 = time.perf_counter()
    g = srcgrad.grad(getattr(m, spec["loss"]), wrt=wrt)
    t_grad = time.perf_counter()
    g(*args)
    t2 = time.perf_counter()
    g(*args)
    t3 = time.perf_counter()
    return {"import_s": t1 - t0, "first_call_s": t2 - t1, "grad_s": t_grad - t1, "second_call_s": t3 - t2}


def _child_hand(case):
    """First call of the hand-written ``@njit(cache=True)`` adjoint: Numba's own cached start."""
    t0 = time.perf_counter()
    import numba  # noqa: F401
    m, _, _, _ = _case_module(case)
    args = m.make_args()
    t1 = time.perf_counter()
    m.hand_grad(*args)
    t2 = time.perf_counter()
    return {"import_s": t1 - t0, "first_call_s": t2 - t1}


def _child_jax(case):
    t0 = time.perf_counter()
    from benchmarks import tools
    tools.import_jax()
    m, spec, _, wrt_indices = _case_module(case)
    args = m.make_args()
    t1 = time.perf_counter()
    if not hasattr(m, "make_jax_loss"):
        return {"skipped": f"{spec['module']} has no make_jax_loss"}
    fn = tools.jax_grad(m.make_jax_loss, wrt_indices, args)()  # converts the arguments (not timed below)
    t2 = time.perf_counter()
    fn()
    t3 = time.perf_counter()
    fn()
    t4 = time.perf_counter()
    return {"import_s": t1 - t0, "convert_s": t2 - t1, "first_call_s": t3 - t2, "second_call_s": t4 - t3}


def _python_function(f):
    return getattr(f, "py_func", f)  # an @njit dispatcher: recompile its Python function, uncached


def _child_numba(case):
    t0 = time.perf_counter()
    import numba
    m, spec, _, _ = _case_module(case)
    args = m.make_args()
    t1 = time.perf_counter()
    primal = numba.njit(cache=False)(_python_function(getattr(m, spec["primal"])))
    primal(*args)
    t2 = time.perf_counter()
    return {"import_s": t1 - t0, "first_call_s": t2 - t1}


def _proc_kib(path, key):
    with open(path) as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1])
    raise OSError(f"no {key} in {path}")


def _libc():
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
        return libc
    except (OSError, AttributeError):
        return None


def _peak_growth_proc(fn, repeats):
    """Peak RSS growth (KiB) of ``fn()`` from Linux's exact page counts.

    glibc is told to keep every freed block resident (no trimming, no mmap for
    blocks up to 32 MiB), and freed heap pages are returned first
    (``malloc_trim``): the pages the call makes resident stay resident after
    it returns, so the exact RSS (``smaps_rollup``, a page-table walk) after -
    before is what the call held, reused blocks counted once.  (VmHWM/ru_maxrss
    are per-CPU-batched counters, off by up to ~32 pages per CPU.)  A block over
    32 MiB is mmap'ed and gone by the end: then the peak counter's growth
    (VmHWM, reset via ``clear_refs``) is used if it is clearly larger.
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: heap, not mmap, up to the maximum 32 MiB
        libc.mallopt(-1, 1 << 30)   # M_TRIM_THRESHOLD: free() never returns memory to the OS
    growths = []
    for _ in range(repeats):
        if libc is not None:
            libc.malloc_trim(0)  # freed heap pages out of the RSS: reusing them must show as growth
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # peak RSS := current RSS
        rss, hwm = _proc_kib("/proc/self/smaps_rollup", "Rss:"), _proc_kib("/proc/self/status", "VmHWM:")
        fn()
        growth = _proc_kib("/proc/self/smaps_rollup", "Rss:") - rss
        hwm_growth = _proc_kib("/proc/self/status", "VmHWM:") - hwm
        growths.append(hwm_growth if hwm_growth > growth + 1024 else growth)
    return growths


def _peak_growth_fork(fn, repeats):
    """Fallback without /proc: ``ru_maxrss`` growth in a fork (Linux starts a child's peak at its
    current RSS).  Coarser: the child faults in code pages too (see the "noop" row)."""
    import resource

    growths = []
    for _ in range(repeats):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                libc = _libc()
                if libc is not None:
                    libc.malloc_trim(0)
                before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                fn()
                after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                os.write(write, str(after - before).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        with os.fdopen(read) as fh:
            text = fh.read()
        os.waitpid(pid, 0)
        if not text:
            raise RuntimeError("memory probe child failed")
        growths.append(int(text))
    return growths


def peak_growth_kib(fn, repeats=3):
    """``(median KiB, method)``: how far one ``fn()`` raises the process's peak RSS (page granularity).

    ``fn`` must be warm (compiled, its code pages resident).  Changes glibc's
    malloc settings for the rest of the process (see ``_peak_growth_proc``).
    """
    import statistics

    try:
        return statistics.median(_peak_growth_proc(fn, repeats)), "exact RSS (smaps_rollup), heap kept resident"
    except OSError:
        return statistics.median(_peak_growth_fork(fn, repeats)), "ru_maxrss in a fork"


def _child_memory(case):
    import numba

    import srcgrad
    m, spec, wrt, _ = _case_module(case)
    args = m.make_args()
    g = srcgrad.grad(getattr(m, spec["loss"]), wrt=wrt)
    primal = numba.njit(_python_function(getattr(m, spec["primal"])))
    calls = {"noop": lambda: None, "srcgrad": lambda: g(*args), "hand": lambda: m.hand_grad(*args),
             "primal": lambda: primal(*args)}
    for fn in calls.values():  # compile (or load), and fault in every code page the calls touch
        fn()
        fn()
    growth, method = {}, None
    for name, fn in calls.items():
        growth[name], method = peak_growth_kib(fn)
    out = {"peak_rss_growth_kib": growth, "method": method}
    size = srcgrad.tape_size(g, *args)
    floats, ints = size.floats, size.ints
    kib = round(size.nbytes / 1024, 1)
    flags = f" + {size.flags} flags" if size.flags else ""
    out["tape"] = {"float64": floats, "int64": ints, "flags": size.flags, "kib": kib,
                   "line": f"tape for these arguments: {floats} float64 + {ints} int64 entries{flags} = {kib:.1f} KiB "
                           "after the forward sweep"}
    return out


_CHILDREN = {"srcgrad": _child_srcgrad, "hand": _child_hand, "jax": _child_jax, "numba": _child_numba, "memory": _child_memory}


# ----------------------------------------------------------------------------- parent

def _spawn(mode, case, env_extra, timeout=300):
    """Run one child; returns its result dict plus ``process_s`` (the child's whole wall time)."""
    env = dict(os.environ)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)  # JAX's persistent cache stays off
    env.update(env_extra)
    env["PYTHONPATH"] = _REPO + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.startup", "--child", mode, case], check=False,
                              cwd=_REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_MARK)]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)[-400:]}
    result = json.loads(lines[-1][len(_MARK):])
    result["process_s"] = wall
    return result


def _jax_installed():
    from importlib.util import find_spec

    return find_spec("jax") is not None


def run(cases=None, quick=False, log=print):
    """Measure ``cases`` (default: all, or ``QUICK_CASES`` with ``quick``); returns the result dict."""
    cases = list(cases or (QUICK_CASES if quick else CASES))
    t_start = time.perf_counter()
    out = {"warm_target_s": WARM_TARGET_S, "cases": {}}
    with tempfile.TemporaryDirectory(prefix="srcgrad-startup-") as tmp:
        numba_cache = os.path.join(tmp, "numba")
        # first gradient of a new installation: the runtime helpers compile too (fills numba_cache)
        log(f"startup: srcgrad first ever ({cases[0]}, empty srcgrad and Numba caches) ...", flush=True)
        out["first_ever"] = dict(_spawn("srcgrad", cases[0], {"SRCGRAD_CACHE_DIR": os.path.join(tmp, "first"),
                                                              "NUMBA_CACHE_DIR": numba_cache}), case=cases[0])
        for case in cases:
            env = {"SRCGRAD_CACHE_DIR": os.path.join(tmp, f"srcgrad-{case}"), "NUMBA_CACHE_DIR": numba_cache}
            log(f"startup: {case} (srcgrad cold, warm, memory; numba; jax) ...", flush=True)
            res = {"srcgrad_cold": _spawn("srcgrad", case, env), "srcgrad_warm": _spawn("srcgrad", case, env),
                   "memory": _spawn("memory", case, env)}
            res["hand_cached"] = _spawn("hand", case, env)  # the memory child filled the hand's Numba cache
            res["numba_primal"] = _spawn("numba", case, {"NUMBA_CACHE_DIR": os.path.join(tmp, "numba-primal")})
            res["jax"] = _spawn("jax", case, {}) if _jax_installed() else {"skipped": "jax not installed"}
            out["cases"][case] = res
    out["elapsed_s"] = time.perf_counter() - t_start
    return out


# ----------------------------------------------------------------------------- reporting

def _t(entry, key="first_call_s"):
    from .harness import _fmt_time

    if "error" in entry:
        return "FAILED"
    if "skipped" in entry:
        return "skipped"
    return _fmt_time(entry.get(key))


def _fmt_signed(t):
    from .harness import _fmt_time

    return ("-" if t < 0 else "") + _fmt_time(abs(t))


def _kib(x):
    if x is None:
        return "-"
    return f"{x / 1024:.3g} MiB" if x >= 1024 else f"{x:.4g} KiB"


def _tables(result):
    """(compile header, rows), (memory header, rows), notes."""
    head_c = ["case", "import srcgrad", "srcgrad cold", "srcgrad warm", "hand cached", "numba primal",
              "import jax", "jax first", "srcgrad 2nd call"]
    head_m = ["case", "srcgrad tape", "peak RSS +: srcgrad", "hand", "primal", "noop", "srcgrad/hand"]
    rows_c, rows_m, notes = [], [], []
    for case, res in result["cases"].items():
        cold, warm, jx, nb, mem = (res[k] for k in ("srcgrad_cold", "srcgrad_warm", "jax", "numba_primal", "memory"))
        hand = res.get("hand_cached", {"skipped": "not measured"})
        rows_c.append([case, _t(cold, "import_s"), _t(cold), _t(warm), _t(hand), _t(nb), _t(jx, "import_s"),
                       _t(jx), _t(warm, "second_call_s")])
        growth = mem.get("peak_rss_growth_kib", {})
        tape = mem.get("tape", {})
        ratio = (f"{growth['srcgrad'] / growth['hand']:.2f}x"
                 if growth.get("hand") and growth.get("srcgrad") is not None else "-")
        rows_m.append([case, "FAILED" if "error" in mem else _kib(tape.get("kib")),
                       _kib(growth.get("srcgrad")), _kib(growth.get("hand")), _kib(growth.get("primal")),
                       _kib(growth.get("noop")), ratio])
        if "first_call_s" in warm:
            ok = warm["first_call_s"] < result["warm_target_s"]
            floor = (f"; the hand adjoint's cached start (Numba alone) {_t(hand)}, srcgrad's own share "
                     f"{_fmt_signed(warm['first_call_s'] - hand['first_call_s'])}" if "first_call_s" in hand else "")
            notes.append(f"target {case}: srcgrad warm start = {_t(warm)} (< {result['warm_target_s']:g} s): "
                         f"{'OK' if ok else 'MISSED'}{floor}")
        for what, entry in (("srcgrad cold", cold), ("srcgrad warm", warm), ("memory", mem),
                            ("hand cached", hand), ("numba primal", nb), ("jax", jx)):
            if "error" in entry:
                notes.append(f"FAILED {case} {what}: {entry['error']}")
            elif "skipped" in entry:
                notes.append(f"SKIPPED {case} {what}: {entry['skipped']}")
        if "line" in tape:
            notes.append(f"{case} srcgrad.tape_size(...): {tape['line']}")
        if mem.get("method", "").startswith("ru_maxrss"):
            notes.append(f"{case} memory measured with {mem['method']} (no /proc): coarser")
    first = result.get("first_ever", {})
    if "first_call_s" in first:
        notes.insert(0, f"srcgrad first gradient of a new installation ({first['case']}: empty srcgrad AND Numba "
                        f"caches, srcgrad's runtime helpers compile too): {_t(first)}")
    elif "error" in first:
        notes.insert(0, f"FAILED first-ever run: {first['error']}")
    return (head_c, rows_c), (head_m, rows_m), notes


def format_notes(result):
    """The note lines (targets, failures, tape lines) of a start-up result."""
    return _tables(result)[2]


_INTRO = ("fresh process per number; times from before srcgrad.grad(...) / jax.jit(jax.grad(...)) / "
          "numba.njit(...) to after the first call returns (imports excluded, shown apart); cold = empty "
          "srcgrad cache, warm = second process with that cache; hand cached = first call of the hand "
          "@njit(cache=True) adjoint from Numba's cache (Numba's own start-up floor); numba primal = "
          "compiling the forward function, uncached")
_MEM_INTRO = ("tape: srcgrad.tape_size(g, *args) for the full-size arguments; peak RSS +: memory ONE full-size call "
              "of a compiled, warm function holds (exact RSS growth with the heap trimmed before and kept resident "
              "after; median of 3; page granularity)")


def format_text(result):
    from .harness import _align

    (hc, rc), (hm, rm), notes = _tables(result)
    lines = ["== compile time and start-up: " + _INTRO] + _align(hc, rc)
    lines += ["", "== memory: " + _MEM_INTRO] + _align(hm, rm)
    lines += ["   " + n for n in notes]
    lines.append(f"   (start-up measurements took {result.get('elapsed_s', 0):.0f} s)")
    return "\n".join(lines)


def format_markdown(result):
    """Markdown lines of the two sections (for ``harness.format_markdown``)."""
    (hc, rc), (hm, rm), notes = _tables(result)

    def table(h, rows):
        return ["| " + " | ".join(h) + " |", "|" + "---|" * len(h)] + ["| " + " | ".join(r) + " |" for r in rows]
    return (["## compile time and start-up", "", _INTRO + ".", ""] + table(hc, rc)
            + ["", "## memory", "", _MEM_INTRO + ".", ""] + table(hm, rm)
            + [""] + [f"- {n}" for n in notes] + [""])


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup",
                                     description="Compile time, cached start and memory, in fresh processes.")
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK_CASES)}")
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="repeatable")
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, case = args.child
        print(_MARK + json.dumps(_CHILDREN[mode](case)), flush=True)
        return 0
    result = run(args.case, quick=args.quick)
    print(format_text(result))
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
