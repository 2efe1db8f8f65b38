"""Corpus of plain numeric Python functions covering srcgrad's supported subset.

Each module registers cases with `case(func, args=..., wrt=..., expect=...)`.
`CASES` is the list of all registered cases; `FUNCTIONS` the distinct functions.
"""

from ._registry import CASES, Case, case  # noqa: F401
from . import scalars, mathfuncs, control, arrays, helpers, edge, peers, models, array_programs, array_models, buffers  # noqa: F401,E402

FUNCTIONS = list(dict.fromkeys(c.func for c in CASES))
