"""One module per GradBench eval.

Each module ``<eval>.py`` holds the eval's primal functions written as plain
Python/NumPy (the gradients come from ``srcgrad``, never by hand) and exposes

* ``prepare(function, input) -> (compute, to_json)``: converts the JSON input
  (not timed) and returns a zero-argument ``compute`` (the timed computation)
  and ``to_json(result)`` (converts its result back to JSON, not timed);
* ``EXAMPLES``: ``{function: small input}``, used by the tool to compile (or
  load from srcgrad's disk cache) the code for every function at ``define``.
"""
