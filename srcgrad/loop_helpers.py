"""Stage 8c (after emission): max/min helpers called inside loops written out.

`np.max(v)` of a vector compiles to a helper call (`amax_all1`, with an
8-lane loop that pays off on long vectors) and its δ to another
(`route_all1_add`). Inside a loop, on the short vectors a loop body builds,
the call itself costs more than the work: Numba passes the arrays with a
reference-count update each, and the call splits the loop. Such a line is
replaced by the loop it stands for, with the same semantics:

    mx = amax_all1(main_term, 1.0)      ->  a first-to-last scan; NaN wins, as in NumPy;
                                            an empty vector raises NumPy's error
    route_all1_add(d_v, d_mx, v, mx)    ->  δ to the first element equal to the
                                            extreme (the first element if it is NaN)

Lines outside loops keep the helper (long vectors).
"""
import re

from .registers import fresh_names

_AMAX = re.compile(r"^(\s*)(\w+) = amax_all1\((\w+), (1\.0|-1\.0)\)(\s+#.*)?$")
_ROUTE = re.compile(r"^(\s*)route_all1_add\((\w+), (\w+), (\w+), (\w+)\)(\s+#.*)?$")


def run(lines):
    fresh = fresh_names(lines)
    out = []
    loops = []                      # indentation of the enclosing for/while headers
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if line.strip() and not line.lstrip().startswith("#"):
            while loops and indent <= loops[-1]:
                loops.pop()
        amax, route = _AMAX.match(line), _ROUTE.match(line)
        if re.match(r"^\s*(for|while) .*:(\s+#.*)?$", line):
            loops.append(indent)
        if amax and loops:
            pad, target, array, sign, comment = amax.groups()
            q, value = fresh("q"), fresh(f"{array}_q")
            better = ">" if sign == "1.0" else "<"
            out += [f"{pad}if {array}.shape[0] == 0: raise ValueError('zero-size array to reduction operation "
                    f"maximum (or minimum) which has no identity')",
                    f"{pad}{target} = {array}[0]{comment or ''}",
                    f"{pad}for {q} in range(1, {array}.shape[0]):",
                    f"{pad}    {value} = {array}[{q}]",
                    f"{pad}    if {value} {better} {target} or {value} != {value}:  # (a NaN wins, as in NumPy)",
                    f"{pad}        {target} = {value}"]
        elif route and loops:
            pad, delta, grad, array, extreme, comment = route.groups()
            q, found = fresh("q"), fresh("routed")
            out += [f"{pad}{found} = False{comment or ''}",
                    f"{pad}for {q} in range({array}.shape[0]):",
                    f"{pad}    if {array}[{q}] == {extreme}:",
                    f"{pad}        {delta}[{q}] += {grad}",
                    f"{pad}        {found} = True",
                    f"{pad}        break",
                    f"{pad}if not {found}:",
                    f"{pad}    {delta}[0] += {grad}  # the extreme is NaN: the first element"]
        else:
            out.append(line)
    return out
