"""``fairalloc --version`` prints the version the package was installed with."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from allocate.cli import main
from tests.paths import ROOT

PYPROJECT = ROOT / "pyproject.toml"


def project_version() -> str:
    return tomllib.loads(PYPROJECT.read_text())["project"]["version"]


def test_version_option_prints_the_project_version_and_exits_0(capsys):
    assert main(["--version"]) == 0
    out, err = capsys.readouterr()
    assert out == f"fairalloc {project_version()}\n"
    assert err == ""


def test_version_option_wins_over_a_command_and_runs_nothing(capsys, tmp_path):
    missing = tmp_path / "no-such-study.toml"
    assert main(["--version", "plan", str(missing)]) == 0
    assert capsys.readouterr().out == f"fairalloc {project_version()}\n"


def test_installed_command_prints_the_version():
    command = Path(sys.executable).parent / "fairalloc"
    done = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"fairalloc {project_version()}"


def test_python_dash_m_runs_the_same_command_line():
    done = subprocess.run([sys.executable, "-m", "allocate.cli", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"fairalloc {project_version()}"
