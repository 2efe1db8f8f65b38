"""Stage 1: from a Python function object to its AST and its namespace.

Input: a function. Output: a `Parsed` record (the `ast.FunctionDef`, the file,
the absolute line of the `def`, the source lines, and a resolver that maps a
name or dotted attribute used in the body to the object it denotes).
"""
import ast
import builtins
import inspect
import textwrap
from dataclasses import dataclass
from functools import lru_cache

from .errors import SrcgradError


@dataclass(frozen=True)
class Parsed:
    func: object
    node: ast.FunctionDef
    filename: str
    first_line: int          # absolute line number of the first source line
    lines: tuple             # the dedented source lines
    namespace: dict          # globals, closure cells and builtins, in lookup order

    def abs_line(self, node):
        return self.first_line + getattr(node, "lineno", 1) - 1

    def text(self, node):
        i = getattr(node, "lineno", 1) - 1
        return self.lines[i].strip() if 0 <= i < len(self.lines) else ""

    def resolve(self, expr):
        """The object a Name / dotted Attribute denotes, or None."""
        if isinstance(expr, ast.Name):
            return self.namespace.get(expr.id, _MISSING)
        if isinstance(expr, ast.Attribute):
            base = self.resolve(expr.value)
            if base is _MISSING or base is None:
                return _MISSING
            return getattr(base, expr.attr, _MISSING)
        return _MISSING


_MISSING = object()
MISSING = _MISSING


def parse(func):
    """Parse `func` (cached per function object)."""
    return _parse_cached(_unwrap(func))


def _unwrap(func):
    seen = set()
    while hasattr(func, "__srcgrad_primal__") and id(func) not in seen:
        seen.add(id(func))
        func = func.__srcgrad_primal__
    return inspect.unwrap(func)


@lru_cache(maxsize=None)
def _parse_cached(func):
    if not inspect.isfunction(func):
        raise SrcgradError(
            f"{func!r} is not a Python function with source code",
            construct=type(func).__name__,
            hint="pass a function defined with `def` in a .py file")
    filename = inspect.getsourcefile(func) or getattr(func.__code__, "co_filename", "<unknown>")
    try:
        lines, first_line = inspect.getsourcelines(func)
    except (OSError, TypeError) as exc:
        raise SrcgradError(
            f"cannot read the source of {func.__qualname__} ({exc})",
            filename=filename, construct="source",
            hint="define the function in a .py file (not a REPL, exec or lambda)") from None
    source = textwrap.dedent("".join(lines))
    try:
        module = ast.parse(source)
    except SyntaxError as exc:
        raise SrcgradError(f"cannot parse the source of {func.__qualname__}: {exc.msg}",
                           filename=filename, lineno=first_line, construct="source",
                           hint="lambdas are not supported: use def") from None
    node = module.body[0] if module.body else None
    if not isinstance(node, ast.FunctionDef):
        construct = "lambda" if func.__name__ == "<lambda>" else type(node).__name__
        raise SrcgradError(f"{func.__qualname__} is not a plain `def` function",
                           filename=filename, lineno=first_line, construct=construct,
                           hint="write it as a def in a module")
    return Parsed(func, node, filename, first_line, tuple(source.splitlines()), _namespace(func))


def _namespace(func):
    ns = dict(vars(builtins))
    ns.update(func.__globals__)
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__):
            try:
                ns[name] = cell.cell_contents
            except ValueError:
                pass
    return ns


def error_at(parsed, node, message, construct=None, hint=None):
    """A SrcgradError located at `node` of `parsed`."""
    return SrcgradError(message, filename=parsed.filename, lineno=parsed.abs_line(node),
                        construct=construct, hint=hint)
