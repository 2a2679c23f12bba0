"""Running the command line inside a test: its exit code and what it printed."""

from __future__ import annotations

from allocate.cli import main


def run(capsys, *args) -> tuple[int, str, str]:
    """``fairalloc ARGS`` in this process (each argument as ``str``): exit code, stdout, stderr."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def option_help(printed: str, option: str) -> str:
    """What a command's ``--help`` (``printed``) says of ``option``: its row of the options
    table and the rows its text wraps onto, as one line without the table's borders."""
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip("│ ").startswith(f"{option} "))
    rows = [lines[start]]
    for line in lines[start + 1:]:
        if line.strip("│ ").startswith("-") or not line.startswith("│"):
            break  # the next option, or the table's end
        rows.append(line)
    return " ".join(" ".join(row.replace("│", " ").split()) for row in rows)
