"""Stage 8c (after emission): a stencil's δ carried in rotating registers.

The backward sweep of a stencil, `new[i] = u[i] + c * (u[i - 1] - 2 * u[i] + u[i + 1])`,
scatters every cell's δ into three neighbours:

    for i in range(n - 2, 0, -1):
        ...
        d_u[t10] += d_t11          # t10 = i + 1
        d_u[i] += d_t7
        d_u[t5] += d_t6            # t5 = i - 1
        d_u[i] += d_t2

Each element of `d_u` is loaded, added to and stored three or four times by
consecutive iterations, every time waiting for the store before: a chain
through memory that bounds the loop. A hand-written adjoint gathers instead;
this pass keeps the elements the loop is still adding to in locals, one per
offset, and stores each once, when the loop has passed it:

    d_u_im1 = 0.0; d_u_i = 0.0; d_u_ip1 = 0.0
    for i in range(n - 2, 0, -1):
        ...
        d_u_ip1 += d_t11
        d_u_i += d_t7
        d_u_im1 += d_t6
        d_u_i += d_t2
        d_u[i + 1] += d_u_ip1              # i + 1 is not touched again
        d_u_ip1 = d_u_i
        d_u_i = d_u_im1
        d_u_im1 = 0.0
    if (n - 2) > (0):                       # the loop ran: the elements still held
        d_u[(0)] += d_u_i
        d_u[(0) + 1] += d_u_ip1

It applies to a `for` loop over `range` with step 1 or -1 whose body (no
nested loop or branch touching the δ array, no break, continue or return)
only adds to a rank-1 δ array, at two or more indices `i + c` (the index
itself, a name the body sets to `i + c` / `i - c`, c a constant), nothing
in the body assigning the loop index or the range's bounds. The sums are
regrouped per element (the terms of one element are added together first).
"""
import re

from .registers import JUMP, block_end, indent

_FOR = re.compile(r"^(\s*)for (\w+) in range\((.*)\):(\s+#.*)?$")
_UPDATE = re.compile(r"^(\s*)(d_\w+)\[([\w\s+\-]+)\] ([+-])= (.+?)(\s+#.*)?$")
_OFFSET_DEF = re.compile(r"^\s*(\w+) = (\w+) ([+-]) (\d+)(\s+#.*)?$")
_WORD = r"\b{}\b"


def run(lines, vectors):
    """`lines` with the δ updates of stencil loops kept in rotating locals.
    vectors: names of the rank-1 δ arrays."""
    out = list(lines)
    taken = set(re.findall(r"\b\w+\b", "\n".join(lines)))

    def fresh(base):
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        return name
    k = 0
    while k < len(out):
        rewritten = _rotate(out, k, vectors, fresh)
        if rewritten is not None:
            out[k:rewritten[0]] = rewritten[1]
        k += 1
    return out


def _split_args(text):
    """Top-level comma split of a call's argument text."""
    parts, depth, start = [], 0, 0
    for pos, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:pos].strip())
            start = pos + 1
    parts.append(text[start:].strip())
    return parts


def _rotate(lines, k, vectors, fresh):
    """(end of the loop, its replacement lines) for a stencil loop at line k, or None."""
    header = _FOR.match(lines[k])
    if not header:
        return None
    pad, var, args = header.group(1), header.group(2), _split_args(header.group(3))
    if len(args) == 1:
        start, stop, step = "0", args[0], 1
    elif len(args) == 2:
        start, stop, step = args[0], args[1], 1
    elif len(args) == 3 and args[2] in ("1", "-1"):
        start, stop, step = args[0], args[1], int(args[2])
    else:
        return None
    end = block_end(lines, k)
    body = lines[k + 1:end]
    if not body:
        return None
    body_pad = indent(next(line for line in body if line.strip()))
    code = [line.split("#")[0].rstrip() for line in body]
    if any(JUMP.match(c) for c in code):
        return None
    bounds_names = set(re.findall(r"[A-Za-z_]\w*", start + " " + stop))
    assigned = {m.group(1) for c in code for m in [re.match(r"^\s*(\w+)\s*[-+*/]?=", c)] if m}
    if var in assigned or bounds_names & assigned:
        return None
    offsets_of = {var: 0}
    for c in code:
        found = _OFFSET_DEF.match(c)
        if found and found.group(2) == var:
            offsets_of[found.group(1)] = int(found.group(4)) * (1 if found.group(3) == "+" else -1)
    redefined = {name for name in offsets_of if name != var and
                 sum(1 for c in code if re.match(rf"^\s*{name}\s*[-+*/]?=", c)) > 1}
    for target in sorted(vectors):
        updates = {}
        ok = True
        for pos, c in enumerate(code):
            if not re.search(_WORD.format(re.escape(target)), c):
                continue
            found = _UPDATE.match(body[pos])
            if not found or found.group(2) != target or indent(body[pos]) != body_pad \
                    or re.search(_WORD.format(re.escape(target)), found.group(5)):
                ok = False          # (read in the added value: it must see the stored sums)
                break
            index = found.group(3).strip()
            offset = _offset(index, var, offsets_of, redefined)
            if offset is None:
                ok = False
                break
            updates[pos] = (offset, found)
        if not ok or len({o for o, _ in updates.values()}) < 2:
            continue
        return end, _rewritten(lines[k], body, updates, target, var, start, stop, step, pad, body_pad, fresh)
    return None


def _offset(index, var, offsets_of, redefined):
    if index in offsets_of and index not in redefined:
        return offsets_of[index]
    found = re.fullmatch(rf"{var}\s*([+-])\s*(\d+)", index)
    if found:
        return int(found.group(2)) * (1 if found.group(1) == "+" else -1)
    return None


def _rewritten(header, body, updates, target, var, start, stop, step, pad, body_pad, fresh):
    low = min(o for o, _ in updates.values())
    high = max(o for o, _ in updates.values())
    offsets = range(low, high + 1)
    reg = {o: fresh(f"{target}_{var}" + ("" if o == 0 else f"{'p' if o > 0 else 'm'}{abs(o)}")) for o in offsets}
    inner = " " * body_pad
    out = [f"{pad}{reg[o]} = 0.0  # δ of {target}[{_plus(var, o)}], held in a register while the loop adds to it"
           for o in offsets]
    out.append(header)
    for pos, line in enumerate(body):
        if pos in updates:
            offset, found = updates[pos]
            comment = found.group(6) or ""
            out.append(f"{found.group(1)}{reg[offset]} {found.group(4)}= {found.group(5)}{comment}")
        else:
            out.append(line)
    # the element this iteration touches last: stored once; the others move one place along
    done, order = (high, list(range(high, low, -1))) if step == -1 else (low, list(range(low, high)))
    out.append(f"{inner}{target}[{_plus(var, done)}] += {reg[done]}  # its last contribution in this loop")
    for o in order:
        out.append(f"{inner}{reg[o]} = {reg[o - 1 if step == -1 else o + 1]}")
    out.append(f"{inner}{reg[low if step == -1 else high]} = 0.0")
    ran = f"({start}) > ({stop})" if step == -1 else f"({start}) < ({stop})"
    held = [o for o in offsets if o != (low if step == -1 else high)]
    out.append(f"{pad}if {ran}:  # the elements still held: next to where the loop stopped")
    for o in held:
        out.append(f"{pad}    {target}[{_plus(f'({stop})', o)}] += {reg[o]}")
    return out


def _plus(base, offset):
    return base if offset == 0 else f"{base} {'+' if offset > 0 else '-'} {abs(offset)}"
