"""Stage 8 helpers: turning expression templates into readable source text.

`render` prints an expression with astor; `substitute` fills a rule template
with real names; `fold` simplifies what substitution leaves behind
(``2 - 1`` → ``1``, ``x ** 1`` → ``x``, ``1.0 * e`` → ``e``) so generated
adjoints read like hand-written ones. `Code` collects indented lines.
"""
import ast
import copy
import math
from contextlib import contextmanager

import astor

from .program import Const, Name


def atom_ast(atom):
    if isinstance(atom, Name):
        return ast.Name(atom.id, ast.Load())
    value = atom.value
    if isinstance(value, float) and not math.isfinite(value):
        name = "nan" if math.isnan(value) else "inf"
        special = ast.Attribute(ast.Name("math", ast.Load()), name, ast.Load())
        return ast.UnaryOp(ast.USub(), special) if value < 0 else special
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def atom_text(atom):
    return render(atom_ast(atom))


def index_text(array, index, spec=None):
    """`A[i, j]`, `A[i]` or, with a slice spec, `A[1:, j]` / `x[:, None]`."""
    atoms = iter([atom_text(a) for a in index])
    if spec is None:
        return f"{array}[{', '.join(atoms)}]"
    parts = []
    for part in spec:
        if part == "i":
            parts.append(next(atoms))
        elif part == "n":
            parts.append("None")
        else:
            _, has_start, has_stop, has_step = part
            text = (next(atoms) if has_start else "") + ":" + (next(atoms) if has_stop else "")
            parts.append(text + (":" + next(atoms) if has_step else ""))
    return f"{array}[{', '.join(parts)}]"


def part_update(region, region_rank, value, value_rank, mode):
    """`A[:, k] = v` (mode "set", "add" or "sub") as a call of the kernel
    doing it (`into_part1(A[:, k], v, PART_SET)`: Numba's own slice
    assignment compiles a formatted error message, seconds per process), for
    an array value into a 1-D or 2-D part; None when the plain statement is kept."""
    if not 1 <= value_rank <= region_rank <= 2:
        return None
    if value_rank < region_rank:
        value = f"{value}[None, :]"
    return f"into_part{region_rank}({region}, {value}, PART_{mode.upper()})"


def render(expr):
    # one line always: astor would otherwise wrap long expressions
    text = astor.to_source(expr, pretty_source="".join).strip()
    if text.startswith("(") and text.endswith(")") and _wrapped(text):
        text = text[1:-1]
    return text


def _wrapped(text):
    depth = 0
    for k, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and k < len(text) - 1:
            return False
    return True


def substitute(template, mapping):
    """Copy of `template` with Names in `mapping` replaced (by ASTs or atoms)."""
    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in mapping:
                value = mapping[node.id]
                return atom_ast(value) if isinstance(value, (Name, Const)) else copy.deepcopy(value)
            return node
    return fold(Sub().visit(copy.deepcopy(template)))


def _const(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _const(node.operand) is not None:
        return -_const(node.operand)
    return None


_FOLD = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}


def fold(expr):
    """Constant-fold and drop multiplications by one, powers of one."""
    class Folder(ast.NodeTransformer):
        def visit_BinOp(self, node):
            self.generic_visit(node)
            a, b = _const(node.left), _const(node.right)
            if a is not None and b is not None and type(node.op) in _FOLD:
                return atom_ast(Const(_FOLD[type(node.op)](a, b)))
            if isinstance(node.op, ast.Pow) and b == 1:
                return node.left
            if isinstance(node.op, ast.Mult) and a == 1:
                return node.right
            if isinstance(node.op, (ast.Mult, ast.Div)) and b == 1:
                return node.left
            return node
    return Folder().visit(expr)


def is_zero(expr):
    return _const(expr) == 0


class Code:
    """Indented source lines."""

    def __init__(self):
        self.lines = []
        self.depth = 0

    def line(self, text, comment=None):
        pad = "    " * self.depth
        self.lines.append(f"{pad}{text}" + (f"  # {comment}" if comment else ""))

    def comment(self, text):
        self.lines.append("    " * self.depth + "# " + text)

    @contextmanager
    def block(self, header):
        self.line(header)
        self.depth += 1
        start = len(self.lines)
        yield
        if all(line.lstrip().startswith("#") for line in self.lines[start:]):
            self.line("pass")
        self.depth -= 1

    def text(self):
        return "\n".join(self.lines) + "\n"
