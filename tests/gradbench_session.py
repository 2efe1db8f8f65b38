"""Recorded GradBench sessions for tests/test_gradbench.py: every message the official
`hello` and `lse` evals (kit ../shared/gradbench, upstream commit f26651a7) sent, in order,
with the reference outputs of the C++ `manual` tool for the evaluations.

Recorded with the kit's driver.py and `--tool manual`; the lse eval ran with
`-n 3 6 --min-runs 2 --min-seconds 0`. Each entry: (message, expected output or None).
"""

SESSIONS = {
    "hello": [
        ({"id": 0, "kind": "start", "eval": "hello"}, None),
        ({"id": 1, "kind": "define", "module": "hello"}, None),
        ({"id": 2, "kind": "evaluate", "module": "hello", "function": "square", "input": 1.0}, 1.0),
        ({"id": 3, "kind": "analysis", "of": 2, "valid": True}, None),
        ({"id": 4, "kind": "evaluate", "module": "hello", "function": "double", "input": 1.0}, 2.0),
        ({"id": 5, "kind": "analysis", "of": 4, "valid": True}, None),
        ({"id": 6, "kind": "evaluate", "module": "hello", "function": "square", "input": 2.0}, 4.0),
        ({"id": 7, "kind": "analysis", "of": 6, "valid": True}, None),
        ({"id": 8, "kind": "evaluate", "module": "hello", "function": "double", "input": 4.0}, 8.0),
        ({"id": 9, "kind": "analysis", "of": 8, "valid": True}, None),
        ({"id": 10, "kind": "evaluate", "module": "hello", "function": "square", "input": 8.0}, 64.0),
        ({"id": 11, "kind": "analysis", "of": 10, "valid": True}, None),
        ({"id": 12, "kind": "evaluate", "module": "hello", "function": "double", "input": 64.0}, 128.0),
        ({"id": 13, "kind": "analysis", "of": 12, "valid": True}, None),
        ({"id": 14, "kind": "evaluate", "module": "hello", "function": "square", "input": 128.0}, 16384.0),
        ({"id": 15, "kind": "analysis", "of": 14, "valid": True}, None),
        ({"id": 16, "kind": "evaluate", "module": "hello", "function": "double", "input": 16384.0}, 32768.0),
        ({"id": 17, "kind": "analysis", "of": 16, "valid": True}, None),
    ],
    "lse": [
        ({"id": 0, "kind": "start", "eval": "lse"}, None),
        ({"id": 1, "kind": "define", "module": "lse"}, None),
        ({"id": 2, "kind": "evaluate", "module": "lse", "function": "primal", "input": {"x": [0.7218521074240813, 0.9664407992811007, 0.28904906882680115], "min_runs": 2, "min_seconds": 0.0}, "description": "n=3"}, 1.7954146448204935),
        ({"id": 3, "kind": "analysis", "of": 2, "valid": True}, None),
        ({"id": 4, "kind": "evaluate", "module": "lse", "function": "gradient", "input": {"x": [0.7218521074240813, 0.9664407992811007, 0.28904906882680115], "min_runs": 2, "min_seconds": 0.0}, "description": "n=3"}, [0.34178871084150375, 0.4364969698987049, 0.22171431925979135]),
        ({"id": 5, "kind": "analysis", "of": 4, "valid": True}, None),
        ({"id": 6, "kind": "evaluate", "module": "lse", "function": "primal", "input": {"x": [0.17134622674002598, 0.3716175858787386, 0.9803070102156316, 0.871400899954958, 0.15875483752376984, 0.21889920348490777], "min_runs": 2, "min_seconds": 0.0}, "description": "n=6"}, 2.3134526010993692),
        ({"id": 7, "kind": "analysis", "of": 6, "valid": True}, None),
        ({"id": 8, "kind": "evaluate", "module": "lse", "function": "gradient", "input": {"x": [0.17134622674002598, 0.3716175858787386, 0.9803070102156316, 0.871400899954958, 0.15875483752376984, 0.21889920348490777], "min_runs": 2, "min_seconds": 0.0}, "description": "n=6"}, [0.11740727870028814, 0.14344049264045233, 0.26364663113396786, 0.23644215205866922, 0.11593822607301561, 0.12312521939360688]),
        ({"id": 9, "kind": "analysis", "of": 8, "valid": True}, None),
    ],
}
