"""Tiny registry for corpus functions.

Registration is an explicit call *after* the function definition (not a
decorator) so that the corpus functions' source, as srcgrad reads it with
inspect, contains only the construct under test.
"""

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Tuple

CASES = []


@dataclass
class Case:
    func: Callable
    args: Tuple[Any, ...]
    wrt: Any  # str (single gradient) or tuple of str (tuple of gradients)
    expect: Optional[Callable] = None  # expect(*args) -> gradient (single) or tuple in wrt order
    exact: bool = False  # closed form must match bit-for-bit
    rtol: float = 1e-9  # tolerance against the closed form
    fd_rtol: float = 1e-5
    fd_atol: float = 1e-7
    note: str = ""
    id: str = field(default="")

    @property
    def wrt_tuple(self):
        return (self.wrt,) if isinstance(self.wrt, str) else tuple(self.wrt)

    @property
    def single(self):
        return isinstance(self.wrt, str)


def case(func, args, wrt, expect=None, **kw):
    c = Case(func=func, args=tuple(args), wrt=wrt, expect=expect, **kw)
    n = sum(1 for other in CASES if other.func is func)
    c.id = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}" + (f"#{n}" if n else "")
    CASES.append(c)
    return func
