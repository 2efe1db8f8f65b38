"""The array examples: examples/mlp_model.py (used by train_mlp.py) and
examples/train_perceptron.py.

None of these needs the `examples` extras except the last test, which runs
train_mlp.main() for two epochs on a subset of the digits when scikit-learn,
tqdm and matplotlib are installed.  Sizes are tiny: the Numba compiles are the
slow part, and every test here reuses the same compiled adjoints (they depend
only on the argument kinds, not on the sizes).
"""

import os
import sys

import numpy as np
import pytest

from fd import assert_grad_matches_fd, assert_grads_close

EXAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
if EXAMPLES_DIR not in sys.path:
    sys.path.insert(0, EXAMPLES_DIR)

import mlp_model  # noqa: E402
import train_perceptron  # noqa: E402

N, D, H, C = 5, 8, 6, 3        # samples, features, hidden units, classes


def tiny_batch(seed=0, n=N, scale=1.0):
    """Perturbed initial parameters (biases non-zero) and a random one-hot batch."""
    rng = np.random.default_rng(seed)
    params = mlp_model.init_params(D, H, C, seed=seed)
    params = tuple(p + 0.3 * rng.standard_normal(p.shape) for p in params)
    params = params[:2] + (scale * params[2], scale * params[3])
    X = rng.random((n, D))
    Y = mlp_model.one_hot(rng.integers(0, C, n), C)
    return params, X, Y


def closed_form(W1, b1, W2, b2, X, Y):
    """Hand-derived loss and gradients of mlp_loss (the textbook backprop)."""
    n = X.shape[0]
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = -np.sum(Y * (z - np.log(np.exp(z).sum(axis=1, keepdims=True)))) / n
    dlogits = (p * Y.sum(axis=1, keepdims=True) - Y) / n
    da = (dlogits @ W2.T) * (1.0 - h * h)
    return loss, (X.T @ da, da.sum(axis=0), h.T @ dlogits, dlogits.sum(axis=0))


# --- the MLP ------------------------------------------------------------------------------

def test_mlp_value_and_gradient_match_finite_differences():
    params, X, Y = tiny_batch()
    args = params + (X, Y)
    value, grads = mlp_model.loss_and_grad(*args)
    assert isinstance(value, float)
    assert value == pytest.approx(mlp_model.mlp_loss(*args), rel=1e-12)
    assert len(grads) == 4
    for g, p in zip(grads, params):
        assert isinstance(g, np.ndarray) and g.shape == p.shape and g.dtype == np.float64
    assert_grad_matches_fd(mlp_model.mlp_loss, args, mlp_model.PARAMS, grads, rtol=1e-6)
    assert_grads_close(grads, closed_form(*args)[1], mlp_model.PARAMS, rtol=1e-9, atol=1e-12)


def test_mlp_inputs_are_not_mutated():
    params, X, Y = tiny_batch(seed=3)
    args = params + (X, Y)
    before = [a.copy() for a in args]
    mlp_model.loss_and_grad(*args)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)


def test_mlp_large_logits_stay_finite():
    """Logits in the hundreds: exp would overflow without the row-max shift."""
    params, X, Y = tiny_batch(seed=1, scale=1000.0)
    args = params + (X, Y)
    assert np.max(np.abs(np.tanh(X @ params[0] + params[1]) @ params[2] + params[3])) > 710           # np.exp(710) overflows
    value, grads = mlp_model.loss_and_grad(*args)
    want_value, want_grads = closed_form(*args)
    assert np.isfinite(value) and value == pytest.approx(want_value, rel=1e-10)
    for g in grads:
        assert np.all(np.isfinite(g))
    assert_grads_close(grads, want_grads, mlp_model.PARAMS, rtol=1e-8, atol=1e-9)


def test_mlp_sgd_steps_decrease_the_loss():
    params, X, Y = tiny_batch(seed=2)
    params = tuple(p.copy() for p in params)
    losses = []
    for _ in range(5):
        loss, grads = mlp_model.loss_and_grad(*params, X, Y)
        losses.append(loss)
        for p, g in zip(params, grads):
            p -= 0.5 * g
    losses.append(mlp_model.mlp_loss(*params, X, Y))
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.8 * losses[0], losses


