"""Deterministic, collision-free names for generated code.

`d_<x>` is δ of `x`; temporaries are `t1, t2, …` in order of creation. No
randomness: the same function always gives byte-identical source, which keeps
Numba's disk cache valid.
"""


class Namer:
    def __init__(self, taken):
        self.taken = set(taken)
        self.counters = {}
        self.delta = {}
        self.temps = set()       # the t1, t2, … of normalization (free to fuse away)

    def fresh(self, base, numbered=False):
        """`base` itself if free (and not `numbered`), else base1, base2, …"""
        if not numbered and base not in self.taken and not base[-1:].isdigit():
            self.taken.add(base)
            return base
        k = self.counters.get(base, 0)
        while True:
            k += 1
            name = f"{base}{k}"
            if name not in self.taken:
                self.counters[base] = k
                self.taken.add(name)
                return name

    def temp(self):
        name = self.fresh("t", numbered=True)
        self.temps.add(name)
        return name

    def d(self, name):
        """The δ name of a variable (stable across calls)."""
        if name not in self.delta:
            cand = "d_" + name
            while cand in self.taken:
                cand += "_"
            self.taken.add(cand)
            self.delta[name] = cand
        return self.delta[name]
