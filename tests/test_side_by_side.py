"""`srcgrad.source_html` / `srcgrad show --html`: source and adjoint side by side.

The page must pair every generated line with the source line it came from:
checked here on the lecture's perceptron (a helper inlined from other lines)
and on a loop with a branch, by reading the page back with html.parser.
"""
import html.parser
import re

import numpy as np

import srcgrad
from srcgrad import lecture
from srcgrad.side_by_side import adjoint_lines

import side_by_side_cases


class Rows(html.parser.HTMLParser):
    """Table rows of the page: (pane index, data-line, cell texts)."""

    def __init__(self):
        super().__init__()
        self.rows, self.pane, self.open_tags = [], -1, []
        self.row = None

    def handle_starttag(self, tag, attrs):
        if tag not in ("meta", "br"):
            self.open_tags.append(tag)
        attrs = dict(attrs)
        if tag == "table":
            self.pane += 1
        elif tag == "tr":
            self.row = (self.pane, attrs.get("data-line"), [])
        elif tag == "td" and self.row is not None:
            self.row[2].append("")

    def handle_endtag(self, tag):
        assert self.open_tags and self.open_tags[-1] == tag, f"</{tag}> does not close <{self.open_tags[-1:]}>"
        self.open_tags.pop()
        if tag == "tr":
            self.rows.append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.row is not None and self.row[2]:
            self.row[2][-1] += data


def read(page):
    parser = Rows()
    parser.feed(page)
    assert parser.open_tags == [], "every tag is closed"
    source = [r for r in parser.rows if r[0] == 0]
    adjoint = [r for r in parser.rows if r[0] == 1]
    return source, adjoint


ARGS = (0.8, -0.4, 0.2, 1.0, 0.5, 1.0)
WRT = ("w1", "w2", "b")


def test_perceptron_page_pairs_every_line():
    page = srcgrad.source_html(lecture.perceptron_loss, *ARGS, wrt=WRT)
    source, adjoint = read(page)
    shown = {int(r[1]) for r in source if r[1]}
    # the function's lines, and the inlined sigmoid's return line (30) after them
    numbers = [int(r[2][0]) for r in source if r[2] and r[2][0]]
    first = lecture.perceptron_loss.__code__.co_firstlineno
    assert numbers[:3] == [first, first + 1, first + 2]
    helper_line = lecture.sigmoid.__code__.co_firstlineno + 1
    assert helper_line in numbers[3:]
    # every adjoint line names a source line shown on the left, in its gutter too
    assert len(adjoint) == len(srcgrad.source(lecture.perceptron_loss, *ARGS, wrt=WRT).rstrip("\n").splitlines())
    for _, line, cells in adjoint:
        assert int(line) in shown and cells[1] == line
    by_text = {cells[2].strip(): int(line) for _, line, cells in adjoint}
    # forward steps and δ updates sit under the line they come from
    assert by_text["t1 = w1 * x1"] == first + 1
    # the inlined sigmoid is one primitive: its value, and the lecture's σ(1−σ) rule
    assert by_text["s = 1.0 / (1.0 + math.exp(-t4))"] == helper_line
    assert by_text["d_w1 = d_t1 * x1  # product: δ times the other side"] == first + 1
    assert by_text["d_t4 = d_s * s * (1.0 - s)  # sigmoid' = σ(1−σ) (the output)"] == helper_line
    assert by_text["t6 = t5 ** 2"] == first + 2


def test_loop_and_branch_lines_follow_the_source():
    x = np.array([1.0, -2.0, 3.0])
    adjoint = srcgrad.source(side_by_side_cases.branchy, 0.5, x)
    first = side_by_side_cases.branchy.__code__.co_firstlineno
    pairs = adjoint_lines(adjoint, first)
    texts = side_by_side_cases.SOURCE_LINES
    for line, text in pairs:
        code = text.split("#")[0].strip()
        if code.startswith(("t", "s =", "d_s", "d_w")) and "=" in code and "tape" not in code:
            assert first <= line <= first + len(texts), (line, text)
    # the tanh step and its δ rule are both under the `s += math.tanh(...)` line
    tanh_line = first + next(k for k, t in enumerate(texts) if "tanh" in t)
    assert {line for line, text in pairs if "math.tanh(" in text or "tanh' = " in text} == {tanh_line}
    # and the page is well formed
    source, rows = read(srcgrad.source_html(side_by_side_cases.branchy, 0.5, x))
    assert {int(r[1]) for r in rows} <= {int(r[1]) for r in source if r[1]}
    assert re.search(r"line \d+: if x\[i\] > 0:", adjoint)
