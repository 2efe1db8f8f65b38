"""Derivative rules: the only place srcgrad's math lives."""
from .table import RULES, Rule  # noqa: F401
from . import scalar  # noqa: F401  (registers the scalar rules)
from .scalar import BINOPS, CALLS, UNARY  # noqa: F401
