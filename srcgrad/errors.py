"""The one exception srcgrad raises for code it cannot (yet) differentiate.

Every error names where the problem is (file and absolute line), what the
construct is, and what to do instead, so users never meet a wrong gradient or
a raw Numba typing traceback.
"""


class SrcgradError(Exception):
    """A construct srcgrad cannot differentiate, or bad input to a gradient.

    >>> str(SrcgradError("'try' cannot be differentiated", filename="m.py", lineno=3,
    ...                  construct="try", hint="remove it"))
    "m.py:3: unsupported construct 'try': 'try' cannot be differentiated. remove it"
    """

    # constructs that describe bad input rather than unsupported code
    INPUT_ERRORS = ("bad argument", "index out of range", "non-float wrt argument", "wrt", "call",
                    "non-scalar output", "numba compilation", "shape mismatch", "runtime error")

    def __init__(self, message, *, filename=None, lineno=None, construct=None, hint=None):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.construct = construct
        self.hint = hint
        super().__init__(self._render())

    def _render(self):
        where = ""
        if self.filename is not None:
            where = f"{self.filename}:{self.lineno}: " if self.lineno is not None else f"{self.filename}: "
        what = ""
        if self.construct in self.INPUT_ERRORS:
            what = f"{self.construct}: "
        elif self.construct:
            what = f"unsupported construct '{self.construct}': "
        text = self.message if self.message.endswith(".") else self.message + "."
        return f"{where}{what}{text}" + (f" {self.hint}" if self.hint else "")
