"""Stage 8d (after emission): a δ vector filled once per element is not zeroed first.

The δ of a vector an elementwise loop reads (`t1_s`, the stretched operand of
`np.sum((y - sigmoid(X @ w + b)) ** 2)`) starts as zeros and receives one
`+=` per element, from the loop that reads it:

    d_t1_s = np.zeros_like(t1_s)
    ...
    for i in range(n01):
        ...
        d_t1_s[i] += d_t1_e

When that loop is the δ's first use and visits every element once, the
zeros are never read: a hand-written adjoint allocates the vector and writes
each element. So does this pass:

    d_t1_s = np.empty_like(t1_s)
    ...
    for i in range(n01):
        ...
        d_t1_s[i] = d_t1_e

(On a 100 000-element vector the zeroing pass and the read-modify-write cost
a tenth of the vectorised perceptron's gradient.) It applies only when all of
this is visible in the text:
- the zeros are made at the function's top level and the loop is there too
  (it runs once: a loop nested in another would have to add across runs);
- the loop is `for i in range(n)` or `for i in range(n - 1, -1, -1)` and
  `n` is the vector's length: the vector is `stretch1(x, n)` or `n` is
  `v.shape[0]`, each assigned once in the function (n: at most once);
- the `+=` is a line of the loop body itself (not inside an `if` or an
  inner loop), at index `i`, the δ's only mention in the loop, whose body has
  no break, continue or return.
"""
import re

from .registers import JUMP, block_end

_LOOP = re.compile(r"^    for (\w+) in range\((\w+)\):(\s+#.*)?$")
_REVERSED = re.compile(r"^    for (\w+) in range\((\w+) - 1, -1, -1\):(\s+#.*)?$")


def run(lines, vectors):
    """`lines` of generated source; vectors: {δ name: its vector's name} (1-D arrays)."""
    lines = list(lines)
    text = [line.split("#")[0] for line in lines]
    for d_name, name in vectors.items():
        init = f"    {d_name} = np.zeros_like({name})"
        at = next((k for k, line in enumerate(text) if line.rstrip() == init), None)
        if at is None:
            continue
        word = re.compile(rf"\b{re.escape(d_name)}\b")
        use = next((k for k in range(at + 1, len(text)) if word.search(text[k])), None)
        if use is None:
            continue
        header = _loop_header(text, use)
        if header is None:
            continue
        loop_at, var, length = header
        if not _covers(text, name, length):
            continue
        update = re.match(rf"^        {re.escape(d_name)}\[{var}\] \+= (.+)$", text[use].rstrip())
        end = block_end(text, loop_at)
        body = range(loop_at + 1, end)
        if update is None or word.search(update.group(1)) or \
                any(k != use and word.search(text[k]) for k in body) or \
                any(JUMP.match(text[k]) for k in body) or \
                any(re.match(rf"^\s*{var}\s*[+\-*]?=[^=]", text[k]) for k in body):
            continue
        lines[at] = lines[at].replace(f"np.zeros_like({name})", f"np.empty_like({name})", 1) + \
            "  # every element written below before any is read"
        lines[use] = lines[use].replace(f"{d_name}[{var}] += ", f"{d_name}[{var}] = ", 1)
    return lines


def _loop_header(text, use):
    """(index, loop variable, length name) of the top-level loop whose body holds line `use`."""
    for k in range(use - 1, -1, -1):
        line = text[k]
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent <= 4:
            found = _LOOP.match(line.rstrip()) or _REVERSED.match(line.rstrip())
            return (k, found.group(1), found.group(2)) if found else None
    return None


def _covers(text, name, length):
    """Is `length` the length of the vector `name` (each bound once)?"""
    def bindings(n):
        return [line for line in text if re.match(rf"^\s*(\w+\s*,\s*)*{re.escape(n)}\s*(,\s*\w+\s*)*(=|\+=|-=)[^=]",
                                                   line)]
    vector, size = bindings(name), bindings(length)
    if len(vector) != 1 or len(size) > 1 or any(re.match(rf"^\s*for {re.escape(length)} in ", line) for line in text):
        return False
    return re.match(rf"^\s*{re.escape(name)} = stretch1\(\w+, {re.escape(length)}\)\s*$", vector[0]) is not None or \
        (size and size[0].strip() == f"{length} = {name}.shape[0]")
