"""Stage 6b: run a sum-over-iterations loop's forward and backward together.

Input: a normalized `Function`, its types, active set and `TapePlan`.
Output: the top-level `for` loop to fuse (and the statements after it that may
run early), or None.

A loss like `for i in range(n): L += (y[i] - p_i) ** 2; return L / n` carries
nothing from one iteration to the next but sums. The δ of such a sum is the
same for every iteration, and it is known before the loop runs whenever the
code after the loop needs no value the loop computes (``L / n`` needs only n).
Then srcgrad schedules, like a hand-written adjoint:

    forward sweep of the code before the loop
    backward sweep of the code after the loop     (gives δ of the sums)
    for each iteration: its forward, then at once its backward
    forward sweep of the code after the loop      (the result)
    backward sweep of the code before the loop

Nothing of an iteration is kept beyond the iteration: no trajectory on the
tape, one pass over the data.
"""
import dataclasses

from .program import For, If, Name, Op, Return, SetItem, While, control_reads, reads, walk, writes
from .typeinfer import is_array

HOISTABLE_OPS = {"len", "shape", "size", "ndim", "copy", "float", "int", "opaque", "add", "sub", "mul", "floordiv", "mod"}


def choose(fn, types, active, plan):
    """(loop, hoisted statements) to fuse, or None."""
    body = fn.body
    candidates = []
    for idx in range(len(body) - 1, -1, -1):
        loop = body[idx]
        if isinstance(loop, For) and not loop.counter and plan.work.get(loop.sid):
            found = _check(fn, types, active, plan, idx)
            if found is not None:
                candidates.append((loop, found))
    # the last loop whose iterations carry δ's (a loop of constants gains nothing)
    for loop, found in candidates:
        if any(isinstance(s, (Op, SetItem)) and (s.target if isinstance(s, Op) else s.array) in active
               for s in walk(loop.body)):
            return loop, found
    return candidates[0] if candidates else None


def order_free(fn, loop, types, plan):
    """Can the backward sweep run `loop`'s iterations in forward order (the
    cache-friendly order)? Yes when they only add to sums, write no array
    element, use no tape and leave nothing but the sums to the code after
    them: their backward steps then commute."""
    body = loop.body
    if any(plan.pushes(s) for s in walk(body) if plan.work.get(s.sid)):
        return False
    if any(isinstance(s, SetItem) or (isinstance(s, Op) and is_array(types.get(s.target))) for s in walk(body)):
        return False
    written = set().union(*(writes(s) for s in body))
    inside = {s.sid for s in walk(body)}
    outside_reads = {n for s in walk(fn.body) if s.sid not in inside and s is not loop
                     for n in reads(s) + control_reads(s)}
    return all(is_sum(n, body) or (iteration_local(n, body) and n not in outside_reads) for n in written)


def _check(fn, types, active, plan, idx):
    loop, post = fn.body[idx], fn.body[idx + 1:]
    loop_writes = set()
    for stmt in walk(loop.body):
        loop_writes |= writes(stmt)
    # arrays may live inside an iteration (built, written, read, dropped), as
    # long as no array from outside it is written: that would order iterations
    for stmt in walk(loop.body):
        if isinstance(stmt, SetItem) and not iteration_local(stmt.array, loop.body) \
                and stmt.array not in fn.local_buffers:
            return None
    post_reads = {n for s in walk(post) for n in reads(s) + control_reads(s)}
    for name in loop_writes:
        if is_sum(name, loop.body):
            continue
        if (name in post_reads and not iteration_local(name, post)) or \
                not (iteration_local(name, loop.body) or name in fn.local_buffers):
            return None
    if any(plan.pushes(s) for s in walk(post) if plan.work.get(s.sid)):
        return None
    hoisted, dependent = _hoistable(fn, loop, post, loop_writes)
    for stmt in walk(post):
        for need in plan.needs.get(stmt.sid, []) if plan.work.get(stmt.sid) else []:
            if need.how == "tape":
                return None
            used = {need.name} if need.how == "direct" else {r for d in need.define for r in reads(d)}
            if used & dependent:
                return None
    if any(n.how == "tape" for n in plan.needs.get(loop.sid, [])):
        return None
    return tuple(hoisted)


