"""The backward half of `explain`: the δ recurrence over a recorded trace.

Input: a `tracer.Trace` whose rows hold forward values. Output: the same
rows with `delta` (δ received), `passed` (δ passed to each input) and `local`
(g_k'(x_k) per input) filled in, and `trace.param_deltas` (the gradient).

δ = 1 at the output; then each active row, last first. When a row is
reached, every row reading its value has already passed its δ back, so its
δ is complete: the sum over its readers (a split adds). Each contribution is
the rule's own template (`pyeval.rule_forms`); reads and writes of array parts
only route δ's (as `reverse.py` does): a read's δ goes back into the part
read, a write's part goes to the value and the rest to the array before it.
No δ is ever changed in place: rows keep the values they show.
"""
import numpy as np

from .errors import SrcgradError
from .pyeval import evaluate, numpy_index, plain, rank, rule_forms
from .rules import kernels


def backward(trace):
    deltas = {}
    if trace.output is not None and isinstance(trace.value, float):
        deltas[trace.output] = 1.0
    for row in reversed(trace.rows):
        if not row.active:
            continue
        row.delta = deltas.pop(row.index, None)
        if row.delta is None:       # nothing the output depends on reads this value
            row.delta = np.zeros(row.value.shape) if isinstance(row.value, np.ndarray) else 0.0
        row.passed, row.local = _contributions(row)
        for producer, passed in zip(row.producers, row.passed):
            if passed is not None and producer is not None:
                deltas[producer] = passed if producer not in deltas else plain(deltas[producer] + passed)
    for w in trace.wrt:
        value = trace.params[w]
        zero = np.zeros(value.shape) if isinstance(value, np.ndarray) else 0.0
        trace.param_deltas[w] = deltas.get(w, zero)


def _contributions(row):
    """(δ passed per input, local derivative per input) of one active row."""
    nothing = (None,) * len(row.inputs)
    if row.op in ("getitem", "slice"):
        return (_scatter(row),) + nothing[1:], nothing
    if row.op == "setitem":
        return _write_back(row), nothing
    forms = rule_forms(row.op, tuple(rank(v) for v in row.input_values), row.static)
    passed, local = [], []
    for k, active in enumerate(row.active_inputs):
        code = forms.vjp[k] if k < len(forms.vjp) else None
        if not active or code is None:
            passed.append(None)
            local.append(None)
            continue
        passed.append(_evaluated(row, code, row.delta))
        local.append(_local(row, forms, code, k))
    return tuple(passed), tuple(local)


def _local(row, forms, code, k):
    """∂ value/∂ input k: the rule's δ for δ = 1 (a scalar step; for an array
    input, its gradient), or for δ = ones (an elementwise step on a same-shape
    input: the elementwise derivative). None otherwise: a Jacobian is not shown."""
    if not isinstance(row.value, np.ndarray):
        return _evaluated(row, code, 1.0)
    if forms.elementwise and np.shape(row.input_values[k]) == row.value.shape:
        return _evaluated(row, code, np.ones(row.value.shape))
    return None


def _evaluated(row, code, d_z):
    try:
        return evaluate(code, row.input_values, row.value, d_z)
    except Exception as exc:       # noqa: BLE001  (a rule fails for these values: say where)
        raise SrcgradError(f"the δ of `{row.text}` cannot be evaluated here: {type(exc).__name__}: {exc}",
                           filename=row.filename, lineno=row.lineno, construct="runtime error") from None


def _scatter(row):
    """δ of a read part goes back into the same part of the array's δ."""
    array, index = row.input_values[0], row.input_values[1:]
    d_array = np.zeros(array.shape)
    where = numpy_index(index, row.static if row.op == "slice" else None)
    if any(isinstance(i, np.ndarray) for i in index):
        np.add.at(d_array, where, row.delta)       # gathered elements may repeat
    else:
        d_array[where] += row.delta
    return d_array


def _write_back(row):
    """δ of a write: the written part's δ to the value (summed over the axes it
    was broadcast along), the rest to the array as it was before the write."""
    mode, spec = row.static
    where = numpy_index(row.input_values[2:], spec)
    region = row.delta[where]
    passed = [None] * len(row.inputs)
    if row.active_inputs[1]:
        value = row.input_values[1]
        if rank(value) == 0:
            to_value = plain(np.sum(region))
        else:
            unbroadcast = getattr(kernels, f"ub{np.ndim(region)}{rank(value)}")
            to_value = unbroadcast(np.ascontiguousarray(region), value.shape)
        passed[1] = -to_value if mode == "sub" else to_value
    if row.active_inputs[0]:
        before = row.delta.copy()
        if mode == "set":
            before[where] = 0.0        # the old part was overwritten: no δ reaches it
        passed[0] = before
    return tuple(passed)
