"""A function with a loop and a branch for tests/test_side_by_side.py (srcgrad reads its source)."""
import inspect
import math


def branchy(w, x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            s += math.tanh(w * x[i])
        else:
            s = s * w
    return s + w * w


SOURCE_LINES = inspect.getsource(branchy).splitlines()