def is_sum(name, body):
    """Written only by `name = name ± e`, read by nothing else in the body."""
    found = False
    for stmt in walk(body):
        if isinstance(stmt, Op) and stmt.target == name:
            if not (stmt.op in ("add", "sub") and stmt.args[0] == Name(name)):
                return False
            if name in [a.id for a in stmt.args[1:] if isinstance(a, Name)]:
                return False
            found = True
        elif name in reads(stmt) or name in control_reads(stmt):
            return False
    return found


def iteration_local(name, body):
    """No value of `name` flows from one pass over `body` into the next: the
    first statement touching it assigns it without reading it, or is a nested
    block where that holds and after which `name` is not read."""
    for pos, stmt in enumerate(body):
        touched = set(names_read([stmt])) | writes(stmt)     # (a nested block's reads count)
        if name not in touched:
            continue
        if isinstance(stmt, Op):
            return stmt.target == name and name not in reads(stmt)
        if not isinstance(stmt, (If, For, While)):
            return False                  # a part written (the rest comes from before), or read
        if isinstance(stmt, For) and stmt.var == name:
            return True
        if isinstance(stmt, While) and stmt.counter == name:
            return True
        if name in control_reads(stmt):
            return False
        blocks = [stmt.body] + ([stmt.orelse] if isinstance(stmt, If) else [])
        if not all(iteration_local(name, b) for b in blocks):
            return False
        if isinstance(stmt, If) and all(_assigns(name, b) for b in blocks):
            return True                   # assigned on every path through the if
        return name not in names_read(body[pos + 1:])
    return True


def _assigns(name, block):
    """Does every path through `block` assign `name` (at its top level or in an if/else)?"""
    for stmt in block:
        if isinstance(stmt, Op) and stmt.target == name:
            return True
        if isinstance(stmt, If) and _assigns(name, stmt.body) and _assigns(name, stmt.orelse):
            return True
    return False


def _hoistable(fn, loop, post, loop_writes):
    """Cheap inactive statements after the loop that do not depend on it
    (``n = len(y)``): they run before the early backward sweep needs them."""
    outside = {n for s in walk(fn.body) if not any(s is p for p in walk(post))
               for n in reads(s) + sorted(writes(s))}
    dependent = set(loop_writes)
    hoisted = []
    for stmt in post:
        if (isinstance(stmt, Op) and stmt.op in HOISTABLE_OPS and not set(reads(stmt)) & dependent
                and stmt.target not in outside):
            hoisted.append(stmt)
        else:
            dependent |= writes(stmt)
    hoisted = [s for s in hoisted if s.target not in dependent]
    return hoisted, dependent


def hoist_independent(fn):
    """Move the statements after a top-level `for` loop that neither read
    what the loop writes nor write what it reads (a prior term, a normaliser)
    before the loop, in order. The loop's iterations can then be fused (see
    `choose`): only the statements combining its sums stay after it."""
    body = list(fn.body)
    for idx in [k for k, s in enumerate(body) if isinstance(s, For)][::-1]:
        loop, post = body[idx], body[idx + 1:]
        loop_reads, loop_writes = names_read([loop]), writes(loop)
        moved, stay = [], []
        for stmt in post:
            r, w = names_read([stmt]), writes(stmt)
            stay_reads = names_read(stay)
            stay_writes = set().union(*(writes(s) for s in stay)) if stay else set()
            independent = not isinstance(stmt, Return) and not r & (loop_writes | stay_writes) and \
                not w & (loop_reads | loop_writes | stay_reads | stay_writes)
            (moved if independent else stay).append(stmt)
        if moved and stay:
            body = body[:idx] + moved + [loop] + stay
    return dataclasses.replace(fn, body=tuple(body)) if tuple(body) != tuple(fn.body) else fn


def names_read(block):
    return {n for s in walk(block) for n in reads(s) + control_reads(s)}
