"""No tape grows inside a loop (`srcgrad.tape_retry`): a room check inside a
loop that finds its tape full sets the size it needs and the adjoint starts
again. These programs fill the first tapes (4096 entries) inside loops, so
every call starts again at least once: the gradients must be those of one
clean run (closed forms and finite differences), the caller's arrays
untouched, and the parameters the body rebinds start from the caller's values."""
import math
import re

import numpy as np

import srcgrad
from srcgrad import tape_retry
from tests.fd import assert_grad_matches_fd


def power_while(a, x, n):
    """x * a**n by a while loop whose trip count the planner cannot bound:
    x (a parameter) is rebound and taped every iteration."""
    k = 0
    while k < n:
        x = a * x
        k += 1
    return x


def sines_while(a, v, n):
    """A vector rebound n times in a while loop (its old values taped as an array)."""
    k = 0
    while k < n:
        v = np.sin(v) * a
        k += 1
    return np.sum(v)


def clipped_steps(a, x, n):
    """In-place writes to a parameter array and a branch per element, inside
    a while loop around a for loop: flags and floats taped in both."""
    total = 0.0
    k = 0
    while k < n:
        for i in range(x.shape[0]):
            y = a * x[i]
            if y > 1.0:
                y = 1.0 + 0.5 * (y - 1.0)
            x[i] = y
        total += np.sum(x)
        k += 1
    return total


def _clipped_reference(a, x, n):
    x = x.copy()
    total = 0.0
    for _ in range(n):
        y = a * x
        x = np.where(y > 1.0, 1.0 + 0.5 * (y - 1.0), y)
        total += x.sum()
    return total


def test_rebound_parameter_starts_again_from_the_callers_value():
    g = srcgrad.grad(power_while, wrt=("a", "x"))
    n = 6000                    # 6000 taped x's: more than the first tape holds
    src = srcgrad.source(g, 1.0001, 0.7, n)
    assert "while True:" in src and "x = x_given  # the caller's value" in src
    assert "reserve(" not in src            # the only room checks are inside the loop
    a, x = 1.0001, 0.7
    got = g(a, x, n)
    assert math.isclose(got[0], n * x * a ** (n - 1), rel_tol=1e-11)      # closed forms
    assert math.isclose(got[1], a ** n, rel_tol=1e-11)
    value, _ = srcgrad.value_and_grad(power_while, wrt=("a", "x"))(a, x, n)
    assert math.isclose(value, x * a ** n, rel_tol=1e-11)
    assert_grad_matches_fd(power_while, (a, x, 300), ("a", "x"), g(a, x, 300))


def test_array_pushes_inside_a_loop_check_room_and_start_again():
    g = srcgrad.grad(sines_while, wrt=("a", "v"))
    rng = np.random.default_rng(3)
    v = rng.normal(size=60)
    n = 150                     # 9000 floats of old vectors
    src = srcgrad.source(g, 0.9, v, n)
    assert "push_array_into(" in src and "push_array(" not in src.replace("push_array_into(", "")
    got = g(0.9, v, n)
    # closed form by the forward recurrence: v_k = a sin(v_{k-1}), dv_k/da, dv_k/dv_0
    vk, dva, dvv = v.copy(), np.zeros_like(v), np.ones_like(v)
    for _ in range(n):
        c = np.cos(vk)
        dva = np.sin(vk) + 0.9 * c * dva
        dvv = 0.9 * c * dvv
        vk = 0.9 * np.sin(vk)
    assert math.isclose(got[0], dva.sum(), rel_tol=1e-10)
    np.testing.assert_allclose(got[1], dvv, rtol=1e-10, atol=1e-300)
    assert_grad_matches_fd(sines_while, (0.9, v, 4), ("a", "v"), g(0.9, v, 4))


def test_in_place_writes_and_branches_in_nested_loops():
    g = srcgrad.grad(clipped_steps, wrt=("a", "x"))
    rng = np.random.default_rng(4)
    x = rng.uniform(0.2, 1.6, size=40)
    kept = x.copy()
    n = 120                     # 4800 flags and 4800 floats
    src = srcgrad.source(g, 1.01, x, n)
    assert "while True:" in src and "            continue" in src
    got = g(1.01, x, n)
    np.testing.assert_array_equal(x, kept)          # the caller's array, untouched by every attempt
    value, _ = srcgrad.value_and_grad(clipped_steps, wrt=("a", "x"))(1.01, x, n)
    assert math.isclose(value, _clipped_reference(1.01, x, n), rel_tol=1e-12)
    h = 1e-6                    # the closed form's derivative by central differences of the NumPy reference
    da = (_clipped_reference(1.01 + h, x, n) - _clipped_reference(1.01 - h, x, n)) / (2 * h)
    assert math.isclose(got[0], da, rel_tol=1e-6)
    assert_grad_matches_fd(clipped_steps, (1.01, x, 3), ("a", "x"), g(1.01, x, 3))


