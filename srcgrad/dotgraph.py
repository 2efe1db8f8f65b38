"""The computational graph of an `Explanation`, as Graphviz DOT text.

Input: an `explain.Explanation` (its rows and loop structure). Output: a
`Graph` holding DOT text, and `save(path)` for .dot, .svg, .png or .pdf.

- nodes: the parameters (`p_<name>`; wrt ones `doublecircle`, the others
  `box`), constants and loop variables (`plaintext`, one per use), one node
  `s<k>` per primitive step (k = the table's #; label: the step and its
  forward value) and the output (`out`);
- edges: from the producer of each input to the step reading it, labelled
  `<input>=<forward value>` and `δ=<δ passed back along it>`;
- loops: a loop of at most SHORT_LOOP iterations gets one
  `subgraph cluster_loop<n>_<j>` per iteration; a longer one is one node
  `loop<n>` (its inner edges hidden, the edges into it from one producer
  merged: their δ's add).

Ids come from the trace only (n: loops in execution order), so the same
call always gives byte-identical DOT.
"""
import os
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from .errors import SrcgradError
from .program import For
from .pyeval import format_value
from .tracer import Branch, Loop, rows_in

SHORT_LOOP = 5
DIGITS = 4
RENDERED = ("svg", "png", "pdf")


@dataclass
class Graph:
    """DOT text of a computational graph; `save` writes .dot, or renders .svg/.png/.pdf with Graphviz."""
    dot: str

    def __str__(self):
        return self.dot

    def save(self, path):
        """Write the graph to `path`: DOT text for .dot/.gv, an image for .svg/.png/.pdf."""
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if ext in ("dot", "gv"):
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(self.dot)
            return path
        if ext not in RENDERED:
            raise SrcgradError(f"cannot save a graph as '.{ext}'", filename=path, construct="bad argument",
                               hint="use .dot, .gv, .svg, .png or .pdf")
        image = render(self.dot, ext, path)       # first: no empty file when Graphviz is missing
        with open(path, "wb") as handle:
            handle.write(image)
        return path


def render(dot, fmt, path="graph"):
    """The image bytes of DOT text, via the `graphviz` package or the `dot` program."""
    missing = SrcgradError(f"rendering a graph as .{fmt} needs Graphviz's `dot` program, which was not found",
                           filename=path,
                           hint="install Graphviz (e.g. `apt install graphviz` or `brew install graphviz`; "
                                "the `graphviz` Python package also needs it), or save the graph as .dot")
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is not None:
        try:
            return graphviz.Source(dot).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise missing from None
    program = shutil.which("dot")
    if program is None:
        raise missing
    done = subprocess.run([program, f"-T{fmt}"], input=dot.encode("utf-8"), capture_output=True, check=False)
    if done.returncode != 0:
        raise SrcgradError(f"Graphviz failed: {done.stderr.decode(errors='replace').strip()}", filename=path)
    return done.stdout


