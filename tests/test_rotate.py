"""Stencil δ's carried in rotating registers (`srcgrad/rotate.py`): a loop
that adds into d_x[i - 1], d_x[i], d_x[i + 1] keeps those elements in
locals and stores each once. Gradients against finite differences, loops
counting up and down, an index that wraps around (x[i - 1] at i = 0), and
the unit rewrite itself."""
import numpy as np

import srcgrad
from srcgrad import rotate
from tests.fd import assert_grad_matches_fd


def smooth_down(x, w):
    """The backward loop of a loop counting down counts up."""
    n = x.shape[0]
    total = 0.0
    for i in range(n - 2, 0, -1):
        total += w * x[i - 1] * x[i + 1] + x[i] ** 2 * x[i - 1]
    return total


def ring(x, w, steps):
    """x[i - 1] at i = 0 is the last element, as in Python; a new array per step."""
    n = x.shape[0]
    for s in range(steps):
        y = np.zeros(n)
        for i in range(n):
            y[i] = x[i] + w * (x[i - 1] - x[i]) * x[i]
        x = y
    return np.sum(x * x)


def test_stencil_gradients_match_finite_differences():
    x = np.array([0.3, -1.1, 0.7, 1.9, -0.4, 0.8])
    for f, args, wrt in ((smooth_down, (x, 0.6), ("x", "w")), (ring, (x, 0.3, 4), ("x", "w"))):
        g = srcgrad.value_and_grad(f, wrt=wrt)
        value, grads = g(*args)
        assert abs(value - f(*args)) <= 1e-12 * abs(value)
        assert_grad_matches_fd(f, args, wrt, grads)


def test_ring_adjoint_rotates_its_registers():
    x = np.array([0.3, -1.1, 0.7, 1.9, -0.4, 0.8])
    text = srcgrad.source(srcgrad.grad(ring, wrt="x"), x, 0.3, 4)
    assert "held in a register while the loop adds to it" in text
    assert "its last contribution in this loop" in text


def test_rewrite_of_a_descending_loop():
    lines = [
        "for i in range(n - 2, 0, -1):",
        "    t5 = i - 1  # recomputed",
        "    d_u[i + 1] += a",
        "    d_u[t5] -= b  # read",
        "    d_u[i] += c",
        "    d_v[i] += c",
    ]
    out = rotate.run(lines, {"d_u", "d_v"})
    assert out == [
        "d_u_im1 = 0.0  # δ of d_u[i - 1], held in a register while the loop adds to it",
        "d_u_i = 0.0  # δ of d_u[i], held in a register while the loop adds to it",
        "d_u_ip1 = 0.0  # δ of d_u[i + 1], held in a register while the loop adds to it",
        "for i in range(n - 2, 0, -1):",
        "    t5 = i - 1  # recomputed",
        "    d_u_ip1 += a",
        "    d_u_im1 -= b  # read",
        "    d_u_i += c",
        "    d_v[i] += c",
        "    d_u[i + 1] += d_u_ip1  # its last contribution in this loop",
        "    d_u_ip1 = d_u_i",
        "    d_u_i = d_u_im1",
        "    d_u_im1 = 0.0",
        "if (n - 2) > (0):  # the elements still held: next to where the loop stopped",
        "    d_u[(0)] += d_u_i",
        "    d_u[(0) + 1] += d_u_ip1",
    ]


def test_no_rewrite_when_the_array_is_read_or_the_index_changes():
    read = ["for i in range(n):", "    d_u[i] += a", "    d_u[i + 1] += b", "    q = d_u[i]"]
    moved = ["for i in range(n):", "    t = i + 1", "    d_u[t] += a", "    d_u[i] += b", "    t = i + 2"]
    jumps = ["for i in range(n):", "    d_u[i] += a", "    d_u[i + 1] += b", "    break"]
    one = ["for i in range(n):", "    d_u[i] += a", "    d_u[i] += b"]
    self_read = ["for i in range(n):", "    d_u[i] += a", "    d_u[i + 1] += d_u[i] * b"]
    for lines in (read, moved, jumps, one, self_read):
        assert rotate.run(lines, {"d_u"}) == lines
