"""Stage 8e (after emission, the adjoint's last text pass): no tape grows inside a loop.

A tape is a NumPy array and a `top`. A room check inside a loop that grows
the tape,

    while not done:
        ...
        if top_f >= tape_f.shape[0]: tape_f = reserve(tape_f, top_f + 1)
        tape_f[top_f] = sign[k]

makes `tape_f` a variable the loop may rebind, and Numba then takes and
drops a reference to it (two atomic operations) on every iteration: on the
GradBench det gradient (expansion by minors, a few pushes per iteration)
that was more than half the time (11.3 µs per call; 4.9 µs without the
growth checks).

So a check inside a loop does not grow its tape. It records the size the
tape needs and leaves the loop, and every loop around it is left too; the
adjoint's body runs in an attempt loop, and starts again from its first line
with tapes that large. The size is remembered for the next call once its
tape is allocated (an int64 in the compiled code's data,
`runtime.remembered_size`; a size that could not be allocated is not
kept): only a call that needs more than any call before it starts again.

    tape_f_size = max(4096, remembered_size('<key>_tape_f'))
    while True:
        full = False
        ...
        tape_f = np.empty(tape_f_size)
        remember_size('<key>_tape_f', tape_f_size)
        ...
        while not done:
            ...
            if top_f >= tape_f.shape[0]:
                tape_f_size = max(8 * tape_f.shape[0], 2 * (top_f + 1))
                full = True
                break
            ...
        if full:
            tape_f_size = max(tape_f_size, 8 * top_f)
            (the same for the other tapes)
            continue

Starting again is safe because the body computes everything afresh:
parameters it rebinds (`x = x.copy()`) are set back from the caller's
values, tapes and δ's are made anew. What a new size costs: the forward sweep
up to the full tape, once (sizes grow eightfold: a process's first calls lose
at most about one forward sweep in all). The tapes fill up together, so when
one is full every other gets room for eight times what it holds (otherwise
each would start the adjoint again in turn). The tapes of later calls are
allocated at the size remembered, never copied (pages never written cost no
memory, but the address space asked for can reach eight times the entries
used: `reserve`'s growth outside loops asks for at most four). Checks
outside loops still grow their tape (no loop rebinds it), and so do those
emitted with a comment (the tape of one checkpointed
segment, refilled in the backward sweep: starting again there would repeat
the whole forward sweep). Array pushes inside a loop are checked the same
way and copied with `push_array_into`.

Measured (GradBench det gradient, expansion by minors): 5x5 13.2 -> 7.0 us,
7x7 449 -> 175 us, 8x8 3.6 -> 1.3 ms per call from Python.
"""
import ast
import hashlib
import re

from .registers import block_end, indent

_GROW = re.compile(r"^(\s*)if ([^#]+): (\w+) = reserve\(\3, ([^#]+)\)$")     # (a comment: grows here)
_PUSH_ARRAY = re.compile(r"^(\s*)(\w+), (\w+) = push_array\(\2, \3, (\w+)\)$")
_LOOP = re.compile(r"^\s*(for|while)\b.*:(\s+#.*)?$")
_ALLOC = re.compile(r"^    (\w+) = np\.empty\((\d+)(, dtype=[\w.]+)?\)$")
GROWTH = 8


