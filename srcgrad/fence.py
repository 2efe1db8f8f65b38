"""Stage 2: reject what srcgrad cannot differentiate, before any work.

Input: a `Parsed` function. Output: nothing, or a `SrcgradError` naming file,
line and construct with what to do instead. Later stages may still reject
finer cases (a call to an unknown function, slicing an array), always with
the same kind of error.
"""
import ast

from .parse import error_at

# node type -> (construct name, what to do instead)
FORBIDDEN = {
    ast.Try: ("try", "remove try/except: srcgrad differentiates straight numeric code"),
    ast.With: ("with", "remove the with-block"),
    ast.AsyncWith: ("async with", "use a plain function"),
    ast.Yield: ("yield", "generators are not supported: return a value"),
    ast.YieldFrom: ("yield from", "generators are not supported: return a value"),
    ast.Await: ("await", "use a plain function"),
    ast.Lambda: ("lambda", "define a helper with def at module level"),
    ast.FunctionDef: ("nested def", "define helper functions at module level"),
    ast.AsyncFunctionDef: ("nested def", "define helper functions at module level"),
    ast.ClassDef: ("class", "define classes outside the differentiated function"),
    ast.Global: ("global", "pass the value as an argument"),
    ast.Nonlocal: ("nonlocal", "pass the value as an argument"),
    ast.List: ("list", "use a NumPy array (np.zeros(n)) instead of a list"),
    ast.ListComp: ("list comprehension", "use a for loop filling a NumPy array"),
    ast.Dict: ("dict", "use scalars or NumPy arrays"),
    ast.DictComp: ("dict comprehension", "use scalars or NumPy arrays"),
    ast.Set: ("set", "use scalars or NumPy arrays"),
    ast.SetComp: ("set comprehension", "use scalars or NumPy arrays"),
    ast.GeneratorExp: ("generator expression", "use a for loop"),
    ast.Delete: ("del", "remove the del statement"),
    ast.Import: ("import", "import at module level"),
    ast.ImportFrom: ("import", "import at module level"),
    ast.Raise: ("raise", "remove the raise: validate inputs before calling the gradient"),
    ast.JoinedStr: ("f-string", "strings are not supported in differentiated code"),
    ast.NamedExpr: ("walrus :=", "assign on its own line"),
    ast.Starred: ("starred expression", "pass arguments one by one"),
    ast.Match: ("match", "use if/elif/else"),
}


def run(parsed):
    """Raise SrcgradError on the first unsupported construct of `parsed`."""
    fn = parsed.node
    args = fn.args
    if args.vararg:
        raise error_at(parsed, fn, "variadic positional parameters", "*args", "list the parameters explicitly")
    if args.kwarg:
        raise error_at(parsed, fn, "variadic keyword parameters", "**kwargs", "list the parameters explicitly")
    if args.kwonlyargs:
        raise error_at(parsed, fn, "keyword-only parameters", "keyword-only arguments",
                       "make them ordinary positional parameters")
    supported = _supported_numpy()
    for node in ast.walk(ast.Module(body=fn.body, type_ignores=[])):
        if isinstance(node, ast.Call):
            _check_numpy_call(parsed, node, supported)
        kind = FORBIDDEN.get(type(node))
        if kind:
            raise error_at(parsed, node, f"'{kind[0]}' cannot be differentiated", kind[0], kind[1])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            raise error_at(parsed, node, "print has a side effect and no derivative", "print",
                           "remove print calls from the differentiated function")
        if isinstance(node, (ast.For, ast.While)) and node.orelse:
            raise error_at(parsed, node, "loop else-clauses are not supported", "for-else",
                           "use a flag variable instead")
        if isinstance(node, (ast.Constant,)) and isinstance(node.value, (str, bytes)) and not _is_docstring(fn, node):
            raise error_at(parsed, node, "strings are not supported", "string", "use numbers only")


def _is_docstring(fn, node):
    first = fn.body[0] if fn.body else None
    return isinstance(first, ast.Expr) and first.value is node


def _supported_numpy():
    from .array_calls import ARRAY_FUNCTIONS
    from .calls import CREATE, CREATE_LIKE, OTHER_NUMPY, PREDICATES
    from .rules import CALLS
    out = set()
    for group in (CALLS, ARRAY_FUNCTIONS, CREATE, CREATE_LIKE, PREDICATES, OTHER_NUMPY):
        out |= {id(f) for f in group}
    return out


def _check_numpy_call(parsed, node, supported):
    """A NumPy function srcgrad has no rule for is named at its line (before
    it could be mistaken for a helper to inline, or fail deep in Numba)."""
    obj = parsed.resolve(node.func)
    module = getattr(obj, "__module__", None) or ""
    if callable(obj) and module.split(".")[0] == "numpy" and id(obj) not in supported:
        label = ast.unparse(node.func)
        raise error_at(parsed, node, f"{label} has no derivative rule in srcgrad", label,
                       "use the supported NumPy functions (see the README), or write the computation "
                       "with loops and elementary functions")
