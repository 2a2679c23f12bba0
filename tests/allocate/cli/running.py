"""Running the command line inside a test: its exit code and what it printed."""

from __future__ import annotations

from allocate.cli import main


def run(capsys, *args) -> tuple[int, str, str]:
    """``fairalloc ARGS`` in this process (each argument as ``str``): exit code, stdout, stderr."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err
