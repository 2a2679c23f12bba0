"""Every command's --help reads cleanly: no markup eaten, no placeholder a user cannot type."""

from __future__ import annotations

import pytest
import typer

from allocate.cli import app, main


def _command_paths(command, prefix=()):
    yield prefix
    for name, child in getattr(command, "commands", {}).items():
        yield from _command_paths(child, (*prefix, name))


COMMANDS = list(_command_paths(typer.main.get_command(app)))


def test_every_command_is_found():
    assert {("fit",), ("plan",), ("study", "next")} <= set(COMMANDS) and len(COMMANDS) > 5


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "fairalloc")
def test_help_has_no_placeholders(capsys, path):
    code = main([*path, "--help"])
    out = capsys.readouterr().out
    assert code == 0 and "Usage: fairalloc" in out
    assert "[]" not in out  # rich markup ate a [name]
    assert "{" not in out and "}" not in out  # {argument} in the usage line
    assert "<bool>" not in out  # an on/off flag takes no value
    usage = out[out.index("Usage:"):].splitlines()[0]
    arguments = usage.split("[OPTIONS]")[-1]
    assert arguments == arguments.upper(), usage  # arguments are named in capitals
