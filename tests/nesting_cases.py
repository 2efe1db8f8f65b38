"""Functions that call derivatives of other functions (nested derivatives)."""
import math

import srcgrad


def cubic(x, y):
    return x * x * y ** 3 + math.sin(x * y)


d_cubic = srcgrad.grad(cubic, wrt=("x", "y"))
d_cubic_fwd = srcgrad.grad(cubic, wrt=("x", "y"), mode="fwd")
d_cubic_dx = srcgrad.grad(cubic, wrt="x")
jvp_cubic = srcgrad.jvp(cubic, wrt=("x", "y"))


def slope_sum(x, y):
    """∂c/∂x + 2 ∂c/∂y of cubic, by inner reverse mode."""
    gx, gy = d_cubic(x, y)
    return gx + 2.0 * gy


def slope_sum_fwd(x, y):
    """The same by inner forward mode."""
    gx, gy = d_cubic_fwd(x, y)
    return gx + 2.0 * gy


def slope_sum_jvp(x, y):
    """The same as a directional derivative (inner jvp along (1, 2))."""
    value, t = jvp_cubic(x, y, 1.0, 2.0)
    return t


def slope_sum_reference(x, y):
    """Closed form: ∂/∂x and ∂/∂y of slope_sum (second derivatives of cubic)."""
    c, s = math.cos(x * y), math.sin(x * y)
    cxx = 2 * y ** 3 - y * y * s
    cxy = 6 * x * y * y + c - x * y * s
    cyy = 6 * x * x * y - x * x * s
    return cxx + 2 * cxy, cxy + 2 * cyy


def descend(w):
    """A few explicit steps of gradient descent on cubic(., w): the result depends on w
    through every inner gradient (a loop around an inner reverse sweep)."""
    x = 1.0
    for _ in range(5):
        x = x - 0.05 * d_cubic_dx(x, w)
    return x * x


def third(x):
    """d/dx of (d/dx of cubic(x, 1.3)): two levels of nesting below the outer derivative."""
    return d_dx_of_dx(x, 1.3)


def dx_of_cubic(x, y):
    return d_cubic_dx(x, y)


d_dx_of_dx = srcgrad.grad(dx_of_cubic, wrt="x")


def third_reference(x):
    """Closed form of d/dx third(x) = ∂³cubic/∂x³ at y = 1.3."""
    y = 1.3
    return -y ** 3 * math.cos(x * y)


def looping(x):
    s = 0.0
    for k in range(3):
        s += x ** k
    return s


d_looping = srcgrad.grad(looping)
d_looping_fwd = srcgrad.grad(looping, mode="fwd")


def uses_looping_rev(x):
    return d_looping(x) * x


def uses_looping_fwd(x):
    return d_looping_fwd(x) * x


def unpacks_wrongly(x, y):
    g = d_cubic(x, y)
    return g
