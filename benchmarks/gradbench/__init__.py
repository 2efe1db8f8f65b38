"""A GradBench tool for srcgrad: ``python benchmarks/gradbench/tool.py`` (see README.md here)."""
