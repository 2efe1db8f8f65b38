"""GradBench ``lstm``: loss of ADBench's diagonal multi-layer LSTM predicting the next character.

``main_params`` row 2i holds layer i's weights, row 2i+1 its biases, each split
into four b-long blocks (forget, input gate, output gate, change); ``state``
row 2i is layer i's hidden vector, row 2i+1 its cell; ``extra_params`` rows
are the input weight, output weight and output bias. Gradient w.r.t.
main_params and extra_params (state and sequence are constants).

Written like the reference (``src/cpp/gradbench/evals/lstm.hpp``): loops over
the characters, the layers and the b elements of the (diagonal) layer; the
layer state is updated in place in a copy of ``state``.
"""
import math

import numpy as np

from benchmarks.gradbench.common import Differentiated, floats, to_float


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def lstm_objective(main_params, extra_params, state, sequence):
    c, b = sequence.shape
    layers = main_params.shape[0] // 2
    hidden = state.copy()          # the state carries over from character to character
    u = np.zeros(b)                # the input of the layer, then its output
    total = 0.0
    for t in range(c - 1):
        for j in range(b):
            u[j] = sequence[t, j] * extra_params[0, j]
        for i in range(layers):
            w = 2 * i                  # row of the layer's weights in main_params; w + 1: its biases
            for j in range(b):
                forget = sigmoid(u[j] * main_params[w, j] + main_params[w + 1, j])
                ingate = sigmoid(hidden[w, j] * main_params[w, b + j] + main_params[w + 1, b + j])
                outgate = sigmoid(u[j] * main_params[w, 2 * b + j] + main_params[w + 1, 2 * b + j])
                change = math.tanh(hidden[w, j] * main_params[w, 3 * b + j] + main_params[w + 1, 3 * b + j])
                hidden[w + 1, j] = hidden[w + 1, j] * forget + ingate * change
                hidden[w, j] = outgate * math.tanh(hidden[w + 1, j])
                u[j] = hidden[w, j]
        sum_exp = 2.0              # log(sum(exp(y)) + 2): the "+ 2" is ADBench's, kept by GradBench
        for j in range(b):
            u[j] = u[j] * extra_params[1, j] + extra_params[2, j]
            sum_exp += math.exp(u[j])
        lse = math.log(sum_exp)
        for j in range(b):
            total += sequence[t + 1, j] * (u[j] - lse)
    return -total / ((c - 1) * b)


LSTM = Differentiated(lstm_objective, wrt=("main_params", "extra_params"))


def _args(input):
    return (floats(input["main_params"]), floats(input["extra_params"]), floats(input["state"]),
            floats(input["sequence"]))


def _jacobian_json(out):
    _, d_main, d_extra = out
    return np.concatenate((d_main.reshape(-1), d_extra.reshape(-1))).tolist()


def prepare(function, input):
    args = _args(input)
    if function == "objective":
        return LSTM.bind_primal(*args), to_float
    if function == "jacobian":
        return LSTM.bind_value_and_grad(*args), _jacobian_json
    raise KeyError(f"lstm has no function {function!r}")


def _example(layers=2, chars=4, bits=3):
    rng = np.random.default_rng(0)
    return {"main_params": rng.uniform(-0.5, 0.5, (2 * layers, 4 * bits)).tolist(),
            "extra_params": rng.uniform(-0.5, 0.5, (3, bits)).tolist(),
            "state": rng.uniform(-0.5, 0.5, (2 * layers, bits)).tolist(),
            "sequence": rng.integers(0, 2, (chars, bits)).astype(float).tolist()}


EXAMPLES = {"objective": _example(), "jacobian": _example()}
