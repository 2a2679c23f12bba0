"""The README's quick start runs as written on a fresh copy of the shipped examples."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

import pandas as pd

from allocate.cli import main
from allocate.study import Study

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"


def quick_start_blocks() -> tuple[list[str], str]:
    """The quick start's first bash block (as lines) and its Python block."""
    text = README.read_text()
    section = text[text.index("## Quick start"):text.index("## Where to go next")]
    bash = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    python = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    return [line for line in bash.splitlines() if line.strip()], python


def fresh_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples",
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return tmp_path


def test_every_quick_start_command_runs_as_written(tmp_path, monkeypatch, capsys):
    where = fresh_copy(tmp_path)
    commands, _ = quick_start_blocks()
    assert commands[0] == "source .venv/bin/activate"
    assert Path(sys.executable).with_name("fairalloc").is_file()  # what `source` puts on PATH
    monkeypatch.chdir(where)
    for line in commands[1:]:
        argv = shlex.split(line, comments=True)
        assert argv[0] == "fairalloc", line
        code = main(argv[1:])  # the console script's own entry point, in this process
        assert code == 0, f"{line}\n{capsys.readouterr().err}"
    points = pd.read_csv(where / "points.csv")
    assert set(points["group"]) == {"north", "south", "coast"}
    assert (where / "curves.toml").is_file() and (where / "curves.png").is_file()
    study = Study.load(where / "study.sqlite")  # made with the default strategy
    assert study.strategy_name == "expected" and study.state().rounds == 1
    replayed = pd.read_csv(where / "bench-pilot" / "summary.csv")
    assert list(replayed["strategy"]) == ["expected", "adaptive", "equal", "proportional",
                                          "oracle"]
    compared = pd.read_csv(where / "bench-pilot" / "comparisons.csv")
    assert set(compared["reference"]) == {"expected"}
    assert {"value_coast", "value_north", "value_south"} <= set(replayed.columns)


def test_the_quick_start_python_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(fresh_copy(tmp_path))
    _, code = quick_start_blocks()
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "north" in out and "Plan" in out


def test_the_shipped_pilot_is_what_its_script_makes(tmp_path):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from make_pilot import pilot_table
    finally:
        sys.path.remove(str(ROOT / "examples"))
    shipped = pd.read_csv(ROOT / "examples" / "pilot.csv")
    pd.testing.assert_frame_equal(shipped, pilot_table(), check_exact=False, atol=1e-9)
