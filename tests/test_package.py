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
