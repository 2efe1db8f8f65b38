"""The ReLU perceptron y = max(0, w*x + b) and its killed gradient.

    python examples/relu_neuron.py

While w*x + b > 0 the unit passes gradient: dy/dw = x, dy/db = 1.  Once
w*x + b < 0 the ReLU outputs 0 and both derivatives are 0, so gradient
descent gets no signal to move w or b -- the unit is "dead" for this input.
"""

import sys
from pathlib import Path

try:
    import srcgrad
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import srcgrad
from srcgrad.lecture import relu_neuron

grad_relu = srcgrad.grad(relu_neuron, wrt=("w", "b"))


def main():
    x = 2.0
    print(f"y = max(0, w*x + b) at x = {x}")
    print(f"{'w':>6} {'b':>6} {'w*x+b':>7} {'y':>6} {'dy/dw':>7} {'dy/db':>7}")
    for w, b in [(1.0, 1.0), (0.5, 0.0), (0.0, 0.5), (-0.5, 0.5), (-1.0, -1.0)]:
        dw, db = grad_relu(w, b, x)
        z = w * x + b
        note = "  <- killed by the ReLU" if z < 0 else ""
        print(f"{w:6.2f} {b:6.2f} {z:7.2f} {relu_neuron(w, b, x):6.2f} {dw:7.2f} {db:7.2f}{note}")

    # A dead unit stays dead: gradient descent on y^2 from w = b = -1 never moves.
    w, b = -1.0, -1.0
    for _ in range(100):
        dw, db = grad_relu(w, b, x)
        y = relu_neuron(w, b, x)
        w -= 0.1 * 2 * y * dw
        b -= 0.1 * 2 * y * db
    print(f"\nafter 100 gradient steps from w = b = -1: w = {w}, b = {b} (unchanged)")

    print("\ngenerated adjoint:")
    print(srcgrad.source(grad_relu, 1.0, 1.0, x))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
