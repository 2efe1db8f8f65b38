"""Shared pytest configuration for the srcgrad test suite.

Options:
  --short   run a reduced suite (one corpus case per function, fewer hypothesis
            examples, skip the slow cross-process cache test's extra run).
"""

import os
import sys

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)

# Make `import fd`, `import corpus` and `import srcgrad` work regardless of the
# pytest import mode and of whether tests/ is a package.
for _p in (TESTS_DIR, REPO_ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)


def pytest_addoption(parser):
    parser.addoption("--short", action="store_true", default=False,
                     help="run a reduced, faster version of the srcgrad test suite")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: slow test (skipped with --short)")
    if config.getoption("--short"):
        os.environ["SRCGRAD_TEST_SHORT"] = "1"


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--short"):
        return
    skip = pytest.mark.skip(reason="skipped with --short")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def short(request):
    return request.config.getoption("--short")


@pytest.fixture
def fresh_args():
    """fresh_args(args) -> deep copy of an argument tuple (arrays copied)."""
    from fd import copy_args

    return copy_args
