"""Stage 8b: fuse elementwise chains — single-use array temporaries inlined.

Input: the generated source lines and the names that may disappear (array
temporaries `t1, t2, …` of normalization and their δ's). Output: the same
lines with each such name that is assigned once and read once, a few lines
later in the same straight-line block, replaced by its expression.

Why: Numba compiles an array expression *within one statement* as a single
loop (its array-expression rewrite), but each statement as its own loop with
its own N-sized temporary. ``t3 = -t2; t4 = np.exp(t3)`` makes two passes
and an allocation; ``t4 = np.exp(-t2)`` one. The δ chain of the backward
sweep fuses the same way. Values the backward sweep needs, user-named
variables and everything in loops that is pushed or popped are read more than
once, so they stay.
"""
import ast

import astor


def _parse(line):
    """(indent, statement AST or None for a block header, comment)."""
    stripped = line.strip()
    indent = len(line) - len(line.lstrip())
    if not stripped or stripped.startswith("#"):
        return indent, "comment", ""
    try:
        tree = ast.parse(stripped)
    except SyntaxError:
        try:
            ast.parse(stripped + " pass")
        except SyntaxError:
            return indent, "header", ""
        return indent, "header", ""
    comment = ""
    if "  # " in stripped:
        comment = stripped[stripped.index("  # ") + 2:]
    return indent, tree.body[0], comment


def _names(node, ctx):
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)]


def run(lines, inlinable):
    """Inline single-use definitions of `inlinable` names; returns new lines."""
    lines = list(lines)
    changed = True
    while changed:
        changed = False
        parsed = [_parse(line) for line in lines]
        loads, stores = {}, {}
        for k, line in enumerate(lines):
            for name in _all_names(line, parsed[k][1], ast.Load):
                loads.setdefault(name, []).append(k)
            for name in _all_names(line, parsed[k][1], ast.Store):
                stores.setdefault(name, []).append(k)
        for k, (indent, stmt, _) in enumerate(parsed):
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)):
                continue
            name = stmt.targets[0].id
            if name in inlinable and stores.get(name) == [k] and not loads.get(name):
                lines[k] = None             # dead: its only reader used another form (a uniform δ)
                changed = True
                break
            if name not in inlinable or stores.get(name) != [k] or len(loads.get(name, [])) != 1:
                continue
            use = loads[name][0]
            if use <= k or not _straight(parsed, k, use, indent, _names(stmt.value, ast.Load)):
                continue
            target = parsed[use][1]
            if isinstance(target, ast.AugAssign) and _names(target.target, ast.Load) + \
                    _names(target.target, ast.Store) == [name]:
                continue
            lines[use] = _substitute(lines[use], parsed[use], name, stmt.value)
            lines[k] = None
            changed = True
            break
        lines = [line for line in lines if line is not None]
    return lines


def _all_names(line, stmt, ctx):
    if stmt in ("comment",):
        return []
    if stmt == "header":
        text = line.strip()
        if text in ("else:",):
            return []
        try:
            tree = ast.parse(text + " pass")
        except SyntaxError:
            return []
        return _names(tree, ctx)
    return _names(stmt, ctx)


def _straight(parsed, start, stop, indent, reads):
    """Lines start+1 .. stop are simple statements of the same block and do
    not reassign what the inlined expression reads."""
    for k in range(start + 1, stop + 1):
        level, stmt, _ = parsed[k]
        if stmt == "comment":
            continue
        if stmt == "header" or level != indent:
            return False
        if k < stop and (set(_names(stmt, ast.Store)) | _mutated(stmt)) & set(reads):
            return False
        if k < stop and isinstance(stmt, ast.AugAssign) and set(_names(stmt.target, ast.Load)) & set(reads):
            return False
    return True


def _mutated(stmt):
    """Arrays a statement changes in place: `a[i] = …`, `a[1:] += …`, `helper(a, …)`."""
    out = set()
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AugAssign) \
        else []
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Subscript):
                out.update(_names(node.value, ast.Load))
        if isinstance(stmt, ast.AugAssign) and isinstance(target, ast.Name):
            out.add(target.id)
    if isinstance(stmt, ast.Expr):
        out.update(_names(stmt, ast.Load))
    return out


def _substitute(line, parsed, name, value):
    indent, stmt, comment = parsed

    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            return value if node.id == name and isinstance(node.ctx, ast.Load) else node
    stmt = Sub().visit(stmt)
    text = astor.to_source(stmt, pretty_source="".join).strip()
    return " " * indent + text + (f"  {comment}" if comment else "")