def synthetic_classes(n=40, seed=0):
    """Inputs in [0, 1] labelled by a random linear 'teacher'."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, D))
    labels = np.argmax((X - 0.5) @ rng.standard_normal((D, C)), axis=1)
    return X, mlp_model.one_hot(labels, C), labels


def test_njit_epoch_trains_and_matches_the_python_loop():
    X, Y, labels = synthetic_classes()
    start = mlp_model.init_params(D, H, C, seed=4)
    njit_params = tuple(p.copy() for p in start)
    py_params = tuple(p.copy() for p in start)
    initial = mlp_model.mlp_loss(*start, X, Y)
    epoch_losses = []
    for epoch in range(12):
        epoch_losses.append(mlp_model.train_epoch(*njit_params, X, Y, 0.5, 8, epoch))
        if epoch < 2:   # the same shuffles, gradients and updates as Python code
            mlp_model.train_epoch_python(*py_params, X, Y, 0.5, 8, epoch)
            for a, b in zip(njit_params, py_params):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    final = mlp_model.mlp_loss(*njit_params, X, Y)
    assert all(np.isfinite(epoch_losses))
    assert final < 0.7 * initial, (initial, final)
    assert epoch_losses[-1] < epoch_losses[0]
    assert mlp_model.accuracy(njit_params, X, labels) > mlp_model.accuracy(start, X, labels)


def test_njit_epoch_with_a_last_partial_batch():
    X, Y, _ = synthetic_classes(n=13, seed=5)          # batches of 5, 5, 3
    a = tuple(p.copy() for p in mlp_model.init_params(D, H, C, seed=6))
    b = tuple(p.copy() for p in a)
    la = mlp_model.train_epoch(*a, X, Y, 0.3, 5, 7)
    lb = mlp_model.train_epoch_python(*b, X, Y, 0.3, 5, 7)
    assert la == pytest.approx(lb, rel=1e-12)
    for p, q in zip(a, b):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


# --- the vectorised perceptron ---------------------------------------------------------------

def test_perceptron_gradient_matches_finite_differences_and_the_lecture():
    X, y = train_perceptron.make_data(n=12, seed=1)
    w, b = np.array([0.7, -0.4]), 0.2
    dw, db = train_perceptron.grad_loss(w, b, X, y)
    assert isinstance(dw, np.ndarray) and dw.shape == (2,) and isinstance(db, float)
    assert_grad_matches_fd(train_perceptron.perceptron_loss, (w, b, X, y), ("w", "b"), (dw, db), rtol=1e-6)
    # the mean of the scalar lecture perceptron's srcgrad gradients, example by example
    ref = train_perceptron.scalar_lecture_gradient(w, b, X, y)
    np.testing.assert_allclose(np.append(dw, db), ref, rtol=1e-12, atol=1e-15)


def test_perceptron_training_decreases_the_loss():
    X, y = train_perceptron.make_data(n=40, seed=2)
    w, b, losses = train_perceptron.train(X, y, epochs=30, lr=2.0, verbose=False)
    assert len(losses) == 31
    assert all(l2 <= l1 for l1, l2 in zip(losses, losses[1:]))
    assert losses[-1] < 0.5 * losses[0]
    assert np.mean((train_perceptron.sigmoid(X @ w + b) > 0.5) == (y > 0.5)) > 0.8


def test_perceptron_main(capsys):
    assert train_perceptron.main(["--epochs", "60", "--n", "50"]) == 0
    out = capsys.readouterr().out
    assert "epoch    50" in out and "max difference" in out


# --- the digits script (needs the examples extras) ---------------------------------------------

def test_train_mlp_main_on_a_subset(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("tqdm")
    pytest.importorskip("matplotlib")
    import train_mlp

    plot = tmp_path / "curves.png"
    rc = train_mlp.main(["--epochs", "2", "--limit", "400", "--hidden", "16", "--batch", "32",
                         "--lr", "0.5", "--plot", str(plot)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "njit epoch" in out and "Python loop" in out
    assert plot.exists() and plot.stat().st_size > 0
    acc = float(out.split("test accuracy ")[1].split()[0])
    assert acc > 0.4                      # chance is 0.1; 2 epochs on 300 images give ~0.7-0.85
