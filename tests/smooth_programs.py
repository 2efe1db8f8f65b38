"""Shared pieces of the hypothesis program generators: smooth expression
strategies (no kinks, bounded domains) and loading generated source as a real
module (srcgrad reads source through inspect)."""
import importlib.util
import itertools

from hypothesis import strategies as st

UNARY = ("math.sin({})", "math.tanh({})", "math.cos({})", "({}) * ({})", "math.exp(-({}) * ({}))",
         "math.log1p(({}) * ({}))")
BINARY = ("({} + {})", "({} - {})", "({} * {})", "({} / (1.5 + {} * {}))")
_counter = itertools.count()


@st.composite
def expressions(draw, leaves, depth=2):
    """A random smooth expression over `leaves` (source text)."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(leaves))
    if draw(st.booleans()):
        inner = draw(expressions(leaves, depth - 1))
        template = draw(st.sampled_from(UNARY))
        return template.format(*([inner] * template.count("{}")))
    left, right = draw(expressions(leaves, depth - 1)), draw(expressions(leaves, depth - 1))
    template = draw(st.sampled_from(BINARY))
    return template.format(left, right, right) if template.count("{}") == 3 else template.format(left, right)


def load_function(source, directory, stem, name="f"):
    """Write `source` to a fresh module file in `directory` and return its `name`."""
    path = directory / f"{stem}_{next(_counter)}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)
