"""A 2-layer MLP classifier whose gradient srcgrad derives from plain NumPy code.

Used by examples/train_mlp.py (digits data set) and tests/test_examples.py.
Imports only numpy, numba and srcgrad, so it can be imported without the
`examples` extras (scikit-learn, tqdm, matplotlib).

The loss is written the way you would write it without any AD tool in mind:

    h      = tanh(X W1 + b1)                   (n, hidden)
    logits = h W2 + b2                         (n, classes)
    loss   = mean over rows of -sum(Y * log_softmax(logits))

srcgrad reads `mlp_loss`'s source once and generates its adjoint; the result,
`loss_and_grad`, is a compiled function that returns the loss and the four
parameter gradients.  It can be called from Python (`train_epoch_python`) and
from inside `@numba.njit` code (`train_epoch`): there the whole epoch --
shuffling, minibatch gradients, parameter updates -- is one compiled call.
"""

import sys
from pathlib import Path

import numba
import numpy as np

try:
    import srcgrad
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import srcgrad

PARAMS = ("W1", "b1", "W2", "b2")


def mlp_loss(W1, b1, W2, b2, X, Y):
    """Mean softmax cross-entropy of the MLP on the batch X (n, d) with one-hot Y (n, c)."""
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    m = np.max(logits, axis=1, keepdims=True)      # subtract the row max: exp never overflows
    z = logits - m
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


# (loss, (dW1, db1, dW2, db2)) = loss_and_grad(W1, b1, W2, b2, X, Y)
loss_and_grad = srcgrad.value_and_grad(mlp_loss, wrt=PARAMS)


def init_params(n_in, n_hidden, n_out, seed=0):
    """Scaled normal weights (variance 1/fan-in), zero biases, all float64."""
    rng = np.random.default_rng(seed)
    W1 = rng.normal(0.0, 1.0 / np.sqrt(n_in), size=(n_in, n_hidden))
    b1 = np.zeros(n_hidden)
    W2 = rng.normal(0.0, 1.0 / np.sqrt(n_hidden), size=(n_hidden, n_out))
    b2 = np.zeros(n_out)
    return W1, b1, W2, b2


def one_hot(labels, n_classes):
    Y = np.zeros((len(labels), n_classes))
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


def predict(W1, b1, W2, b2, X):
    """Predicted class of every row of X."""
    return np.argmax(np.tanh(X @ W1 + b1) @ W2 + b2, axis=1)


def accuracy(params, X, labels):
    return float(np.mean(predict(*params, X) == labels))


@numba.njit(cache=True)
def epoch_order(n, seed):
    """The shuffled sample order of one epoch (the same in both training modes)."""
    np.random.seed(seed)
    return np.random.permutation(n)


@numba.njit
def train_epoch(W1, b1, W2, b2, X, Y, lr, batch, seed):
    """One epoch of minibatch SGD, entirely compiled; updates the parameters
    in place and returns the mean training loss over the epoch's minibatches
    (each taken before its update)."""
    n = X.shape[0]
    order = epoch_order(n, seed)
    total = 0.0
    for start in range(0, n, batch):
        idx = order[start:start + batch]
        Xb = X[idx]
        Yb = Y[idx]
        loss, grads = loss_and_grad(W1, b1, W2, b2, Xb, Yb)   # the srcgrad adjoint, inlined by Numba
        dW1, db1, dW2, db2 = grads
        W1 -= lr * dW1
        b1 -= lr * db1
        W2 -= lr * dW2
        b2 -= lr * db2
        total += loss * Xb.shape[0]
    return total / n


def train_epoch_python(W1, b1, W2, b2, X, Y, lr, batch, seed):
    """The same epoch as `train_epoch` as a plain Python loop (for comparison):
    one Python call of the compiled gradient per minibatch."""
    n = X.shape[0]
    order = epoch_order(n, seed)
    total = 0.0
    for start in range(0, n, batch):
        idx = order[start:start + batch]
        Xb = X[idx]
        Yb = Y[idx]
        loss, (dW1, db1, dW2, db2) = loss_and_grad(W1, b1, W2, b2, Xb, Yb)
        W1 -= lr * dW1
        b1 -= lr * db1
        W2 -= lr * dW2
        b2 -= lr * db2
        total += loss * Xb.shape[0]
    return total / n
