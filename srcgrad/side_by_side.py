"""`srcgrad show --html`: the user's code and its generated adjoint side by side.

Every line of a generated adjoint belongs to the source line named by the
last `# line N: <source>` comment above it (the forward and the backward
sweep both write one where they reach a new line; the lines before the first
one are set-up and belong to the `def`). The page pairs them: pointing at a
source line lights up everything generated from it — its forward statements,
its tape pushes and restores, its δ updates — and pointing at an adjoint line
lights up the source line it came from. Without JavaScript the adjoint's
gutter still names each line's source line. A self-contained file: no
scripts or styles from elsewhere.
"""
import html
import inspect
import re

_LINE_COMMENT = re.compile(r"^\s*# line (\d+): (.*)$")
_TRAILING = re.compile(r"^(.*?)(\s+# .*)$")    # code, then a comment (rule labels)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.2em; } p.note { color: #555; max-width: 60em; }
.panes { display: flex; gap: 1.5em; align-items: flex-start; }
.pane { flex: 1; min-width: 0; }
.pane h2 { font-size: 1em; margin: 0 0 .4em 0; }
table.code { border-collapse: collapse; font-family: ui-monospace, Menlo, Consolas, monospace;
             font-size: 13px; width: 100%; }
table.code td { padding: 0 .5em; white-space: pre; vertical-align: top; }
td.no { color: #999; text-align: right; user-select: none; width: 1%; }
td.from { color: #999; text-align: right; user-select: none; width: 1%; }
tr.gap td { color: #bbb; }
span.c { color: #6a737d; font-style: italic; }
span.rule { color: #8a3ffc; font-style: italic; }
tr.sweep td { color: #0b6e4f; font-weight: bold; }
tr.hl td { background: #fff3b0; }
tr.sel td { background: #ffe066; }
"""

_SCRIPT = """
const rows = document.querySelectorAll('tr[data-line]');
function light(line, on) {
  document.querySelectorAll('tr[data-line="' + line + '"]').forEach(r => r.classList.toggle('hl', on));
}
rows.forEach(r => {
  r.addEventListener('mouseenter', () => light(r.dataset.line, true));
  r.addEventListener('mouseleave', () => light(r.dataset.line, false));
  r.addEventListener('click', () => {
    const was = r.classList.contains('sel');
    document.querySelectorAll('tr.sel').forEach(s => s.classList.remove('sel'));
    if (!was) document.querySelectorAll('tr[data-line="' + r.dataset.line + '"]').forEach(s => s.classList.add('sel'));
  });
});
"""


def adjoint_lines(adjoint_source, def_line):
    """[(source line, adjoint line text)]: each generated line with the source
    line it was generated from (comment headers included, under their own line)."""
    out, current = [], def_line
    for text in adjoint_source.rstrip("\n").splitlines():
        match = _LINE_COMMENT.match(text)
        if match:
            current = int(match.group(1))
        out.append((current, text))
    return out


def source_rows(func, adjoint_source):
    """[(line number or None for a gap, text)]: the function's own lines, then
    lines of inlined helpers the adjoint names (in line order, gaps marked)."""
    lines, start = inspect.getsourcelines(func)
    rows = {start + k: text.rstrip("\n") for k, text in enumerate(lines)}
    named = {}
    for text in adjoint_source.splitlines():
        match = _LINE_COMMENT.match(text)
        if match:
            named.setdefault(int(match.group(1)), match.group(2))
    helpers = {n: t for n, t in named.items() if n not in rows}
    out = [(n, rows[n]) for n in sorted(rows)]
    if helpers:
        out.append((None, "# inlined helper lines:"))
        previous = None
        for n in sorted(helpers):
            if previous is not None and n != previous + 1:
                out.append((None, "⋮"))
            out.append((n, "    " + helpers[n]))
            previous = n
    return out, start


def _code_cell(text):
    """Escaped text; a trailing comment (a rule label) styled apart from the code."""
    if text.lstrip().startswith("#"):
        return f'<span class="c">{html.escape(text)}</span>'
    match = _TRAILING.match(text)
    if match and not _in_string(match.group(1)):
        return f'{html.escape(match.group(1))}<span class="rule">{html.escape(match.group(2))}</span>'
    return html.escape(text)


def _in_string(code):
    return code.count("'") % 2 == 1 or code.count('"') % 2 == 1


def render(func, adjoint_source, title):
    """The page: `func`'s source on the left, `adjoint_source` on the right."""
    rows, def_line = source_rows(func, adjoint_source)
    generated = adjoint_lines(adjoint_source, def_line)
    used = {n for n, _ in generated}
    left = []
    for n, text in rows:
        if n is None:
            left.append(f'<tr class="gap"><td class="no"></td><td>{html.escape(text)}</td></tr>')
        else:
            attr = f' data-line="{n}"' if n in used else ""
            left.append(f'<tr{attr}><td class="no">{n}</td><td>{_code_cell(text)}</td></tr>')
    right = []
    for k, (n, text) in enumerate(generated, 1):
        sweep = ' class="sweep"' if re.match(r"^\s*# (forward|backward) sweep", text) else ""
        right.append(f'<tr data-line="{n}"{sweep}><td class="no">{k}</td><td class="from">{n}</td>'
                     f'<td>{_code_cell(text)}</td></tr>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="note">Left: the function as written. Right: the adjoint srcgrad generated from it — the forward
sweep (the primal, taping what the backward sweep needs), then the backward sweep (δ = 1 at the output,
each step's δ recurrence, last step first; the comment after each δ update names the lecture's rule).
Point at a line to light up the lines that belong to it; click to keep them lit. The grey number
before each adjoint line is the source line it was generated from.</p>
<div class="panes">
<div class="pane"><h2>{html.escape(func.__name__)} (source)</h2>
<table class="code">
{chr(10).join(left)}
</table></div>
<div class="pane"><h2>generated adjoint</h2>
<table class="code">
{chr(10).join(right)}
</table></div>
</div>
<script>{_SCRIPT}</script>
</body></html>
"""
