"""Train the lecture's sigmoid perceptron with srcgrad gradients.

    python examples/lecture_perceptron.py

The model is L = (y - sigmoid(w1*x1 + w2*x2 + b))**2 per example
(srcgrad/lecture.py).  srcgrad differentiates the plain-Python loss once;
plain gradient descent over a tiny data set (logical OR, then AND) then uses
the compiled gradient for every step.
"""

import sys
from pathlib import Path

try:
    import srcgrad
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import srcgrad
from srcgrad.lecture import perceptron_loss, sigmoid

DATASETS = {
    "OR": [((0.0, 0.0), 0.0), ((0.0, 1.0), 1.0), ((1.0, 0.0), 1.0), ((1.0, 1.0), 1.0)],
    "AND": [((0.0, 0.0), 0.0), ((0.0, 1.0), 0.0), ((1.0, 0.0), 0.0), ((1.0, 1.0), 1.0)],
}

# dL/dw1, dL/dw2, dL/db of the per-example loss, as one compiled function.
grad_loss = srcgrad.grad(perceptron_loss, wrt=("w1", "w2", "b"))


def total_loss(w1, w2, b, data):
    return sum(perceptron_loss(w1, w2, b, x1, x2, y) for (x1, x2), y in data)


def train(data, epochs=1000, lr=2.0, report_every=100):
    w1, w2, b = 0.1, -0.1, 0.0
    for epoch in range(epochs + 1):
        if epoch % report_every == 0:
            print(f"  epoch {epoch:5d}   loss {total_loss(w1, w2, b, data):.6f}")
        if epoch == epochs:
            break
        gw1 = gw2 = gb = 0.0
        for (x1, x2), y in data:
            d1, d2, db = grad_loss(w1, w2, b, x1, x2, y)
            gw1 += d1
            gw2 += d2
            gb += db
        n = len(data)
        w1 -= lr * gw1 / n
        w2 -= lr * gw2 / n
        b -= lr * gb / n
    return w1, w2, b


def main():
    ok = True
    for name, data in DATASETS.items():
        print(f"{name}: gradient descent on the sigmoid perceptron")
        w1, w2, b = train(data)
        print(f"  learned w1 = {w1:.3f}, w2 = {w2:.3f}, b = {b:.3f}")
        for (x1, x2), y in data:
            p = sigmoid(w1 * x1 + w2 * x2 + b)
            print(f"    x = ({x1:.0f}, {x2:.0f})  target {y:.0f}  output {p:.3f}")
            ok &= round(p) == y
        print()
    print("all training examples classified correctly" if ok else "some examples misclassified")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