def build(explanation):
    return Graph(Drawing(explanation).text())


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Drawing:
    def __init__(self, explanation):
        self.e = explanation
        self.node_of = {}          # row index -> node id (its own, or its collapsed loop's)
        self.body = []             # node and cluster lines, indented
        self.edges = {}            # (src, dst, key) -> [input text, value, δ or None]

    def text(self):
        e = self.e
        head = [f"digraph {quote(e.function)} {{", "  rankdir=LR;",
                '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=9];']
        for name, value in e.params.items():
            label = f"{name}\n{format_value(value, DIGITS)}"
            if name in e.wrt:
                label += f"\nδ={format_value(e.trace.param_deltas[name], DIGITS)}"
            shape = "doublecircle" if name in e.wrt else "box"
            head.append(f"  p_{name} [label={quote(label)}, shape={shape}];")
        self.items(e.trace.items, 1)
        self.connect()
        out = [f"  out [label={quote(f'return {e.trace.output_text}')}, shape=plaintext];"]
        source = self.source(e.trace.output)
        if source is not None:
            label = f"{e.trace.output_text}={format_value(e.trace.value, DIGITS)}\nδ=1"
            out.append(f"  {source} -> out [label={quote(label)}];")
        edges = [f"  {src} -> {dst} [label={quote(_edge_label(*info))}];" for (src, dst, _), info in
                 self.edges.items()]
        return "\n".join(head + self.body + out + edges + ["}"]) + "\n"

    def source(self, producer):
        if producer is None:
            return None
        return f"p_{producer}" if isinstance(producer, str) else self.node_of[producer]

    # -- nodes and clusters ---------------------------------------------------------------
    def items(self, items, depth):
        for item in items:
            if isinstance(item, Loop):
                self.loop(item, depth)
            elif isinstance(item, Branch):
                self.items(item.items, depth)
            else:
                self.step(self.e.rows[item], depth)

    def step(self, row, depth):
        node = f"s{row.index + 1}"
        self.node_of[row.index] = node
        style = "" if row.active else ', style=dashed, color=gray50, fontcolor=gray30'
        label = f"{row.text}\n{format_value(row.value, DIGITS)}"
        self.body.append("  " * depth + f"{node} [label={quote(label)}, shape=box{style}];")
        for k, (producer, text, value) in enumerate(zip(row.producers, row.inputs, row.input_values)):
            if producer is None and not isinstance(value, np.ndarray):
                named = text.isidentifier() and text not in ("True", "False")     # a loop variable
                shown = f"{text}={format_value(value, DIGITS)}" if named else text
                self.body.append("  " * depth + f"c{row.index + 1}_{k} [label={quote(shown)}, shape=plaintext];")

    def loop(self, loop, depth):
        stmt, n = loop.stmt, len(loop.iterations)
        where = f"line {stmt.loc.lineno}: {stmt.loc.text}"
        if n > SHORT_LOOP:
            node = f"loop{loop.number}"
            steps = [index for items in loop.iterations for index in rows_in(items)]
            for index in steps:
                self.node_of[index] = node
            label = f"{where}\n{n} iterations, {len(steps)} steps (collapsed)"
            self.body.append("  " * depth + f"{node} [label={quote(label)}, shape=box3d];")
            return
        pad = "  " * depth
        for k, items in enumerate(loop.iterations):
            which = f"{stmt.var}={loop.values[k]}" if isinstance(stmt, For) else f"iteration {k}"
            self.body.append(f"{pad}subgraph cluster_loop{loop.number}_{k} {{")
            self.body.append(f"{pad}  label={quote(f'{where}   {which}')}; style=rounded; color=gray60;")
            self.items(items, depth + 1)
            self.body.append(f"{pad}}}")

    # -- edges --------------------------------------------------------------------------------
    def connect(self):
        for row in self.e.rows:
            dst = self.node_of[row.index]
            passed = row.passed or (None,) * len(row.inputs)
            for k, (producer, text, value, delta) in enumerate(zip(row.producers, row.inputs, row.input_values,
                                                                   passed)):
                if producer is None:
                    if dst.startswith("s") and not isinstance(value, np.ndarray):
                        self.edges[(f"c{row.index + 1}_{k}", dst, k)] = [text, value, None, True]
                    continue
                src = self.source(producer)
                if src == dst:
                    continue            # inside one collapsed loop
                # into a collapsed loop, edges from one producer merge: their δ's add
                key = (src, dst, producer) if dst.startswith("loop") else (src, dst, k)
                if key in self.edges:
                    info = self.edges[key]
                    info[2] = delta if info[2] is None else (info[2] if delta is None else info[2] + delta)
                else:
                    self.edges[key] = [text, value, delta, False]


def _edge_label(text, value, delta, constant):
    if constant:
        return ""
    label = f"{text}={format_value(value, DIGITS)}"
    return label + (f"\nδ={format_value(delta, DIGITS)}" if delta is not None else "")
