"""The package's promises: an honest public API and a command line that starts light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import allocate


@pytest.mark.parametrize("name", allocate.__all__)
def test_every_public_name_is_importable(name):
    assert getattr(allocate, name) is not None


def test_the_command_line_does_not_import_heavy_modules():
    code = (
        "import sys, allocate.cli; "
        "heavy = [m for m in ('simulate', 'msprime', 'tskit', 'cvxpy', 'matplotlib') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def _modules():
    import importlib
    import pkgutil

    import simulate

    for package in (allocate, simulate):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            yield importlib.import_module(info.name)


@pytest.mark.parametrize("module", list(_modules()), ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    import doctest

    failures, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0
