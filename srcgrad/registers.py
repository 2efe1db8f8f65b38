"""Stage 8b (after emission): δ sums that stay in a register through a loop.

A backward loop often adds into one element of a δ array on every
iteration, at an index the loop does not change:

    for r in range(d - 1, j, -1):
        ...
        d_xc[j] += d_t8

Compiled as written, every iteration loads d_xc[j], adds and stores it back,
and the next iteration waits for that store: a chain of memory round trips
that LLVM cannot keep in a register, because it cannot prove the other δ
arrays written in the loop are not the same memory. A hand-written adjoint
sums into a local instead; so does this pass:

    d_xc_sum1 = 0.0
    for r in range(d - 1, j, -1):
        ...
        d_xc_sum1 += d_t8
    if d_xc_sum1 != 0.0:
        d_xc[j] += d_xc_sum1

It applies when the element's index names are not assigned in the loop, the
δ array is touched nowhere else in it, and the loop has no break, continue
or return. The guard keeps an index that is only valid when the loop runs
from being used when it does not. Floating-point sums are regrouped (the
loop's terms are added together first), as any register accumulation does.
"""
import ast
import re

_FOR = re.compile(r"^(\s*)for \w+ in .*:(\s+#.*)?$")
_ADD = re.compile(r"^(\s*)(d_\w+)\[([\w\s,+\-*]+)\] ([+-])= (.+?)(\s+#.*)?$")
JUMP = re.compile(r"^\s*(break|continue|return)\b")     # a line that leaves a loop early
_UNKNOWN = "<a line this pass cannot read>"


def run(lines, element_ranks):
    """`lines` of generated source with δ-element sums in loops kept in locals.
    element_ranks: δ array name -> its rank (only these are rewritten)."""
    return _Rewriter(element_ranks, fresh_names(lines)).block(list(lines))


def fresh_names(lines):
    """`fresh(base)`: base1, base2, ... -- a name none of `lines` uses yet."""
    taken = set(re.findall(r"\b\w+\b", "\n".join(lines)))

    def fresh(base):
        k = 1
        while f"{base}{k}" in taken:
            k += 1
        taken.add(f"{base}{k}")
        return f"{base}{k}"
    return fresh


class _Rewriter:
    def __init__(self, ranks, fresh):
        self.ranks = ranks
        self.fresh = fresh

    def block(self, lines):
        out = []
        pos = 0
        while pos < len(lines):
            match = _FOR.match(lines[pos])
            if not match:
                out.append(lines[pos])
                pos += 1
                continue
            width = len(match.group(1))
            end = pos + 1
            while end < len(lines) and (indent(lines[end]) > width or not lines[end].strip()):
                end += 1
            body = self.block(lines[pos + 1:end])
            out += self.loop(lines[pos], body, match.group(1))
            pos = end
        return out

    def loop(self, header, body, pad):
        if not body or any(JUMP.match(line) for line in body):
            return [header] + body
        inner = indent(body[0])
        assigned = set(_assigned_in(header))
        for line in body:
            assigned |= _assigned_in(line)
        if _UNKNOWN in assigned:
            return [header] + body
        sums = {}                                # δ array -> its index text, or None: not eligible
        for line in body:
            match = _ADD.match(line)
            top = match and len(match.group(1)) == inner and match.group(2) in self.ranks
            for name in re.findall(r"\bd_\w+\b", line):
                if name not in self.ranks:
                    continue
                if not top or name != match.group(2) or name in match.group(5):
                    sums[name] = None
                    continue
                index = re.sub(r"\s+", "", match.group(3))
                parts = index.split(",")
                if len(parts) != self.ranks[name] or set(re.findall(r"[A-Za-z_]\w*", index)) & assigned \
                        or sums.get(name, index) != index:
                    sums[name] = None
                else:
                    sums[name] = index
        chosen = {name: index for name, index in sums.items() if index is not None}
        if not chosen:
            return [header] + body
        local = {name: self.fresh(f"{name}_sum") for name in chosen}
        before = [f"{pad}{local[name]} = 0.0  # δ of {name}[{chosen[name]}] summed over the loop in a register"
                  for name in chosen]
        new_body = []
        for line in body:
            match = _ADD.match(line)
            if match and match.group(2) in chosen and len(match.group(1)) == inner:
                comment = match.group(6) or ""
                line = f"{match.group(1)}{local[match.group(2)]} {match.group(4)}= {match.group(5)}{comment}"
            new_body.append(line)
        after = []
        for name, index in chosen.items():
            after.append(f"{pad}if {local[name]} != 0.0:")
            after.append(f"{pad}    {name}[{index.replace(',', ', ')}] += {local[name]}")
        return before + [header] + new_body + after


def indent(line):
    """The indentation of a generated line, in spaces."""
    return len(line) - len(line.lstrip())


def block_end(lines, header):
    """The first line after the block opened at `header` (comments included)
    at its indentation or less: where the code after the block starts."""
    pad = indent(lines[header])
    for k in range(header + 1, len(lines)):
        if lines[k].strip() and indent(lines[k]) <= pad:
            return k
    return len(lines)


def _assigned_in(line):
    """Names a generated line assigns (its target, a for loop's variable)."""
    text = line.strip()
    if not text or text.startswith("#"):
        return set()
    if text.endswith(":") or re.search(r":\s+#.*$", text):
        text = re.sub(r"\s+#.*$", "", text)
        if text.startswith(("elif ", "else")):
            return set()
        text += " pass"
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {_UNKNOWN}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