def run(lines, fresh, params):
    """`lines`: the adjoint's source (the `def` line, then its body at four
    spaces); fresh(base) gives a name unused in it; params: its parameters."""
    loops = _enclosing_loops(lines)
    allocs = {m.group(1): m for m in map(_ALLOC.match, lines) if m}
    sites = {k: _site(line) for k, line in enumerate(lines)
             if loops[k] and (_GROW.match(line) or _PUSH_ARRAY.match(line))}
    sites = {k: site for k, site in sites.items() if site[2] in allocs}    # (a tape made elsewhere keeps growing)
    if not sites:
        return list(lines)
    full = fresh("full")
    key = hashlib.sha1("\n".join(lines).encode()).hexdigest()[:12]
    tops = {site[2]: site[3] for site in sites.values()}
    sizes = {tape: fresh(f"{tape}_size") for tape in sorted(tops)}
    left = {}                       # loop header -> the statement after it leaves: break or continue
    for k in sites:
        for header in loops[k]:
            left[header] = "break" if loops[header] else "continue"
    ends = {}
    for header, jump in left.items():
        ends.setdefault(block_end(lines, header), []).append((header, jump))

    head = 1
    while head < len(lines) and lines[head].strip().startswith("#"):
        head += 1                   # the tape summary stays above the attempts
    body = []
    for k in range(head, len(lines) + 1):
        for header, jump in sorted(ends.get(k, ()), key=lambda e: -indent(lines[e[0]])):
            pad = " " * indent(lines[header])          # innermost first
            if jump == "break":
                body.append(f"{pad}if {full}: break")
                continue
            body.append(f"{pad}if {full}:  # the other tapes fill up as fast: room for as much more")
            for tape, size in sizes.items():
                body.append(f"{pad}    {size} = max({size}, {GROWTH} * {tops[tape]})")
            body.append(f"{pad}    continue")
        if k == len(lines):
            break
        line = lines[k]
        alloc = _ALLOC.match(line)
        if alloc and alloc.group(1) in sizes:
            tape, size = alloc.group(1), sizes[alloc.group(1)]
            body += [f"    {tape} = np.empty({size}{alloc.group(3) or ''})",
                     f"    remember_size('{key}_{tape}', {size})  # allocated: the next call starts here"]
            continue
        body += _leave(sites[k], full, sizes) if k in sites else [line]

    rebound = _rebound(lines, params)
    given = {p: fresh(f"{p}_given") for p in rebound}
    out = list(lines[:head])
    for tape, size in sizes.items():
        out.append(f"    {size} = max({allocs[tape].group(2)}, remembered_size('{key}_{tape}'))  "
                   "# what the last call needed")
    for p in rebound:
        out.append(f"    {given[p]} = {p}")
    out.append("    # attempts: a tape full inside a loop sets its size and starts the body again "
               "(no tape grows inside a loop)")
    out.append("    while True:")
    out.append(f"        {full} = False")
    for p in rebound:
        out.append(f"        {p} = {given[p]}  # the caller's value")
    out += ["    " + line if line.strip() else line for line in body]
    return out


def _site(line):
    """(indent, test, tape, top, need, array pushed or None) of a room check."""
    grow = _GROW.match(line)
    if grow:
        pad, test, tape, need = grow.groups()
        return pad, test, tape, re.match(r"\w+", test).group(), need, None
    pad, tape, top, value = _PUSH_ARRAY.match(line).groups()
    return pad, f"{top} + {value}.size > {tape}.shape[0]", tape, top, f"{top} + {value}.size", value


def _leave(site, full, sizes):
    """A room check inside a loop (`_site`) as: set the size, leave the loop."""
    pad, test, tape, top, need, value = site
    out = [f"{pad}if {test}:",
           f"{pad}    {sizes[tape]} = max({GROWTH} * {tape}.shape[0], 2 * ({need}))",
           f"{pad}    {full} = True",
           f"{pad}    break"]
    return out if value is None else out + [f"{pad}{top} = push_array_into({tape}, {top}, {value})"]


def _enclosing_loops(lines):
    """For each line, the indices of the loop headers around it, outermost first."""
    stack = []
    out = []
    for k, line in enumerate(lines):
        text = line.split("#")[0]
        if text.strip():
            while stack and indent(lines[stack[-1]]) >= indent(line):
                stack.pop()
        out.append(tuple(stack))
        if _LOOP.match(line):
            stack.append(k)
    return out


def _rebound(lines, params):
    """The parameters the body assigns (their caller's values are needed again)."""
    tree = ast.parse("\n".join(lines))
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return [p for p in params if p in stored]
