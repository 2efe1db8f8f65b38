"""The lecture's example functions, written as plain Python.

These are the two perceptrons from the backpropagation lecture, written the
way you would write them on the blackboard -- scalar arithmetic, a helper
function, a ``max`` -- with nothing AD-specific in them.  ``srcgrad demo``
reads their source and differentiates it.

``sigmoid(z)``
    The logistic function 1 / (1 + e^-z).  Its derivative is sigmoid(z) *
    (1 - sigmoid(z)): inlined, the body is one `sigmoid` step of the rule
    table, and the adjoint applies that rule (`d_t4 = d_s * s * (1.0 - s)`).

``perceptron_loss(w1, w2, b, x1, x2, y)``
    Squared error of a sigmoid perceptron with two inputs:
    L = (y - sigmoid(w1*x1 + w2*x2 + b))**2.
    With s = sigmoid(w1*x1 + w2*x2 + b) the lecture's recurrence gives
    delta = dL/dz = -2 (y - s) s (1 - s), and then
    dL/dw1 = delta * x1,  dL/dw2 = delta * x2,  dL/db = delta.

``relu_neuron(w, b, x)``
    A one-input ReLU perceptron y = max(0, w*x + b).  Where w*x + b > 0 the
    gradient is dy/dw = x, dy/db = 1; where w*x + b < 0 the unit is off and
    both derivatives are 0 -- the gradient is "killed by the ReLU".
"""

import math


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def perceptron_loss(w1, w2, b, x1, x2, y):
    s = sigmoid(w1 * x1 + w2 * x2 + b)
    return (y - s) ** 2


def relu_neuron(w, b, x):
    return max(0.0, w * x + b)