def fused_whiles(a, n):
    """A loop whose iterations only add to sums runs each one's forward and
    backward sweep together (fusion); the while inside fills the tape."""
    L = 0.0
    for i in range(5):
        x = a * (i + 1)
        k = 0
        while k < n:
            x = math.sin(x) + a
            k += 1
        L += x * x
    return L


def test_a_full_tape_inside_a_fused_loop_starts_again_cleanly():
    g = srcgrad.grad(fused_whiles, wrt="a")
    src = srcgrad.source(g, 0.3, 6000)
    assert "iterations only add to sums" in src and "while True:" in src
    first, again = g(0.3, 6000), g(0.3, 6000)     # (the second call: the remembered size, no restart)
    assert first == again
    assert_grad_matches_fd(fused_whiles, (0.3, 6000), "a", first)


def test_loops_reserved_before_they_start_keep_their_shape():
    """A for loop whose pushes are counted before it runs reserves once, at
    the top level: no attempt loop, nothing changes."""
    def euler(a, x, n):
        for _ in range(n):
            x = x + 0.01 * a * x
        return x

    src = srcgrad.source(srcgrad.grad(euler, wrt="a"), 0.5, 1.0, 10)
    assert "while True:" not in src and "= reserve(" in src


def test_checkpointed_segments_grow_their_tape_in_place():
    """The backward sweep refills one segment's tape per segment: starting
    again there would redo the forward sweep, so that check grows the tape."""
    def euler(a, x, n):
        for _ in range(n):
            x = x - 0.01 * a * x * x
        return x

    g = srcgrad.grad(euler, wrt=("a", "x"), checkpoint=3000)     # segments of 3000 steps: a grown tape
    src = srcgrad.source(g, 0.5, 0.3, 6000)
    assert "one segment's tape: grown here" in src
    got = g(0.5, 0.3, 6000)
    assert_grad_matches_fd(euler, (0.5, 0.3, 6000), ("a", "x"), got, rtol=1e-6)


def test_pass_on_text():
    lines = [
        "def f_adjoint(x, d_out):",
        "    # tape at line 3: x (float64)",
        "    tape_f = np.empty(4096)",
        "    top_f = 0",
        "    if top_f >= tape_f.shape[0]: tape_f = reserve(tape_f, top_f + 1)",
        "    while x < 1.0:",
        "        for i in range(3):",
        "            if top_f >= tape_f.shape[0]: tape_f = reserve(tape_f, top_f + 1)",
        "            tape_f[top_f] = x",
        "            top_f += 1",
        "            x = x * 2.0",
        "    return x",
    ]
    taken = set()

    def fresh(base):
        name = base
        while name in taken:
            name += "_"
        taken.add(name)
        return name

    out = tape_retry.run(lines, fresh, ("x", "d_out"))
    key = re.search(r"remembered_size\('(\w+)_tape_f'\)", out[2]).group(1)
    assert out == [
        "def f_adjoint(x, d_out):",
        "    # tape at line 3: x (float64)",
        f"    tape_f_size = max(4096, remembered_size('{key}_tape_f'))  # what the last call needed",
        "    x_given = x",
        "    # attempts: a tape full inside a loop sets its size and starts the body again "
        "(no tape grows inside a loop)",
        "    while True:",
        "        full = False",
        "        x = x_given  # the caller's value",
        "        tape_f = np.empty(tape_f_size)",
        f"        remember_size('{key}_tape_f', tape_f_size)  # allocated: the next call starts here",
        "        top_f = 0",
        "        if top_f >= tape_f.shape[0]: tape_f = reserve(tape_f, top_f + 1)",     # outside loops: grows
        "        while x < 1.0:",
        "            for i in range(3):",
        "                if top_f >= tape_f.shape[0]:",
        "                    tape_f_size = max(8 * tape_f.shape[0], 2 * (top_f + 1))",
        "                    full = True",
        "                    break",
        "                tape_f[top_f] = x",
        "                top_f += 1",
        "                x = x * 2.0",
        "            if full: break",
        "        if full:  # the other tapes fill up as fast: room for as much more",
        "            tape_f_size = max(tape_f_size, 8 * top_f)",
        "            continue",
        "        return x",
    ]
    plain = [line for line in lines if "reserve" not in line or not line.startswith("            ")]
    assert tape_retry.run(plain, fresh, ("x", "d_out")) == plain     # nothing inside a loop: unchanged
