"""The lecture's sigmoid perceptron on a whole data set, written with NumPy arrays.

    python examples/train_perceptron.py          # --epochs 300 --lr 2.0 --seed 0

examples/lecture_perceptron.py trains the scalar version, one example per
gradient call: L = (y - sigmoid(w1*x1 + w2*x2 + b))**2.  Here the same model
is written for all n examples at once -- w is a vector of 2 weights, X an
(n, 2) array -- and the loss is the mean of the per-example losses:

    L(w, b) = mean((y - sigmoid(X @ w + b))**2)

srcgrad differentiates this plain NumPy function once; full-batch gradient
descent on a synthetic 2-feature, 2-class data set (two Gaussian blobs) then
calls the compiled gradient every epoch.  The loss is printed every few
epochs, and at the end the vectorised gradient is compared with the mean of
the scalar lecture gradients (srcgrad.lecture.perceptron_loss): they agree.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

try:
    import srcgrad
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import srcgrad
from srcgrad import lecture


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def perceptron_loss(w, b, X, y):
    """Mean squared error of the sigmoid perceptron over the rows of X (n, 2)."""
    s = sigmoid(X @ w + b)
    return np.mean((y - s) ** 2)


# (dL/dw, dL/db): dL/dw is an array like w, dL/db a float
grad_loss = srcgrad.grad(perceptron_loss, wrt=("w", "b"))


def make_data(n=200, seed=0):
    """Two Gaussian blobs in the plane: n/2 points of class 0 around (-1, -0.5),
    n/2 of class 1 around (1, 1); X is (n, 2), y is 0.0 / 1.0."""
    rng = np.random.default_rng(seed)
    half = n // 2
    X0 = rng.normal([-1.0, -0.5], 0.7, size=(half, 2))
    X1 = rng.normal([1.0, 1.0], 0.7, size=(n - half, 2))
    X = np.vstack([X0, X1])
    y = np.concatenate([np.zeros(half), np.ones(n - half)])
    return X, y


def train(X, y, epochs=300, lr=2.0, report_every=25, w=None, b=0.0, verbose=True):
    """Full-batch gradient descent; returns (w, b, losses) with the loss before each step."""
    w = np.array([0.1, -0.1]) if w is None else np.array(w, dtype=float)
    losses = []
    for epoch in range(epochs + 1):
        loss = perceptron_loss(w, b, X, y)
        losses.append(float(loss))
        if verbose and epoch % report_every == 0:
            print(f"  epoch {epoch:5d}   loss {loss:.6f}")
        if epoch == epochs:
            break
        dw, db = grad_loss(w, b, X, y)
        w = w - lr * dw
        b = b - lr * db
    return w, b, losses


def scalar_lecture_gradient(w, b, X, y):
    """The mean of the lecture's per-example gradients (scalar srcgrad code)."""
    g = srcgrad.grad(lecture.perceptron_loss, wrt=("w1", "w2", "b"))
    total = np.zeros(3)
    for (x1, x2), t in zip(X, y):
        total += g(w[0], w[1], b, x1, x2, t)
    return total / len(X)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--lr", type=float, default=2.0)
    p.add_argument("--n", type=int, default=200, help="number of examples")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    X, y = make_data(args.n, args.seed)
    print(f"sigmoid perceptron, {len(X)} examples with 2 features, full-batch gradient descent (lr {args.lr})")
    w, b, losses = train(X, y, args.epochs, args.lr)
    acc = float(np.mean((sigmoid(X @ w + b) > 0.5) == (y > 0.5)))
    print(f"learned w = ({w[0]:.3f}, {w[1]:.3f}), b = {b:.3f}; "
          f"decision boundary {w[0]:.3f}*x1 {w[1]:+.3f}*x2 {b:+.3f} = 0")
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}, training accuracy {acc:.3f}")

    dw, db = grad_loss(w, b, X, y)
    ref = scalar_lecture_gradient(w, b, X, y)
    diff = float(np.max(np.abs(np.append(dw, db) - ref)))
    print(f"vectorised gradient vs mean of the lecture's scalar gradients: max difference {diff:.1e}")
    ok = losses[-1] < losses[0] and acc > 0.8 and diff < 1e-12
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
