"""Train a 2-layer MLP on scikit-learn's handwritten digits with srcgrad gradients.

    pip install -e '.[examples]'          # scikit-learn, tqdm, matplotlib
    python examples/train_mlp.py          # --epochs 30 --hidden 64 --batch 64 --lr 0.1 --seed 0

The model and its loss are plain NumPy (examples/mlp_model.py):

    h = tanh(X @ W1 + b1);  logits = h @ W2 + b2;  loss = softmax cross-entropy

srcgrad differentiates `mlp_loss` once; minibatch SGD then uses the compiled
gradient.  By default every epoch (shuffle, 8x8 images -> 10 classes forward
and backward per minibatch, parameter updates) runs inside one `@numba.njit`
function that calls the srcgrad gradient directly; `--no-njit-epochs` runs the
same epoch as a Python loop that calls the gradient once per minibatch.
After training, one epoch of the other mode is timed for comparison.

Prints a progress bar with loss and accuracy per epoch, the final test
accuracy and the time per epoch, and writes a loss/accuracy plot to --plot
(default ./train_mlp.png; --plot '' for none).  The digits data set (1797
images, 64 pixels with values 0..16) ships with scikit-learn: no download.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))   # mlp_model next to this file
import mlp_model  # noqa: E402  (imports srcgrad, numba)

EXTRAS_HINT = "the MLP example needs the examples extras: pip install -e '.[examples]' " \
              "(scikit-learn, tqdm, matplotlib)"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--hidden", type=int, default=64, help="hidden units (tanh)")
    p.add_argument("--batch", type=int, default=64, help="minibatch size")
    p.add_argument("--lr", type=float, default=0.1, help="SGD learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, the init and the shuffles")
    p.add_argument("--plot", default="train_mlp.png", help="PNG to write the curves to ('' for none)")
    p.add_argument("--njit-epochs", action=argparse.BooleanOptionalAction, default=True,
                   help="run each whole epoch inside one @numba.njit function "
                        "(--no-njit-epochs: a Python loop over minibatches)")
    p.add_argument("--compare", action=argparse.BooleanOptionalAction, default=True,
                   help="afterwards time one epoch of the other mode too")
    p.add_argument("--limit", type=int, default=None, help="use only the first LIMIT images (quick runs)")
    return p.parse_args(argv)


def load_digits_split(seed, limit=None, test_size=0.25):
    """(X_train, y_train, X_test, y_test): float64 pixels scaled to [0, 1], int labels."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise SystemExit(EXTRAS_HINT) from None
    digits = load_digits()
    X = digits.data.astype(np.float64) / 16.0
    y = digits.target.astype(np.int64)
    if limit is not None:
        X, y = X[:limit], y[:limit]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    return (np.ascontiguousarray(X_tr), y_tr, np.ascontiguousarray(X_te), y_te)


def epoch_seed(seed, epoch):
    return seed * 100_003 + epoch


def run_epoch(njit, params, X, Y, lr, batch, seed):
    epoch = mlp_model.train_epoch if njit else mlp_model.train_epoch_python
    return epoch(*params, X, Y, lr, batch, seed)


def mode_name(njit):
    return "njit epoch" if njit else "Python loop"


def time_one_epoch(njit, params, X, Y, lr, batch, seed):
    """Seconds for one epoch on a copy of params (compiled beforehand)."""
    params = tuple(p.copy() for p in params)
    run_epoch(njit, params, X[:batch], Y[:batch], lr, batch, seed)        # compile / warm up
    t0 = time.perf_counter()
    run_epoch(njit, params, X, Y, lr, batch, seed)
    return time.perf_counter() - t0


def save_plot(path, history):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["loss"], marker="o", ms=3)
    ax1.set(xlabel="epoch", ylabel="training loss (cross-entropy)", yscale="log", title="loss")
    ax2.plot(epochs, history["train_acc"], marker="o", ms=3, label="train")
    ax2.plot(epochs, history["test_acc"], marker="o", ms=3, label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax2.legend()
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.suptitle(f"MLP on digits, gradients by srcgrad ({history['mode']})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    try:
        from tqdm import tqdm
    except ImportError:
        raise SystemExit(EXTRAS_HINT) from None

    X_tr, y_tr, X_te, y_te = load_digits_split(args.seed, args.limit)
    n_classes = 10
    Y_tr = mlp_model.one_hot(y_tr, n_classes)
    params = mlp_model.init_params(X_tr.shape[1], args.hidden, n_classes, seed=args.seed)
    njit = args.njit_epochs
    print(f"digits: {len(X_tr)} training / {len(X_te)} test images, {X_tr.shape[1]} pixels; "
          f"MLP {X_tr.shape[1]}-{args.hidden}-{n_classes}, batch {args.batch}, lr {args.lr}, "
          f"{args.epochs} epochs, mode: {mode_name(njit)}")

    # Compile srcgrad's adjoint (and, in njit mode, the epoch function) on a throw-away copy.
    t0 = time.perf_counter()
    run_epoch(njit, tuple(p.copy() for p in params), X_tr[:args.batch], Y_tr[:args.batch],
              args.lr, args.batch, 0)
    print(f"compiled in {time.perf_counter() - t0:.2f} s")

    history = {"loss": [], "train_acc": [], "test_acc": [], "mode": mode_name(njit)}
    times = []
    bar = tqdm(range(1, args.epochs + 1), desc="training", unit="epoch")
    for epoch in bar:
        t0 = time.perf_counter()
        loss = run_epoch(njit, params, X_tr, Y_tr, args.lr, args.batch, epoch_seed(args.seed, epoch))
        times.append(time.perf_counter() - t0)
        history["loss"].append(float(loss))
        history["train_acc"].append(mlp_model.accuracy(params, X_tr, y_tr))
        history["test_acc"].append(mlp_model.accuracy(params, X_te, y_te))
        bar.set_postfix(loss=f"{loss:.4f}", train_acc=f"{history['train_acc'][-1]:.3f}",
                        test_acc=f"{history['test_acc'][-1]:.3f}")
    bar.close()

    per_epoch = {njit: float(np.median(times))}
    if args.compare:
        other = not njit
        per_epoch[other] = time_one_epoch(other, params, X_tr, Y_tr, args.lr, args.batch,
                                          epoch_seed(args.seed, 0))
    final_loss = mlp_model.mlp_loss(*params, X_tr, Y_tr)
    print(f"final training loss {final_loss:.4f}, train accuracy {history['train_acc'][-1]:.4f}")
    print(f"test accuracy {history['test_acc'][-1]:.4f} ({len(X_te)} images; chance is 0.10)")
    for mode in (True, False):
        if mode in per_epoch:
            what = "median over the training epochs" if mode == njit else "one epoch, after compiling"
            print(f"time per epoch, {mode_name(mode):11s}: {per_epoch[mode] * 1e3:8.2f} ms  ({what})")
    if len(per_epoch) == 2:
        print(f"Python loop / njit epoch time: {per_epoch[False] / per_epoch[True]:.2f}")

    if args.plot:
        try:
            save_plot(args.plot, history)
        except ImportError:
            raise SystemExit(EXTRAS_HINT) from None
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
