"""Central finite differences (float64) used as the reference for srcgrad gradients.

Everything here calls the *plain Python* function, never srcgrad, and never
mutates the caller's arguments: every evaluation gets fresh copies of all array
arguments (so even a function that writes into its own array parameter is fine).
"""

import inspect
import math

import numpy as np

EPS = np.finfo(np.float64).eps
REL_STEP = 1e-6


def param_names(f):
    """Positional parameter names of f (unwrapping functools.wraps)."""
    f = inspect.unwrap(f)
    return [p.name for p in inspect.signature(f).parameters.values()]


def resolve_wrt(f, wrt):
    """Normalise a wrt spec (None, int, name or tuple of them).

    Returns (positions, names, single) where single tells whether the gradient
    is a single value (wrt is an int/str/None) or a tuple (wrt is a tuple/list).
    """
    names = param_names(f)
    single = not isinstance(wrt, (tuple, list))
    items = [0 if wrt is None else wrt] if single else list(wrt)
    positions = []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise ValueError(f"{item!r} is not a parameter of {f.__name__}")
            positions.append(names.index(item))
        else:
            idx = int(item)
            if not 0 <= idx < len(names):
                raise ValueError(f"wrt position {idx} out of range for {f.__name__}")
            positions.append(idx)
    return tuple(positions), tuple(names[p] for p in positions), single


def copy_args(args):
    """Deep-enough copy: arrays copied, scalars passed through."""
    return tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)


def _call(f, args):
    return float(f(*copy_args(args)))


def _step(x, rel_step=REL_STEP):
    return rel_step * max(1.0, abs(float(x)))


def fd_gradient(f, args, wrt=0, rel_step=REL_STEP):
    """Central-difference gradient of scalar-valued plain-Python f.

    Returns (grads, noise): grads is a tuple with one entry per wrt item
    (float for scalars, float64 array of the argument's shape for arrays);
    noise is a matching tuple of per-entry round-off estimates
    (~ eps * |f| / h) that callers may add to their absolute tolerance.
    """
    positions, _, _ = resolve_wrt(f, wrt)
    args = copy_args(args)
    grads, noises = [], []
    for pos in positions:
        a = args[pos]
        if isinstance(a, np.ndarray):
            base = np.asarray(a, dtype=np.float64)
            g = np.zeros(base.shape, dtype=np.float64)
            noise = np.zeros(base.shape, dtype=np.float64)
            for idx in np.ndindex(base.shape):
                h = _step(base[idx], rel_step)
                plus = base.copy()
                minus = base.copy()
                plus[idx] += h
                minus[idx] -= h
                hp = plus[idx] - base[idx]  # the step actually taken
                hm = base[idx] - minus[idx]
                ap = args[:pos] + (plus,) + args[pos + 1:]
                am = args[:pos] + (minus,) + args[pos + 1:]
                fp, fm = _call(f, ap), _call(f, am)
                g[idx] = (fp - fm) / (hp + hm)
                noise[idx] = 8.0 * EPS * max(1.0, abs(fp), abs(fm)) / (hp + hm)
            grads.append(g)
            noises.append(noise)
        else:
            x = float(a)
            h = _step(x, rel_step)
            xp, xm = x + h, x - h
            ap = args[:pos] + (xp,) + args[pos + 1:]
            am = args[:pos] + (xm,) + args[pos + 1:]
            fp, fm = _call(f, ap), _call(f, am)
            grads.append((fp - fm) / (xp - xm))
            noises.append(8.0 * EPS * max(1.0, abs(fp), abs(fm)) / (xp - xm))
    return tuple(grads), tuple(noises)


def as_tuple(grads, single):
    return (grads,) if single else tuple(grads)


def compare(name, got, want, rtol, atol, extra_atol=0.0):
    """Return None if got ~ want elementwise, else a message."""
    got_a = np.asarray(got, dtype=np.float64)
    want_a = np.asarray(want, dtype=np.float64)
    if got_a.shape != want_a.shape:
        return f"{name}: shape {got_a.shape} != expected {want_a.shape}"
    if not np.all(np.isfinite(got_a)):
        return f"{name}: non-finite gradient {got_a!r}"
    tol = atol + np.asarray(extra_atol) + rtol * np.abs(want_a)
    err = np.abs(got_a - want_a)
    bad = err > tol
    if np.any(bad):
        worst = np.unravel_index(np.argmax(err - tol), err.shape) if err.ndim else ()
        return (f"{name}: got {got_a!r}\n  expected {want_a!r}\n"
                f"  worst entry {worst}: |diff|={float(err[worst]):.3e} > tol={float(tol[worst]):.3e}")
    return None


def assert_grad_matches_fd(f, args, wrt, grads, rtol=1e-5, atol=1e-7):
    """Assert `grads` (as returned by srcgrad for this wrt spec) match central FD of plain f."""
    _, names, single = resolve_wrt(f, wrt)
    got = as_tuple(grads, single)
    assert len(got) == len(names), f"expected {len(names)} gradients, got {len(got)}"
    want, noise = fd_gradient(f, args, wrt if not single else names[0])
    msgs = [m for m in (compare(n, g, w, rtol, atol, z)
                        for n, g, w, z in zip(names, got, want, noise)) if m]
    assert not msgs, f"gradient of {f.__name__} at {args!r} disagrees with FD:\n" + "\n".join(msgs)


def assert_grads_close(got, want, names, rtol=1e-9, atol=1e-12, what="closed form"):
    msgs = [m for m in (compare(n, g, w, rtol, atol) for n, g, w in zip(names, got, want)) if m]
    assert not msgs, f"gradient disagrees with {what}:\n" + "\n".join(msgs)


def is_close_scalar(a, b, rtol=1e-12, atol=1e-14):
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=atol)


def short_mode():
    """True when pytest runs with --short (conftest sets SRCGRAD_TEST_SHORT=1)."""
    import os

    return os.environ.get("SRCGRAD_TEST_SHORT") == "1"
